/** The CLI's typed client (cli/api/openapi-types.ts) is generated from the description; a stale copy fails here. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openApiDocument } from '../../../tools/openapi/write';

const ROOT = path.join(__dirname, '../../..');

it("cli/api/openapi-types.ts is what `npm run gen:client` generates from today's operations", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-client-types-'));
  const doc = path.join(dir, 'openapi.json');
  const out = path.join(dir, 'openapi-types.ts');
  fs.writeFileSync(doc, JSON.stringify(openApiDocument(), null, 2) + '\n');
  // openapi-typescript is ESM-only inside jest, so run its CLI as `npm run gen:client` does.
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules/openapi-typescript/bin/cli.js'), doc, '-o', out], { stdio: 'pipe' });
  const committed = fs.readFileSync(path.join(ROOT, 'cli/api/openapi-types.ts'), 'utf8');
  expect(committed === fs.readFileSync(out, 'utf8') ? 'fresh' : 'stale: run npm run gen:client').toBe('fresh');
  fs.rmSync(dir, { recursive: true, force: true });
});

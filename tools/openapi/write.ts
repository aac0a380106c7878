/**
 * Writes the generated OpenAPI description to a file (default: a temp file) and prints its path,
 * for `npm run lint:openapi` (Redocly) and `npm run gen:client` (openapi-typescript).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROUTES } from '../../functions/routes';
import { TIMERS } from '../../functions/timers';
import { buildOpenApi } from '../../shared/openapi/document';

export function openApiDocument(): ReturnType<typeof buildOpenApi> {
  // The base path the hosts serve under (ARCHIVE_PUBLIC_BASE_PATH's default).
  return buildOpenApi(ROUTES, '/api', TIMERS);
}

if (require.main === module) {
  const out = process.argv[2] ?? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'archive-openapi-')), 'openapi.json');
  fs.writeFileSync(out, JSON.stringify(openApiDocument(), null, 2) + '\n');
  process.stdout.write(out + '\n');
}

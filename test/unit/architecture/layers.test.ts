import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const DEPCRUISE = path.join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

/** Runs the repository's own rules on a small tree laid out like the archive. */
async function violationsIn(files: Record<string, string>): Promise<string[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layers-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'commonjs', strict: true } }));
  try {
    // The CLI, as CI runs it (npm run depcruise), with the repository's own config.
    const run = spawnSync(process.execPath, [DEPCRUISE, 'shared', 'functions', '--config', path.join(ROOT, '.dependency-cruiser.js'), '--output-type', 'json'], { cwd: dir, encoding: 'utf8' });
    const output = JSON.parse(run.stdout) as { summary: { violations: { rule: { name: string }; from: string; to: string }[] } };
    return output.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const GOOD = {
  'shared/kernel/errors.ts': 'export class ArchiveError extends Error {}\n',
  'shared/ports/index.ts': "import type { ArchiveError } from '../kernel/errors';\nexport interface CatalogPort { get(): Promise<ArchiveError | null> }\n",
  'shared/documents/get-document.ts': "import type { CatalogPort } from '../ports';\nexport const getDocument = (c: CatalogPort) => c.get();\n",
  'shared/adapters/azure/catalog.ts': "import type { CatalogPort } from '../../ports';\nexport class DocumentCatalog implements CatalogPort { async get() { return null; } }\n",
  'shared/http/pipeline.ts': "import { getDocument } from '../documents/get-document';\nexport const handle = getDocument;\n",
  'shared/app.ts': "import { DocumentCatalog } from './adapters/azure/catalog';\nexport const build = () => new DocumentCatalog();\n",
  'functions/index.ts': "import { build } from '../shared/app';\nimport { handle } from '../shared/http/pipeline';\nexport const run = () => handle(build());\n",
};

describe('the layering rules (.dependency-cruiser.js)', () => {
  it('accept a tree that keeps kernel ← ports ← core ← http ← hosts', async () => {
    expect(await violationsIn(GOOD)).toEqual([]);
  }, 60_000);

  it('fail on a use case importing an adapter, on the kernel importing HTTP, and on a cycle', async () => {
    const bad = {
      ...GOOD,
      'shared/documents/get-document.ts': "import { DocumentCatalog } from '../adapters/azure/catalog';\nexport const getDocument = () => new DocumentCatalog().get();\n",
      'shared/kernel/errors.ts': "import { handle } from '../http/pipeline';\nexport class ArchiveError extends Error {}\nexport const h = handle;\n",
    };
    const found = await violationsIn(bad);
    expect(found).toEqual(expect.arrayContaining([
      'core-never-calls-up: shared/documents/get-document.ts → shared/adapters/azure/catalog.ts',
      'kernel-is-the-bottom: shared/kernel/errors.ts → shared/http/pipeline.ts',
    ]));
    expect(found.some((v) => v.startsWith('no-circular:'))).toBe(true);
  }, 60_000);

  it('fail on a cycle between two use cases that break no layer', async () => {
    const cycle = {
      ...GOOD,
      'shared/documents/a.ts': "import { b } from './b';\nexport const a = () => b;\n",
      'shared/documents/b.ts': "import { a } from './a';\nexport const b = () => a;\n",
    };
    expect(await violationsIn(cycle)).toEqual(['no-circular: shared/documents/a.ts → shared/documents/b.ts']);
  }, 60_000);

  it('give the export runner no exception: core importing HTTP fails there too', async () => {
    const bad = {
      ...GOOD,
      'shared/http/problem.ts': 'export const statusOf = (code: string) => code.length;\n',
      'shared/exports/run-export.ts': "import { statusOf } from '../http/problem';\nexport const run = () => statusOf('internal');\n",
    };
    expect(await violationsIn(bad)).toEqual(['core-never-calls-up: shared/exports/run-export.ts → shared/http/problem.ts']);
  }, 60_000);
});

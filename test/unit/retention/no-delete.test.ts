import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');

function sources(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return sources(rel);
    return e.name.endsWith('.ts') ? [rel] : [];
  });
}

/**
 * Code allowed to delete blobs, and why. Anything else that imports the Blob SDK and
 * deletes fails this test: archived documents are removed by retention disposal only.
 */
const ALLOWED: Record<string, string> = {
  [path.join('shared', 'adapters', 'azure', 'disposer.ts')]: 'retention disposal, after retention and hold checks (shared/retention/dispose.ts)',
  [path.join('shared', 'adapters', 'azure', 'export-store.ts')]: 'export copies in exports-<tenant> containers, never archived documents',
};

describe('the storage port has no delete', () => {
  it('only the disposer adapter deletes blobs; no other archive code that touches Blob storage can', () => {
    const offenders = [...sources('shared'), ...sources('functions'), ...sources('local')]
      .filter((f) => !(f in ALLOWED))
      .filter((f) => {
        const text = fs.readFileSync(path.join(ROOT, f), 'utf8');
        return /@azure\/storage-blob/.test(text) && /\.(delete|deleteIfExists|deleteBlob|deleteImmutabilityPolicy)\(/.test(text);
      });
    expect(offenders).toEqual([]);
  });

  it('the allowed deleters other than disposal never address a tenant document container', () => {
    for (const f of Object.keys(ALLOWED).filter((f) => !f.includes('disposer') && fs.existsSync(path.join(ROOT, f)))) {
      expect(fs.readFileSync(path.join(ROOT, f), 'utf8')).not.toMatch(/BlobArchive|['"`]tenant-/);
    }
  });
});

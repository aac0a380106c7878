import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { firstLoadFiles, measureFirstLoad, type Manifest } from '../../../tools/web-size/budget';

const manifest: Manifest = {
  'index.html': { file: 'assets/index.js', isEntry: true, imports: ['_shared.js'], dynamicImports: ['src/pdf.tsx', 'src/entra.ts'] },
  '_shared.js': { file: 'assets/shared.js' },
  'src/pdf.tsx': { file: 'assets/pdf.js', imports: ['_shared.js'] },
  'src/entra.ts': { file: 'assets/entra.js' },
  'index.css': { file: 'assets/index.css' },
};

describe('web app size budget', () => {
  it('counts the entry and its static imports, not the chunks loaded on demand', () => {
    expect(firstLoadFiles(manifest).sort()).toEqual(['assets/index.js', 'assets/shared.js']);
  });

  it('fails over budget and passes under it, on gzipped sizes', () => {
    const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'web-size-'));
    fs.mkdirSync(path.join(dist, '.vite'));
    fs.mkdirSync(path.join(dist, 'assets'));
    fs.writeFileSync(path.join(dist, '.vite', 'manifest.json'), JSON.stringify(manifest));
    // Random bytes do not compress: their gzipped size is about their size.
    fs.writeFileSync(path.join(dist, 'assets', 'index.js'), randomBytes(20_000));
    fs.writeFileSync(path.join(dist, 'assets', 'shared.js'), 'x'.repeat(100_000));
    fs.writeFileSync(path.join(dist, 'assets', 'pdf.js'), Buffer.alloc(10_000_000, 1));
    const report = measureFirstLoad(dist, 10 * 1024);
    expect(report.files.map((f) => f.file).sort()).toEqual(['assets/index.js', 'assets/shared.js']);
    expect(report.ok).toBe(false);
    expect(measureFirstLoad(dist, 1024 * 1024).ok).toBe(true);
    fs.rmSync(dist, { recursive: true, force: true });
  });

  it('names a chunk the manifest lacks', () => {
    expect(() => firstLoadFiles({ 'index.html': { file: 'a.js', isEntry: true, imports: ['_gone.js'] } })).toThrow(/_gone\.js/);
  });
});

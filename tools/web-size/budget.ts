/**
 * The web app's first-load JavaScript, gzipped, against its budget (issue #16: under 250 KB). First load
 * is the entry chunk and every chunk it imports statically; chunks reached only by `import()` (the PDF
 * viewer, MSAL) load on demand and do not count. Read from Vite's build manifest (web/dist/.vite/manifest.json).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';

export const FIRST_LOAD_BUDGET_BYTES = 250 * 1024;

export interface ManifestChunk {
  file: string;
  isEntry?: boolean;
  imports?: string[];
  dynamicImports?: string[];
}
export type Manifest = Record<string, ManifestChunk>;

/** The files of the entry chunks and their static imports, each once. */
export function firstLoadFiles(manifest: Manifest): string[] {
  const seen = new Set<string>();
  const files: string[] = [];
  const visit = (key: string) => {
    if (seen.has(key)) return;
    seen.add(key);
    const chunk = manifest[key];
    if (!chunk) throw new Error(`manifest names ${key} but has no entry for it`);
    if (chunk.file.endsWith('.js')) files.push(chunk.file);
    for (const imported of chunk.imports ?? []) visit(imported);
  };
  for (const [key, chunk] of Object.entries(manifest)) if (chunk.isEntry) visit(key);
  return files;
}

export interface SizeReport {
  files: { file: string; gzipBytes: number }[];
  totalGzipBytes: number;
  budgetBytes: number;
  ok: boolean;
}

export function measureFirstLoad(distDir: string, budgetBytes = FIRST_LOAD_BUDGET_BYTES): SizeReport {
  const manifest = JSON.parse(fs.readFileSync(path.join(distDir, '.vite', 'manifest.json'), 'utf8')) as Manifest;
  const files = firstLoadFiles(manifest).map((file) => ({ file, gzipBytes: gzipSync(fs.readFileSync(path.join(distDir, file)), { level: 9 }).length }));
  const totalGzipBytes = files.reduce((sum, f) => sum + f.gzipBytes, 0);
  return { files, totalGzipBytes, budgetBytes, ok: totalGzipBytes <= budgetBytes };
}

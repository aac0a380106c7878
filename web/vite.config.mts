import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The archive's web app: built into web/dist, served by the archive host at `/` beside `/api`. */
const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * pdf.js's own data files, as files of the build, same origin (CSP font-src/connect-src/script-src
 * 'self'), under a folder named by the pdf.js version so the host's immutable caching of `assets/`
 * stays right:
 * - the standard fonts (the 14 PDF base fonts, for PDFs that do not embed theirs): `standardFontDataUrl`;
 * - OpenJPEG compiled to JavaScript, the JPEG 2000 (JPXDecode) decoder pdf.js loads when it may not use
 *   WebAssembly (the CSP has no 'wasm-unsafe-eval'): `wasmUrl`. Loaded only when a PDF holds a JPX image.
 * PdfPreview points pdf.js at both.
 */
const pdfjsRoot = dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));
const pdfjsVersion = (JSON.parse(readFileSync(join(pdfjsRoot, 'package.json'), 'utf8')) as { version: string }).version;
const PDFJS_URL = `/assets/pdfjs-${pdfjsVersion}/`;
const PDFJS_FILES: { dir: string; url: string; files: (file: string) => boolean; type: string }[] = [
  { dir: join(pdfjsRoot, 'standard_fonts'), url: `${PDFJS_URL}standard_fonts/`, files: () => true, type: 'application/octet-stream' },
  { dir: join(pdfjsRoot, 'wasm'), url: `${PDFJS_URL}wasm/`, files: (f) => f === 'openjpeg_nowasm_fallback.js', type: 'text/javascript' },
];

function pdfjsDataFiles(): Plugin {
  return {
    name: 'archive-pdfjs-data-files',
    generateBundle() {
      for (const { dir, url, files } of PDFJS_FILES) {
        for (const file of readdirSync(dir).filter(files)) this.emitFile({ type: 'asset', fileName: `${url.slice(1)}${file}`, source: readFileSync(join(dir, file)) });
      }
    },
    configureServer(server) {
      for (const { dir, url, files, type } of PDFJS_FILES) {
        server.middlewares.use(url, (req, res, next) => {
          const file = (req.url ?? '').replace(/^\//, '').split('?')[0]!;
          if (!/^[\w.-]+$/.test(file) || !readdirSync(dir).filter(files).includes(file)) return next();
          res.setHeader('Content-Type', type);
          res.end(readFileSync(join(dir, file)));
        });
      }
    },
  };
}

export default defineConfig({
  root,
  base: '/',
  plugins: [react(), pdfjsDataFiles()],
  // Where the preview finds them (the same pdf.js version it bundles).
  define: { __PDFJS_STANDARD_FONTS__: JSON.stringify(`${PDFJS_URL}standard_fonts/`), __PDFJS_WASM__: JSON.stringify(`${PDFJS_URL}wasm/`) },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // tools/web-size.ts reads the manifest to total the first-load JavaScript.
    manifest: true,
    // No inline data: URLs for assets: the CSP allows img-src data:, but scripts and styles must be files.
    assetsInlineLimit: 0,
    target: 'es2022',
    sourcemap: true,
  },
  server: {
    // `npm run dev:web`: the API and web-config.json come from the local host on :7071.
    proxy: { '/api': 'http://localhost:7071', '/web-config.json': 'http://localhost:7071' },
  },
});

import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The archive's web app: built into web/dist, served by the archive host at `/` beside `/api`. */
const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * pdf.js's standard fonts (the 14 PDF base fonts, for PDFs that do not embed theirs) as files of the
 * build, same origin (CSP font-src/connect-src 'self'), under a folder named by the pdf.js version so
 * the host's immutable caching of `assets/` stays right. PdfPreview points `standardFontDataUrl` here.
 */
const pdfjsRoot = dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));
const pdfjsVersion = (JSON.parse(readFileSync(join(pdfjsRoot, 'package.json'), 'utf8')) as { version: string }).version;
const FONTS_DIR = join(pdfjsRoot, 'standard_fonts');
const FONTS_URL = `/assets/pdfjs-${pdfjsVersion}/standard_fonts/`;

function pdfjsStandardFonts(): Plugin {
  return {
    name: 'archive-pdfjs-standard-fonts',
    generateBundle() {
      for (const file of readdirSync(FONTS_DIR)) this.emitFile({ type: 'asset', fileName: `${FONTS_URL.slice(1)}${file}`, source: readFileSync(join(FONTS_DIR, file)) });
    },
    configureServer(server) {
      server.middlewares.use(FONTS_URL, (req, res, next) => {
        const file = (req.url ?? '').replace(/^\//, '').split('?')[0]!;
        if (!/^[\w.-]+$/.test(file) || !readdirSync(FONTS_DIR).includes(file)) return next();
        res.setHeader('Content-Type', 'application/octet-stream');
        res.end(readFileSync(join(FONTS_DIR, file)));
      });
    },
  };
}

export default defineConfig({
  root,
  base: '/',
  plugins: [react(), pdfjsStandardFonts()],
  // Where the preview finds them (the same pdf.js version it bundles).
  define: { __PDFJS_STANDARD_FONTS__: JSON.stringify(FONTS_URL) },
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

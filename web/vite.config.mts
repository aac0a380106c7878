import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

/** The archive's web app: built into web/dist, served by the archive host at `/` beside `/api`. */
const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
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

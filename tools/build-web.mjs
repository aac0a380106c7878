// npm run build:web: Vite builds the web app (web/) into web/dist/, which the archive serves at /.
// A checkout without web/ has no app to build; that is said and is not an error.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const config = join(root, 'web', 'vite.config.ts');
if (!existsSync(config)) {
  console.log('build:web: no web/vite.config.ts in this checkout, so no web app to build.');
  process.exit(0);
}
const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
if (!existsSync(vite)) {
  console.error('build:web: Vite is not installed; run `npm ci` first.');
  process.exit(1);
}
const run = spawnSync(process.execPath, [vite, 'build', '--config', config], { cwd: root, stdio: 'inherit' });
process.exit(run.status ?? 1);

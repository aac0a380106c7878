/**
 * The e2e project's global setup: the run's emulators (shared with the integration project) and one
 * archive host serving the built web app (web/dist) beside /api, on a free port. It builds nothing:
 * `npm run build` builds the app (npm run build:web); a missing build fails here, saying so.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startArchiveHost, type ArchiveHost } from '../../local/archive-host';
import { allowWebOriginsOnAzurite } from '../../local/emulators';
import { readEmulators } from './emulators-file';
import type { E2eTarget } from './e2e-target';
import globalSetup from './global-setup';
import globalTeardown from './global-teardown';
import { quietLog, testEnv } from './harness';

export const REPO = path.resolve(__dirname, '..', '..');
export const WEB_DIR = path.join(REPO, 'web', 'dist');

/** web/dist, or a clear error when web/ (the app's source) is there but not built. */
function builtApp(): string {
  if (fs.existsSync(path.join(WEB_DIR, 'index.html'))) return WEB_DIR;
  if (fs.existsSync(path.join(REPO, 'web'))) {
    throw new Error(`The e2e tests need the built web app, and ${path.join(WEB_DIR, 'index.html')} is missing. Run \`npm run build\` (it runs \`npm run build:web\`: Vite builds web/ into web/dist/), then the tests again.`);
  }
  // No app source in this checkout: the host answers / with "not built"; the sign-in tests need only the issuer and /api.
  console.warn('e2e: no web/ in this checkout, so no app is served; only the sign-in and API checks can run.');
  return WEB_DIR;
}

export default async function e2eSetup(): Promise<void> {
  const webDir = builtApp();
  await globalSetup();
  const emulators = readEmulators();
  let host: ArchiveHost;
  try {
    host = await startArchiveHost({ env: testEnv(emulators, { ARCHIVE_WEB_DIR: webDir }), log: quietLog });
  } catch (err) {
    // Jest runs no teardown after a failed setup: stop the emulators just started rather than leave them running.
    await globalTeardown();
    throw err;
  }
  // As npm start does: a download above ARCHIVE_STREAMED_ANSWER_MAX_BYTES is a 303 the app's fetch follows to Azurite.
  await allowWebOriginsOnAzurite(emulators.storageConnectionString, [host.appUrl]).catch(async (err: unknown) => {
    await host.stop();
    await globalTeardown();
    throw err;
  });
  const target: E2eTarget = { appUrl: host.appUrl, apiUrl: host.url, issuer: emulators.issuer };
  const file = path.join(os.tmpdir(), `archive-e2e-target-${process.pid}.json`);
  fs.writeFileSync(file, JSON.stringify(target));
  process.env.ARCHIVE_E2E_TARGET = file;
  (globalThis as Record<string, unknown>).__archiveE2e = { host, file };
}

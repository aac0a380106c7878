/**
 * `npm run sweep`: one run of the retention sweep (then the fixity check and the
 * reconciler with `--all`) against the local archive's emulators (`npm start` must run).
 * `--now 2040-01-01T00:00:00Z` judges retention at another instant (local only).
 */
import { parseArgs } from 'node:util';
import { buildDeps } from '../shared/app';
import { loadConfig } from '../shared/config';
import { runFixityTimer, runReconcileTimer, runSweepTimer } from '../shared/retention/timers';
import { AZURITE_ACCOUNT, AZURITE_KEY, COSMOS_EMULATOR_KEY } from './emulators';
import { LOCAL_AUDIENCE } from './oidc';
import { LOCAL_ISSUER, LOCAL_PORTS } from './paths';

async function main() {
  const { values } = parseArgs({ options: { now: { type: 'string' }, all: { type: 'boolean', default: false } } });
  const config = loadConfig({
    STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=http://127.0.0.1:${LOCAL_PORTS.azurite}/${AZURITE_ACCOUNT};QueueEndpoint=http://127.0.0.1:${LOCAL_PORTS.azuriteQueue}/${AZURITE_ACCOUNT};`,
    COSMOS_ENDPOINT: `http://127.0.0.1:${LOCAL_PORTS.cosmos}`,
    COSMOS_KEY: COSMOS_EMULATOR_KEY,
    AUTH_ISSUER: LOCAL_ISSUER,
    AUTH_AUDIENCE: LOCAL_AUDIENCE,
    AUTH_JWKS_URI: `${LOCAL_ISSUER}/jwks`,
    ARCHIVE_WORM: 'emulator',
    ...process.env,
  });
  const fixed = values.now ? new Date(values.now) : null;
  if (fixed && Number.isNaN(fixed.getTime())) throw new Error(`--now ${values.now} is not an instant`);
  const deps = await buildDeps(config, fixed ? { clock: { now: () => fixed } } : {});
  const sweep = await runSweepTimer(deps);
  console.log(JSON.stringify({ sweep: { disposed: sweep.disposed, completed: sweep.completed, blocked: sweep.blocked, tenants: sweep.tenants, more: sweep.continuation !== null } }, null, 2));
  if (values.all) {
    const fixity = await runFixityTimer(deps);
    const reconciled = await runReconcileTimer(deps);
    console.log(JSON.stringify({ fixity: { checked: fixity.checked, failures: fixity.failures }, reconcile: { indexed: reconciled.indexed, flagged: reconciled.flagged } }, null, 2));
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

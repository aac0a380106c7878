/**
 * `npm start`: the whole archive on one machine, on embedded defaults. Starts Azurite
 * (data in .local/azurite; skipped when STORAGE_CONNECTION_STRING names another store), the
 * Cosmos protocol server (journaled write-through to .local/cosmos), a local OIDC issuer,
 * serves the same route table as Azure Functions on :7071/api and runs the same timers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startArchiveHost } from './archive-host';
import { loadOrCreateAuditChainKey } from './audit-chain-key';
import { allowWebOriginsOnAzurite, freePort, startAzurite, startCosmos } from './emulators';
import { LOCAL_AUDIENCE, loadOrCreateSigningKey, startOidcIssuer } from './oidc';
import { AUDIT_CHAIN_KEY_FILE, COSMOS_DATA_DIR, LOCAL_DIR, LOCAL_PORTS, SIGNING_KEY_FILE, tokenCommand } from './paths';
import { TIMER_ZONE } from './timers';
import { javaToolsPresent, resolveVeraPdf, VeraPdfValidator } from '../shared/validation/verapdf';

async function main() {
  const azuriteDir = path.join(LOCAL_DIR, 'azurite');
  fs.mkdirSync(azuriteDir, { recursive: true });
  const azurite = process.env.STORAGE_CONNECTION_STRING
    ? null
    : await startAzurite({ port: LOCAL_PORTS.azurite || (await freePort()), queuePort: LOCAL_PORTS.azuriteQueue || (await freePort()), location: azuriteDir });
  const cosmos = await startCosmos({ port: LOCAL_PORTS.cosmos, dataDir: COSMOS_DATA_DIR });
  const oidc = await startOidcIssuer(await loadOrCreateSigningKey(SIGNING_KEY_FILE), { port: LOCAL_PORTS.oidc });
  const env = {
    ...(azurite ? { STORAGE_CONNECTION_STRING: azurite.connectionString } : {}),
    COSMOS_ENDPOINT: cosmos.endpoint,
    COSMOS_KEY: cosmos.key,
    AUTH_ISSUER: oidc.issuer,
    AUTH_AUDIENCE: LOCAL_AUDIENCE,
    AUTH_JWKS_URI: oidc.jwksUri,
    ARCHIVE_WORM: 'emulator',
    // Harmless until the audit log reads it through the config loader; then it keys the chain.
    AUDIT_CHAIN_KEY: process.env.AUDIT_CHAIN_KEY ?? loadOrCreateAuditChainKey(AUDIT_CHAIN_KEY_FILE),
    ...process.env, // an explicit setting wins over the embedded defaults
  };
  // The validation worker needs veraPDF (a JDK and Maven); Node alone still runs the archive.
  let validator: VeraPdfValidator | undefined;
  let validation = 'off: no JDK/Maven on PATH. Install a JDK (17+) and Maven, then restart; documents show validation: pending until then';
  if (javaToolsPresent()) {
    try {
      validator = new VeraPdfValidator(resolveVeraPdf(path.resolve(__dirname, '../..')));
      validation = 'veraPDF (PDF/A-2B) worker on the rendition-validation queue, every 3 s';
    } catch (err) {
      validation = `off: veraPDF could not be resolved through Maven (${err instanceof Error ? err.message.split('\n')[0] : String(err)}); documents show validation: pending`;
    }
  }
  const host = await startArchiveHost({ env, port: LOCAL_PORTS.archive, dataDir: LOCAL_DIR, timers: true, ...(validator ? { validator } : {}) });
  // A large download is answered 303 to Azurite: the web app's fetch follows it there (served here, or by `npm run dev:web`).
  if (azurite) await allowWebOriginsOnAzurite(azurite.connectionString, [host.appUrl, host.appUrl.replace('127.0.0.1', 'localhost'), 'http://localhost:5173']);
  const timers = host.timers?.timers ?? [];
  const banner = [
    '',
    'Document archive (local host) is running',
    `  API            ${host.url.replace('127.0.0.1', 'localhost')}   (try GET /api/health)`,
    `  Web app        ${host.appUrl.replace('127.0.0.1', 'localhost')}   ${fs.existsSync(path.join(host.web.dir, 'index.html')) ? 'sign in with the local issuer\'s development form' : `not built: npm run build builds it into ${host.web.dir}`}`,
    azurite ? `  Blob storage   Azurite on 127.0.0.1:${azurite.port} (queues on :${azurite.queuePort}), data in ${azuriteDir}; CORS lets the web app read download links` : '  Blob storage   STORAGE_CONNECTION_STRING from the environment (the web app reads large downloads there: allow its origin by CORS)',
    `  Validation     ${validation}`,
    `  Exports        one at a time from the ${host.deps.config.ARCHIVE_EXPORT_QUEUE} queue, polled every ${host.deps.config.ARCHIVE_EXPORT_QUEUE_POLL_MS} ms (as the Functions queue trigger)`,
    `  Catalog/audit  Cosmos DB protocol server on ${cosmos.endpoint}, durable: every write is journaled and fsync'ed`,
    `                 before it is acknowledged (${COSMOS_DATA_DIR}: snapshot.ndjson + journal.ndjson, compacted)`,
    `                 replayed ${cosmos.restoredEntries} journal/snapshot entries, imported ${host.restored.legacySnapshotItems} from an old snapshot,`,
    `                 indexed ${host.restored.indexedFromManifests} documents from manifests`,
    `  Audit chain    key in ${process.env.AUDIT_CHAIN_KEY ? 'AUDIT_CHAIN_KEY (environment)' : AUDIT_CHAIN_KEY_FILE}`,
    `  Timers         NCRONTAB in ${TIMER_ZONE}, as in Azure; a run still going skips its next tick`,
    ...timers.map((t) => `                 ${t.name.padEnd(18)} ${t.schedule.padEnd(16)} next ${t.nextRun?.toISOString() ?? 'never'}`),
    `  Tokens         local OIDC issuer ${oidc.issuer} (JWKS ${oidc.jwksUri}); get one with:`,
    `                 ${tokenCommand(oidc.issuer, '--tenant acme --sub alice@acme.example --rights archivist')}`,
    '                 (without --rights, and without a rights set the tenant assigned, a token may do nothing)',
    '',
    '  !! WARNING: storage-level WORM is NOT enforced here. Azurite ignores immutability policies and',
    '  !! legal holds; the archive sends them and never overwrites or deletes, but the emulator would',
    '  !! let anyone else do so. ARCHIVE_WORM=emulator is refused when running in Azure.',
    '',
  ];
  console.log(banner.join('\n'));
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('stopping: waiting for running timers, compacting the catalog journal…');
    await host.stop();
    await Promise.all([oidc.stop(), cosmos.stop(), azurite?.stop()]);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

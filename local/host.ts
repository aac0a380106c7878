/**
 * `npm start`: the whole archive on one machine, on embedded defaults. Starts Azurite
 * (data in .local/azurite), the Cosmos protocol server (snapshotted to .local/), a local
 * OIDC issuer, and serves the same route table as Azure Functions on :7071/api.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startArchiveHost } from './archive-host';
import { startAzurite, startCosmos } from './emulators';
import { LOCAL_AUDIENCE, loadOrCreateSigningKey, startOidcIssuer } from './oidc';
import { LOCAL_DIR, LOCAL_PORTS, SIGNING_KEY_FILE } from './paths';
import { javaToolsPresent, resolveVeraPdf, VeraPdfValidator } from '../shared/validation/verapdf';

async function main() {
  fs.mkdirSync(path.join(LOCAL_DIR, 'azurite'), { recursive: true });
  const azurite = await startAzurite({ port: LOCAL_PORTS.azurite, queuePort: LOCAL_PORTS.azuriteQueue, location: path.join(LOCAL_DIR, 'azurite') });
  const cosmos = await startCosmos({ port: LOCAL_PORTS.cosmos });
  const oidc = await startOidcIssuer(await loadOrCreateSigningKey(SIGNING_KEY_FILE), { port: LOCAL_PORTS.oidc });
  const env = {
    STORAGE_CONNECTION_STRING: azurite.connectionString,
    COSMOS_ENDPOINT: cosmos.endpoint,
    COSMOS_KEY: cosmos.key,
    AUTH_ISSUER: oidc.issuer,
    AUTH_AUDIENCE: LOCAL_AUDIENCE,
    AUTH_JWKS_URI: oidc.jwksUri,
    ARCHIVE_WORM: 'emulator',
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
  const host = await startArchiveHost({ env, port: LOCAL_PORTS.archive, dataDir: LOCAL_DIR, ...(validator ? { validator } : {}) });
  const banner = [
    '',
    'Document archive (local host) is running',
    `  API            ${host.url.replace('127.0.0.1', 'localhost')}   (try GET /api/health)`,
    `  Blob storage   Azurite on 127.0.0.1:${azurite.port} (queues on :${azurite.queuePort}), data in ${path.join(LOCAL_DIR, 'azurite')}`,
    `  Validation     ${validation}`,
    `  Catalog/audit  Cosmos DB protocol server on ${cosmos.endpoint}, snapshot in ${path.join(LOCAL_DIR, 'cosmos-snapshot.json')}`,
    `                 restored ${host.restored.snapshotItems} items from the snapshot, indexed ${host.restored.indexedFromManifests} documents from manifests`,
    `  Tokens         local OIDC issuer ${oidc.issuer} (JWKS ${oidc.jwksUri}); get one with:`,
    '                 npm run token -- --tenant acme --sub alice@acme.example [--rights archivist]',
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
    console.log('stopping: saving the catalog snapshot…');
    await host.stop();
    await Promise.all([oidc.stop(), cosmos.stop(), azurite.stop()]);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

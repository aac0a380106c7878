/**
 * A restart of the local host loses nothing: the Cosmos protocol server is in memory,
 * so it replays its snapshot and journal, and the host re-indexes documents from their manifests.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startArchiveHost } from '../../local/archive-host';
import { startAzurite, startCosmos } from '../../local/emulators';
import { mintToken } from '../../local/oidc';
import { readEmulators } from '../support/emulators-file';
import { corpusFile, newTenant, quietLog, testEnv } from '../support/harness';
import { call, rawUpload } from '../support/http';

/**
 * A blob store of this file's own: a host that keeps its data indexes every manifest it finds at start, and on the run's
 * shared Azurite that was every document the suite had stored before (a start that grew with the suite, past the timeout).
 */
let azurite: Awaited<ReturnType<typeof startAzurite>>;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(() => azurite.stop());

async function hostOn(dataDir: string) {
  const emulators = readEmulators();
  const cosmos = await startCosmos({ dataDir: path.join(dataDir, 'cosmos') }); // a fresh server, restored from its files
  const host = await startArchiveHost({ env: testEnv(emulators, { COSMOS_ENDPOINT: cosmos.endpoint, STORAGE_CONNECTION_STRING: azurite.connectionString }), dataDir, log: quietLog });
  return { host, stop: async () => { await host.stop(); await cosmos.stop(); } };
}

it('keeps documents and audit entries across a restart, and rebuilds the catalog from manifests alone', async () => {
  const emulators = readEmulators();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-restart-'));
  const tenant = newTenant('restart');
  const token = await mintToken(emulators.signingKey, emulators.issuer, { tenant, sub: 'frank', rights: 'auditor' });
  const writer = await mintToken(emulators.signingKey, emulators.issuer, { tenant, sub: 'gina', rights: 'archivist' });

  const first = await hostOn(dataDir);
  expect(first.host.timers).toBeNull(); // test hosts run no timers unless asked (timers: true)
  const up = await call(`${first.host.url}/documents`, { ...rawUpload(corpusFile('img2pdf/normal.jpg'), 'image/jpeg'), token: writer });
  expect(up.status).toBe(201);
  const auditBefore = (await call(`${first.host.url}/audit`, { token })).json.items;
  await first.stop();

  const second = await hostOn(dataDir);
  expect((await call(`${second.host.url}/documents/${up.json.id}`, { token })).json).toEqual(up.json);
  const auditAfter = (await call(`${second.host.url}/audit`, { token })).json.items;
  // Everything from before is still there, plus the audit.read of the first host's last call.
  expect(auditAfter.slice(-auditBefore.length)).toEqual(auditBefore);
  expect(auditAfter.length).toBe(auditBefore.length + 2);
  await second.stop();

  // Without the Cosmos files (say they were lost), the manifests alone bring the documents back.
  fs.rmSync(path.join(dataDir, 'cosmos'), { recursive: true });
  const third = await hostOn(dataDir);
  expect(third.host.restored.indexedFromManifests).toBe(1);
  expect((await call(`${third.host.url}/documents/${up.json.id}`, { token })).json).toEqual(up.json);
  await third.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

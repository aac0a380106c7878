/**
 * Every document that enters the catalog from its manifest has its `document.reindex` audit
 * entry, whoever re-indexes it: here the local host's start-up rebuild (the reconciler's is in
 * sweep.test.ts), against a fresh Cosmos database such as a lost snapshot leaves.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { startArchiveHost } from '../../local/archive-host';
import { startAzurite } from '../../local/emulators';
import { mintToken } from '../../local/oidc';
import { readEmulators } from '../support/emulators-file';
import { newTenant, quietLog, startTestArchive, testEnv } from '../support/harness';
import { call } from '../support/http';
import { uniqueJpeg } from '../support/worm-archive';

it('the start-up re-index from manifests writes one document.reindex entry per document it indexes', async () => {
  const emulators = readEmulators();
  const tenant = newTenant('reindex');
  // Its own blob store: the start-up re-index reads every manifest it finds, on the run's shared Azurite every document the suite stored.
  const azurite = await startAzurite();
  const storage = { STORAGE_CONNECTION_STRING: azurite.connectionString };
  const first = await startTestArchive(storage);
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(uniqueJpeg())], { type: 'image/jpeg' }), 'scan.jpg');
  const up = await call(`${first.url}/documents`, { method: 'POST', body: form, token: await first.token({ tenant, sub: 'app', rights: 'uploader' }) });
  expect(up.status).toBe(201);
  await first.stop();

  // A host that keeps its data starts on an empty catalog: it re-indexes from the manifests.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-reindex-'));
  const host = await startArchiveHost({ env: testEnv(emulators, { ...storage, COSMOS_DATABASE: `reindex-${randomBytes(4).toString('hex')}` }), dataDir, log: quietLog });
  try {
    expect(host.restored.indexedFromManifests).toBe(1);
    const auditor = await mintToken(emulators.signingKey, emulators.issuer, { tenant, sub: 'auditor-1', rights: 'auditor' });
    expect((await call(`${host.url}/documents/${up.json.id}`, { token: auditor })).status).toBe(200);
    const entries = ((await call(`${host.url}/audit?limit=500`, { token: auditor })).json.items as { action: string; target: string; actor: { subject: string } }[]).filter((e) => e.action === 'document.reindex');
    expect(entries).toMatchObject([{ target: up.json.id, actor: { subject: 'system:catalog-rebuild' } }]);
  } finally {
    await host.stop();
    await azurite.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

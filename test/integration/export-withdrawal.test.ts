/**
 * Once the retention sweep has disposed of a document, no copy of it stays downloadable through
 * the archive: an export made before, still unexpired, is withdrawn (ZIP deleted, 410 naming why,
 * `export.withdrawn` audited). Exports holding only documents whose retention outlives them are untouched.
 */
import { randomBytes } from 'node:crypto';
import { ExportBlobs } from '../../shared/adapters/azure/export-store';
import { maintainExports } from '../../shared/exports/maintain-exports';
import { sweep } from '../../shared/retention/sweep';
import { call } from '../support/http';
import { depsForOnlyTenant, newTenant } from '../support/harness';
import { ingest, startWormArchive, WormArchive } from '../support/worm-archive';

let archive: WormArchive;
beforeAll(async () => {
  archive = await startWormArchive('2025-12-31T12:00:00Z', { COSMOS_DATABASE: `withdraw-${randomBytes(4).toString('hex')}` });
});
afterAll(() => archive.stop());

async function exported(token: string, body: unknown): Promise<{ id: string; archive: { sha256: string }; expiresAt: string }> {
  const start = await call(`${archive.url}/exports`, { method: 'POST', token, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  expect(start.status).toBe(202);
  for (let i = 0; i < 300; i++) {
    const r = await call(`${archive.url}/exports/${start.json.id}`, { token });
    if (r.json.status !== 'running') {
      expect(r.json.status).toBe('completed');
      return r.json;
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error('export did not finish');
}

it('the sweep withdraws an export holding a document it disposes of; an export of documents still retained stays', async () => {
  archive.clock.set('2025-12-31T12:00:00Z');
  const tenant = newTenant('withdraw');
  const archivist = await archive.token({ tenant, sub: 'archivist-1', rights: 'archivist' });
  const accountant = await archive.token({ tenant, sub: 'accountant-1', rights: 'accountant' });
  const old = await ingest(archive, archivist, { fiscalYear: 2018 }); // retention ends 2026-01-01, inside the export's 72 hours
  await ingest(archive, archivist, { fiscalYear: 2025 });

  const both = await exported(accountant, {});
  const young = await exported(accountant, { fiscalYear: 2025 });
  expect((await call(`${archive.url}/exports/${both.id}/download`, { token: accountant })).status).toBe(200);

  archive.clock.set('2026-01-02T00:00:00Z');
  const deps = depsForOnlyTenant(archive.host.deps, tenant);
  const swept = await sweep({ now: archive.clock.now(), budget: { maxItems: 1000, maxMillis: 60_000 }, continuation: null }, deps);
  expect(swept.disposed).toEqual([`${tenant}/${old}`]);
  expect(swept.exportsWithdrawn).toEqual([both.id]);

  const gone = await call(`${archive.url}/exports/${both.id}/download`, { token: accountant });
  expect([gone.status, gone.json.code, gone.json.reason]).toEqual([410, 'export_expired', 'documents-disposed']);
  expect(gone.json.detail).toMatch(/withdrawn .*disposed of/);
  expect((await call(`${archive.url}/exports/${both.id}`, { token: accountant })).json.status).toBe('expired');
  const blobs = archive.host.deps.exportBlobs as unknown as { service: import('@azure/storage-blob').BlobServiceClient };
  expect(await blobs.service.getContainerClient(ExportBlobs.containerName(tenant)).getBlobClient(`${both.id}.zip`).exists()).toBe(false);
  expect((await call(`${archive.url}/exports/${young.id}/download`, { token: accountant })).status).toBe(200);

  const log = (await archive.host.deps.audit.list(tenant, '2026-01', 200)).items;
  expect(log.filter((e) => e.action === 'export.withdrawn')).toEqual([expect.objectContaining({ target: both.id, outcome: 'success', detail: `documents-disposed=1;${old}` })]);
  // Maintenance finds nothing more to withdraw, and withdraws nothing twice.
  expect((await maintainExports({ now: archive.clock.now(), deps, tenantId: tenant })).withdrawn).toEqual([]);
});

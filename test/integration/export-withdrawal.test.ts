/**
 * Once the retention sweep has disposed of a document, no copy of it stays downloadable through
 * the archive: an export made before, still unexpired, is withdrawn (ZIP deleted, 410 naming why,
 * `export.withdrawn` audited). Exports holding only documents whose retention outlives them are untouched.
 * A large export's list is a blob beside its ZIP, tested through the Bloom filter on its job; a running
 * export is marked; a run stopped before its tombstones is finished, withdrawal included, by the next.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { ExportBlobs } from '../../shared/adapters/azure/export-store';
import { disposableFilter } from '../../shared/exports/disposable-filter';
import { exportDisposableListName, type ExportJob } from '../../shared/kernel/export';
import type { Deps } from '../../shared/deps';
import { maintainExports } from '../../shared/exports/maintain-exports';
import { sweep } from '../../shared/retention/sweep';
import { call } from '../support/http';
import { depsForOnlyTenant, newTenant } from '../support/harness';
import { ingest, startWormArchive, WormArchive } from '../support/worm-archive';

let archive: WormArchive;
beforeAll(async () => {
  archive = await startWormArchive('2025-12-30T12:00:00Z', { COSMOS_DATABASE: `withdraw-${randomBytes(4).toString('hex')}` });
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
  archive.clock.set('2025-12-30T12:00:00Z');
  const tenant = newTenant('withdraw');
  const archivist = await archive.token({ tenant, sub: 'archivist-1', rights: 'archivist' });
  const accountant = await archive.token({ tenant, sub: 'accountant-1', rights: 'accountant' });
  const old = await ingest(archive, archivist, { fiscalYear: 2018 }); // retention ends 2026-01-01 (36 hours on: at least a day, as ingest requires), inside the export's 72 hours
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

it('a sweep stopped before its tombstones withdraws on the next run; a large list is read from its blob, a running export is marked', async () => {
  archive.clock.set('2025-12-30T12:00:00Z');
  const tenant = newTenant('withdraw-big');
  const archivist = await archive.token({ tenant, sub: 'archivist-1', rights: 'archivist' });
  const accountant = await archive.token({ tenant, sub: 'accountant-1', rights: 'accountant' });
  const old = await ingest(archive, archivist, { fiscalYear: 2018 }); // retention ends 2026-01-01
  const small = await exported(accountant, {});
  const base = (await archive.host.deps.exportJobs.get(tenant, small.id))!;

  // A large legal-hold export (its ids in the list blob), and one still running: written as the worker would.
  const ids = [...Array.from({ length: 1500 }, (_, i) => `0190a000-0000-7000-8000-${String(i).padStart(12, '0')}`), old].sort();
  const big: ExportJob = { ...base, id: `${small.id}-big`, blobName: `${small.id}-big.zip`, disposable: undefined, disposableCount: ids.length, disposableFilter: disposableFilter(ids, ids.length), disposableFrom: '2018-01-01T00:00:00.000Z' };
  delete big.disposable;
  await archive.host.deps.exportJobs.create(big);
  await archive.host.deps.exportBlobs.upload(tenant, big.blobName, Readable.from([Buffer.from('zip')]));
  await archive.host.deps.exportBlobs.upload(tenant, exportDisposableListName(big.id, big.attempts), Readable.from([ids.join('\n') + '\n']), 'text/plain; charset=utf-8');
  const running: ExportJob = { ...base, id: `${small.id}-running`, status: 'running' };
  delete running.archive;
  delete running.completedSeal; // a running attempt carries no completion seal (the sweep takes one that does as handed out)
  await archive.host.deps.exportJobs.create(running);

  archive.clock.set('2026-01-02T00:00:00Z');
  const deps = depsForOnlyTenant(archive.host.deps, tenant);
  const run = () => sweep({ now: archive.clock.now(), budget: { maxItems: 1000, maxMillis: 60_000 }, continuation: null }, deps);
  // The first run stops where it would withdraw (Cosmos unavailable for the listing): nothing is tombstoned yet.
  const failing: Deps = { ...deps, exportJobs: Object.create(deps.exportJobs) as Deps['exportJobs'] };
  const refuse = async () => {
    throw new Error('Cosmos unavailable');
  };
  Object.assign(failing.exportJobs, { listExposed: refuse, unsafeListHoldingDisposable: refuse });
  await expect(sweep({ now: archive.clock.now(), budget: { maxItems: 1000, maxMillis: 60_000 }, continuation: null }, failing)).rejects.toThrow('Cosmos unavailable');

  const swept = await run();
  expect(swept.completed).toEqual([`${tenant}/${old}`]);
  expect(swept.exportsWithdrawn.sort()).toEqual([small.id, big.id].sort());
  const container = (archive.host.deps.exportBlobs as unknown as { service: import('@azure/storage-blob').BlobServiceClient }).service.getContainerClient(ExportBlobs.containerName(tenant));
  for (const name of [big.blobName, exportDisposableListName(big.id, 1), `${small.id}.zip`]) expect(await container.getBlobClient(name).exists()).toBe(false);
  expect((await call(`${archive.url}/exports/${big.id}/download`, { token: accountant })).json.reason).toBe('documents-disposed');
  expect((await archive.host.deps.exportJobs.get(tenant, running.id))!).toMatchObject({ status: 'running', disposedWhileRunning: [old] });
});

/**
 * An export records which of its documents a disposal could reach before it expires (retention
 * ends first); export maintenance withdraws an export once one of them is gone from the catalog
 * (the sweep's own withdrawal missed it). However many such documents it holds, it keeps its
 * lifetime (ids past EXPORT_DISPOSABLE_ON_JOB go to a list blob, a Bloom filter on the job). A
 * running export is marked by the sweep, and its worker withdraws it instead of completing.
 */
import type { ArchivedDocument } from '../../../shared/kernel/document';
import { EXPORT_DISPOSABLE_ON_JOB, exportDisposableListName } from '../../../shared/kernel/export';
import { disposableFilter, mayHold } from '../../../shared/exports/disposable-filter';
import { withdrawExportsHolding } from '../../../shared/exports/withdraw-exports';
import { maintainExports } from '../../../shared/exports/maintain-exports';
import { runExport } from '../../../shared/exports/run-export';
import { startExport } from '../../../shared/exports/start-export';
import { exportFile } from '../../../shared/exports/download-export';
import { ArchiveError } from '../../../shared/kernel/errors';
import type { Principal } from '../../../shared/kernel/principal';
import { inMemoryDeps, ListingCatalog } from '../../support/in-memory';
import { keepManifest, seedMany } from '../../support/seed';

const T = 'acme';
const NOW = '2025-03-01T12:00:00.000Z';


/** Documents whose retention ends at the given instants (seeded ones run to 2099). */
async function exportOf(retainUntil: string[], extra: Partial<ArchivedDocument> = {}) {
  const deps = { ...inMemoryDeps(), catalog: new ListingCatalog() };
  const docs = await seedMany(deps, T, retainUntil.map((_, i) => ({ metadata: { documentDate: '2018-06-01', reference: `R-${i}` } })));
  for (const [i, d] of docs.entries()) {
    const doc = { ...d, ...extra, retention: { ...d.retention, retainUntil: retainUntil[i]! } };
    deps.catalog.documents.set(`${T}/${d.id}`, doc);
    await keepManifest(deps, doc); // its sealed retain-until: without it a document is reachable at once
  }
  const principal = { tenantId: T, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;
  const { job } = await startExport(principal, { includeOriginals: false }, 'req-1', deps);
  const done = await runExport(T, job.id, deps);
  expect(done.status).toBe('completed');
  return { deps, docs, job: done, requested: job };
}

it('maintenance withdraws an export once a document it holds is disposed of: ZIP deleted, 410 naming why, audited once', async () => {
  const soon = '2025-03-02T00:00:00.000Z'; // inside the export's 72 hours
  const { deps, docs, job } = await exportOf([soon, '2099-01-01T00:00:00.000Z']);
  expect(job).toMatchObject({ disposable: [docs[0]!.id], disposableFrom: soon });
  const blobs = (deps.exportBlobs as unknown as { blobs: Map<string, Buffer> }).blobs;
  expect(blobs.size).toBe(1);

  // Before its retention ends nothing is looked at; once the document is disposed of, the export goes.
  expect((await maintainExports({ now: new Date(NOW), deps })).withdrawn).toEqual([]);
  const later = new Date('2025-03-02T06:00:00.000Z');
  expect((await maintainExports({ now: later, deps })).withdrawn).toEqual([]);
  deps.catalog.documents.set(`${T}/${docs[0]!.id}`, { ...deps.catalog.documents.get(`${T}/${docs[0]!.id}`)!, status: 'disposed' });
  expect((await maintainExports({ now: later, deps })).withdrawn).toEqual([job.id]);
  expect((await maintainExports({ now: later, deps })).withdrawn).toEqual([]);

  expect(blobs.size).toBe(0);
  const refused = await exportFile({ tenantId: T, exportId: job.id }, deps).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(ArchiveError);
  expect(refused).toMatchObject({ code: 'export_expired', extensions: { reason: 'documents-disposed' } });
  expect(deps.audit.entries.filter((e) => e.action === 'export.withdrawn')).toEqual([expect.objectContaining({ target: job.id, detail: `documents-disposed=1;${docs[0]!.id}` })]);
});

it('a legal-hold export of more documents than fit on its job keeps its lifetime and is withdrawn for any one it holds', async () => {
  // Kept past their retention only by a legal hold: retain-until in the past, every one disposable once released.
  const n = EXPORT_DISPOSABLE_ON_JOB + 5;
  const { deps, docs, job, requested } = await exportOf(Array.from({ length: n }, () => '2024-01-01T00:00:00.000Z'), { legalHold: true });
  expect(job.expiresAt).toBe(requested.expiresAt);
  expect(job).toMatchObject({ disposableCount: n, disposableFrom: '2024-01-01T00:00:00.000Z' });
  expect(job.disposable).toBeUndefined();
  const blobs = (deps.exportBlobs as unknown as { blobs: Map<string, Buffer> }).blobs;
  const list = blobs.get(`${T}/${exportDisposableListName(job.id, 1)}`)!.toString('utf8').trim().split('\n');
  expect(new Set(list)).toEqual(new Set(docs.map((d) => d.id)));
  expect(mayHold(job.disposableFilter!, list)).toHaveLength(n);

  // Documents it does not hold: the filter rules them out (or the list does); the export stays.
  const others = Array.from({ length: 100 }, (_, i) => `0190a000-0000-7000-8000-${String(i).padStart(12, '0')}`);
  expect(await withdrawExportsHolding(T, others, new Date(NOW), deps)).toEqual([]);
  expect((await deps.exportJobs.get(T, job.id))!.status).toBe('completed');
  // One it holds, however deep in the list: withdrawn, ZIP and list deleted.
  const held = docs[n - 2]!.id;
  expect(await withdrawExportsHolding(T, [...others, held], new Date(NOW), deps)).toEqual([job.id]);
  expect(blobs.size).toBe(0);
  expect(deps.audit.entries.filter((e) => e.action === 'export.withdrawn')).toEqual([expect.objectContaining({ target: job.id, detail: `documents-disposed=1;${held}` })]);
});

it('the Bloom filter says yes to every id it holds and rarely to one it does not', () => {
  const ids = Array.from({ length: 20_000 }, (_, i) => `held-${i}`);
  const filter = disposableFilter(ids, ids.length);
  expect(mayHold(filter, ids)).toHaveLength(ids.length);
  const strangers = Array.from({ length: 20_000 }, (_, i) => `stranger-${i}`);
  expect(mayHold(filter, strangers).length).toBeLessThan(20); // about 1 in 2,000 expected
});

/** An export whose worker reads document blobs only once the test lets it (a slow instance). */
async function runningExport(retainUntil: string) {
  const deps = { ...inMemoryDeps(), catalog: new ListingCatalog() };
  const docs = await seedMany(deps, T, [0, 1].map((i) => ({ metadata: { documentDate: '2018-06-01', reference: `R-${i}` } })));
  docs.forEach((d) => deps.catalog.documents.set(`${T}/${d.id}`, { ...d, retention: { ...d.retention, retainUntil } }));
  const principal = { tenantId: T, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;
  const { job } = await startExport(principal, { includeOriginals: false }, 'req-1', deps);
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const slowDeps = {
    ...deps,
    blobs: new Proxy(deps.blobs, {
      get: (target, prop, receiver) => (prop === 'read' ? async (...args: Parameters<typeof target.read>) => (await opened, target.read(...args)) : Reflect.get(target, prop, receiver)),
    }),
  };
  const worker = runExport(T, job.id, slowDeps);
  for (let i = 0; i < 100 && (await deps.exportJobs.get(T, job.id))!.attempts < 1; i++) await new Promise((r) => setImmediate(r));
  return { deps, docs, job, worker, open };
}

it('the sweep marks a running export with what it disposed of; the worker, holding one, withdraws instead of completing, even if it stops right after its save', async () => {
  const { deps, docs, job, worker, open } = await runningExport('2025-03-02T00:00:00.000Z');
  // The worker's instance stops right after its completion is saved: nothing after that save runs.
  const replace = deps.exportJobs.replace.bind(deps.exportJobs);
  deps.exportJobs.replace = async (next, etag, outbox) => {
    const written = await replace(next, etag, outbox);
    if (written !== 'conflict' && next.status === 'completed') throw new Error('instance stopped');
    return written;
  };
  // The sweep disposes of a document the worker has already listed (its blob is still being copied).
  expect(await withdrawExportsHolding(T, [docs[0]!.id], new Date('2025-03-02T06:00:00.000Z'), deps)).toEqual([]);
  expect((await deps.exportJobs.get(T, job.id))!.disposedWhileRunning).toEqual([docs[0]!.id]);
  open();
  await worker;

  const final = (await deps.exportJobs.get(T, job.id))!;
  expect(final).toMatchObject({ status: 'expired', withdrawn: { documents: [docs[0]!.id] } });
  expect(final.archive).toBeUndefined();
  expect((deps.exportBlobs as unknown as { blobs: Map<string, Buffer> }).blobs.size).toBe(0);
  await expect(exportFile({ tenantId: T, exportId: job.id }, deps)).rejects.toMatchObject({ code: 'export_expired', extensions: { reason: 'documents-disposed' } });
  expect(deps.audit.entries.map((e) => e.action)).toEqual(['export.withdrawn']);
});

it('a running export marked with documents it does not hold completes as usual', async () => {
  const { deps, job, worker, open } = await runningExport('2025-03-02T00:00:00.000Z');
  const elsewhere = '0190a000-0000-7000-8000-000000000001';
  expect(await withdrawExportsHolding(T, [elsewhere], new Date('2025-03-02T06:00:00.000Z'), deps)).toEqual([]);
  open();
  expect(await worker).toMatchObject({ status: 'completed', disposedWhileRunning: [elsewhere] });
  expect((await exportFile({ tenantId: T, exportId: job.id }, deps)).size).toBeGreaterThan(0);
});

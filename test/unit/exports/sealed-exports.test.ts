/**
 * An export job is sealed by the archive (shared/exports/export-seal.ts): whoever can write Cosmos DB and edits what
 * decides what is handed out, for how long, what a disposal withdraws, or whom the log names, finds the job not handed
 * out, withdrawn by the sweep, expired by maintenance, not run by the worker, and the operators alerted.
 */
import { EXPORT_UNSEALED } from '../../../shared/exports/export-seal';
import { exportFile } from '../../../shared/exports/download-export';
import { maintainExports } from '../../../shared/exports/maintain-exports';
import { runExport } from '../../../shared/exports/run-export';
import { startExport } from '../../../shared/exports/start-export';
import { withdrawExportsHolding } from '../../../shared/exports/withdraw-exports';
import { exportBlobName, type ExportJob } from '../../../shared/kernel/export';
import type { Principal } from '../../../shared/kernel/principal';
import { type InMemoryExportJobs, inMemoryDeps, ListingCatalog, type RecordingLogger } from '../../support/in-memory';
import { keepManifest, seedMany } from '../../support/seed';

const T = 'acme';
const principal = { tenantId: T, subject: 'anna', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;
const DAY = 86400_000;

/**
 * Two documents: one whose retention ends while the export lives (its `disposable`), one a day after it expires (a
 * disposal reaches it only past the expiry). Two exports of them, the second another ZIP of the same tenant.
 */
async function world() {
  const deps = { ...inMemoryDeps(), catalog: new ListingCatalog() };
  const now = deps.clock.now();
  const expiry = now.getTime() + deps.config.ARCHIVE_EXPORT_TTL_HOURS * 3600_000;
  const docs = await seedMany(deps, T, [{ metadata: { documentDate: '2018-06-01', reference: 'R-0' } }, { metadata: { documentDate: '2018-06-02', reference: 'R-1' } }]);
  const ends = [now.getTime() + 3600_000, expiry + DAY];
  for (const [i, d] of docs.entries()) {
    const doc = { ...d, retention: { ...d.retention, retainUntil: new Date(ends[i]!).toISOString() } };
    deps.catalog.documents.set(`${T}/${d.id}`, doc);
    await keepManifest(deps, doc); // its sealed retain-until: without it a document is reachable at once
  }
  const exported = async (requestId: string, includeOriginals = false) => {
    const { job } = await startExport(principal, { includeOriginals }, requestId, deps);
    // Its request's entry, as the pipeline writes it (the worker looks for it to cite in manifest.json).
    await deps.audit.append({ tenantId: T, at: now.toISOString(), actor: { subject: 'anna', kind: 'user' }, action: 'export.create', target: job.id, outcome: 'success', status: 202, requestId, clientIp: null, userAgent: null });
    return runExport(T, job.id, deps);
  };
  const first0 = await exported('req-1');
  const other = await exported('req-2', true);
  // The first export's worker stopped once: it completed at its second attempt (`<id>.2.zip`).
  const first = (deps.exportJobs as InMemoryExportJobs).jobs.get(`${T}/${first0.id}`)!;
  (deps.exportJobs as InMemoryExportJobs).jobs.set(`${T}/${first0.id}`, { ...first, status: 'running' });
  const job = await runExport(T, first0.id, deps);
  expect(job.blobName).toBe(exportBlobName(job.id, 2));
  expect([job.status, other.status]).toEqual(['completed', 'completed']);
  expect(job.disposable).toEqual([docs[0]!.id]);
  const blobs = (deps.exportBlobs as unknown as { blobs: Map<string, Buffer> }).blobs;
  const edit = (change: (j: ExportJob) => ExportJob) => {
    const key = `${T}/${job.id}`;
    (deps.exportJobs as InMemoryExportJobs).jobs.set(key, change((deps.exportJobs as InMemoryExportJobs).jobs.get(key)!));
  };
  const alerts = () => (deps.log as RecordingLogger).lines.filter((l) => l.message === EXPORT_UNSEALED);
  return { deps, now, docs, job, other, blobs, edit, alerts };
}

type World = Awaited<ReturnType<typeof world>>;
const later = (at: string, ms: number) => new Date(Date.parse(at) + ms).toISOString();

const completedEdits: [string, (w: World) => (j: ExportJob) => ExportJob][] = [
  ['(a) its expiry moved later', () => (j) => ({ ...j, expiresAt: later(j.expiresAt, 7 * DAY) })],
  ['(b) an id dropped from its disposable documents', () => (j) => ({ ...j, disposable: [], disposableCount: 0 })],
  ['(b) its disposableFrom moved past its expiry', () => (j) => ({ ...j, disposableFrom: later(j.expiresAt, DAY) })],
  ['(c) another requester named', () => (j) => ({ ...j, createdBy: { subject: 'mallory', kind: 'user' }, requestId: 'req-mallory' })],
  ['(e) its ZIP swapped for another export\'s', (w) => (j) => ({ ...j, blobName: w.other.blobName, archive: w.other.archive!, manifestJson: w.other.manifestJson! })],
  ['(e) its attempts lowered (an expiry deletes the blobs of attempts up to it)', () => (j) => ({ ...j, attempts: 1 })],
  ['from before the seal (none on it)', () => ({ completedSeal: _s, seal: _r, ...j }) => j],
];

describe('a completed export edited in Cosmos DB', () => {
  it('withdrawn for its record alone (no document named): the answer does not say documents were disposed of', async () => {
    const w = await world();
    w.edit((j) => ({ ...j, status: 'expired', withdrawn: { at: w.now.toISOString(), documents: [] } }));
    const refused = await exportFile({ tenantId: T, exportId: w.job.id }, w.deps).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'export_expired' });
    expect((refused as Error & { detail?: string }).detail).toMatch(/its record in the catalog is not as the archive wrote it/);
  });

  it.each(completedEdits)('%s: not handed out, withdrawn by any disposal, alerted', async (_, change) => {
    const w = await world();
    w.edit(change(w));
    await expect(exportFile({ tenantId: T, exportId: w.job.id }, w.deps)).rejects.toMatchObject({ code: 'export_not_sealed' });
    // A disposal of the document its genuine record would not have been withdrawn for: its ids cannot be trusted.
    expect(await withdrawExportsHolding(T, [w.docs[1]!.id], w.now, w.deps)).toEqual([w.job.id]);
    expect([...w.blobs.keys()].filter((k) => k.includes(w.job.id))).toEqual([]);
    expect((await w.deps.exportJobs.get(T, w.job.id))!.status).toBe('expired');
    expect(w.alerts().length).toBeGreaterThan(0);
    // The withdrawal's entry is the system's, filed under no request the edited record names.
    expect(w.deps.audit.entries.filter((e) => e.action === 'export.withdrawn')).toEqual([expect.objectContaining({ requestId: `export-not-sealed:${w.job.id}`, actor: expect.objectContaining({ kind: 'system' }) })]);
  });

  it.each(completedEdits)('%s: expired by export maintenance at once, its ZIP deleted', async (_, change) => {
    const w = await world();
    w.edit(change(w));
    const { expired } = await maintainExports({ now: w.now, deps: w.deps, tenantId: T });
    expect(expired).toEqual([w.job.id]);
    expect([...w.blobs.keys()].filter((k) => k.includes(w.job.id))).toEqual([]);
    expect(w.alerts()).toEqual([expect.objectContaining({ level: 'error', fields: expect.objectContaining({ exportId: w.job.id, by: 'export-maintenance' }) })]);
    // The other export, sealed, is untouched.
    expect((await exportFile({ tenantId: T, exportId: w.other.id }, w.deps)).blobName).toBe(w.other.blobName);
  });

  it('a genuine one: downloadable, not withdrawn for a document a disposal cannot reach while it lives, nothing alerted', async () => {
    const w = await world();
    expect(await exportFile({ tenantId: T, exportId: w.job.id }, w.deps)).toMatchObject({ blobName: w.job.blobName, sha256: w.job.archive!.sha256 });
    expect(await withdrawExportsHolding(T, [w.docs[1]!.id], w.now, w.deps)).toEqual([]);
    expect(await maintainExports({ now: w.now, deps: w.deps, tenantId: T })).toMatchObject({ expired: [], withdrawn: [] });
    expect(await withdrawExportsHolding(T, [w.docs[0]!.id], new Date(w.now.getTime() + 2 * 3600_000), w.deps)).toEqual([w.job.id, w.other.id]);
    expect(w.alerts()).toEqual([]);
  });
});

const runningEdits: [string, (j: ExportJob) => ExportJob][] = [
  ['(c) another requester', (j) => ({ ...j, createdBy: { subject: 'mallory', kind: 'user' } })],
  ['(c) another request id', (j) => ({ ...j, requestId: 'req-mallory' })],
  ['(d) another search', (j) => ({ ...j, filter: { ...j.filter, fiscalYear: 1999 } })],
  ['(d) originals added', (j) => ({ ...j, includeOriginals: true })],
  ['(a) its expiry moved later', (j) => ({ ...j, expiresAt: later(j.expiresAt, 7 * DAY) })],
];

it.each(runningEdits)('a running export edited in Cosmos DB, %s: the worker fails it, runs nothing, names no requester, alerted', async (_, change) => {
  const deps = { ...inMemoryDeps(), catalog: new ListingCatalog() };
  await seedMany(deps, T, [{ metadata: { documentDate: '2018-06-01' } }]);
  const { job } = await startExport(principal, { includeOriginals: false }, 'req-1', deps);
  (deps.exportJobs as InMemoryExportJobs).jobs.set(`${T}/${job.id}`, change((deps.exportJobs as InMemoryExportJobs).jobs.get(`${T}/${job.id}`)!));
  const done = await runExport(T, job.id, deps);
  expect(done).toMatchObject({ status: 'failed', error: expect.stringMatching(/^export_not_sealed: /) });
  expect((deps.exportBlobs as unknown as { blobs: Map<string, Buffer> }).blobs.size).toBe(0);
  const entries = deps.audit.entries.filter((e) => e.target === job.id && e.action !== 'export.create');
  expect(entries).toEqual([expect.objectContaining({ action: 'export.failed', status: 409, requestId: `export-not-sealed:${job.id}`, actor: expect.objectContaining({ kind: 'system' }) })]);
  expect((deps.log as RecordingLogger).lines.filter((l) => l.message === EXPORT_UNSEALED)).toEqual([expect.objectContaining({ fields: expect.objectContaining({ exportId: job.id, by: 'export-worker' }) })]);
});

it('a long run saves its heartbeat several times and stays sealed: downloadable once complete', async () => {
  const deps = { ...inMemoryDeps(), catalog: new ListingCatalog() };
  await seedMany(deps, T, Array.from({ length: 6 }, (_, i) => ({ metadata: { documentDate: '2018-06-01', reference: `R-${i}` } })));
  const { job } = await startExport(principal, { includeOriginals: false }, 'req-1', deps);
  await deps.audit.append({ tenantId: T, at: deps.clock.now().toISOString(), actor: { subject: 'anna', kind: 'user' }, action: 'export.create', target: job.id, outcome: 'success', status: 202, requestId: 'req-1', clientIp: null, userAgent: null });
  // Each file read a second and more long (the worker beats each second, run-export.ts Heartbeat): no waiting, only
  // the beat's interval is the test's.
  jest.useFakeTimers({ doNotFake: ['Date', 'hrtime', 'nextTick', 'performance', 'queueMicrotask', 'requestAnimationFrame', 'cancelAnimationFrame', 'requestIdleCallback', 'cancelIdleCallback', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout'] });
  const read = deps.blobs.readIfExists.bind(deps.blobs);
  deps.blobs.readIfExists = async (...args: Parameters<typeof read>) => {
    await jest.advanceTimersByTimeAsync(1500);
    return read(...args);
  };
  const saves: ExportJob[] = [];
  const replace = deps.exportJobs.replace.bind(deps.exportJobs);
  deps.exportJobs.replace = async (j, etag, outbox) => {
    saves.push(structuredClone(j));
    return replace(j, etag, outbox);
  };
  try {
    expect((await runExport(T, job.id, deps)).status).toBe('completed');
  } finally {
    jest.useRealTimers();
  }
  const beats = saves.filter((s) => s.status === 'running');
  expect(beats.length).toBeGreaterThanOrEqual(4); // the claim and heartbeats
  // A heartbeat carries the start's seal unchanged (no HMAC per save).
  expect(new Set(beats.map((s) => JSON.stringify(s.seal)))).toEqual(new Set([JSON.stringify(job.seal)]));
  expect(await exportFile({ tenantId: T, exportId: job.id }, deps)).toMatchObject({ blobName: job.blobName });
  expect((deps.log as RecordingLogger).lines.filter((l) => l.message === EXPORT_UNSEALED)).toEqual([]);
});

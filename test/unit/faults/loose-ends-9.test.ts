/**
 * Loose ends 9. A writer of Cosmos DB (not Key Vault), with or without the storage account's data-plane role: deletes an
 * export job (its ZIP stayed in storage for ever), and forges the keeping pass's timer state or waits out a kept
 * sign-in copy's lock (a person's older record then replayed with nothing kept to undo it).
 */
import type { Principal } from '../../../shared/kernel/principal';
import type { ExportJob } from '../../../shared/kernel/export';
import { EXPORT_BLOB_CURSOR, maintainExports } from '../../../shared/exports/maintain-exports';
import { EXPORT_BLOB_OUTLIVED } from '../../../shared/exports/withdraw-exports';
import { runExport } from '../../../shared/exports/run-export';
import { startExport } from '../../../shared/exports/start-export';
import { Readable } from 'node:stream';
import { inMemoryDeps, ListingCatalog, type InMemoryExportBlobs, type InMemoryExportJobs, type RecordingLogger } from '../../support/in-memory';
import { seedMany } from '../../support/seed';
import { TENANT } from '../../support/in-process';
import type { FakeClock } from '../../support/fake-clock';
import { extendKeptSightingLocks, keepUnkeptSightings, PERSON_SIGHTING_KEPT_UNSEALED, personSightingRecordId, sealSighting, SIGHTING_KEEPING_CURSOR } from '../../../shared/auth/person-sightings';
import { reconcile } from '../../../shared/retention/reconcile';

const DAY = 86_400_000;
/** The in-memory stores behind the ports, as a test looks at them. */
const stores = (deps: ReturnType<typeof inMemoryDeps>) => ({ blobs: deps.exportBlobs as InMemoryExportBlobs, jobs: deps.exportJobs as InMemoryExportJobs, log: deps.log as RecordingLogger });

/**
 * An export's blobs were deleted only through its job: a job deleted in Cosmos DB, or set `expired` without its
 * completion seal (listed by no maintenance query), left its ZIP in storage for ever. Maintenance now also walks the
 * export containers and deletes a blob created longer ago than any export may live, plus a day, whatever Cosmos DB says.
 */
describe("an export's ZIP never outlives the longest an export may live, whatever Cosmos DB says of its job", () => {
  const gone = (j: ExportJob): ExportJob | null => (j ? null : j);
  const expiredUnsealed = ({ completedSeal: _seal, archive: _archive, ...j }: ExportJob): ExportJob => ({ ...j, status: 'expired' });
  it.each([
    ['as stored (control: expired by its job, nothing alerted)', (j: ExportJob) => j, true, false],
    ['job deleted', gone, false, true],
    ['job set expired without its completion seal (listed by nothing)', expiredUnsealed, false, false],
  ])('%s', async (_what, edit, byJob, alerted) => {
    const deps = { ...inMemoryDeps(), catalog: new ListingCatalog() };
    await seedMany(deps, TENANT, [{ metadata: { documentDate: '2018-06-01', reference: 'R-0' } }]);
    const principal = { tenantId: TENANT, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;
    const { job } = await startExport(principal, { includeOriginals: false }, 'req-1', deps);
    const done = await runExport(TENANT, job.id, deps);
    expect(done.status).toBe('completed');
    const { blobs, jobs, log } = stores(deps);
    const key = `${TENANT}/${done.blobName}`;
    const created = Date.parse(blobs.createdOn.get(key)!);
    const edited = edit(done);
    if (edited) jobs.jobs.set(`${TENANT}/${job.id}`, edited);
    else jobs.jobs.delete(`${TENANT}/${job.id}`);
    const outlivedAt = created + deps.config.ARCHIVE_EXPORT_TTL_HOURS * 3_600_000 + DAY;

    // A moment before the longest an export may live (plus its margin): kept, unless its job ended it.
    const early = await maintainExports({ now: new Date(outlivedAt - 1000), deps });
    expect(early.outlived).toEqual([]);
    expect(blobs.blobs.has(key)).toBe(!byJob);
    const late = await maintainExports({ now: new Date(outlivedAt + 1000), deps });
    expect(blobs.blobs.has(key)).toBe(false);
    expect(late.outlived).toEqual(byJob ? [] : [key]);
    expect(log.lines.filter((l) => l.message === EXPORT_BLOB_OUTLIVED).map((l) => l.fields?.job)).toEqual(alerted ? ['missing'] : []);
  });

  it('walks every tenant a page a run, going on where the last run stopped and wrapping', async () => {
    const deps = inMemoryDeps();
    const put = async (tenantId: string, name: string) => (await deps.exportBlobs.ensureContainer(tenantId), deps.exportBlobs.upload(tenantId, name, Readable.from([Buffer.from('zip')])));
    for (const [t, n] of [['t-a', 'x1.zip'], ['t-a', 'x2.zip'], ['t-b', 'x3.disposable.txt']] as const) await put(t, n);
    const later = new Date(deps.clock.now().getTime() + deps.config.ARCHIVE_EXPORT_TTL_HOURS * 3_600_000 + 2 * DAY);
    const first = await maintainExports({ now: later, deps, maxItems: 2 });
    expect(first.outlived).toEqual(['t-a/x1.zip', 't-a/x2.zip']);
    expect(await deps.retention.timers.get(EXPORT_BLOB_CURSOR)).not.toBe('');
    await put('t-a', 'x0.zip'); // behind the walk: met when it comes round again
    expect((await maintainExports({ now: later, deps, maxItems: 2 })).outlived).toEqual(['t-b/x3.disposable.txt']);
    expect(await deps.retention.timers.get(EXPORT_BLOB_CURSOR)).toBe('');
    const wrapped = new Date(later.getTime() + deps.config.ARCHIVE_EXPORT_TTL_HOURS * 3_600_000 + 2 * DAY);
    expect((await maintainExports({ now: wrapped, deps, maxItems: 2 })).outlived).toEqual(['t-a/x0.zip']);
    // A run kept to one tenant leaves the walk across tenants alone.
    expect((await maintainExports({ now: wrapped, deps, tenantId: 't-a' })).outlived).toEqual([]);
  });
});

/**
 * The keeping pass kept `done` and its cursor in timer state (Cosmos DB): `done: true` forged, or the cursor moved past
 * the end, and a record from before kept copies never got one. And a person whose set never changed had one kept copy,
 * locked 366 days: once unlocked, a storage role could delete it and an older record naming another set be replayed. The
 * walk now never ends (wrapping to the start), keeps what is missing, and extends a newest kept copy's lock ending soon.
 */
describe('kept sign-in copies stay locked and complete whatever timer state says', () => {
  const sighting = (person: string, seenAt: Date, deps: ReturnType<typeof inMemoryDeps>) => sealSighting({ id: personSightingRecordId(person), tenantId: TENANT, type: 'person-sighting', person, rightsSet: 'claimed', seenAt: seenAt.toISOString() }, deps);
  const locks = async (deps: ReturnType<typeof inMemoryDeps>, person: string) => (await deps.blobs.blobWormUnder(TENANT, `sightings/${personSightingRecordId(person)}/`)).map((b) => b.retainUntil);
  const key = (person: string) => `${TENANT}/${personSightingRecordId(person)}`;

  it.each([
    ['200 days old (control: locked long enough)', 200, false],
    ['320 days old', 320, true],
    ['past its lock (367 days old)', 367, true],
  ])('a kept copy %s', async (_what, days, extends_) => {
    const deps = inMemoryDeps();
    const clock = deps.clock as FakeClock;
    const t0 = clock.now();
    await deps.tenantRecords.create(await sighting('p-1', t0, deps));
    expect((await keepUnkeptSightings(deps, t0)).kept).toEqual([key('p-1')]);
    const lockedUntil = await locks(deps, 'p-1');
    clock.advance(days * DAY);
    const r = await reconcile({ now: clock.now(), maxItems: 100, continuation: null }, deps);
    expect(r.sightingLocksExtended).toEqual(extends_ ? [key('p-1')] : []);
    expect(await locks(deps, 'p-1')).toEqual(extends_ ? [new Date(clock.now().getTime() + 366 * DAY).toISOString()] : lockedUntil);
  });

  it('a newer blob the archive did not seal (planted unlocked) is neither locked nor stops the genuine copy being extended', async () => {
    const deps = inMemoryDeps();
    const clock = deps.clock as FakeClock;
    const t0 = clock.now();
    await deps.tenantRecords.create(await sighting('p-1', t0, deps));
    await keepUnkeptSightings(deps, t0);
    const planted = `sightings/${personSightingRecordId('p-1')}/${String(t0.getTime() + DAY).padStart(16, '0')}.json`;
    await deps.blobs.putCreateOnly(TENANT, planted, Buffer.from(JSON.stringify({ ...(await sighting('p-1', new Date(t0.getTime() + DAY), deps)), rightsSet: 'root' })), 'application/json', { retainUntil: null, legalHold: false }, {});
    clock.advance(320 * DAY);
    expect((await extendKeptSightingLocks(deps, clock.now())).extended).toEqual([key('p-1')]);
    expect(await locks(deps, 'p-1')).toEqual([new Date(clock.now().getTime() + 366 * DAY).toISOString(), null]);
    // Never locked, it is passed over unread (the archive writes every copy locked): nothing to report.
    expect((deps.log as RecordingLogger).lines.filter((l) => l.message === PERSON_SIGHTING_KEPT_UNSEALED)).toHaveLength(0);
  });

  it.each([
    ['done: true forged', { c: null, started: '2020-01-01T00:00:00.000Z', done: true }, 1],
    ['cursor moved past the end', { c: '5' }, 2],
  ])('%s in timer state: a missing copy is still kept', async (_what, forged, runs) => {
    const deps = inMemoryDeps();
    await deps.tenantRecords.create(await sighting('p-1', deps.clock.now(), deps));
    await deps.retention.timers.set(SIGHTING_KEEPING_CURSOR, forged);
    const kept: string[] = [];
    for (let i = 0; i < runs; i++) kept.push(...(await reconcile({ now: deps.clock.now(), maxItems: 100, continuation: null }, deps)).sightingsKept);
    expect(kept).toEqual([key('p-1')]);
  });

  it('the walk wraps to the start, a page a run, for good', async () => {
    const deps = inMemoryDeps();
    const clock = deps.clock as FakeClock;
    for (const p of ['p-0', 'p-1']) await deps.tenantRecords.create(await sighting(p, clock.now(), deps));
    expect((await keepUnkeptSightings(deps, clock.now(), 1)).kept).toEqual([key('p-0')]);
    expect((await keepUnkeptSightings(deps, clock.now(), 1)).kept).toEqual([key('p-1')]);
    expect(await deps.retention.timers.get(SIGHTING_KEEPING_CURSOR)).toEqual({ c: null });
    clock.advance(320 * DAY);
    expect(await keepUnkeptSightings(deps, clock.now(), 1)).toEqual({ kept: [] });
    expect(await keepUnkeptSightings(deps, clock.now(), 1)).toEqual({ kept: [] });
    expect(await extendKeptSightingLocks(deps, clock.now(), 1)).toEqual({ extended: [key('p-0')] });
    expect(await extendKeptSightingLocks(deps, clock.now(), 1)).toEqual({ extended: [key('p-1')] });
  });
});

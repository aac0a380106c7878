/**
 * Round 20: attacks on the newest merges (the export worker's beat from its claim, the export app's own role, the kept
 * sign-in copies' lock walk). Each case is an attack that broke, with the fix it got; see each block's comment.
 */
import { extendKeptSightingLocks, keepUnkeptSightings, KEPT_SIGHTING_WALK_BEHIND, personSightingRecordId, sealSighting, SIGHTING_LOCKS_CURSOR } from '../../../shared/auth/person-sightings';
import { runQueuedExport } from '../../../shared/exports/queued-export';
import { startExport } from '../../../shared/exports/start-export';
import { exportWorkMessageText } from '../../../shared/kernel/export';
import type { Principal } from '../../../shared/kernel/principal';
import { inMemoryDeps, ListingCatalog, withExportWork } from '../../support/in-memory';
import { FakeClock } from '../../support/fake-clock';
import { seedMany } from '../../support/seed';
import type { RecordingLogger } from '../../support/in-memory';

const T = 'acme';
const principal = { tenantId: T, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;

/** Only the beat's interval is the test's: the streams and the store run as they do. */
const beatOnly = () =>
  jest.useFakeTimers({ doNotFake: ['Date', 'hrtime', 'nextTick', 'performance', 'queueMicrotask', 'requestAnimationFrame', 'cancelAnimationFrame', 'requestIdleCallback', 'cancelIdleCallback', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout'] });

afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});

/**
 * The beat starts at the claim, but it was stopped only on the failures of the count, of the walk and of the end: one
 * thrown between them (the manifest spool's temporary folder not made: a full or unwritable temporary disk) left its
 * interval running. The worker saved the job failed (its audit entry `export.failed`) and the beat's next save, over the
 * etag that save returned, wrote it back `running` with a fresh heartbeat, each second for as long as the host lived:
 * neither maintenance nor a redelivery took it up, and the client saw a running export that never ended.
 */
it('an export failing between the count and the walk is saved failed and stays failed: no beat outlives it', async () => {
  beatOnly();
  const deps = withExportWork({ ...inMemoryDeps(), catalog: new ListingCatalog(), clock: new FakeClock('2025-03-01T12:00:00Z') });
  deps.exportWork.runner = null;
  await seedMany(deps, T, [{ metadata: { documentDate: '2024-01-01', kind: 'invoice' as const, reference: 'INV-1' } }]);
  const { job } = await startExport(principal, { fiscalYear: 2024, includeOriginals: false }, 'req-1', deps);
  jest.spyOn(jest.requireActual<typeof import('node:os')>('node:os'), 'tmpdir').mockReturnValue('/nonexistent/round20'); // the spool's mkdtemp fails
  const ran = await runQueuedExport(exportWorkMessageText(T, job.id), deps);
  expect(ran).toMatchObject({ outcome: 'ran', status: 'failed' });
  await jest.advanceTimersByTimeAsync(5_000);
  expect(await deps.exportJobs.get(T, job.id)).toMatchObject({ status: 'failed', error: 'internal' });
  expect(jest.getTimerCount()).toBe(0);
});

/**
 * The lock walk's sealed state carried nothing of when it was saved: a writer of Cosmos DB replayed, before every run, a
 * state the archive sealed before a tenant's first sign-in copy (its walks near their laps' ends, so each replayed run
 * ended both laps and dated them anew). The tenant was never known, its copies never extended, and no lap looked long:
 * no alert, and after 366 days the copy that undoes a replayed sign-in record unlocked. Now the state is sealed with
 * when it was saved, and one older than KEPT_SIGHTING_STATE_MAX_AGE_MS is alerted.
 */
describe('the lock walk\'s sealed state replayed from before a tenant was known', () => {
  const DAY = 86_400_000;
  type Deps = ReturnType<typeof inMemoryDeps>;
  const behind = (deps: Deps) => [...new Set((deps.log as RecordingLogger).lines.filter((l) => l.message === KEPT_SIGHTING_WALK_BEHIND).map((l) => l.fields?.reason))];
  const run = async (deps: Deps) => {
    await extendKeptSightingLocks(deps, deps.clock.now(), 1);
    (deps.clock as FakeClock).advance(DAY);
  };

  it.each([
    ['the walk let be (control)', false, true, []],
    ['replayed before every run', true, false, ['state not saved lately']],
  ])('%s', async (_what, replay, extended, alerted) => {
    const deps = inMemoryDeps();
    // Another tenant's rows after acme's container: a lap of the walk takes several runs of one row a page.
    for (let i = 0; i < 30; i++) await deps.blobs.putCreateOnly('zz', `sightings/a-${i}/${String(i).padStart(16, '0')}.json`, Buffer.from('{}'), 'application/json', { retainUntil: null, legalHold: false }, {});
    // The state of the run before the one ending the first lap: past acme, acme not known.
    let before: unknown = null;
    for (;;) {
      const state = await deps.retention.timers.get<{ d: string | null }>(SIGHTING_LOCKS_CURSOR);
      if (state && state.d === null) break;
      before = state;
      await run(deps);
    }
    const person = 'p-1';
    const s = await sealSighting({ id: personSightingRecordId(person), tenantId: T, type: 'person-sighting', person, rightsSet: 'claimed', seenAt: deps.clock.now().toISOString() }, deps);
    await deps.tenantRecords.create(s);
    await keepUnkeptSightings(deps, deps.clock.now());
    (deps.log as RecordingLogger).lines.length = 0;
    for (let day = 0; day < 320; day++) {
      if (replay) await deps.retention.timers.set(SIGHTING_LOCKS_CURSOR, before);
      await run(deps);
    }
    const locked = (await deps.blobs.blobWormUnder(T, `sightings/${personSightingRecordId(person)}/`)).map((b) => Date.parse(b.retainUntil ?? ''));
    expect(locked.map((until) => until > deps.clock.now().getTime() + 300 * DAY)).toEqual([extended]);
    expect(behind(deps)).toEqual(alerted);
  });
});

/**
 * Round 20: attacks on the newest merges (the export worker's beat from its claim, the export app's own role, the kept
 * sign-in copies' lock walk). Each case is an attack that broke, with the fix it got; see each block's comment.
 */
import { runQueuedExport } from '../../../shared/exports/queued-export';
import { startExport } from '../../../shared/exports/start-export';
import { exportWorkMessageText } from '../../../shared/kernel/export';
import type { Principal } from '../../../shared/kernel/principal';
import { inMemoryDeps, ListingCatalog, withExportWork } from '../../support/in-memory';
import { FakeClock } from '../../support/fake-clock';
import { seedMany } from '../../support/seed';

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

/**
 * Round 19: attacks on this session's code (the redelivery's watch and the export's beat, the export app, red team 18's
 * fixes). Each case is an attack that broke, with the fix it got; see each block's comment.
 */
import { PassThrough } from 'node:stream';
import { runQueuedExport } from '../../../shared/exports/queued-export';
import { startExport } from '../../../shared/exports/start-export';
import { exportWorkMessageText } from '../../../shared/kernel/export';
import type { Principal } from '../../../shared/kernel/principal';
import { inMemoryDeps, ListingCatalog, withExportWork } from '../../support/in-memory';
import { FakeClock } from '../../support/fake-clock';
import { seedMany } from '../../support/seed';
import { loadConfig } from '../../../shared/config';
import { minimalAzureEnv } from '../../support/config-env';

const T = 'acme';
const principal = { tenantId: T, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;

/**
 * A live worker wrote its job's heartbeat only between files (and, since session review 3, through the export's end), so
 * it was silent for as long as one file took to copy: a large one (ARCHIVE_MAX_UPLOAD_BYTES) from a slow read or into a
 * slow upload, well past REDELIVERY_QUIET_SECONDS. A message delivered with a raised dequeueCount watched the job that
 * long, found it unwritten and claimed it: the live attempt was lost at its next save. Such a message needs no crash: a
 * holder of the storage account's data-plane role sends the job's message and receives it once (dequeueCount 2), or a
 * duplicate's first delivery fails on the store. Repeated, every attempt is lost and the export fails as stalled. Now the
 * worker beats each second through the whole attempt, a file's copy included (run-export.ts Heartbeat).
 */
/** Two documents' export, its first file's read held until `release` (a slow or hung read of one large file). */
async function heldRead() {
  const deps = withExportWork({ ...inMemoryDeps(), catalog: new ListingCatalog(), clock: new FakeClock('2025-03-01T12:00:00Z') });
  deps.exportWork.runner = null;
  await seedMany(deps, T, [1, 2].map((i) => ({ metadata: { documentDate: `2024-0${i}-01`, kind: 'invoice' as const, reference: `INV-${i}` } })));
  const { job } = await startExport(principal, { fiscalYear: 2024, includeOriginals: false }, 'req-1', deps);
  let copying!: () => void;
  const reachedFile = new Promise<void>((r) => (copying = r));
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const read = deps.blobs.readIfExists.bind(deps.blobs);
  let first = true;
  deps.blobs.readIfExists = async (...args: Parameters<typeof read>) => {
    const found = await read(...args);
    if (!found || !first) return found;
    first = false;
    const slow = new PassThrough();
    copying();
    void released.then(() => found.stream.pipe(slow));
    return { ...found, stream: slow };
  };
  return { deps, job, message: exportWorkMessageText(T, job.id), reachedFile, release };
}

/** Only the beat's interval (and, with `date`, the real time it reads) is the test's: the streams and the store run as they do. */
const beatOnly = (date: boolean) =>
  jest.useFakeTimers({ doNotFake: [...(date ? [] : ['Date' as const]), 'hrtime', 'nextTick', 'performance', 'queueMicrotask', 'requestAnimationFrame', 'cancelAnimationFrame', 'requestIdleCallback', 'cancelIdleCallback', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout'] });

afterEach(() => jest.useRealTimers());

it('a redelivered message while the worker copies one slow file finds it beating and leaves the job: the export completes', async () => {
  beatOnly(false);
  const { deps, job, message, reachedFile, release } = await heldRead();
  const run = runQueuedExport(message, deps);
  await reachedFile;
  const watched = await runQueuedExport(message, deps, {
    dequeueCount: 2,
    pause: async (ms) => {
      deps.clock.advance(ms);
      await jest.advanceTimersByTimeAsync(ms);
    },
  });
  release();
  expect(watched).toMatchObject({ outcome: 'not-due', reason: 'its worker gave a sign of life lately' });
  expect(await run).toEqual({ outcome: 'ran', tenantId: T, exportId: job.id, status: 'completed' });
  expect(await deps.exportJobs.get(T, job.id)).toMatchObject({ status: 'completed', attempts: 1, progress: { documents: 2 } });
});

/**
 * The same silence before the first file: the worker counted the search's matches (a large tenant's count runs long)
 * between its claim and the beat's start, so a redelivery watching through a slow count took the live worker's job. The
 * beat now starts at the claim; the count is one step of the attempt (one that never ends stops beating, as a read).
 */
it('a redelivered message while the worker counts a large search finds it beating and leaves the job: the export completes', async () => {
  beatOnly(false);
  const { deps, job, message, release: releaseRead } = await heldRead();
  releaseRead();
  let counting!: () => void;
  const reachedCount = new Promise<void>((r) => (counting = r));
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const count = deps.catalog.countMatching.bind(deps.catalog);
  let first = true;
  deps.catalog.countMatching = async (...args: Parameters<typeof count>) => {
    if (first) {
      first = false;
      counting();
      await released;
    }
    return count(...args);
  };
  const run = runQueuedExport(message, deps);
  await reachedCount;
  const watched = await runQueuedExport(message, deps, {
    dequeueCount: 2,
    pause: async (ms) => {
      deps.clock.advance(ms);
      await jest.advanceTimersByTimeAsync(ms);
    },
  });
  release();
  expect(watched).toMatchObject({ outcome: 'not-due', reason: 'its worker gave a sign of life lately' });
  expect(await run).toEqual({ outcome: 'ran', tenantId: T, exportId: job.id, status: 'completed' });
  expect(await deps.exportJobs.get(T, job.id)).toMatchObject({ status: 'completed', attempts: 1, progress: { total: 2, documents: 2 } });
});

// The beat's other side: a read that never ends is a hung attempt, not a live one. Its beat stops once the attempt has
// not moved for ARCHIVE_EXPORT_STALE_SECONDS, so maintenance takes it up once stale instead of the beat holding the job
// until the export app's 2-hour timeout.
it('a worker hung in one read stops beating once it has not moved for ARCHIVE_EXPORT_STALE_SECONDS', async () => {
  beatOnly(true);
  const { deps, job, message, reachedFile, release } = await heldRead();
  let saves = 0;
  const replace = deps.exportJobs.replace.bind(deps.exportJobs);
  deps.exportJobs.replace = async (...args: Parameters<typeof replace>) => (saves++, replace(...args));
  const run = runQueuedExport(message, deps);
  await reachedFile;
  const stale = deps.config.ARCHIVE_EXPORT_STALE_SECONDS * 1000;
  await jest.advanceTimersByTimeAsync(stale / 2);
  const beating = saves;
  expect(beating).toBeGreaterThan(1);
  await jest.advanceTimersByTimeAsync(stale);
  const hung = saves;
  await jest.advanceTimersByTimeAsync(stale);
  expect(saves).toBe(hung); // silent: stale to maintenance and to a redelivery
  release();
  expect(await run).toEqual({ outcome: 'ran', tenantId: T, exportId: job.id, status: 'completed' });
});

/**
 * ARCHIVE_FUNCTIONS_ROLE defaulted to `all` wherever it was unset, Azure included: an app whose setting was lost (a
 * portal edit, a slot swap, a settings deploy without it) started silently with everything. The export app then served
 * the API and ran every timer beside the main app's (its own host storage: other singleton locks, a second sweep and
 * reconciler at once) under its 2-hour timeout, past the 10 minutes HOLD_WRITE_IN_FLIGHT_MS assumes of every request and
 * timer that writes; the main app ran exports again under its 10 minutes. In Azure the role must now be said.
 */
it.each<[string, string | undefined, boolean]>([
  ['unset', undefined, false],
  ['all (the local host\'s)', 'all', false],
  ['api (the main app)', 'api', true],
  ['export-worker (the export app)', 'export-worker', true],
])('in Azure, ARCHIVE_FUNCTIONS_ROLE %s', (_, role, starts) => {
  const env = { ...minimalAzureEnv, ARCHIVE_FUNCTIONS_ROLE: role };
  if (starts) expect(loadConfig(env).ARCHIVE_FUNCTIONS_ROLE).toBe(role);
  else expect(() => loadConfig(env)).toThrow(/ARCHIVE_FUNCTIONS_ROLE: .*in Azure/);
});

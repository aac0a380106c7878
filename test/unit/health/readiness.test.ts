/**
 * /health/ready needs no credential, and each answer costs pings and two cross-tenant counts: an instance
 * works it out at most once per READINESS_CACHE_MS, and callers arriving meanwhile share that answer.
 */
import { READINESS_CACHE_MS, readiness } from '../../../shared/health/readiness';
import { FakeClock } from '../../support/fake-clock';
import { inMemoryDeps } from '../../support/in-memory';

function countingDeps() {
  const deps = inMemoryDeps();
  const clock = new FakeClock('2025-03-01T12:00:00Z');
  deps.clock = clock;
  const calls = { fixity: 0, orphans: 0, blobPing: 0, cosmosPing: 0 };
  const countFixity = deps.retention.catalog.unsafeCountFixityFailures.bind(deps.retention.catalog);
  deps.retention.catalog.unsafeCountFixityFailures = async () => (calls.fixity++, countFixity());
  const countOrphans = deps.retention.orphans.unsafeCount.bind(deps.retention.orphans);
  deps.retention.orphans.unsafeCount = async () => (calls.orphans++, countOrphans());
  const blobPing = deps.blobs.ping.bind(deps.blobs);
  deps.blobs.ping = async () => (calls.blobPing++, blobPing());
  const cosmosPing = deps.catalog.ping.bind(deps.catalog);
  deps.catalog.ping = async () => (calls.cosmosPing++, cosmosPing());
  return { deps, calls, clock };
}

it('answers a burst of unauthenticated calls with one piece of work, and works it out again once the answer is older than the cache time', async () => {
  const { deps, calls, clock } = countingDeps();
  const burst = await Promise.all(Array.from({ length: 50 }, () => readiness(deps)));
  expect(new Set(burst).size).toBe(1);
  expect(burst[0]).toMatchObject({ status: 'ready', checks: { blob: 'ok', cosmos: 'ok' }, fixity: { status: 'ok', damagedDocuments: 0 }, orphans: { status: 'ok', orphanedFolders: 0 } });
  expect(calls).toEqual({ fixity: 1, orphans: 1, blobPing: 1, cosmosPing: 1 });

  clock.advance(READINESS_CACHE_MS - 1);
  await readiness(deps);
  expect(calls.fixity).toBe(1);

  clock.advance(1);
  await readiness(deps);
  expect(calls).toEqual({ fixity: 2, orphans: 2, blobPing: 2, cosmosPing: 2 });
});

it('a store that stops answering shows once the cached answer is older than the cache time, and a clock set back does not keep an old answer', async () => {
  const { deps, clock } = countingDeps();
  expect((await readiness(deps)).status).toBe('ready');
  deps.catalog.ping = async () => {
    throw new Error('Cosmos unavailable');
  };
  clock.advance(READINESS_CACHE_MS);
  expect(await readiness(deps)).toMatchObject({ status: 'unavailable', checks: { cosmos: 'failed' }, fixity: { status: 'unknown' }, orphans: { status: 'unknown' } });
  deps.catalog.ping = async () => undefined;
  clock.advance(-60_000);
  expect((await readiness(deps)).status).toBe('ready');
});

it('keeps one answer per host (deps), not one for the process', async () => {
  const a = countingDeps();
  const b = countingDeps();
  await readiness(a.deps);
  await readiness(b.deps);
  expect([a.calls.fixity, b.calls.fixity]).toEqual([1, 1]);
});

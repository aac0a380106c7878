/**
 * Round 19: the walk extending the locks of kept sign-in copies, bounded by what the archive wrote, not by what is
 * planted (red team 18). A holder of the storage account's data-plane role (containers and unlocked blobs, no locks)
 * planted empty containers (each a listing of a run's 2,000, every run listing again those before its cursor) or
 * millions of blobs in a genuine folder (listed whole per due copy, and on a request's path); a writer of Cosmos DB
 * reset the walk's cursor so containers were skipped every lap. See each block's comment.
 */
import { type BlobServiceClient } from '@azure/storage-blob';
import { extendKeptSightingLocks, KEPT_SIGHTING_PAGES_PER_RUN, KEPT_SIGHTING_WALK_BEHIND, KEPT_SIGHTINGS_LISTED, keepUnkeptSightings, PERSON_SIGHTING_KEPT_UNSEALED, PersonSightings, personSightingRecordId, sealSighting, SIGHTING_LOCKS_CURSOR, SIGHTINGS_KEPT_PER_RUN } from '../../../shared/auth/person-sightings';
import { BlobArchive } from '../../../shared/adapters/azure/blobs';
import { inMemoryDeps, type RecordingLogger } from '../../support/in-memory';
import { TENANT } from '../../support/in-process';
import type { FakeClock } from '../../support/fake-clock';
import { listContainersOf } from '../../support/container-listing';

const DAY = 86_400_000;
type Deps = ReturnType<typeof inMemoryDeps>;
const folder = (person: string) => `sightings/${personSightingRecordId(person)}/`;
const key = (person: string) => `${TENANT}/${personSightingRecordId(person)}`;
const locks = async (deps: Deps, person: string) => (await deps.blobs.blobWormUnder(TENANT, folder(person))).map((b) => b.retainUntil);
const plant = (deps: Deps, name: string) => deps.blobs.putCreateOnly(TENANT, name, Buffer.from('{}'), 'application/json', { retainUntil: null, legalHold: false }, {});
const behind = (deps: Deps) => (deps.log as RecordingLogger).lines.filter((l) => l.message === KEPT_SIGHTING_WALK_BEHIND).map((l) => l.fields?.reason);

/** A world with `person`'s sign-in kept (its copy locked 366 days) at the clock's time. */
async function kept(deps: Deps, person: string, seenAt = deps.clock.now()): Promise<void> {
  const s = await sealSighting({ id: personSightingRecordId(person), tenantId: TENANT, type: 'person-sighting', person, rightsSet: 'claimed', seenAt: seenAt.toISOString() }, deps);
  deps.tenantRecords.records.delete(key(person));
  await deps.tenantRecords.create(s);
  await keepUnkeptSightings(deps, deps.clock.now());
}

/**
 * The Azure adapter over a storage service that lists the in-memory world's blobs (with their locks) as storage does,
 * plus containers planted empty: `counted` counts listings of blobs and pages of containers.
 */
function storageOf(deps: Deps, planted: string[]) {
  const counted = { listings: 0, containerPages: 0 };
  const service = {
    listContainers: listContainersOf(() => [...[...deps.blobs.tenants].map((t) => `tenant-${t}`), ...planted], 5000, counted),
    getContainerClient: (name: string) => ({
      listBlobsFlat: (opts: { prefix?: string }) => ({
        byPage: ({ continuationToken, maxPageSize }: { continuationToken?: string; maxPageSize: number }) => {
          counted.listings++;
          const start = Number(continuationToken ?? 0);
          const rows = planted.includes(name) ? [] : deps.blobs.blobWormUnder(name.slice('tenant-'.length), opts.prefix ?? '');
          return {
            next: async () => {
              const all = (await rows).sort((a, b) => (a.name < b.name ? -1 : 1));
              const end = Math.min(all.length, start + maxPageSize);
              const items = all.slice(start, end).map((b) => ({ name: b.name, properties: { etag: b.etag, ...(b.retainUntil ? { immutabilityPolicyExpiresOn: new Date(b.retainUntil) } : {}) } }));
              return { done: false, value: { segment: { blobItems: items }, continuationToken: end < all.length ? String(end) : '' } };
            },
          };
        },
      }),
    }),
  };
  const adapter = new BlobArchive(service as unknown as BlobServiceClient, 'enforce');
  const blobs = Object.assign(Object.create(deps.blobs) as Deps['blobs'], { unsafeListWormUnder: adapter.unsafeListWormUnder.bind(adapter) });
  return { counted, deps: { ...deps, blobs } };
}

/**
 * Each empty container cost one of a run's 2,000 listings, and every run listed again each container before its
 * cursor's (no token of the containers' listing kept): about 6 million planted made a lap longer than the 60-day window.
 * Now the cursor keeps the page of containers it is in, and the tenants found holding a locked copy are walked by name,
 * so containers planted empty slow only the finding of new tenants (the rest of each run's pages).
 */
describe('containers planted empty do not stretch the walk over kept copies', () => {
  it('a run lists the page of containers its cursor names, not every one before it', async () => {
    const planted = Array.from({ length: 60 }, (_, i) => `tenant-${String(i).padStart(3, '0')}`);
    const counted = { containerPages: 0 };
    let listings = 0;
    const service = {
      listContainers: listContainersOf(() => [...planted, 'tenant-zz'], 7, counted),
      getContainerClient: (name: string) => ({
        listBlobsFlat: () => ({
          byPage: () => {
            listings++;
            return { next: async () => ({ done: false, value: { segment: { blobItems: name === 'tenant-zz' ? [{ name: 'sightings/x/1.json', properties: { etag: '"e"' } }] : [] }, continuationToken: '' } }) };
          },
        }),
      }),
    };
    const blobs = new BlobArchive(service as unknown as BlobServiceClient, 'enforce');
    const walked: string[] = [];
    let cursor: string | null = null;
    for (let run = 0; run < 30; run++) {
      counted.containerPages = 0;
      listings = 0;
      const page = await blobs.unsafeListWormUnder('sightings/', cursor, 5);
      expect(counted.containerPages).toBeLessThanOrEqual(2);
      expect(listings).toBeLessThanOrEqual(5);
      walked.push(...page.items.map((b) => `${b.tenantId}/${b.name}`));
      cursor = page.next;
      if (cursor === null) break;
    }
    expect(walked).toEqual(['zz/sightings/x/1.json']);
    // A page token storage refuses (forged in timer state): from the first container, not stopped.
    const forged = await blobs.unsafeListWormUnder('sightings/', JSON.stringify({ container: 'tenant-000', page: 'forged' }), 5);
    expect(forged.next).not.toBeNull();
  });

  it("a known tenant's copy is extended on the first run after more containers were planted than a run lists", async () => {
    const base = inMemoryDeps();
    await kept(base, 'p-1');
    const planted = Array.from({ length: 3 * KEPT_SIGHTING_PAGES_PER_RUN * SIGHTINGS_KEPT_PER_RUN }, (_, i) => `tenant-${String(i).padStart(5, '0')}`);
    const { deps } = storageOf(base, []);
    expect(await extendKeptSightingLocks(deps, deps.clock.now())).toEqual({ extended: [] });
    const attacked = storageOf(base, planted);
    (base.clock as FakeClock).advance(320 * DAY);
    expect(await extendKeptSightingLocks(attacked.deps, base.clock.now())).toEqual({ extended: [key('p-1')] });
    expect(attacked.counted.listings).toBeLessThanOrEqual(KEPT_SIGHTING_PAGES_PER_RUN * SIGHTINGS_KEPT_PER_RUN);
  });
});

/**
 * A due copy had its record's folder listed whole, and the request path's newest kept copy listed it whole too: millions
 * of unlocked blobs planted in one genuine folder made a run (or a request) list them all. Now the walk judges a folder
 * on its own rows (locked ones alone: the archive's), a folder going on past a run's pages on the rows listed (fail safe:
 * an older copy extended too), and a request lists at most KEPT_SIGHTINGS_LISTED, taking the sighting as telling
 * nothing of the person past them.
 */
describe('blobs planted in a genuine folder are never listed whole', () => {
  it('the walk extends the newest sealed copy from its own rows, listing no folder', async () => {
    const deps = inMemoryDeps();
    await kept(deps, 'p-1');
    for (let i = 0; i < 2 * SIGHTINGS_KEPT_PER_RUN; i++) await plant(deps, `${folder('p-1')}9${String(i).padStart(15, '0')}.json`);
    (deps.clock as FakeClock).advance(320 * DAY);
    const whole = jest.spyOn(deps.blobs, 'blobWormUnder');
    const listed = jest.spyOn(deps.blobs, 'listedBlobs');
    expect(await extendKeptSightingLocks(deps, deps.clock.now())).toEqual({ extended: [key('p-1')] });
    expect([whole.mock.calls, listed.mock.calls]).toEqual([[], []]);
  });

  it('a folder whose rows go on past a run: the copy listed is extended, then the newest when the walk comes to it', async () => {
    const deps = inMemoryDeps();
    const clock = deps.clock as FakeClock;
    await kept(deps, 'p-1');
    clock.advance(DAY);
    for (let i = 0; i < 3 * KEPT_SIGHTING_PAGES_PER_RUN; i++) await plant(deps, `${folder('p-1')}${String(clock.now().getTime() - 1000 + i).padStart(16, '0')}.json`);
    await kept(deps, 'p-1');
    clock.advance(320 * DAY);
    for (let run = 0; run < 6; run++) await extendKeptSightingLocks(deps, clock.now(), 1);
    const until = clock.now().getTime() + 300 * DAY;
    expect((await locks(deps, 'p-1')).filter((l) => l !== null).map((l) => Date.parse(l) > until)).toEqual([true, true]);
  });

  it.each([
    ['as many as a look lists (control)', KEPT_SIGHTINGS_LISTED - 1, null],
    ['more than a look lists', KEPT_SIGHTINGS_LISTED, 'kept copies not judged'],
  ])("a request's look at her kept copies, with blobs planted in her folder: %s", async (_what, n, unsealed) => {
    const deps = inMemoryDeps();
    const now = deps.clock.now();
    await new PersonSightings(deps.tenantRecords, deps).seen(TENANT, 'dana', 'uploader', now, now.toISOString());
    for (let i = 0; i < n; i++) await plant(deps, `${folder('dana')}a${i}`);
    const listed = jest.spyOn(deps.blobs, 'listedBlobs');
    const judged = await new PersonSightings(deps.tenantRecords, deps).lastForKey(TENANT, 'dana', new Date(now.getTime() + 60_000));
    expect(judged?.unsealed).toBe(unsealed);
    expect(listed.mock.calls.every((c) => c[2] === KEPT_SIGHTINGS_LISTED + 1)).toBe(true);
    expect((deps.log as RecordingLogger).lines.filter((l) => l.message === PERSON_SIGHTING_KEPT_UNSEALED)).toHaveLength(unsealed ? 1 : 0);
  });
});

/**
 * The walk's cursor lived in timer state (Cosmos DB) as written: a writer of it reset the cursor at will, so the
 * containers past a run's pages were skipped every lap, unseen. Now the state is sealed, one not sealed is alerted at
 * once (and the walk starts over), a missing one dates its laps at the epoch, and an older one replayed is alerted once
 * its lap began more than 30 days ago (KEPT_SIGHTING_WALK_BEHIND).
 */
describe("a writer of Cosmos DB cannot hold the walk back unseen", () => {
  /** p-1 kept, with `planted` unlocked blobs before it: a lap of the walk takes several runs of one row a page. */
  async function world(): Promise<Deps> {
    const deps = inMemoryDeps();
    await kept(deps, 'p-1');
    for (let i = 0; i < 3 * KEPT_SIGHTING_PAGES_PER_RUN; i++) await plant(deps, `${folder(`a-${String(i).padStart(3, '0')}`)}${String(i).padStart(16, '0')}.json`);
    return deps;
  }
  const daily = async (deps: Deps, days: number, before: () => Promise<void> = async () => {}) => {
    for (let d = 0; d < days; d++) {
      await before();
      await extendKeptSightingLocks(deps, deps.clock.now(), 1);
      (deps.clock as FakeClock).advance(DAY);
    }
  };

  it.each([
    ['the walk let be (control)', false, []],
    ['its state as of one run replayed before every run', true, ['state not saved lately', 'lap too long']],
  ])('%s', async (_what, replay, alerted) => {
    const deps = await world();
    await daily(deps, 10);
    let state: unknown = null;
    while ((state = await deps.retention.timers.get<{ c: string | null }>(SIGHTING_LOCKS_CURSOR)) && (state as { c: string | null }).c === null) await daily(deps, 1);
    (deps.log as RecordingLogger).lines.length = 0;
    await daily(deps, 35, async () => {
      if (replay) await deps.retention.timers.set(SIGHTING_LOCKS_CURSOR, state);
    });
    expect([...new Set(behind(deps))]).toEqual(alerted);
  });

  it.each([
    ['forged (no seal)', { known: [], c: null, lap: '2030-01-01T00:00:00.000Z', d: null, dLap: '2030-01-01T00:00:00.000Z' }, ['no seal', 'lap too long']],
    ['deleted (a long walk: its laps dated at the epoch)', null, ['lap too long']],
  ])('its state %s: alerted', async (_what, state, alerted) => {
    const deps = await world();
    await daily(deps, 5);
    (deps.log as RecordingLogger).lines.length = 0;
    if (state) await deps.retention.timers.set(SIGHTING_LOCKS_CURSOR, state);
    else (deps.retention.timers).records.delete(SIGHTING_LOCKS_CURSOR);
    await extendKeptSightingLocks(deps, deps.clock.now(), 1);
    expect([...new Set(behind(deps))]).toEqual(alerted);
  });
});

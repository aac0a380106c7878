/**
 * Red team 17: the locks of kept sign-in copies were extended on the way through Cosmos DB's sign-in records, 200 a run.
 * A writer of Cosmos DB (not Key Vault) planting records with a fake `mac` (each taking a place in a page, then skipped)
 * made a lap longer than the 60-day window, and a genuine copy unlocked; copies of records deleted from Cosmos DB, or
 * sealed under a chain key since rotated, were never extended. The locks are now extended from storage's own listing.
 */
import { extendKeptSightingLocks, KEPT_SIGHTING_PAGES_PER_RUN, keepUnkeptSightings, PERSON_SIGHTING_KEPT_UNSEALED, personSightingRecordId, sealSighting, SIGHTING_LOCKS_CURSOR, SIGHTINGS_KEPT_PER_RUN } from '../../../shared/auth/person-sightings';
import { reconcile } from '../../../shared/retention/reconcile';
import { inMemoryDeps, type RecordingLogger } from '../../support/in-memory';
import { TENANT } from '../../support/in-process';
import type { FakeClock } from '../../support/fake-clock';
import { RotatingVault } from '../../support/rotating-vault';
import { RestError, type BlobServiceClient } from '@azure/storage-blob';
import { BlobArchive } from '../../../shared/adapters/azure/blobs';
import { listContainersOf } from '../../support/container-listing';

const DAY = 86_400_000;
type Deps = ReturnType<typeof inMemoryDeps>;
const sighting = (person: string, seenAt: Date, deps: Deps, tenantId = TENANT) => sealSighting({ id: personSightingRecordId(person), tenantId, type: 'person-sighting', person, rightsSet: 'claimed', seenAt: seenAt.toISOString() }, deps);
const folder = (person: string) => `sightings/${personSightingRecordId(person)}/`;
const locks = async (deps: Deps, person: string, tenantId = TENANT) => (await deps.blobs.blobWormUnder(tenantId, folder(person))).map((b) => b.retainUntil);
const key = (person: string, tenantId = TENANT) => `${tenantId}/${personSightingRecordId(person)}`;
const run = async (deps: Deps) => (await reconcile({ now: deps.clock.now(), maxItems: 100, continuation: null }, deps)).sightingLocksExtended;
const lockedFor366 = (deps: Deps) => new Date(deps.clock.now().getTime() + 366 * DAY).toISOString();

/** A world with p-1's sign-in kept (its copy locked 366 days), `days` on. */
async function keptThenAged(days: number, edit: (deps: Deps) => void | Promise<void> = () => {}): Promise<Deps> {
  const deps = inMemoryDeps();
  await edit(deps);
  await deps.tenantRecords.create(await sighting('p-1', deps.clock.now(), deps));
  expect((await keepUnkeptSightings(deps, deps.clock.now())).kept).toEqual([key('p-1')]);
  (deps.clock as FakeClock).advance(days * DAY);
  return deps;
}

describe('kept sign-in copies have their locks extended from storage, whatever Cosmos DB holds', () => {
  it('records planted with a fake mac (more than a page of them, ahead of the genuine one) do not starve the extension', async () => {
    const deps = await keptThenAged(0);
    const genuine = deps.tenantRecords.records.get(key('p-1'))!;
    deps.tenantRecords.records.delete(key('p-1'));
    for (let i = 0; i < SIGHTINGS_KEPT_PER_RUN + 50; i++) await deps.tenantRecords.create({ ...(await sighting(`a-${i}`, deps.clock.now(), deps)), mac: '00' });
    deps.tenantRecords.records.set(key('p-1'), genuine);
    (deps.clock as FakeClock).advance(320 * DAY);
    expect(await run(deps)).toEqual([key('p-1')]);
    expect(await locks(deps, 'p-1')).toEqual([lockedFor366(deps)]);
  });

  it('blobs planted under sightings/ by a storage role (never locked) cost a listing row each: a run lists past many pages of them', async () => {
    const deps = await keptThenAged(0);
    const n = (KEPT_SIGHTING_PAGES_PER_RUN - 1) * SIGHTINGS_KEPT_PER_RUN;
    for (let i = 0; i < n; i++) await deps.blobs.putCreateOnly(TENANT, `sightings/a-${String(i).padStart(5, '0')}/${String(i).padStart(16, '0')}.json`, Buffer.from('{}'), 'application/json', { retainUntil: null, legalHold: false }, {});
    (deps.clock as FakeClock).advance(320 * DAY);
    expect(await run(deps)).toEqual([key('p-1')]);
  });

  it.each([
    ['its record deleted from Cosmos DB', async (deps: Deps) => void deps.tenantRecords.records.delete(key('p-1'))],
    ['sealed under a chain key version since rotated (still held in Key Vault)', async (deps: Deps) => (deps.audit.chainKeys as RotatingVault).rotate(deps.clock.now())],
    [
      'its record edited in Cosmos DB (seal broken)',
      async (deps: Deps) => {
        (deps.tenantRecords.records.get(key('p-1'))!.value as unknown as { rightsSet: string }).rightsSet = 'root';
      },
    ],
  ])('a copy near its lock end is extended: %s', async (_what, edit) => {
    const deps = await keptThenAged(0, (d) => void (d.audit.chainKeys = new RotatingVault()));
    await edit(deps);
    (deps.clock as FakeClock).advance(320 * DAY);
    expect(await run(deps)).toEqual([key('p-1')]);
    expect(await locks(deps, 'p-1')).toEqual([lockedFor366(deps)]);
  });

  it("the newest sealed copy alone is extended (an older one lapses); a copy whose key version Key Vault cannot give is extended if it is a well-formed sighting of its record", async () => {
    const deps = await keptThenAged(0);
    const clock = deps.clock as FakeClock;
    const [first] = await locks(deps, 'p-1');
    clock.advance(DAY);
    // A later sign-in with another set, kept; then a copy naming a key version Key Vault does not hold.
    const later = await sealSighting({ ...(await sighting('p-1', clock.now(), deps)), rightsSet: 'other' }, deps);
    await deps.blobs.putCreateOnly(TENANT, `${folder('p-1')}${String(clock.now().getTime()).padStart(16, '0')}.json`, Buffer.from(JSON.stringify(later)), 'application/json', { retainUntil: new Date(clock.now().getTime() + 366 * DAY).toISOString(), legalHold: false }, {});
    clock.advance(320 * DAY);
    expect(await extendKeptSightingLocks(deps, clock.now())).toEqual({ extended: [key('p-1')] });
    const [older, newer] = await locks(deps, 'p-1');
    expect([older, newer]).toEqual([first, lockedFor366(deps)]);

    const other = await keptThenAged(320);
    const copy = (await other.blobs.blobWormUnder(TENANT, folder('p-1')))[0]!.name;
    const unknownVersion = { ...JSON.parse((await other.blobs.readAll(TENANT, copy)).toString('utf8')), keyVersion: 'v-gone' };
    other.blobs.blobs.get(`${TENANT}/${copy}`)!.bytes = Buffer.from(JSON.stringify(unknownVersion));
    expect((await extendKeptSightingLocks(other, other.clock.now())).extended).toEqual([key('p-1')]);
  });

  it('a newer copy whose key version Key Vault cannot give, locked past the window, does not stand in for the sealed one below it', async () => {
    const deps = await keptThenAged(0);
    const clock = deps.clock as FakeClock;
    clock.advance(DAY);
    const untold = { ...(await sighting('p-1', clock.now(), deps)), rightsSet: 'other', keyVersion: 'v-gone' };
    await deps.blobs.putCreateOnly(TENANT, `${folder('p-1')}${String(clock.now().getTime()).padStart(16, '0')}.json`, Buffer.from(JSON.stringify(untold)), 'application/json', { retainUntil: new Date(clock.now().getTime() + 1000 * DAY).toISOString(), legalHold: false }, {});
    clock.advance(320 * DAY);
    expect((await extendKeptSightingLocks(deps, clock.now())).extended).toEqual([key('p-1')]);
    expect((await locks(deps, 'p-1'))[0]).toBe(lockedFor366(deps));
  });

  it.each([
    ['planted unlocked (control: never read, never locked)', null, 0],
    ['planted locked, its lock ending soon, not sealed by the archive', 10, 1],
  ])('a blob under sightings/ %s is not extended', async (_what, lockedDays, reported) => {
    const deps = inMemoryDeps();
    const now = deps.clock.now();
    const planted = { ...(await sighting('p-9', now, deps)), rightsSet: 'root' };
    const name = `${folder('p-9')}${String(now.getTime()).padStart(16, '0')}.json`;
    await deps.blobs.putCreateOnly(TENANT, name, Buffer.from(JSON.stringify(planted)), 'application/json', { retainUntil: lockedDays === null ? null : new Date(now.getTime() + lockedDays * DAY).toISOString(), legalHold: false }, {});
    const before = await locks(deps, 'p-9');
    expect(await run(deps)).toEqual([]);
    expect(await locks(deps, 'p-9')).toEqual(before);
    expect((deps.log as RecordingLogger).lines.filter((l) => l.message === PERSON_SIGHTING_KEPT_UNSEALED)).toHaveLength(reported);
  });

  it.each([
    ['not JSON', 'garbage', 1],
    ['a number', 5, 1],
    ['past the end of the listing', JSON.stringify({ tenant: 'zzz', name: 'zzz', container: 'tenant-zzz' }), 2],
  ])('a forged cursor (%s) delays the walk one run at most', async (_what, c, runs) => {
    const deps = await keptThenAged(320);
    await deps.retention.timers.set(SIGHTING_LOCKS_CURSOR, { c });
    const extended: string[] = [];
    for (let i = 0; i < runs; i++) extended.push(...(await extendKeptSightingLocks(deps, deps.clock.now())).extended);
    expect(extended).toEqual([key('p-1')]);
  });

  it('walks every tenant a page a run, going on where the last run stopped and wrapping', async () => {
    const deps = inMemoryDeps();
    const clock = deps.clock as FakeClock;
    const at: [string, string][] = [['t-a', 'p-0'], ['t-a', 'p-1'], ['t-b', 'p-2']];
    for (const [t, p] of at) {
      await deps.tenantRecords.create(await sighting(p, clock.now(), deps, t));
      await keepUnkeptSightings(deps, clock.now());
    }
    clock.advance(320 * DAY);
    const walk = async () => (await extendKeptSightingLocks(deps, clock.now(), 1)).extended;
    expect([await walk(), await walk(), await walk()]).toEqual(at.map(([t, p]) => [key(p, t)]));
    expect(await deps.retention.timers.get(SIGHTING_LOCKS_CURSOR)).toMatchObject({ c: null, d: null, known: ['t-a', 't-b'] });
    clock.advance(320 * DAY);
    expect(await walk()).toEqual([key('p-0', 't-a')]);
  });
});

/**
 * Tenant containers as storage lists them (as round17-attacks.test.ts listingService): pages of `maxPageSize` of the
 * blobs under the prefix asked, the token the next blob's index (one not a number refused with a 400); `listings` counts pages.
 */
function tenantListing(containers: Record<string, string[]>) {
  const lockedUntil = new Date('2026-01-01T00:00:00.000Z');
  const counted = { listings: 0 };
  const service = {
    listContainers: listContainersOf(() => Object.keys(containers), 7),
    getContainerClient: (name: string) => ({
      listBlobsFlat: (opts: { prefix?: string; includeImmutabilityPolicy?: boolean }) => ({
        byPage: ({ continuationToken, maxPageSize }: { continuationToken?: string; maxPageSize: number }) => {
          counted.listings++;
          const start = Number(continuationToken ?? 0);
          const names = containers[name]!.filter((n) => n.startsWith(opts.prefix ?? ''));
          if (!Number.isInteger(start)) return { next: () => Promise.reject(new RestError('OutOfRangeInput', { statusCode: 400 })) };
          const end = Math.min(names.length, start + maxPageSize);
          const items = names.slice(start, end).map((n) => ({ name: n, properties: { etag: `"${n}"`, ...(opts.includeImmutabilityPolicy ? { immutabilityPolicyExpiresOn: lockedUntil } : {}) } }));
          return { next: async () => ({ done: false, value: { segment: { blobItems: items }, continuationToken: end < names.length ? String(end) : '' } }) };
        },
      }),
    }),
  };
  return { counted, blobs: new BlobArchive(service as unknown as BlobServiceClient, 'enforce') };
}

describe("the Azure adapter's listing of kept copies across tenants", () => {
  it.each([
    ['a token storage handed out (control)', JSON.stringify({ container: 'tenant-a', marker: '1' }), ['a/sightings/x/2.json']],
    ['a token forged in timer state', JSON.stringify({ container: 'tenant-a', marker: 'forged' }), ['a/sightings/x/1.json', 'a/sightings/x/2.json']],
    ['a cursor that does not parse', 'forged', ['a/sightings/x/1.json', 'a/sightings/x/2.json']],
  ])('%s: listed from there, or the first, with each lock', async (_what, cursor, listed) => {
    const { blobs } = tenantListing({ 'tenant-a': ['doc/manifest.json', 'sightings/x/1.json', 'sightings/x/2.json'], 'exports-a': ['sightings/y/1.json'] });
    const page = await blobs.unsafeListWormUnder('sightings/', cursor, 10);
    expect(page.items.map((b) => `${b.tenantId}/${b.name}`)).toEqual(listed);
    expect(page.items.every((b) => b.retainUntil === '2026-01-01T00:00:00.000Z')).toBe(true);
    expect(page.next).toBeNull();
  });

  it('many tenant containers with no kept copy: at most `limit` listings a run, and the walk moves on past them', async () => {
    const empty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`tenant-${String(i).padStart(3, '0')}`, ['doc/manifest.json']]));
    const { blobs, counted } = tenantListing({ ...empty, 'tenant-zz': ['sightings/x/1.json'] });
    const walked: string[] = [];
    let cursor: string | null = null;
    for (let run = 0; run < 20; run++) {
      counted.listings = 0;
      const page = await blobs.unsafeListWormUnder('sightings/', cursor, 5);
      expect(counted.listings).toBeLessThanOrEqual(5);
      walked.push(...page.items.map((b) => `${b.tenantId}/${b.name}`));
      cursor = page.next;
      if (cursor === null) break;
    }
    expect(walked).toEqual(['zz/sightings/x/1.json']);
  });
});

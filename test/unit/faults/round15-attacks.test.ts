/**
 * Round 15: attacks on the controls of the session before (sightings kept in storage, sealed export jobs, sealed
 * disposal claims, kept givings, sealed parked batches). Each case is an attack that broke, with the fix it got; see
 * each block's comment.
 */
import { PersonSightings, type PersonSightingRecord, personSightingRecordId } from '../../../shared/auth/person-sightings';
import { assignRightsSet } from '../../../shared/auth/rights-sets/assign-rights-set';
import { putRightsSet } from '../../../shared/auth/rights-sets/put-rights-set';
import { rightsGivenTo } from '../../../shared/auth/rights-sets/rights-given';
import { madeSecondBy } from '../../../shared/auth/sod';
import type { Permission, Principal } from '../../../shared/kernel/principal';
import { inMemoryDeps, ListingCatalog, type RecordingLogger } from '../../support/in-memory';
import { TENANT } from '../../support/in-process';
import { seedMany } from '../../support/seed';
import { EXPORT_DISPOSABLE_ON_JOB, exportDisposableListName } from '../../../shared/kernel/export';
import { runExport } from '../../../shared/exports/run-export';
import { startExport } from '../../../shared/exports/start-export';
import { EXPORT_LIST_EDITED, withdrawExportsHolding } from '../../../shared/exports/withdraw-exports';
import { exportFile } from '../../../shared/exports/download-export';
import { maintainExports } from '../../../shared/exports/maintain-exports';
import type { ExportJob } from '../../../shared/kernel/export';

const DAY = 86_400_000;

/**
 * Four eyes read a giver's sign-in record from Cosmos DB alone (rights-given.ts lastSighting): the kept sightings undid
 * a replay only for an API key's rights. Whoever could write Cosmos DB (not Key Vault) deleted guest-1's record, or wrote
 * back a genuine older one naming a set alice never widened, and guest-2 (given rights by guest-1 through the set alice
 * widened after her act) counted as a second person to alice. Now the newest kept sighting is judged too (either
 * suffices), and a first sign-in is kept as well (one never changed had nothing kept to undo its deletion).
 */
describe("four eyes: a giver's sign-in record deleted or replayed in Cosmos DB still finds who widened the set it claimed", () => {
  const now = new Date('2030-06-01T12:00:00.000Z');
  const admin = (subject: string, rightsSet = 'root', permissions: Permission[] = ['documents:read', 'rights:manage']): Principal => ({ tenantId: TENANT, subject, kind: 'user', person: subject, rightsSet, permissions: new Set(permissions) });
  it.each([
    ['as stored (control)', true, 'none'],
    ['a genuine older sighting (another set) written back', true, 'replay'],
    ['deleted, after a change of set', true, 'delete'],
    ['deleted, her first and only sign-in', false, 'delete'],
  ])('%s: alice is found', async (_what, earlier, attack) => {
    const deps = { ...inMemoryDeps(), clock: { now: () => now } };
    deps.tenantRecords.sightingsSealedMark = true;
    const before = new Date(now.getTime() - DAY);
    const sightings = new PersonSightings(deps.tenantRecords, deps);
    const key = `${TENANT}/${personSightingRecordId('guest-1')}`;
    await putRightsSet(admin('root'), 'claimed', ['documents:read'], before, deps);
    if (earlier) await sightings.seen(TENANT, 'guest-1', 'auditor', new Date(before.getTime() - DAY));
    const old = structuredClone(deps.tenantRecords.records.get(key));
    await sightings.seen(TENANT, 'guest-1', 'claimed', before);
    // alice widens the set guest-1 claims after her act; guest-1 gives guest-2 rights through it.
    await putRightsSet(admin('alice'), 'claimed', ['documents:read', 'rights:manage'], now, deps);
    await putRightsSet(admin('guest-1', 'claimed'), 'helpers', ['documents:read', 'rights:manage'], now, deps);
    await assignRightsSet(admin('guest-1', 'claimed'), 'guest-2', 'helpers', now, deps);
    if (attack === 'delete') deps.tenantRecords.records.delete(key);
    if (attack === 'replay') deps.tenantRecords.records.set(key, { ...old!, etag: deps.tenantRecords.records.get(key)!.etag + 1000 });
    if (attack === 'replay') expect((deps.tenantRecords.records.get(key)!.value as unknown as PersonSightingRecord).rightsSet).toBe('auditor');
    const given = await rightsGivenTo(admin('guest-2', 'helpers'), deps);
    expect(madeSecondBy(given, { subject: 'alice', person: 'alice' }, now.toISOString())?.by.subject).toBe('alice');
  });
});

/**
 * A large export's list of the documents a disposal can reach is a plain blob in the exports container, the job sealing
 * only its Bloom filter. A holder of the storage account's data-plane role (no Cosmos DB, no Key Vault) rewrote the list
 * without a document, the filter's "maybe" was settled by the list's "no", and the export holding a disposed document
 * stayed downloadable. Now the completion seal covers the list's digest: one that does not match is withdrawn on the
 * filter alone, as an unreadable one is.
 */
describe("a large export's list of disposable documents rewritten in storage", () => {
  it.each([
    ['as written (control)', (ids: string[]) => ids],
    ['the disposed document taken out', (ids: string[], gone: string) => ids.filter((id) => id !== gone)],
    ['emptied', () => []],
  ])('%s: the export is withdrawn', async (_what, rewrite) => {
    const deps = { ...inMemoryDeps(), catalog: new ListingCatalog() };
    const n = EXPORT_DISPOSABLE_ON_JOB + 2;
    const docs = await seedMany(deps, TENANT, Array.from({ length: n }, (_, i) => ({ metadata: { documentDate: '2018-06-01', reference: `R-${i}` } })));
    docs.forEach((d) => deps.catalog.documents.set(`${TENANT}/${d.id}`, { ...d, legalHold: true, retention: { ...d.retention, retainUntil: '2024-01-01T00:00:00.000Z' } }));
    const principal = { tenantId: TENANT, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;
    const { job } = await startExport(principal, { includeOriginals: false }, 'req-1', deps);
    expect((await runExport(TENANT, job.id, deps)).status).toBe('completed');
    const gone = docs[3]!.id;
    const blobs = (deps.exportBlobs as unknown as { blobs: Map<string, Buffer> }).blobs;
    const name = `${TENANT}/${exportDisposableListName(job.id, 1)}`;
    const listed = blobs.get(name)!.toString('utf8').trim().split('\n');
    const edited = rewrite(listed, gone);
    if (edited !== listed) blobs.set(name, Buffer.from(edited.map((id) => `${id}\n`).join('')));
    expect(await withdrawExportsHolding(TENANT, [gone], new Date('2025-03-01T12:00:00.000Z'), deps)).toEqual([job.id]);
    expect((deps.log as RecordingLogger).lines.some((l) => l.message === EXPORT_LIST_EDITED)).toBe(edited !== listed);
  });
});

/**
 * A job's status is under no seal (it moves with every save), and the sweep withdrew only jobs whose status said
 * completed (or marked running ones). Whoever could write Cosmos DB (not Key Vault) set a completed export's status to
 * failed before the sweep disposed of a document it held, and back to completed after: the completion seal still
 * checked, and the ZIP with the disposed document's copy was handed out. Now a job carrying a completion seal is
 * withdrawn as a completed one whatever its status says (the seal, not the status, says what was handed out).
 */
describe('a completed export hidden from the sweep by its status, then completed again in Cosmos DB', () => {
  it.each([['failed'], ['running'], ['completed']])('status %s while the sweep runs: withdrawn, its ZIP gone', async (status) => {
    const deps = { ...inMemoryDeps(), catalog: new ListingCatalog() };
    const docs = await seedMany(deps, TENANT, [0, 1].map((i) => ({ metadata: { documentDate: '2018-06-01', reference: `R-${i}` } })));
    docs.forEach((d) => deps.catalog.documents.set(`${TENANT}/${d.id}`, { ...d, retention: { ...d.retention, retainUntil: '2025-03-02T00:00:00.000Z' } }));
    const principal = { tenantId: TENANT, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;
    const { job } = await startExport(principal, { includeOriginals: false }, 'req-1', deps);
    expect((await runExport(TENANT, job.id, deps)).status).toBe('completed');
    const jobs = (deps.exportJobs as unknown as { jobs: Map<string, ExportJob> }).jobs;
    const key = `${TENANT}/${job.id}`;
    const completed = structuredClone(jobs.get(key)!);
    jobs.set(key, { ...completed, status: status as ExportJob['status'] });
    expect(await withdrawExportsHolding(TENANT, [docs[0]!.id], new Date('2025-03-02T06:00:00.000Z'), deps)).toEqual([job.id]);
    // The genuine completed record written back over whatever the sweep left: its seal checks, its ZIP is gone.
    jobs.set(key, completed);
    deps.clock.now = () => new Date('2025-03-02T07:00:00.000Z');
    const handed = await exportFile({ tenantId: TENANT, exportId: job.id }, deps).catch(() => null);
    expect((deps.exportBlobs as unknown as { blobs: Map<string, Buffer> }).blobs.has(`${TENANT}/${completed.blobName}`)).toBe(false);
    await expect(handed ? handed.read() : Promise.reject(new Error('refused'))).rejects.toThrow();
  });

  // And at its expiry: a job marked expired in Cosmos DB alone (its completion seal left on) was listed by nothing, and
  // its ZIP stayed in storage for good. One carrying a completion seal past its expiry is expired by maintenance.
  it('status expired (its completion seal left on) at its expiry: maintenance deletes its ZIP', async () => {
    const deps = { ...inMemoryDeps(), catalog: new ListingCatalog() };
    await seedMany(deps, TENANT, [{ metadata: { documentDate: '2018-06-01', reference: 'R-0' } }]);
    const principal = { tenantId: TENANT, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;
    const { job } = await startExport(principal, { includeOriginals: false }, 'req-1', deps);
    const done = await runExport(TENANT, job.id, deps);
    const jobs = (deps.exportJobs as unknown as { jobs: Map<string, ExportJob> }).jobs;
    jobs.set(`${TENANT}/${job.id}`, { ...done, status: 'expired' });
    await maintainExports({ now: new Date(Date.parse(done.expiresAt) + 1000), deps, tenantId: TENANT });
    expect((deps.exportBlobs as unknown as { blobs: Map<string, Buffer> }).blobs.size).toBe(0);
  });
});

/**
 * A sign-in's record took the time its request started (`now`), and a sign-in that lost the write to another and wrote
 * again over it kept that time: the record's seenAt went back, below the kept copy of the sign-in it replaced. An ordinary
 * account with a token from before the identity provider narrowed her claim and one from after, signing in with both at
 * once, had the older (wider) one's write land first and the newer (narrower) one's second with an earlier seenAt; her
 * key's next request found the kept wider sighting "newer" than the stored one and wrote it back: her keys acted with
 * the set taken from her. Now a sighting written over a sealed one is never older than it.
 */
it("two sign-ins at once: the later write's sighting is the newer, and a key's look does not restore the earlier one", async () => {
  const deps = inMemoryDeps();
  const sightings = new PersonSightings(deps.tenantRecords, deps);
  const t = Date.parse('2030-06-01T12:00:00.000Z');
  await sightings.seen(TENANT, 'dana', 'auditor', new Date(t - DAY), new Date(t - DAY).toISOString());
  // The wider token (issued earlier) started a moment later and wrote first; the narrower one's retry wrote after it.
  await sightings.seen(TENANT, 'dana', 'tenant-admin', new Date(t + 101), new Date(t - 3600_000).toISOString());
  await sightings.seen(TENANT, 'dana', 'auditor', new Date(t + 100), new Date(t - 60_000).toISOString());
  const found = await sightings.lastForKey(TENANT, 'dana', new Date(t + 200));
  expect(found?.record.rightsSet).toBe('auditor');
  expect(found?.unsealed).toBeNull();
});

/**
 * Loose ends 8. A writer of Cosmos DB (not Key Vault) holding an ordinary account: deletes the sweep's mark on a running
 * export (its ZIP then held a disposed document's copy), and deletes the sign-in record of a person seen before kept
 * copies existed (four eyes then lost their claimed set).
 */
import type { Permission, Principal } from '../../../shared/kernel/principal';
import { keepUnkeptSightings, personSightingRecordId, sealSighting, SIGHTING_KEEPING_CURSOR, SIGHTINGS_KEPT_PER_RUN } from '../../../shared/auth/person-sightings';
import { assignRightsSet } from '../../../shared/auth/rights-sets/assign-rights-set';
import { putRightsSet } from '../../../shared/auth/rights-sets/put-rights-set';
import { rightsGivenTo } from '../../../shared/auth/rights-sets/rights-given';
import { madeSecondBy } from '../../../shared/auth/sod';
import { reconcile } from '../../../shared/retention/reconcile';
import type { AuditLogPort } from '../../../shared/ports';
import { runExport } from '../../../shared/exports/run-export';
import { startExport } from '../../../shared/exports/start-export';
import { exportFile } from '../../../shared/exports/download-export';
import { withdrawExportsHolding } from '../../../shared/exports/withdraw-exports';
import { inMemoryDeps, ListingCatalog, searchAsWholeTenant } from '../../support/in-memory';
import { seedDueDocument } from '../../support/seed';
import { sweep } from '../../../shared/retention/sweep';
import { seedMany } from '../../support/seed';
import { TENANT } from '../../support/in-process';
import type { FakeClock } from '../../support/fake-clock';

/**
 * The worker knew of a disposal while it ran only from the sweep's mark on its job, which nothing seals: the mark
 * deleted, it completed and handed out a copy of the disposed document. Now it also lists the tenant's keyed disposal
 * entries since its walk began (one walk per month), and withdraws for one it holds whatever the job says.
 */
describe("a running export whose sweep mark is deleted in Cosmos DB still withdraws for a disposed document it holds", () => {
  it.each([
    ['mark kept (control)', false, true, 0],
    ['mark deleted', true, true, 0],
    // Its entry dated when the sweep's run began, minutes before the walk (the run claimed the document after).
    ['mark deleted, the disposal entry dated before the walk began', true, true, -7 * 60_000],
    ['mark deleted, a disposal of a document it does not hold', true, false, 0],
  ])('%s', async (_what, deleteMark, holds, dated) => {
    const deps = { ...inMemoryDeps(), catalog: new ListingCatalog() };
    const docs = await seedMany(deps, TENANT, [0, 1].map((i) => ({ metadata: { documentDate: '2018-06-01', reference: `R-${i}` } })));
    docs.forEach((d) => deps.catalog.documents.set(`${TENANT}/${d.id}`, { ...d, retention: { ...d.retention, retainUntil: '2025-03-01T13:00:00.000Z' } }));
    const principal = { tenantId: TENANT, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;
    const { job } = await startExport(principal, { includeOriginals: false }, 'req-1', deps);
    // The worker reads every blob, then waits (a slow upload) while the sweep disposes of a document it copied.
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    let walkedAll!: () => void;
    const copied = new Promise<void>((resolve) => (walkedAll = resolve));
    const unchanged = deps.catalog.idsUnchangedSince.bind(deps.catalog);
    const slowDeps = { ...deps, catalog: Object.assign(Object.create(deps.catalog) as ListingCatalog, { idsUnchangedSince: async (...args: Parameters<typeof unchanged>) => (walkedAll(), await opened, unchanged(...args)) }) };
    const queries: string[] = [];
    const list = deps.audit.list.bind(deps.audit);
    deps.audit.list = async (...args: Parameters<AuditLogPort['list']>) => (queries.push(`${args[1]} ${args[4]?.action ?? ''}`), list(...args));
    const worker = runExport(TENANT, job.id, slowDeps);
    await copied;

    const disposed = holds ? docs[0]!.id : '0190a000-0000-7000-8000-000000000001';
    (deps.clock as FakeClock).advance(2 * 3_600_000);
    expect(await withdrawExportsHolding(TENANT, [disposed], deps.clock.now(), deps)).toEqual([]);
    // The sweep's disposal entry, keyed (appended with its tombstone).
    await deps.audit.append({ tenantId: TENANT, at: new Date(dated === 0 ? deps.clock.now().getTime() : Date.parse('2025-03-01T12:00:00.000Z') + dated).toISOString(), actor: { subject: 'system:retention-sweep', kind: 'system' }, action: 'document.dispose', target: disposed, outcome: 'success', status: 200, requestId: `sweep-1:${disposed}`, clientIp: null, userAgent: null, detail: 'retention-ended' });
    if (deleteMark) {
      const marked = (await deps.exportJobs.getVersioned(TENANT, job.id))!;
      const { disposedWhileRunning: _gone, ...unmarked } = marked.item;
      expect(await deps.exportJobs.replace(unmarked, marked.etag)).not.toBe('conflict');
    }
    queries.length = 0;
    open();
    const final = await worker;

    if (holds) {
      expect(final).toMatchObject({ status: 'expired', withdrawn: { documents: [disposed] } });
      await expect(exportFile({ tenantId: TENANT, exportId: job.id }, deps)).rejects.toMatchObject({ code: 'export_expired' });
    } else {
      expect(final.status).toBe('completed');
    }
    // One walk of the month's disposal entries per judging, not a query per document: a withdrawal is judged once; a
    // completion judged again after its save met the sweep's (or the attacker's) write.
    expect(queries.filter((q) => q.endsWith('document.dispose'))).toEqual(Array(holds ? 1 : 2).fill('2025-03 document.dispose'));
  });
});

/**
 * The gap the keyed entries leave: the sweep marks a running export before it writes its tombstones, and their disposal
 * entries are appended after them. A worker completing in between, its mark deleted, saw neither. The sweep now looks
 * again at the exports it marked once the entries are in the log.
 */
it('an export completing between the sweep\'s mark (deleted) and its disposal entries is withdrawn by the sweep', async () => {
  const deps = inMemoryDeps();
  searchAsWholeTenant(deps.catalog);
  const docs = [await seedDueDocument(deps, TENANT, '2025-03-01T13:00:00.000Z'), await seedDueDocument(deps, TENANT, '2025-03-01T13:00:00.000Z')];
  const principal = { tenantId: TENANT, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;
  const { job } = await startExport(principal, { includeOriginals: false }, 'req-1', deps);
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  let walkedAll!: () => void;
  const copied = new Promise<void>((resolve) => (walkedAll = resolve));
  const unchanged = deps.catalog.idsUnchangedSince.bind(deps.catalog);
  const slowDeps = { ...deps, catalog: Object.assign(Object.create(deps.catalog) as typeof deps.catalog, { idsUnchangedSince: async (...args: Parameters<typeof unchanged>) => (walkedAll(), await opened, unchanged(...args)) }) };
  const worker = runExport(TENANT, job.id, slowDeps);
  await copied;

  // Between the sweep's mark and its first tombstone: the mark deleted, the worker completes.
  const replace = deps.retention.catalog.replace.bind(deps.retention.catalog);
  let attacked = false;
  deps.retention.catalog.replace = async (...args: Parameters<typeof replace>) => {
    if (!attacked && args[0].status === 'disposed') {
      attacked = true;
      const marked = (await deps.exportJobs.getVersioned(TENANT, job.id))!;
      expect(marked.item.disposedWhileRunning).toEqual(expect.arrayContaining([docs[0]!.id]));
      const { disposedWhileRunning: _gone, ...unmarked } = marked.item;
      expect(await deps.exportJobs.replace(unmarked, marked.etag)).not.toBe('conflict');
      open();
      expect((await worker).status).toBe('completed');
    }
    return replace(...args);
  };
  (deps.clock as FakeClock).advance(2 * 3_600_000);
  const run = await sweep({ now: deps.clock.now(), budget: { maxItems: 10, maxMillis: 3_600_000 }, continuation: null }, deps);
  expect(attacked).toBe(true);
  expect(run.exportsWithdrawn).toEqual([job.id]);
  await expect(exportFile({ tenantId: TENANT, exportId: job.id }, deps)).rejects.toMatchObject({ code: 'export_expired' });
});

/**
 * A sign-in is kept in storage only when it is a first one, over a record not the archive's, or a change of set: a person
 * seen before kept copies existed had none until their set next changed, and deleting their record in Cosmos DB hid the
 * set they claim from four eyes (round15's "four eyes: a giver's sign-in record deleted"). The reconciler now keeps a
 * copy of each sealed one lacking it, a page a run.
 */
describe('a sign-in from before kept copies gets its kept copy from the reconciler; its record deleted, four eyes still see its set', () => {
  const now = new Date('2030-06-01T12:00:00.000Z');
  const DAY = 86_400_000;
  const admin = (subject: string, rightsSet = 'root', permissions: Permission[] = ['documents:read', 'rights:manage']): Principal => ({ tenantId: TENANT, subject, kind: 'user', person: subject, rightsSet, permissions: new Set(permissions) });
  it.each([
    ['record kept in Cosmos DB (control)', false],
    ['record deleted after the pass', true],
  ])('%s', async (_what, deleted) => {
    const deps = { ...inMemoryDeps(), clock: { now: () => now } };
    const before = new Date(now.getTime() - DAY);
    const key = `${TENANT}/${personSightingRecordId('guest-1')}`;
    await putRightsSet(admin('root'), 'claimed', ['documents:read'], before, deps);
    // guest-1 signed in before kept copies: a sealed record, nothing under sightings/. A record edited (seal broken) beside it.
    await deps.tenantRecords.create(await sealSighting({ id: personSightingRecordId('guest-1'), tenantId: TENANT, type: 'person-sighting', person: 'guest-1', rightsSet: 'claimed', seenAt: before.toISOString() }, deps));
    const edited = await sealSighting({ id: personSightingRecordId('guest-9'), tenantId: TENANT, type: 'person-sighting', person: 'guest-9', rightsSet: 'claimed', seenAt: before.toISOString() }, deps);
    await deps.tenantRecords.create({ ...edited, rightsSet: 'root' });
    const kept = () => [...deps.blobs.blobs.keys()].filter((k) => k.includes('/sightings/'));
    expect(kept()).toEqual([]);

    const timers = deps.retention.timers;
    const r = await reconcile({ now, maxItems: 100, continuation: null }, deps);
    expect(r.sightingsKept).toEqual([key]);
    expect(kept()).toHaveLength(1);
    // Idempotent: a run again keeps nothing more; the walk, at its end, starts again from the first record (it never ends).
    expect((await keepUnkeptSightings(deps, new Date(now.getTime() + 2 * DAY))).kept).toEqual([]);
    expect(await timers.get(SIGHTING_KEEPING_CURSOR)).toEqual({ c: null });
    expect(kept()).toHaveLength(1);

    await putRightsSet(admin('alice'), 'claimed', ['documents:read', 'rights:manage'], now, deps);
    await putRightsSet(admin('guest-1', 'claimed'), 'helpers', ['documents:read', 'rights:manage'], now, deps);
    await assignRightsSet(admin('guest-1', 'claimed'), 'guest-2', 'helpers', now, deps);
    if (deleted) deps.tenantRecords.records.delete(key);
    const given = await rightsGivenTo(admin('guest-2', 'helpers'), deps);
    expect(madeSecondBy(given, { subject: 'alice', person: 'alice' }, now.toISOString())?.by.subject).toBe('alice');
  });

  it('a page a run, going on where the last stopped', async () => {
    const deps = { ...inMemoryDeps(), clock: { now: () => now } };
    const n = SIGHTINGS_KEPT_PER_RUN + 3;
    for (let i = 0; i < n; i++) await deps.tenantRecords.create(await sealSighting({ id: personSightingRecordId(`p-${i}`), tenantId: TENANT, type: 'person-sighting', person: `p-${i}`, rightsSet: 'claimed', seenAt: now.toISOString() }, deps));
    const first = await keepUnkeptSightings(deps, now);
    expect(first.kept.length).toBe(SIGHTINGS_KEPT_PER_RUN);
    const second = await keepUnkeptSightings(deps, now);
    expect(second.kept.length).toBe(3);
    expect((await keepUnkeptSightings(deps, now)).kept).toEqual([]);
  });

  it('keeps a record sealed behind the walk when the walk comes round again (the walk never ends)', async () => {
    const deps = { ...inMemoryDeps(), clock: { now: () => now } };
    deps.tenantRecords.sightingsSealedMark = false;
    await deps.tenantRecords.create(await sealSighting({ id: personSightingRecordId('p-1'), tenantId: TENANT, type: 'person-sighting', person: 'p-1', rightsSet: 'claimed', seenAt: now.toISOString() }, deps));
    const later = new Date(now.getTime() + 2 * DAY);
    expect(await keepUnkeptSightings(deps, now)).toEqual({ kept: [`${TENANT}/${personSightingRecordId('p-1')}`] });
    // An unsealed record sealed by the reconciler (sealLegacySightings) after the walk passed it: the next walk keeps it.
    await deps.tenantRecords.create({ id: personSightingRecordId('p-2'), tenantId: TENANT, type: 'person-sighting', person: 'p-2', rightsSet: 'claimed', seenAt: now.toISOString() });
    const sealing = await reconcile({ now: later, maxItems: 100, continuation: null }, deps);
    expect(sealing.sightingsSealed).toEqual([`${TENANT}/${personSightingRecordId('p-2')}`]);
    expect(sealing.sightingsKept).toEqual([`${TENANT}/${personSightingRecordId('p-2')}`]);
  });
});

/**
 * Round 16: attacks on the controls of the session before (exports from the export-work queue, sign-in records read
 * with the kept ones, a completed export's status under no seal). Each case is an attack that broke, with the fix it
 * got; see each block's comment.
 */
import { PersonSightings, type PersonSightingRecord, personSightingRecordId } from '../../../shared/auth/person-sightings';
import { assignRightsSet } from '../../../shared/auth/rights-sets/assign-rights-set';
import { putRightsSet } from '../../../shared/auth/rights-sets/put-rights-set';
import { loadConfig } from '../../../shared/config';
import { BUILT_IN_RIGHTS_SETS, type Permission, type Principal } from '../../../shared/kernel/principal';
import { minimalLocalEnv } from '../../support/config-env';
import { inMemoryDeps, ListingCatalog } from '../../support/in-memory';
import { TENANT } from '../../support/in-process';
import { refusal } from '../../support/refusal';
import { seedMany } from '../../support/seed';
import { EXPORT_DISPOSABLE_ON_JOB, type ExportJob } from '../../../shared/kernel/export';
import { runExport } from '../../../shared/exports/run-export';
import { startExport } from '../../../shared/exports/start-export';
import { withdrawExportsHolding } from '../../../shared/exports/withdraw-exports';
import { exportFile } from '../../../shared/exports/download-export';
import { maintainExports } from '../../../shared/exports/maintain-exports';

const DAY = 86_400_000;
const user = (subject: string, rightsSet: string, permissions: Permission[]): Principal => ({ tenantId: TENANT, subject, kind: 'user', person: subject, rightsSet, permissions: new Set(permissions) });

/**
 * The rights floor read a sign-in record the archive did not seal as it is as no claim at all (claimedPermissions: []),
 * so whoever could write Cosmos DB (not Key Vault) edited a tenant-admin's record (any field: its seal no longer checks)
 * and a lesser rights manager assigned her a set of documents:read: nothing she held was counted as taken. A deleted or
 * replayed record was already judged with the kept ones (loose ends 7, round 15); an edited one is now taken as holding
 * every permission the floor guards, as four eyes take it (rights-given.ts personHoldsNow).
 */
describe("the rights floor: a tenant-admin's sign-in record edited in Cosmos DB does not let a lesser rights manager take her powers", () => {
  it.each([
    ['as stored (control)', (_r: PersonSightingRecord) => null],
    ['its set edited', (r: PersonSightingRecord) => ({ ...r, rightsSet: 'uploader' })],
    ['its seal stripped', (r: PersonSightingRecord) => { const { mac: _m, keyVersion: _v, ...rest } = r; return rest; }],
    ['its seenAt moved', (r: PersonSightingRecord) => ({ ...r, seenAt: new Date(Date.parse(r.seenAt) + 1000).toISOString() })],
  ])('%s: refused (rights-floor)', async (_what, edit) => {
    const deps = inMemoryDeps(loadConfig({ ...minimalLocalEnv, AUTH_RIGHTS_SOURCE: 'tenant-then-claim' }));
    deps.tenantRecords.sightingsSealedMark = true;
    await new PersonSightings(deps.tenantRecords, deps).seen(TENANT, 'tara', 'tenant-admin', deps.clock.now());
    await putRightsSet(user('root', 'tenant-admin', [...BUILT_IN_RIGHTS_SETS['tenant-admin']!]), 'lesser', ['documents:read'], deps.clock.now(), deps);
    const key = `${TENANT}/${personSightingRecordId('tara')}`;
    const stored = deps.tenantRecords.records.get(key)!;
    const edited = edit(stored.value as unknown as PersonSightingRecord);
    if (edited) deps.tenantRecords.records.set(key, { ...stored, value: edited, etag: stored.etag + 1000 });
    const rm = user('rm', 'rm', ['rights:manage', 'documents:read']);
    expect((await refusal(assignRightsSet(rm, 'tara', 'lesser', new Date(deps.clock.now().getTime() + DAY), deps))).extensions).toMatchObject({ rule: 'rights-floor' });
  });
});

/**
 * A completed export was withdrawn only by the sweep's one look (and, for one of up to EXPORT_DISPOSABLE_ON_JOB
 * documents, maintenance's safety net), both finding it by what Cosmos DB says. Whoever could write Cosmos DB (not Key
 * Vault) hid it from that look (status failed and its completion seal taken off: listed as neither running nor handed
 * out) while the sweep disposed of a document it held, and wrote the genuine record back after: its seal checked, and its
 * ZIP, a copy of the disposed document, was handed out. Now the download itself, for an export a disposal can reach
 * (its sealed disposableFrom passed), asks the keyed audit log for disposals of documents it holds since it began.
 */
describe('a completed export hidden from the sweep (status failed, completion seal off), then written back', () => {
  it.each([
    ['a small export, as stored (control)', 2, false],
    ['a small export, hidden', 2, true],
    ['a large export, hidden', EXPORT_DISPOSABLE_ON_JOB + 2, true],
  ])('%s: its ZIP is not handed out', async (_what, n, hide) => {
    const deps = { ...inMemoryDeps(), catalog: new ListingCatalog() };
    const docs = await seedMany(deps, TENANT, Array.from({ length: n }, (_, i) => ({ metadata: { documentDate: '2018-06-01', reference: `R-${i}` } })));
    docs.forEach((d) => deps.catalog.documents.set(`${TENANT}/${d.id}`, { ...d, retention: { ...d.retention, retainUntil: '2025-03-02T00:00:00.000Z' } }));
    const principal = { tenantId: TENANT, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;
    deps.clock.now = () => new Date('2025-03-01T12:00:00.000Z');
    const { job } = await startExport(principal, { includeOriginals: false }, 'req-1', deps);
    expect((await runExport(TENANT, job.id, deps)).status).toBe('completed');
    const jobs = (deps.exportJobs as unknown as { jobs: Map<string, ExportJob> }).jobs;
    const key = `${TENANT}/${job.id}`;
    const completed = structuredClone(jobs.get(key)!);
    const { completedSeal: _off, ...hidden } = completed;
    if (hide) jobs.set(key, { ...hidden, status: 'failed' });
    // The sweep disposes of docs[0]: its look at the exports, then its keyed disposal entry (with the tombstone).
    const swept = new Date('2025-03-02T06:00:00.000Z');
    deps.clock.now = () => swept;
    const withdrawn = await withdrawExportsHolding(TENANT, [docs[0]!.id], swept, deps);
    expect(withdrawn).toEqual(hide ? [] : [job.id]);
    await deps.audit.append({ tenantId: TENANT, at: swept.toISOString(), actor: { subject: 'system:retention-sweep', kind: 'system' }, action: 'document.dispose', target: docs[0]!.id, outcome: 'success', status: 200, requestId: `sweep-1:${docs[0]!.id}`, clientIp: null, userAgent: null, detail: 'retention-ended' });
    if (hide) jobs.set(key, completed);
    deps.clock.now = () => new Date('2025-03-02T07:00:00.000Z');
    const handed = await exportFile({ tenantId: TENANT, exportId: job.id }, deps).catch(() => null);
    await expect(handed ? handed.read() : Promise.reject(new Error('refused'))).rejects.toThrow();
    expect((deps.exportBlobs as unknown as { blobs: Map<string, Buffer> }).blobs.has(`${TENANT}/${completed.blobName}`)).toBe(false);
  });
});

/**
 * Export maintenance judged the seals of live exports (and its safety net their disposable documents) only among jobs
 * whose status said completed, the status being under no seal. Whoever could write Cosmos DB (not Key Vault) set a
 * completed export failed and moved its expiry a year on: listed by neither maintenance query (not completed; not past
 * the edited expiry), its ZIP stayed in storage past its genuine expiry for as long as the edit stood. A job carrying a
 * completion seal is now listed and judged as the completed one it is (as the sweep takes it, withdraw-exports.ts).
 */
it.each([
  ['as stored (control)', (j: ExportJob) => j],
  ['status failed, expiry moved a year on', (j: ExportJob) => ({ ...j, status: 'failed' as const, expiresAt: new Date(Date.parse(j.expiresAt) + 365 * DAY).toISOString() })],
  ['status running, expiry moved a year on', (j: ExportJob) => ({ ...j, status: 'running' as const, heartbeatAt: new Date(Date.parse(j.expiresAt) + 365 * DAY).toISOString(), expiresAt: new Date(Date.parse(j.expiresAt) + 365 * DAY).toISOString() })],
])('a completed export %s: maintenance after its sealed expiry deletes its ZIP', async (_what, edit) => {
  const deps = { ...inMemoryDeps(), catalog: new ListingCatalog() };
  await seedMany(deps, TENANT, [{ metadata: { documentDate: '2018-06-01', reference: 'R-0' } }]);
  const principal = { tenantId: TENANT, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;
  const { job } = await startExport(principal, { includeOriginals: false }, 'req-1', deps);
  const done = await runExport(TENANT, job.id, deps);
  const jobs = (deps.exportJobs as unknown as { jobs: Map<string, ExportJob> }).jobs;
  jobs.set(`${TENANT}/${job.id}`, edit(done));
  await maintainExports({ now: new Date(Date.parse(done.expiresAt) + 1000), deps, tenantId: TENANT });
  expect((deps.exportBlobs as unknown as { blobs: Map<string, Buffer> }).blobs.has(`${TENANT}/${done.blobName}`)).toBe(false);
});

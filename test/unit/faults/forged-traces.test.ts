/**
 * Someone who can write both Cosmos DB and blobs (not Key Vault): what Cosmos DB says of a kept setting's revision, and
 * of a removal's trace, stands only on a blob the archive sealed at that revision.
 */
import { SETTING_RESTORED } from '../../../shared/auth/decision-blobs';
import { RETENTION_POLICY_ID, settingBlobName, SETTING_KEPT_FROM_AUDIT, SETTING_UNSEALED } from '../../../shared/auth/rights-sets/settings-blobs';
import { assignRightsSet } from '../../../shared/auth/rights-sets/assign-rights-set';
import { putRightsSet } from '../../../shared/auth/rights-sets/put-rights-set';
import { rightsAssignmentRecordId, type RightsAssignmentRecord, type RightsSetRecord, rightsUnassignmentRecordId, type RightsUnassignmentRecord } from '../../../shared/auth/rights-sets/rights-records';
import { type Permission, PERMISSIONS, type Principal } from '../../../shared/kernel/principal';
import { runReconcileTimer } from '../../../shared/retention/timers';
import type { FakeClock } from '../../support/fake-clock';
import { inMemoryDeps, type InMemoryDeps, type RecordingLogger } from '../../support/in-memory';
import { assign, type Call, ok, putSet, repair, send, TENANT, upload, world, type World } from '../../support/in-process';
import type { TenantRecord } from '../../../shared/ports';
import { ChainKeyUnavailable, type ChainKeyVersion } from '../../../shared/kernel/audit-chain';
import { blobLayout } from '../../../shared/kernel/blob-layout';
import { CORRECTION_UNAUDITED } from '../../../shared/retention/reconcile';
import { DEFAULT_POLICY } from '../../../shared/retention/policy';
import { setRetentionPolicy } from '../../../shared/retention/set-retention-policy';

const T = 'acme';
const alice: Principal = { tenantId: T, subject: 'alice', kind: 'user', person: 'alice', rightsSet: 'root', permissions: new Set<Permission>(PERMISSIONS) };
const lines = (deps: InMemoryDeps, message: string) => (deps.log as RecordingLogger).lines.filter((l) => l.message === message);
const plant = (deps: InMemoryDeps, name: string, body: object) => deps.blobs.putCreateOnly(T, name, Buffer.from(JSON.stringify(body)), 'application/json', { retainUntil: null, legalHold: false }, {});
const assignmentId = rightsAssignmentRecordId('ian');
const assignmentOf = async (deps: InMemoryDeps) => (await deps.tenantRecords.get<RightsAssignmentRecord>(T, assignmentId, 'rights-assignment'))?.value ?? null;

/** ian narrowed to `clerk` (his identity provider claims a wider set): the assignment and its sealed blob. */
async function narrowed(): Promise<{ deps: InMemoryDeps; assigned: RightsAssignmentRecord }> {
  const deps = inMemoryDeps();
  await putRightsSet(alice, 'clerk', ['documents:read'], deps.clock.now(), deps);
  const assigned = await assignRightsSet(alice, 'ian', 'clerk', deps.clock.now(), deps);
  // Later than any grace for a change whose blob is still being written.
  (deps.clock as FakeClock).advance(3_600_000);
  return { deps, assigned };
}

const forgedTrace = (assigned: RightsAssignmentRecord, revision: number): RightsUnassignmentRecord => ({ id: rightsUnassignmentRecordId('ian'), tenantId: T, type: 'rights-unassignment', subject: 'ian', unassignedAt: assigned.assignedAt, unassignedBy: { subject: 'alice', kind: 'user', person: 'alice' }, revision });

describe('a kept assignment against Cosmos DB claims with no sealed blob behind them', () => {
  // Broke: whoever can write Cosmos DB and blobs deleted ian's assignment and left a removal's trace at a revision above
  // its newest sealed change (with a `…-removed.json` planted there, or without): the reconciler took the trace as the
  // removal done (unread, or in its write-back's own check) and never wrote the assignment back; ian acted with his
  // claim's wider set for good. Raising the record's revision above every kept blob (its set widened) did the same.
  it.each([
    ['a forged trace above the sealed assignment, with a removal planted at it', true, 'trace'],
    ['a forged trace above the sealed assignment, nothing planted', false, 'trace'],
    ['the record widened, its revision raised above every kept blob, with a blob planted at it', true, 'raised'],
    ['the record widened, its revision raised above every kept blob, nothing planted', false, 'raised'],
  ] as const)('%s: the sealed assignment is written back', async (_, planted, how) => {
    const { deps, assigned } = await narrowed();
    const forged = assigned.revision! + 1_000;
    if (how === 'trace') {
      deps.tenantRecords.records.delete(`${T}/${assignmentId}`);
      await deps.tenantRecords.upsert(forgedTrace(assigned, forged));
      if (planted) await plant(deps, settingBlobName(assignmentId, forged, true), { note: 'anything' });
    } else {
      await deps.tenantRecords.upsert({ ...assigned, rightsSet: 'tenant-admin', revision: forged });
      if (planted) await plant(deps, settingBlobName(assignmentId, forged, false), { note: 'anything' });
    }
    await runReconcileTimer(deps);
    expect((await assignmentOf(deps))?.rightsSet).toBe('clerk');
    expect(lines(deps, SETTING_RESTORED)).toEqual([expect.objectContaining({ fields: expect.objectContaining({ id: assignmentId, revision: assigned.revision }) })]);
    expect(lines(deps, SETTING_UNSEALED).map((l) => l.fields?.blob)).toEqual(planted ? [settingBlobName(assignmentId, forged, how === 'trace')] : []);
  });

  it('a change whose blob is still being written (its revision recent) is not undone; one in line is read once per instance', async () => {
    const { deps, assigned } = await narrowed();
    const reads: string[] = [];
    const read = deps.blobs.readIfExists.bind(deps.blobs);
    deps.blobs.readIfExists = async (tenantId, name, ...rest) => (reads.push(name), read(tenantId, name, ...rest));
    await runReconcileTimer(deps);
    await runReconcileTimer(deps);
    expect(reads.filter((n) => n.startsWith('settings/')).sort()).toEqual([settingBlobName('rights-set:clerk', assigned.revision!, false), settingBlobName(assignmentId, assigned.revision!, false)].sort());
    // The record written, its blob not yet: the next change of it (now) is kept.
    const now = deps.clock.now().getTime();
    await deps.tenantRecords.upsert({ ...assigned, rightsSet: 'auditor', revision: now });
    await runReconcileTimer(deps);
    expect((await assignmentOf(deps))?.rightsSet).toBe('auditor');
    expect([lines(deps, SETTING_RESTORED), lines(deps, SETTING_UNSEALED)]).toEqual([[], []]);
  });
});

describe('a genuine correction whose blob write failed, the chain key rotated before the reconciler ran', () => {
  // Broke: the witness was checked against the blob's creation time (now, as the reconciler writes it), never the entry's
  // own: the correction's entry, keyed with the version current when it was made, counted as keyed after its rotation,
  // and the correction was never kept in storage (CORRECTION_UNAUDITED). An entry the database stored before the
  // rotation is the archive's whatever the blob's time; one stored after it under the old version (fix-attacks.test.ts)
  // still is none.
  it('is kept in storage, nothing raised', async () => {
    const w = world();
    w.deps.audit.chained = true;
    const v1: ChainKeyVersion = { version: 'v1', key: Buffer.alloc(32, 1), rank: 1 };
    const v2: ChainKeyVersion = { version: 'v2', key: Buffer.alloc(32, 2), rank: 2 };
    let current = v1;
    w.deps.audit.chainKeys = { current: async () => current, version: async (v) => ({ v1, v2 })[v as 'v1' | 'v2'] ?? Promise.reject(new ChainKeyUnavailable(v, 'no such version')) };
    const id = (await ok(w, upload(), 201)).json.id as string;
    const put = w.deps.blobs.putCreateOnly.bind(w.deps.blobs);
    w.deps.blobs.putCreateOnly = async (tenantId, name, ...rest) => {
      if (name.includes('/correction-')) throw new Error('storage unavailable');
      return put(tenantId, name, ...rest);
    };
    const shown = await ok(w, { method: 'GET', path: `documents/${id}`, as: 'alice' }, 200);
    await send(w, { method: 'PATCH', path: `documents/${id}/metadata`, raw: { bytes: Buffer.from(JSON.stringify({ counterparty: 'Acme BV', reason: 'Typo' })), type: 'application/merge-patch+json' }, headers: { 'If-Match': shown.headers.ETag! }, as: 'alice' });
    expect(w.deps.catalog.documents.get(`${TENANT}/${id}`)?.metadataVersion).toBe(2);
    w.deps.blobs.putCreateOnly = put;
    v1.supersededAt = w.clock.now().getTime();
    current = v2;
    w.clock.advance(2 * 86_400_000);
    await runReconcileTimer(w.deps);
    expect(w.deps.blobs.blobs.has(`${TENANT}/${blobLayout.correction(id, 2)}`)).toBe(true);
    expect(lines(w.deps, CORRECTION_UNAUDITED)).toEqual([]);
  });
});

describe('a kept setting edited in Cosmos DB under the revision its sealed blob has', () => {
  // Broke: the reconciler compared revisions only: whoever can write Cosmos DB (not Key Vault) widened ian's assignment,
  // a rights set's permissions, or turned off the retention policy's disposal approval, leaving `revision` as it was, and
  // the reconciler found every record in line with storage, for good, nothing logged.
  const ron: Principal = { tenantId: T, subject: 'ron', kind: 'user', person: 'ron', rightsSet: 'records-manager', permissions: new Set<Permission>(['retention:manage']) };
  const stored = (deps: InMemoryDeps, id: string) => deps.tenantRecords.records.get(`${T}/${id}`)!.value;
  const cases: [string, string, (deps: InMemoryDeps) => Promise<unknown>, (deps: InMemoryDeps) => Promise<void>, unknown][] = [
    ['an assignment given another set', assignmentId, async (deps) => (await assignmentOf(deps))?.rightsSet, (deps) => deps.tenantRecords.upsert({ ...stored(deps, assignmentId), rightsSet: 'tenant-admin' }), 'clerk'],
    ['a rights set given more permissions', 'rights-set:clerk', async (deps) => (await deps.tenantRecords.get<RightsSetRecord>(T, 'rights-set:clerk', 'rights-set'))?.value.permissions, (deps) => deps.tenantRecords.upsert({ ...stored(deps, 'rights-set:clerk'), permissions: [...PERMISSIONS] }), ['documents:read']],
    ['the retention policy without its disposal approval', RETENTION_POLICY_ID, async (deps) => (await deps.retention.policies.get(T))?.requireDisposalApproval, async (deps) => void deps.retention.policies.policies.set(T, { ...deps.retention.policies.policies.get(T)!, requireDisposalApproval: false }), true],
  ];
  it.each(cases)('%s: the sealed change is written back', async (_, id, read, tamper, expected) => {
    const { deps } = await narrowed();
    expect(await setRetentionPolicy(ron, { ...DEFAULT_POLICY, requireDisposalApproval: true }, deps)).toHaveProperty('applied');
    (deps.clock as FakeClock).advance(3_600_000);
    await runReconcileTimer(deps);
    await tamper(deps);
    await runReconcileTimer(deps);
    expect(await read(deps)).toEqual(expected);
    expect(lines(deps, SETTING_RESTORED)).toEqual([expect.objectContaining({ fields: expect.objectContaining({ id }) })]);
  });
});

describe('a genuine change whose blob write failed (answered 500), the reconciler run an hour later', () => {
  // Broke (with the rule above): a revision with no sealed blob was written over with the sealed change below it, so a
  // change the archive made and audited, whose blob write alone failed, was undone: an assignment narrowed or removed, a
  // rights set narrowed, the SoD policy strengthened, went back to what it was. Its keyed audit entry names the revision
  // it wrote (kept-revision=…), which no writer of Cosmos DB can forge: the change is sealed as Cosmos DB holds it.
  /** The SoD policy's PUT, over the version stored now (If-Match). */
  const sodPut = async (w: World, conflicts: string[][]): Promise<Call> => {
    const read = await ok(w, { method: 'GET', path: 'sod-policy', as: 'carol' });
    return { method: 'PUT', path: 'sod-policy', body: { conflicts, uploaderCannotApproveDisposal: true }, headers: { 'If-Match': read.headers.ETag! }, as: 'carol' };
  };
  // The default's pair and one more: stronger, applied at once (a weaker one is a proposal).
  const FIRST_PAIRS = [['documents:write', 'retention:approve'], ['documents:write', 'audit:read']];
  const cases: [string, Call | ((w: World) => Promise<Call>), (w: World) => Promise<unknown>, unknown][] = [
    ['an assignment narrowed', assign('ian', 'auditor'), async (w) => (await w.deps.tenantRecords.get<RightsAssignmentRecord>(TENANT, rightsAssignmentRecordId('ian'), 'rights-assignment'))?.value.rightsSet, 'auditor'],
    ['an assignment removed', { method: 'DELETE', path: 'rights-assignments/ian', as: 'carol' }, async (w) => (await w.deps.tenantRecords.get<RightsAssignmentRecord>(TENANT, rightsAssignmentRecordId('ian'), 'rights-assignment'))?.value ?? null, null],
    ['a rights set narrowed', putSet('clerk', ['documents:read']), async (w) => (await w.deps.tenantRecords.get<RightsSetRecord>(TENANT, 'rights-set:clerk', 'rights-set'))?.value.permissions, ['documents:read']],
    ['the SoD policy strengthened', (w) => sodPut(w, [...FIRST_PAIRS, ['holds:place', 'holds:release']]), async (w) => (await w.deps.tenantRecords.get<{ conflicts: unknown[] } & TenantRecord>(TENANT, 'sod-policy', 'sod-policy'))?.value.conflicts, [...FIRST_PAIRS, ['holds:place', 'holds:release']]],
  ];
  it.each(cases)('%s: kept in storage from its keyed audit entry, not undone', async (_, change, read, expected) => {
    const w = world();
    w.deps.audit.chained = true;
    await ok(w, putSet('clerk', ['documents:read', 'documents:download']));
    await ok(w, assign('ian', 'clerk'));
    expect((await ok(w, await sodPut(w, FIRST_PAIRS))).status).toBe(200);
    w.clock.advance(3_600_000);
    const call = typeof change === 'function' ? await change(w) : change;
    const put = w.deps.blobs.putCreateOnly.bind(w.deps.blobs);
    w.deps.blobs.putCreateOnly = async (tenantId, name, ...rest) => {
      if (name.startsWith('settings/')) throw new Error('storage unavailable');
      return put(tenantId, name, ...rest);
    };
    const answer = await send(w, call);
    expect([answer.status, answer.json.code]).toEqual([500, 'internal']);
    w.deps.blobs.putCreateOnly = put;
    await repair(w);
    await repair(w);
    expect(await read(w)).toEqual(expected);
    expect(lines(w.deps, SETTING_RESTORED)).toEqual([]);
    expect(lines(w.deps, SETTING_KEPT_FROM_AUDIT)).toHaveLength(1);
  });

  it('control: the same change with its entry naming another revision (forged in Cosmos DB at a revision of its own) is undone', async () => {
    const w = world();
    w.deps.audit.chained = true;
    await ok(w, putSet('clerk', ['documents:read']));
    await ok(w, assign('ian', 'clerk'));
    w.clock.advance(3_600_000);
    const stored = w.deps.tenantRecords.records.get(`${TENANT}/${rightsAssignmentRecordId('ian')}`)!;
    stored.value = { ...(stored.value as RightsAssignmentRecord), rightsSet: 'tenant-admin', revision: (stored.value as RightsAssignmentRecord).revision! + 1 } as never;
    await repair(w);
    expect((await w.deps.tenantRecords.get<RightsAssignmentRecord>(TENANT, rightsAssignmentRecordId('ian'), 'rights-assignment'))?.value.rightsSet).toBe('clerk');
    expect(lines(w.deps, SETTING_KEPT_FROM_AUDIT)).toEqual([]);
  });
});

describe('a blob planted under the name a change is to be kept under', () => {
  // Broke: the revision is the change's time, so whoever can write blobs (and foretell it) planted a blob under its
  // name first; the change's own write answered 'different', taken unread as an earlier write of the same change, and
  // the reconciler later wrote the change before it back over it with nothing reported until then. It is reported at
  // the change now.
  it.each([['planted', true], ['control: nothing planted', false]] as const)('%s: reported at the change', async (_, planted) => {
    const w = world();
    await ok(w, putSet('clerk', ['documents:read']));
    await ok(w, assign('ian', 'clerk'));
    w.clock.advance(3_600_000);
    const name = settingBlobName(rightsAssignmentRecordId('ian'), w.clock.now().getTime(), false);
    if (planted) await w.deps.blobs.putCreateOnly(TENANT, name, Buffer.from('{"note":"first"}'), 'application/json', { retainUntil: null, legalHold: false }, {});
    expect((await send(w, assign('ian', 'auditor'))).status).toBe(200);
    expect(lines(w.deps, SETTING_UNSEALED).map((l) => l.fields?.blob)).toEqual(planted ? [name] : []);
  });
});

describe('a removal\'s trace edited in Cosmos DB under the revision its sealed removal has', () => {
  // Broke: a removal was compared by revision alone: whoever can write Cosmos DB rewrote who removed an assignment, and
  // who gave its subject rights before (four eyes follow both), under the same revision, and the reconciler found it in line.
  it.each([
    ['who removed it', (t: RightsUnassignmentRecord) => ({ ...t, unassignedBy: { subject: 'mallory', kind: 'user', person: 'mallory' } })],
    ['who gave rights before', (t: RightsUnassignmentRecord) => ({ ...t, givenBefore: [] })],
  ] as const)('%s: the kept trace is written back', async (_, edit) => {
    const w = world();
    await ok(w, putSet('clerk', ['documents:read']));
    await ok(w, assign('ian', 'clerk'));
    await ok(w, { method: 'DELETE', path: 'rights-assignments/ian', as: 'carol' }, 204);
    const traceKey = `${TENANT}/${rightsUnassignmentRecordId('ian')}`;
    const kept = w.deps.tenantRecords.records.get(traceKey)!.value as RightsUnassignmentRecord;
    await repair(w);
    expect(lines(w.deps, SETTING_RESTORED)).toEqual([]);
    w.deps.tenantRecords.records.get(traceKey)!.value = edit(kept);
    await repair(w);
    expect(w.deps.tenantRecords.records.get(traceKey)!.value).toEqual(kept);
    expect(await w.deps.tenantRecords.get(TENANT, rightsAssignmentRecordId('ian'), 'rights-assignment')).toBeNull();
    expect(lines(w.deps, SETTING_RESTORED)).toEqual([expect.objectContaining({ fields: expect.objectContaining({ id: rightsAssignmentRecordId('ian'), removed: true }) })]);
  });
});

/**
 * Round 4: approvals sealed to their documents, kept settings from their audit entry. Attacker models: a valid account,
 * a writer of Cosmos DB (not Key Vault, not blobs) who may hold one low-privileged key's secret, a storage role.
 */
import { DISPOSAL_APPROVAL_UNAUDITED } from '../../../shared/retention/approve-disposal';
import { API_KEY_UNSEALED } from '../../../shared/auth/api-keys/key-seal';
import { SETTING_KEPT_FROM_AUDIT } from '../../../shared/auth/rights-sets/settings-blobs';
import { rightsAssignmentRecordId, rightsUnassignmentRecordId } from '../../../shared/auth/rights-sets/rights-records';
import type { DisposalApproval } from '../../../shared/kernel/retention';
import type { RecordingLogger } from '../../support/in-memory';
import { approval, assign, type Call, dueDocs, hold, ok, putSet, upsKey, repair, send, TENANT, world, type World, requireApproval, sweepNow } from '../../support/in-process';

const itemOf = (w: World, id: string) => w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
const approveInCatalog = (w: World, id: string, a: DisposalApproval) => w.deps.catalog.documents.set(`${TENANT}/${id}`, { ...itemOf(w, id), disposalApproval: a });
const alerts = (w: World) => (w.deps.log as RecordingLogger).lines.filter((l) => l.message === DISPOSAL_APPROVAL_UNAUDITED);

describe('disposal approvals a writer of Cosmos DB makes or brings back', () => {
  // The documents fall due 2029-01-01; the audit chain is keyed since 2046-06, approvals sealed since 2046-12-01, the
  // sweep runs 2046-12-02. Broke: an unsealed approval dated before AUDIT_CHAIN_KEYED_SINCE stood as given, and nothing
  // vouches for its date: one written into Cosmos DB, dated 2028-12 (within the lead of the retain-until), disposed of a
  // document due for years that nobody had approved.
  it.each([
    ['approvals sealed since 2046-12-01', { AUDIT_CHAIN_KEYED_SINCE: '2046-06', ARCHIVE_APPROVALS_SEALED_SINCE: '2046-12-01T00:00:00.000Z' }, 'not sealed, for a document due before ARCHIVE_APPROVALS_SEALED_SINCE'],
    ['ARCHIVE_APPROVALS_SEALED_SINCE unset', { AUDIT_CHAIN_KEYED_SINCE: '2046-06' }, 'not in the audit log'],
  ])('an unsealed approval backdated before AUDIT_CHAIN_KEYED_SINCE, onto a document long due, is none (%s)', async (_, env, reason) => {
    const w = world(env);
    await requireApproval(w);
    const [forged, genuine] = await dueDocs(w);
    const retainUntil = itemOf(w, forged!).retention.retainUntil;
    approveInCatalog(w, forged!, { approvalId: '0190f0f0-0000-7000-8000-000000000001', approvedAt: '2028-12-15T00:00:00.000Z', approvedBy: { subject: 'bob', kind: 'user', person: 'bob' }, reason: 'Annual review', retainUntil });
    await ok(w, { ...approval(w), body: { before: w.clock.now().toISOString(), reason: 'Annual review', documentIds: [genuine] } }, 201);
    const run = await sweepNow(w);
    expect([itemOf(w, forged!).status, itemOf(w, genuine!).status]).toEqual(['active', 'disposed']);
    expect(run.blocked).toContainEqual(expect.objectContaining({ documentId: forged, reason: expect.stringMatching(/^approval-required: /) }));
    expect(alerts(w).map((l) => l.fields?.reason)).toEqual([reason]);
  });

  // Broke: a hold withdraws the approval a document carries, and after its release the document is reviewed again; the
  // approval, sealed to the document, was written back whole (seal included) by a writer of Cosmos DB after the release,
  // and the sweep disposed of the document on it, unreviewed. The hold's entry names the approval it withdrew.
  it.each([
    ['a hold on the document', async (w: World, doc: string) => {
      const holdId = (await ok(w, hold(doc), 201)).json.id as string;
      await ok(w, { method: 'DELETE', path: `documents/${doc}/legal-holds/${holdId}`, body: { reason: 'Closed' }, as: 'bob' }, 200);
    }],
    ['a hold by query (its fiscal year), released everywhere', async (w: World) => {
      const holdId = (await ok(w, { method: 'POST', path: 'legal-holds', body: { reason: 'Dispute', caseReference: 'C-2', query: { fiscalYear: 2018 } }, as: 'up' })).json.holdId as string;
      await ok(w, { method: 'DELETE', path: `legal-holds/${holdId}`, body: { reason: 'Settled' }, as: 'bob' });
    }],
  ])('a sealed approval %s withdrew, written back after the release, is none', async (_, heldAndReleased) => {
    const w = world();
    await requireApproval(w);
    const [doc, other] = await dueDocs(w);
    await ok(w, { ...approval(w), body: { before: w.clock.now().toISOString(), reason: 'Annual review', documentIds: [doc, other] } }, 201);
    const sealed = { [doc!]: itemOf(w, doc!).disposalApproval!, [other!]: itemOf(w, other!).disposalApproval! };
    await heldAndReleased(w, doc!);
    expect(itemOf(w, doc!).disposalApproval).toBeUndefined();
    // The other written back too where the hold reached it (by query): neither is disposed of.
    const withdrawn = itemOf(w, other!).disposalApproval === undefined;
    for (const id of withdrawn ? [doc!, other!] : [doc!]) approveInCatalog(w, id, sealed[id]!);
    const run = await sweepNow(w);
    expect([itemOf(w, doc!).status, itemOf(w, other!).status]).toEqual(['active', withdrawn ? 'active' : 'disposed']);
    expect(run.blocked).toContainEqual(expect.objectContaining({ documentId: doc, reason: 'approval-required: its approval was withdrawn by a legal hold' }));
    expect(alerts(w).map((l) => l.fields?.reason)).toEqual(withdrawn ? ['withdrawn by a legal hold', 'withdrawn by a legal hold'] : ['withdrawn by a legal hold']);
  });

  // The same, the released hold also taken off the document's holds: only the placement's keyed entry tells (read once
  // per month and action for the whole run, not per document).
  it('a sealed approval a hold withdrew, written back with the hold taken off the document, is none', async () => {
    const w = world();
    await requireApproval(w);
    const [doc, other] = await dueDocs(w);
    await ok(w, { ...approval(w), body: { before: w.clock.now().toISOString(), reason: 'Annual review', documentIds: [doc, other] } }, 201);
    const sealed = itemOf(w, doc!).disposalApproval!;
    const holdId = (await ok(w, hold(doc!), 201)).json.id as string;
    await ok(w, { method: 'DELETE', path: `documents/${doc}/legal-holds/${holdId}`, body: { reason: 'Closed' }, as: 'bob' }, 200);
    w.deps.catalog.documents.set(`${TENANT}/${doc}`, { ...itemOf(w, doc!), holds: [], disposalApproval: sealed });
    const list = jest.spyOn(w.deps.audit, 'list');
    const run = await sweepNow(w);
    // One walk of each month for both documents: the approval's (the sweep's too here) and the one before (round6-attacks).
    const before = new Date(Date.parse(`${sealed.approvedAt.slice(0, 7)}-01T00:00:00.000Z`) - 1).toISOString().slice(0, 7);
    expect(list.mock.calls.filter((c) => c[4]?.action === 'legal-hold.place').map((c) => c[1])).toEqual([before, sealed.approvedAt.slice(0, 7)]);
    expect([itemOf(w, doc!).status, itemOf(w, other!).status]).toEqual(['active', 'disposed']);
    expect(run.blocked).toContainEqual(expect.objectContaining({ documentId: doc, reason: 'approval-required: its approval was withdrawn by a legal hold' }));
  });
});

describe('a change whose blob write failed, its record edited in Cosmos DB before the reconciler keeps it from its entry', () => {
  // Broke: the change's keyed entry named the revision it wrote (kept-revision=…), not what it wrote: between the failed
  // blob write and the reconciler, a writer of Cosmos DB edited the record (or the removal's trace) under that revision,
  // and the reconciler sealed the edit as the change (SETTING_KEPT_FROM_AUDIT): ian made tenant-admin for as long as the
  // blob is kept, a restore of Cosmos DB undoing nothing. The entry names the digest of what the change wrote now.
  const stored = (w: World, id: string) => w.deps.tenantRecords.records.get(`${TENANT}/${id}`)!;
  const field = (w: World, id: string, name: string) => (w.deps.tenantRecords.records.get(`${TENANT}/${id}`)?.value as unknown as Record<string, unknown> | undefined)?.[name] ?? null;
  const edit = (w: World, id: string, change: Record<string, unknown>) => {
    const r = stored(w, id);
    r.value = { ...(r.value as object), ...change } as never;
  };
  const cases: [string, Call, (w: World) => void, (w: World) => unknown, unknown][] = [
    ['an assignment narrowed, then made tenant-admin', assign('ian', 'auditor'), (w) => edit(w, rightsAssignmentRecordId('ian'), { rightsSet: 'tenant-admin' }), (w) => field(w, rightsAssignmentRecordId('ian'), 'rightsSet'), 'clerk'],
    ['a rights set narrowed, then widened', putSet('clerk', ['documents:read']), (w) => edit(w, 'rights-set:clerk', { permissions: ['documents:read', 'rights:manage'] }), (w) => field(w, 'rights-set:clerk', 'permissions'), ['documents:download', 'documents:read']],
    ['an assignment removed, then its trace naming another remover', { method: 'DELETE', path: 'rights-assignments/ian', as: 'carol' }, (w) => edit(w, rightsUnassignmentRecordId('ian'), { unassignedBy: { subject: 'mallory', kind: 'user', person: 'mallory' } }), (w) => field(w, rightsAssignmentRecordId('ian'), 'rightsSet'), 'clerk'],
  ];
  /** `change` answered 500, its setting's blob write failing, then `tamper`, then the reconciler twice. */
  async function failedThenRepaired(w: World, change: Call, tamper: (w: World) => void): Promise<number> {
    w.deps.audit.chained = true;
    const put = w.deps.blobs.putCreateOnly.bind(w.deps.blobs);
    w.deps.blobs.putCreateOnly = async (tenantId, name, ...rest) => {
      if (name.startsWith('settings/')) throw new Error('storage unavailable');
      return put(tenantId, name, ...rest);
    };
    expect((await send(w, change)).status).toBe(500);
    w.deps.blobs.putCreateOnly = put;
    tamper(w);
    await repair(w);
    await repair(w);
    return (w.deps.log as RecordingLogger).lines.filter((l) => l.message === SETTING_KEPT_FROM_AUDIT).length;
  }
  it.each(cases)('%s: the edit is not sealed as the change', async (_, change, tamper, read, expected) => {
    const w = world();
    await ok(w, putSet('clerk', ['documents:read', 'documents:download']));
    await ok(w, assign('ian', 'clerk'));
    w.clock.advance(3_600_000);
    expect(await failedThenRepaired(w, change, tamper)).toBe(0);
    expect(read(w)).toEqual(expected);
  });

  // The retention policy's entry names the digest of the record as the policy store holds it: a genuine change is kept.
  it('control: a retention policy strengthened, untouched, is kept from its entry', async () => {
    const w = world();
    const policyPut = async (change: object): Promise<Call> => {
      const r = await ok(w, { method: 'GET', path: 'retention/policy', as: 'carol' });
      const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, safeguards: _s, ...body } = r.json;
      return { method: 'PUT', path: 'retention/policy', body: { ...body, ...change }, headers: { 'If-Match': r.headers.ETag! }, as: 'carol' };
    };
    await ok(w, await policyPut({})); // kept in storage: the reconciler reads the policy from here on
    w.clock.advance(3_600_000);
    const change = await policyPut({ requireDisposalApproval: true });
    expect(await failedThenRepaired(w, change, () => undefined)).toBe(1);
    expect((await ok(w, { method: 'GET', path: 'retention/policy', as: 'carol' })).json.requireDisposalApproval).toBe(true);
  });
});

describe("an API key's end edited in Cosmos DB (endsAt, outside the seal)", () => {
  // Broke: the seal covers the expiry, not `endsAt` (the earlier of expiry and revocation, which the store's queries range
  // over): a key whose `endsAt` a writer of Cosmos DB set in the past acted on (the request reads the expiry), while it
  // was left out of every list of keys in use: GET /api-keys (an administrator never saw it to revoke it), the tenant's
  // cap, and what its person holds through keys (approver-lowers-safeguards). A key whose `endsAt` is not what its expiry
  // and revocation say is refused now, alerted.
  it.each([
    ['set in the past', 'past', 401],
    // Its revocation gone from storage too (a storage role): the end a revoke wrote gives it away.
    ['its revocation cleared, the end the revoke wrote left', 'unrevoked', 401],
    ['control: as its expiry says', null, 200],
  ] as const)('%s', async (_, tamper, status) => {
    const w = world();
    const { key, keyId } = await upsKey(w);
    if (tamper === 'unrevoked') {
      await ok(w, { method: 'DELETE', path: `api-keys/${keyId}`, as: 'alice' });
      for (const name of [...w.deps.blobs.blobs.keys()]) if (name.includes(`revocations/api-key-${keyId}`)) w.deps.blobs.blobs.delete(name);
    }
    const record = w.deps.tenantRecords.records.get(`${TENANT}/api-key:${keyId}`)!;
    if (tamper === 'past') record.value = { ...(record.value as object), endsAt: '2000-01-01T00:00:00.000Z' } as never;
    if (tamper === 'unrevoked') record.value = { ...(record.value as object), revokedAt: null, revokedBy: null } as never;
    const listed = (await ok(w, { method: 'GET', path: 'api-keys', as: 'up' })).json.items.map((k: { id: string }) => k.id);
    expect(listed.includes(keyId)).toBe(tamper === null);
    expect((await send(w, { method: 'GET', path: 'documents', as: key })).status).toBe(status);
    expect((w.deps.log as RecordingLogger).lines.filter((l) => l.message === API_KEY_UNSEALED).length).toBe(tamper ? 1 : 0);
  });
});

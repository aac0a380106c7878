/**
 * Round 4: approvals sealed to their documents, kept settings from their audit entry. Attacker models: a valid account,
 * a writer of Cosmos DB (not Key Vault, not blobs) who may hold one low-privileged key's secret, a storage role.
 */
import { DISPOSAL_APPROVAL_UNAUDITED } from '../../../shared/retention/approve-disposal';
import type { DisposalApproval } from '../../../shared/kernel/retention';
import type { RecordingLogger } from '../../support/in-memory';
import { approval, dueDocs, hold, ok, TENANT, world, type World, requireApproval, sweepNow } from '../../support/in-process';

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
  it('a sealed approval a hold withdrew, written back after the release, is none', async () => {
    const w = world();
    await requireApproval(w);
    const [doc, other] = await dueDocs(w);
    await ok(w, { ...approval(w), body: { before: w.clock.now().toISOString(), reason: 'Annual review', documentIds: [doc, other] } }, 201);
    const sealed = itemOf(w, doc!).disposalApproval!;
    const holdId = (await ok(w, hold(doc!), 201)).json.id as string;
    await ok(w, { method: 'DELETE', path: `documents/${doc}/legal-holds/${holdId}`, body: { reason: 'Closed' }, as: 'bob' }, 200);
    expect(itemOf(w, doc!).disposalApproval).toBeUndefined();
    approveInCatalog(w, doc!, sealed);
    const run = await sweepNow(w);
    expect([itemOf(w, doc!).status, itemOf(w, other!).status]).toEqual(['active', 'disposed']);
    expect(run.blocked).toContainEqual(expect.objectContaining({ documentId: doc, reason: expect.stringMatching(/^approval-required: /) }));
    expect(alerts(w).map((l) => l.fields?.reason)).toEqual(['withdrawn by a legal hold']);
  });
});

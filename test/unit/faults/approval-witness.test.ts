/**
 * A disposal the tenant's policy puts behind four eyes goes ahead only on an approval the keyed audit log holds. The
 * catalog item's `disposalApproval` is what whoever can write Cosmos DB (not Key Vault) can write too.
 */
import { DISPOSAL_APPROVAL_UNAUDITED } from '../../../shared/retention/approve-disposal';
import type { RecordingLogger } from '../../support/in-memory';
import { approval, dueDocs, ok, TENANT, world, type World, requireApproval, sweepNow } from '../../support/in-process';

const statusOf = (w: World, id: string) => w.deps.catalog.documents.get(`${TENANT}/${id}`)!.status;
const alerts = (w: World) => (w.deps.log as RecordingLogger).lines.filter((l) => l.message === DISPOSAL_APPROVAL_UNAUDITED);

describe('an approval written into the catalog, not given through the archive', () => {
  // Broke: the sweep read the approval from the catalog item alone: one written there by hand (any id, any approver)
  // disposed of the documents, irreversibly, with no second person, and the tombstone named the "approver".
  it('is no approval: the documents are kept, alerted once per approval', async () => {
    const w = world();
    await requireApproval(w);
    const [forged, genuine] = await dueDocs(w);
    await ok(w, { ...approval(w), body: { before: w.clock.now().toISOString(), reason: 'Annual review', documentIds: [genuine] } }, 201);
    const item = w.deps.catalog.documents.get(`${TENANT}/${forged!}`)!;
    const approvedAt = w.clock.now().toISOString();
    w.deps.catalog.documents.set(`${TENANT}/${forged!}`, { ...item, disposalApproval: { approvalId: '0190aaaa-0000-7000-8000-000000000000', approvedAt, approvedBy: { subject: 'bob', kind: 'user', person: 'bob' }, reason: 'forged', retainUntil: item.retention.retainUntil } });
    const run = await sweepNow(w);
    expect([statusOf(w, forged!), statusOf(w, genuine!)]).toEqual(['active', 'disposed']);
    expect(run.blocked).toContainEqual({ tenantId: TENANT, documentId: forged, reason: 'approval-required: its approval is not in the audit log' });
    await sweepNow(w);
    expect(alerts(w).map((l) => l.fields?.approvalId)).toEqual(['0190aaaa-0000-7000-8000-000000000000']);
  });

  it('an approval copied from another document with a genuine one, another approver named: no approval', async () => {
    const w = world();
    await requireApproval(w);
    const [copied, genuine] = await dueDocs(w);
    await ok(w, { ...approval(w), body: { before: w.clock.now().toISOString(), reason: 'Annual review', documentIds: [genuine] } }, 201);
    const real = w.deps.catalog.documents.get(`${TENANT}/${genuine!}`)!.disposalApproval!;
    const item = w.deps.catalog.documents.get(`${TENANT}/${copied!}`)!;
    w.deps.catalog.documents.set(`${TENANT}/${copied!}`, { ...item, disposalApproval: { ...real, approvedBy: { subject: 'carol', kind: 'user', person: 'carol' }, retainUntil: item.retention.retainUntil } });
    await sweepNow(w);
    expect(statusOf(w, copied!)).toBe('active');
  });

  it('one given in a month before AUDIT_CHAIN_KEYED_SINCE (its entry could not be keyed) stands', async () => {
    const w = world({ AUDIT_CHAIN_KEYED_SINCE: '2100-01' });
    await requireApproval(w);
    const [old] = await dueDocs(w);
    const item = w.deps.catalog.documents.get(`${TENANT}/${old!}`)!;
    w.deps.catalog.documents.set(`${TENANT}/${old!}`, { ...item, disposalApproval: { approvalId: 'from-before', approvedAt: w.clock.now().toISOString(), approvedBy: { subject: 'bob', kind: 'user' }, reason: 'then', retainUntil: item.retention.retainUntil } });
    await sweepNow(w);
    expect([statusOf(w, old!), alerts(w)]).toEqual(['disposed', []]);
  });
});

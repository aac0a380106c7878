/**
 * Round 3: sealed keys and grants, the disposal-approval witness, removal traces. Attacker models: a valid account, a
 * writer of Cosmos DB (not Key Vault, not blobs) who may hold one low-privileged key's secret, a storage role.
 */
import { sweep } from '../../../shared/retention/sweep';
import type { DisposalApproval } from '../../../shared/kernel/retention';
import { approval, docOf, dueDocs, ok, storedAssignment, TENANT, upload, world, type World } from '../../support/in-process';

async function requireApproval(w: World): Promise<void> {
  const r = await ok(w, { method: 'GET', path: 'retention/policy', as: 'carol' });
  const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, safeguards: _s, ...body } = r.json;
  await ok(w, { method: 'PUT', path: 'retention/policy', body: { ...body, requireDisposalApproval: true }, headers: { 'If-Match': r.headers.ETag! }, as: 'carol' }, 200);
}
const sweepNow = (w: World) => sweep({ now: w.clock.now(), budget: { maxItems: 100, maxMillis: 60_000 }, continuation: null }, w.deps);
const itemOf = (w: World, id: string) => w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
const statusOf = (w: World, id: string) => itemOf(w, id).status;
function approveInCatalog(w: World, id: string, a: DisposalApproval): void {
  const item = itemOf(w, id);
  w.deps.catalog.documents.set(`${TENANT}/${id}`, { ...item, disposalApproval: { ...a, retainUntil: item.retention.retainUntil } });
}

describe('the disposal-approval witness', () => {
  // Broke: the sweep looked each approval's audit entry up once a run by its id alone: a copy of a genuine approval
  // naming another approver (one the entry does not name) passed once the genuine one was judged first in the run.
  it.each([['the copy swept first', 0], ['the genuine one swept first', 1]])('a genuine approval copied naming another approver is none (%s)', async (_, copiedAt) => {
    const w = world();
    await requireApproval(w);
    const docs = await dueDocs(w);
    const copied = docs[copiedAt]!;
    const genuine = docs[1 - copiedAt]!;
    await ok(w, { ...approval(w), body: { before: w.clock.now().toISOString(), reason: 'Annual review', documentIds: [genuine] } }, 201);
    approveInCatalog(w, copied, { ...itemOf(w, genuine).disposalApproval!, approvedBy: { subject: 'carol', kind: 'user', person: 'carol' } });
    await sweepNow(w);
    expect([statusOf(w, copied), statusOf(w, genuine)]).toEqual(['active', 'disposed']);
  });

  // Broke: an approval witnessed by its entry was taken for any document it was copied onto, one its approver uploaded
  // too (four eyes: the uploader never approves their own upload's disposal; the approval skipped it).
  it("a genuine approval copied onto its approver's own upload is none", async () => {
    const w = world();
    await requireApproval(w);
    // `up` uploads, then becomes an approver; dave uploads the other.
    const own = await docOf(w, { fiscalYear: 2018, retentionClass: 'immovable-property-10y' });
    storedAssignment(w, 'dave', 'archivist', 'carol');
    const other = (await ok(w, { ...upload({ fiscalYear: 2018, retentionClass: 'immovable-property-10y' }), as: 'dave' }, 201)).json.id as string;
    storedAssignment(w, 'up', 'tenant-admin', 'carol');
    w.clock.advance(20 * 365 * 86400_000);
    const r = await ok(w, approval(w, 'up'), 201);
    expect(r.json.skipped).toContainEqual({ id: own, reason: 'segregation-of-duties:uploader-approves-disposal' });
    approveInCatalog(w, own, itemOf(w, other).disposalApproval!);
    await sweepNow(w);
    expect([statusOf(w, own), statusOf(w, other)]).toEqual(['active', 'disposed']);
  });
});

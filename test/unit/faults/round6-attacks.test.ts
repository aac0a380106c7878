/**
 * Round 6: the last hour's merges (withdrawals read per month, revocation keeping, seal settings). Attacker models: a
 * valid account, a writer of Cosmos DB (not Key Vault, not blobs) who may hold one low-privileged key's secret, a storage role.
 */
import type { DisposalApproval } from '../../../shared/kernel/retention';
import { approval, dueDocs, hold, ok, TENANT, world, type World, requireApproval, sweepNow } from '../../support/in-process';

const itemOf = (w: World, id: string) => w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
const edit = (w: World, id: string, change: (a: DisposalApproval) => DisposalApproval | undefined) => {
  const { disposalApproval, ...rest } = itemOf(w, id);
  const next = change(disposalApproval!);
  w.deps.catalog.documents.set(`${TENANT}/${id}`, next ? { ...rest, disposalApproval: next } : rest);
};

type Held = (w: World, doc: string) => Promise<void>;
const onDocument: Held = async (w, doc) => {
  const holdId = (await ok(w, hold(doc), 201)).json.id as string;
  await ok(w, { method: 'DELETE', path: `documents/${doc}/legal-holds/${holdId}`, body: { reason: 'Closed' }, as: 'bob' }, 200);
};
const byQuery: Held = async (w) => {
  const holdId = (await ok(w, { method: 'POST', path: 'legal-holds', body: { reason: 'Dispute', caseReference: 'C-2', query: { fiscalYear: 2018 } }, as: 'up' })).json.holdId as string;
  await ok(w, { method: 'DELETE', path: `legal-holds/${holdId}`, body: { reason: 'Settled' }, as: 'bob' });
};

describe('a withdrawal hidden from the sweep by a writer of Cosmos DB', () => {
  // Broke: the sweep took an approval as withdrawn only where a placement's entry named it, and the entry names what the
  // catalog item carried then: a writer of Cosmos DB took the approval off the document (or changed its id) before a
  // hold was placed, wrote the genuine one back, seal included, after the release with the hold taken off the
  // document's holds, and the sweep disposed of the document unreviewed. Any hold placed after the approval was given
  // withdrew it: the placement's keyed entry, by its time, says so too.
  // And a hold by query's own request wrote one entry for all its documents (on the hold), naming none: its documents
  // had only their holds to say so, which a writer of Cosmos DB takes off. Each document it reaches has an entry now.
  it.each<[string, (a: DisposalApproval) => DisposalApproval | undefined, Held]>([
    ['taken off the document before a hold on it', () => undefined, onDocument],
    ['whose id was changed before a hold on it', (a) => ({ ...a, approvalId: '0190f0f0-0000-7000-8000-00000000dead' }), onDocument],
    ['withdrawn by a hold by query', (a) => a, byQuery],
  ])('a sealed approval %s, written back after the release with the hold taken off, is none', async (_, before, heldAndReleased) => {
    const w = world();
    await requireApproval(w);
    const [doc, other] = await dueDocs(w);
    await ok(w, { ...approval(w), body: { before: w.clock.now().toISOString(), reason: 'Annual review', documentIds: [doc, other] } }, 201);
    const sealed = itemOf(w, doc!).disposalApproval!;
    edit(w, doc!, before);
    w.clock.advance(60_000);
    await heldAndReleased(w, doc!);
    w.deps.catalog.documents.set(`${TENANT}/${doc}`, { ...itemOf(w, doc!), holds: [], disposalApproval: sealed });
    const run = await sweepNow(w);
    expect(itemOf(w, doc!).status).toBe('active');
    if (heldAndReleased === onDocument) expect(itemOf(w, other!).status).toBe('disposed');
    expect(run.blocked).toContainEqual(expect.objectContaining({ documentId: doc, reason: 'approval-required: its approval was withdrawn by a legal hold' }));
  });

  // Control: a request that places nothing writes a success entry on the document too (a retry of a placement with its
  // Idempotency-Key, the hold long released): a genuine approval given since stands.
  it('a retry of a released hold\'s placement, after an approval was given, withdraws nothing', async () => {
    const w = world();
    await requireApproval(w);
    const [doc] = await dueDocs(w);
    const keyed = { ...hold(doc!), headers: { 'idempotency-key': 'hold-1' } };
    const holdId = (await ok(w, keyed, 201)).json.id as string;
    await ok(w, { method: 'DELETE', path: `documents/${doc}/legal-holds/${holdId}`, body: { reason: 'Closed' }, as: 'bob' }, 200);
    w.clock.advance(60_000);
    await ok(w, { ...approval(w), body: { before: w.clock.now().toISOString(), reason: 'Annual review', documentIds: [doc] } }, 201);
    w.clock.advance(60_000);
    expect((await ok(w, keyed)).json.id).toBe(holdId);
    expect((await sweepNow(w)).blocked).toEqual([]);
    expect(itemOf(w, doc!).status).toBe('disposed');
  });

  // A placement's entry is dated when its request began: one begun before midnight at a month's end, stored on the
  // document after an approval given just past it, is in the month before the approval's. Broke: the sweep read the
  // entries from the approval's month on, and that withdrawal (the hold taken off the document) was not seen.
  it('a placement\'s entry in the month before the approval it names withdraws it', async () => {
    const w = world();
    await requireApproval(w);
    const [doc] = await dueDocs(w);
    await ok(w, { ...approval(w), body: { before: w.clock.now().toISOString(), reason: 'Annual review', documentIds: [doc] } }, 201);
    const { approvalId, approvedAt } = itemOf(w, doc!).disposalApproval!;
    const begun = new Date(Date.parse(`${approvedAt.slice(0, 7)}-01T00:00:00.000Z`) - 1).toISOString();
    await w.deps.audit.append({ tenantId: TENANT, at: begun, actor: { subject: 'up', kind: 'user', person: 'up' }, action: 'legal-hold.place', target: doc!, outcome: 'success', status: 201, requestId: 'req-hold', clientIp: null, userAgent: null, detail: `hold=h-1;approval-withdrawn=${approvalId}` });
    const run = await sweepNow(w);
    expect(itemOf(w, doc!).status).toBe('active');
    expect(run.blocked).toContainEqual(expect.objectContaining({ documentId: doc, reason: 'approval-required: its approval was withdrawn by a legal hold' }));
  });
});

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

describe('a withdrawal hidden from the sweep by a writer of Cosmos DB', () => {
  // Broke: the sweep took an approval as withdrawn only where a placement's entry named it, and the entry names what the
  // catalog item carried then: a writer of Cosmos DB took the approval off the document (or changed its id) before a
  // hold was placed, wrote the genuine one back, seal included, after the release with the hold taken off the
  // document's holds, and the sweep disposed of the document unreviewed. Any hold placed after the approval was given
  // withdrew it: the placement's keyed entry, by its time, says so too.
  it.each([
    ['taken off the document', () => undefined],
    ['its id changed', (a: DisposalApproval) => ({ ...a, approvalId: '0190f0f0-0000-7000-8000-00000000dead' })],
  ])('a sealed approval %s before a hold, written back after its release, is none', async (_, before) => {
    const w = world();
    await requireApproval(w);
    const [doc, other] = await dueDocs(w);
    await ok(w, { ...approval(w), body: { before: w.clock.now().toISOString(), reason: 'Annual review', documentIds: [doc, other] } }, 201);
    const sealed = itemOf(w, doc!).disposalApproval!;
    edit(w, doc!, before);
    w.clock.advance(60_000);
    const holdId = (await ok(w, hold(doc!), 201)).json.id as string;
    await ok(w, { method: 'DELETE', path: `documents/${doc}/legal-holds/${holdId}`, body: { reason: 'Closed' }, as: 'bob' }, 200);
    w.deps.catalog.documents.set(`${TENANT}/${doc}`, { ...itemOf(w, doc!), holds: [], disposalApproval: sealed });
    const run = await sweepNow(w);
    expect([itemOf(w, doc!).status, itemOf(w, other!).status]).toEqual(['active', 'disposed']);
    expect(run.blocked).toContainEqual(expect.objectContaining({ documentId: doc, reason: 'approval-required: its approval was withdrawn by a legal hold' }));
  });
});

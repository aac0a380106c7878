/**
 * Round 8: today's changes as people with valid accounts in one tenant (built-in or tenant-defined rights sets, keys of
 * their own, support grants), where four eyes and segregation of duties hold for the accountable person behind a key.
 */
import { rotatingWorld } from '../../support/rotating-vault';
import { approval, dueDocs, ok, requireApproval, send, TENANT, type World } from '../../support/in-process';

const itemOf = (w: World, id: string) => w.deps.catalog.documents.get(`${TENANT}/${id}`)!;

describe('a keyed approval retried with another request once its record is sealed with a superseded chain key version', () => {
  // The record, passed over as no answer after a rotation (keptRecord), was not compared either: the same key with
  // other documents, `before` or reason approved them under the first approval's id (no 422), and its record was
  // replaced by the new request's, so the first request's own retry was refused. Compared, it is a 422 as before.
  it.each([
    ['the same request: answered the same', 'same', 201],
    ['other documents: 422, nothing approved', 'documents', 422],
    ['another reason: 422, nothing approved', 'reason', 422],
  ])('%s', async (_, change, status) => {
    const { w, rotate } = rotatingWorld();
    await requireApproval(w);
    const [a, b] = await dueDocs(w);
    const before = w.clock.now().toISOString();
    const call = { ...approval(w), body: { before, reason: 'Annual review', documentIds: [a] }, headers: { 'Idempotency-Key': 'review-8' } };
    const first = await ok(w, call, 201);
    rotate();
    const body = change === 'documents' ? { ...call.body, documentIds: [b] } : change === 'reason' ? { ...call.body, reason: 'Other review', documentIds: [a, b] } : call.body;
    const retry = await send(w, { ...call, body });
    expect(retry.status).toBe(status);
    if (status === 422) expect(retry.json.code).toBe('idempotency_key_reused');
    else expect(retry.json.approvalId).toBe(first.json.approvalId);
    expect(itemOf(w, b!).disposalApproval).toBeUndefined();
    // The first request's retry is still answered as it was.
    expect((await ok(w, call, 201)).json.approved).toEqual([a]);
  });
});

/**
 * Round 12: every decision input a writer of Cosmos DB can set (a restore, a hand edit, a leaked connection string; no
 * Key Vault, no storage account key), by someone who also holds an ordinary account: no rule about people and no
 * irreversible act may rest on a field nothing seals or witnesses.
 */
import { DOCUMENT_CHECK_FAILED } from '../../../shared/retention/unchecked';
import type { RecordingLogger } from '../../support/in-memory';
import { approval, dueDocs, ok, requireApproval, sweepNow, TENANT, world } from '../../support/in-process';

describe('a due document set `disposing` in Cosmos DB where the tenant requires disposal approval', () => {
  // Broke: the sweep finished any claim it found (a crash's leftover) without judging it again, so whoever could write
  // Cosmos DB set a due, unapproved document `disposing` and the next run deleted it: four eyes on disposal skipped.
  it.each([
    ['approved by bob: disposed of', true, 'disposed'],
    ['never approved: kept, named for an operator', false, 'disposing'],
  ])('%s', async (_, approved, status) => {
    const w = world();
    await requireApproval(w);
    const [id] = await dueDocs(w);
    if (approved) await ok(w, { ...approval(w), body: { before: w.clock.now().toISOString(), reason: 'Annual review', documentIds: [id] } }, 201);
    const doc = w.deps.catalog.documents.get(`${TENANT}/${id!}`)!;
    w.deps.catalog.documents.set(`${TENANT}/${id!}`, { ...structuredClone(doc), status: 'disposing' });
    const run = await sweepNow(w);
    expect(w.deps.catalog.documents.get(`${TENANT}/${id!}`)!.status).toBe(status);
    const blobs = [...w.deps.blobs.blobs.keys()].filter((k) => k.startsWith(`${TENANT}/`) && k.includes(id!));
    if (approved) expect(blobs).toEqual([]);
    else {
      expect(blobs.length).toBeGreaterThan(0);
      expect(run.blocked).toEqual([expect.objectContaining({ documentId: id, reason: expect.stringContaining('approval-required') })]);
      expect((w.deps.log as RecordingLogger).lines.filter((l) => l.level === 'error').map((l) => [l.message, l.fields?.documentId])).toEqual([[`retention sweep ${DOCUMENT_CHECK_FAILED}`, id]]);
    }
  });
});

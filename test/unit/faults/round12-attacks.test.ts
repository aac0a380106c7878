/**
 * Round 12: every decision input a writer of Cosmos DB can set (a restore, a hand edit, a leaked connection string; no
 * Key Vault, no storage account key), by someone who also holds an ordinary account: no rule about people and no
 * irreversible act may rest on a field nothing seals or witnesses.
 */
import { DISPOSAL_CLAIM_UNSEALED } from '../../../shared/retention/dispose';
import type { RecordingLogger } from '../../support/in-memory';
import { ADMIN, approval, dueDocs, later, ok, requireApproval, sweepNow, TENANT, world, type World } from '../../support/in-process';

describe('a due document set `disposing` in Cosmos DB where the tenant requires disposal approval', () => {
  // Broke: the sweep finished any claim it found (a crash's leftover) without judging it again, so whoever could write
  // Cosmos DB set a due, unapproved document `disposing` and the next run deleted it: four eyes on disposal skipped.
  // The claim is not sealed by the archive (dispose.ts): put back to active and alerted, then judged as any active one.
  it.each([
    ['approved by bob: put back, then disposed of by the next run', true, 'disposed'],
    ['never approved: put back and kept', false, 'active'],
  ])('%s', async (_, approved, status) => {
    const w = world();
    await requireApproval(w);
    const [id] = await dueDocs(w);
    if (approved) await ok(w, { ...approval(w), body: { before: w.clock.now().toISOString(), reason: 'Annual review', documentIds: [id] } }, 201);
    const doc = w.deps.catalog.documents.get(`${TENANT}/${id!}`)!;
    w.deps.catalog.documents.set(`${TENANT}/${id!}`, { ...structuredClone(doc), status: 'disposing' });
    const run = await sweepNow(w);
    expect(w.deps.catalog.documents.get(`${TENANT}/${id!}`)!.status).toBe('active');
    expect(run.blocked).toEqual([expect.objectContaining({ documentId: id, reason: expect.stringContaining('claim-not-sealed') })]);
    expect((w.deps.log as RecordingLogger).lines.filter((l) => l.level === 'error').map((l) => [l.message, l.fields?.documentId])).toEqual([[DISPOSAL_CLAIM_UNSEALED, id]]);
    await sweepNow(w);
    expect(w.deps.catalog.documents.get(`${TENANT}/${id!}`)!.status).toBe(status);
    const blobs = [...w.deps.blobs.blobs.keys()].filter((k) => k.startsWith(`${TENANT}/`) && k.includes(id!));
    if (approved) expect(blobs).toEqual([]);
    else expect(blobs.length).toBeGreaterThan(0);
  });
});

describe("the tenant's retention policy edited in Cosmos DB to no longer require disposal approval", () => {
  // Broke: the sweep read whether approval is required from the policy Cosmos DB holds (its kept, sealed copy in storage
  // is read only by the reconciler), so whoever could write Cosmos DB turned approval off (or deleted the policy) and the
  // next run disposed of due documents nobody approved, before the reconciler wrote the kept policy back.
  it.each([
    ['turned off', (p: Record<string, unknown>) => ({ ...p, requireDisposalApproval: false, safeguards: { ...(p.safeguards as object), requireDisposalApproval: false } })],
    ['deleted', () => null],
  ])('%s: due documents kept', async (_, edit) => {
    const w = world();
    await requireApproval(w);
    const ids = await dueDocs(w);
    const policies = (w.deps.retention.policies as unknown as { policies: Map<string, Record<string, unknown>> }).policies;
    const edited = edit(policies.get(TENANT)!);
    if (edited) policies.set(TENANT, edited);
    else policies.delete(TENANT);
    await sweepNow(w);
    expect(ids.map((id) => w.deps.catalog.documents.get(`${TENANT}/${id}`)!.status)).toEqual(['active', 'active']);
  });

  it('control: turned off by an approved proposal (four eyes), due documents disposed of', async () => {
    const w = world();
    await requireApproval(w);
    await lowerByProposal(w);
    const ids = await dueDocs(w);
    await sweepNow(w);
    expect(ids.map((id) => w.deps.catalog.documents.get(`${TENANT}/${id}`)!.status)).toEqual(['disposed', 'disposed']);
  });
});

/** Required disposal approval turned off as the archive lets it be: proposed by rm1, approved by rm2 (records managers). */
async function lowerByProposal(w: World): Promise<void> {
  await ok(w, { method: 'PUT', path: 'rights-sets/records', body: { permissions: ADMIN.filter((p) => p !== 'retention:approve') }, as: 'carol' });
  for (const rm of ['rm1', 'rm2']) await ok(w, { method: 'PUT', path: `rights-assignments/${rm}`, body: { rightsSet: 'records' }, as: 'carol' });
  later(w);
  const read = await ok(w, { method: 'GET', path: 'retention/policy', as: 'carol' });
  const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, safeguards: _s, ...policy } = read.json;
  const id = (await ok(w, { method: 'PUT', path: 'retention/policy', body: { ...policy, requireDisposalApproval: false }, headers: { 'If-Match': read.headers.ETag! }, as: 'rm1' }, 202)).json.id as string;
  await ok(w, { method: 'POST', path: `retention/policy/proposals/${id}/approve`, body: { reason: 'Agreed' }, as: 'rm2' });
}

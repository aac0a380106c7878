/**
 * A disposal approval is sealed to the document it approves (purpose `disposal-approval`): its audit entry names no
 * document, so whoever can write Cosmos DB (not Key Vault) copied a genuine approval onto another document whose
 * retention had ended, and the sweep disposed of it. An unsealed one stands on its audit entry only if given before
 * ARCHIVE_APPROVALS_SEALED_SINCE.
 */
import { DISPOSAL_APPROVAL_UNAUDITED } from '../../../shared/retention/approve-disposal';
import type { RecordingLogger } from '../../support/in-memory';
import { approval, dueDocs, hold, ok, TENANT, world, type World, requireApproval, sweepNow } from '../../support/in-process';

const item = (w: World, id: string) => w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
const alerts = (w: World) => (w.deps.log as RecordingLogger).lines.filter((l) => l.message === DISPOSAL_APPROVAL_UNAUDITED);

/** Both due documents (uploaded by `up`), the first approved by bob through the archive. */
async function approvedOne(env: Record<string, string> = {}): Promise<{ w: World; approved: string; other: string }> {
  const w = world(env);
  await requireApproval(w);
  const [approved, other] = await dueDocs(w);
  await ok(w, { ...approval(w), body: { before: w.clock.now().toISOString(), reason: 'Annual review', documentIds: [approved] } }, 201);
  return { w, approved: approved!, other: other! };
}

describe('a disposal approval sealed to its document', () => {
  it('a genuine sealed approval disposes; copied whole onto another due document (same approver, not theirs) it is refused', async () => {
    const { w, approved, other } = await approvedOne();
    const genuine = item(w, approved).disposalApproval!;
    expect(genuine).toHaveProperty('mac');
    w.deps.catalog.documents.set(`${TENANT}/${other}`, { ...item(w, other), disposalApproval: { ...genuine, retainUntil: item(w, other).retention.retainUntil } });
    const run = await sweepNow(w);
    expect([item(w, approved).status, item(w, other).status]).toEqual(['disposed', 'active']);
    expect(run.blocked).toContainEqual({ tenantId: TENANT, documentId: other, reason: 'approval-required: its approval is not sealed to it (mac does not match)' });
    expect(alerts(w).map((l) => l.fields?.reason)).toEqual(['mac does not match']);
  });

  // Unsealed: as stored before this version (no mac, no keyVersion), its audit entry still in the log.
  it.each([
    ['unset', undefined, 'disposed'],
    ['after the approval', '2999-01-01T00:00:00.000Z', 'disposed'],
    ['before the approval', '2000-01-01T00:00:00.000Z', 'active'],
  ])('an unsealed approval with ARCHIVE_APPROVALS_SEALED_SINCE %s', async (_, since, status) => {
    const { w, approved } = await approvedOne(since ? { ARCHIVE_APPROVALS_SEALED_SINCE: since } : {});
    const { mac: _m, keyVersion: _v, ...unsealed } = item(w, approved).disposalApproval!;
    w.deps.catalog.documents.set(`${TENANT}/${approved}`, { ...item(w, approved), disposalApproval: unsealed });
    const run = await sweepNow(w);
    expect(item(w, approved).status).toBe(status);
    if (status === 'active') {
      expect(run.blocked).toContainEqual({ tenantId: TENANT, documentId: approved, reason: 'approval-required: its approval is not sealed to it, and was given after ARCHIVE_APPROVALS_SEALED_SINCE' });
      expect(alerts(w).map((l) => l.fields?.reason)).toEqual(['not sealed, given after ARCHIVE_APPROVALS_SEALED_SINCE']);
    } else expect(alerts(w)).toEqual([]);
  });

  it('the seal is not answered to clients: GET /documents/{id}, /retention/due, a hold that withdrew it', async () => {
    const { w, approved } = await approvedOne();
    const answered = (await ok(w, { method: 'GET', path: `documents/${approved}`, as: 'bob' })).json;
    expect(answered.disposalApproval).toMatchObject({ approvedBy: { subject: 'bob' } });
    const due = (await ok(w, { method: 'GET', path: `retention/due?before=${w.clock.now().toISOString()}`, as: 'bob' })).json;
    expect(due.items.length).toBeGreaterThan(0);
    const placed = (await ok(w, hold(approved), 201)).json;
    expect(placed.withdrewDisposalApproval).toMatchObject({ approvedBy: { subject: 'bob' } });
    for (const json of [answered, due, placed]) expect(JSON.stringify(json)).not.toMatch(/"mac"|"keyVersion"/);
  });
});

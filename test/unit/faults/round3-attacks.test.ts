/**
 * Round 3: sealed keys and grants, the disposal-approval witness, removal traces. Attacker models: a valid account, a
 * writer of Cosmos DB (not Key Vault, not blobs) who may hold one low-privileged key's secret, a storage role.
 */
import { runReconcileTimer } from '../../../shared/retention/timers';
import { ENDS_AT_SETTLE_MS } from '../../../shared/auth/ends-at';
import type { ApiKeyRecord } from '../../../shared/auth/api-keys/api-key';
import type { SupportGrantRecord } from '../../../shared/auth/support-grants/support-grant';
import type { DisposalApproval } from '../../../shared/kernel/retention';
import { approval, docOf, mint, send, upsKey, dueDocs, ok, storedAssignment, TENANT, upload, world, type World, requireApproval, sweepNow } from '../../support/in-process';

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
  // too (four eyes: the uploader never approves their own upload's disposal; the approval skipped it). And the entry was
  // matched on the approver's subject alone: given through a key, the approval's person could be renamed in Cosmos DB.
  it.each([
    ['given in their own name', false, (a: DisposalApproval) => a],
    ['given through their key, its person renamed', true, (a: DisposalApproval) => ({ ...a, approvedBy: { ...a.approvedBy, person: 'zed' } })],
  ])("a genuine approval copied onto its approver's own upload is none (%s)", async (_, throughKey, edit) => {
    const w = world();
    await requireApproval(w);
    // `up` uploads, then becomes an approver; dave uploads the other.
    const own = await docOf(w, { fiscalYear: 2018, retentionClass: 'immovable-property-10y' });
    storedAssignment(w, 'dave', 'archivist', 'carol');
    const other = (await ok(w, { ...upload({ fiscalYear: 2018, retentionClass: 'immovable-property-10y' }), as: 'dave' }, 201)).json.id as string;
    storedAssignment(w, 'up', 'tenant-admin', 'carol');
    w.clock.advance(20 * 365 * 86400_000);
    const as = throughKey ? await mint(w, 'up', 'tenant-admin') : 'up';
    const r = await ok(w, approval(w, as), 201);
    expect(r.json.skipped).toContainEqual({ id: own, reason: 'segregation-of-duties:uploader-approves-disposal' });
    approveInCatalog(w, own, edit(itemOf(w, other).disposalApproval!));
    await sweepNow(w);
    expect([statusOf(w, own), statusOf(w, other)]).toEqual(['active', 'disposed']);
  });
});

/** A revoked key's or grant's revocation gone from storage, and cleared in Cosmos DB with its seal: a record from before the seal, in use. */
function revocationCleared(w: ReturnType<typeof world>, kind: 'api-key' | 'support-grant', id: string): void {
  for (const name of [...w.deps.blobs.blobs.keys()]) if (name.includes(`revocations/${kind}-${id}`)) w.deps.blobs.blobs.delete(name);
  const stored = w.deps.tenantRecords.records.get(`${TENANT}/${kind}:${id}`)!;
  const { mac: _m, keyVersion: _v, revokedAt: _r, revokedBy: _b, ...cleared } = stored.value as ApiKeyRecord | SupportGrantRecord;
  w.deps.tenantRecords.records.set(`${TENANT}/${kind}:${id}`, { value: { ...cleared, endsAt: cleared.expiresAt } as never, etag: 9999 });
  w.deps.tenantRecords.keysSealedMark = false;
}

describe('the sealing of keys and grants from before the seal', () => {
  // Broke: the reconciler sealed a key from before the seal on its creation's audit entry alone. A revoked one whose
  // revocation storage does not keep (revoked before revocation blobs, or its blob write failed), its revokedAt cleared by
  // a writer of Cosmos DB (the seal does not cover it), was sealed as in use and acted for good after the mark.
  it('a revoked key, its revocation cleared in Cosmos DB, is not sealed: refused after the mark', async () => {
    const w = world();
    w.deps.audit.chained = true;
    const { key } = await upsKey(w);
    const keyId = /_([0-9a-f]{24})_/.exec(key)![1]!;
    w.clock.advance(40 * 86400_000); // revoked in a later month than its minting
    await ok(w, { method: 'DELETE', path: `api-keys/${keyId}`, as: 'alice' });
    revocationCleared(w, 'api-key', keyId);
    const first = await runReconcileTimer(w.deps);
    expect(first.keysSealed).toEqual([]);
    w.clock.advance(ENDS_AT_SETTLE_MS);
    await runReconcileTimer(w.deps);
    w.deps.tenantRecords.keysSealedMark = true; // the operator's ARCHIVE_KEYS_SEALED, after deleting what is left
    expect((await send(w, { ...upload(undefined), as: key })).status).toBe(401);
  });

  it('so too a support grant: revoked, its revocation cleared in Cosmos DB, it is left unsealed and reported', async () => {
    const w = world();
    w.deps.audit.chained = true;
    const grantId = (await ok(w, { method: 'POST', path: 'support-grants', body: { ticket: 'T-1', scope: 'metadata-only', expiresAt: new Date(w.clock.now().getTime() + 86400_000).toISOString() }, as: 'alice' }, 201)).json.id as string;
    await ok(w, { method: 'DELETE', path: `support-grants/${grantId}`, as: 'alice' });
    revocationCleared(w, 'support-grant', grantId);
    const run = await runReconcileTimer(w.deps);
    expect([run.keysSealed, run.keysUnsealed]).toEqual([[], [`${TENANT}/${grantId}`]]);
  });
});

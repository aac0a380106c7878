/**
 * Red team 27: the newest merges (proposal reads, red team 26's sealing and export guards, web paging, chunked bodies),
 * attacked as a valid account with a narrow rights set, as someone who can write Cosmos DB but not Key Vault, and as a
 * holder of the storage account's data-plane role. Each case marked "Broke" fails without its fix; the others held.
 */
import { proposalRecordId, type ProposalRecord } from '../../../shared/auth/proposals';
import { decisionBlobName } from '../../../shared/auth/decision-blobs';
import { ok, send, TENANT, world, type World } from '../../support/in-process';

const etagOf = async (w: World, path: string) => (await ok(w, { method: 'GET', path, as: 'carol' })).headers.ETag!;
const proposeSod = async (w: World) => ok(w, { method: 'PUT', path: 'sod-policy', body: { conflicts: [], uploaderCannotApproveDisposal: true }, headers: { 'If-Match': await etagOf(w, 'sod-policy') }, as: 'carol' }, 202);

describe('GET …/proposals/{id}', () => {
  it("an SoD proposal's id on the retention route (and the kinds apart) is 404, not the other kind's proposal", async () => {
    const w = world();
    const { json } = await proposeSod(w);
    const answer = await send(w, { method: 'GET', path: `retention/policy/proposals/${json.id}`, as: 'carol' });
    expect([answer.status, answer.json.code]).toEqual([404, 'retention_policy_proposal_not_found']);
  });

  it('a caller with rights:manage alone is refused the retention read before the id is looked at (403 whatever the id)', async () => {
    const w = world();
    const { json } = await proposeSod(w);
    await ok(w, { method: 'PUT', path: 'rights-sets/rights-only', body: { permissions: ['rights:manage'] }, as: 'carol' });
    await ok(w, { method: 'PUT', path: 'rights-assignments/narrow', body: { rightsSet: 'rights-only' }, as: 'carol' });
    for (const id of [json.id, '00000000-0000-0000-0000-000000000000', 'x'.repeat(300)]) {
      const answer = await send(w, { method: 'GET', path: `retention/policy/proposals/${id}`, as: 'narrow' });
      expect([answer.status, answer.json.code]).toEqual([403, 'forbidden']);
    }
  });

  it('a hostile id (long, control characters) is 404 and its audit entry names no target made of it', async () => {
    const w = world();
    const hostile = encodeURIComponent(`${'a'.repeat(400)}\u0000\r\nforged`);
    const answer = await send(w, { method: 'GET', path: `sod-policy/proposals/${hostile}`, as: 'carol' });
    expect([answer.status, answer.json.code]).toEqual([404, 'sod_policy_proposal_not_found']);
    const entry = w.deps.audit.entries.find((e) => e.requestId === answer.requestId);
    expect(entry?.target ?? '').not.toMatch(/forged|\r|\n|\u0000/);
  });

  // Broke: a restore of Cosmos DB to before a decision gave the record back pending; approve and DELETE read the decision
  // kept in storage and refuse, but the read answered it pending (as the list does until the reconciler's next run): a
  // client following the 202's Location was told an approved (or rejected) weakening still waited for a second person.
  it('a proposal decided in storage, its record restored pending, reads as decided', async () => {
    const w = world();
    const { json } = await proposeSod(w);
    const key = `${TENANT}/${proposalRecordId('sod-policy-proposal', json.id)}`;
    const pending = structuredClone(w.deps.tenantRecords.records.get(key)!.value) as ProposalRecord;
    await ok(w, { method: 'POST', path: `sod-policy/proposals/${json.id}/approve`, body: { reason: 'Agreed' }, as: 'bob' });
    expect(await w.deps.blobs.exists(TENANT, decisionBlobName('sod-policy-proposal', json.id))).toBe(true);
    // The restore: the record as it was before the decision.
    w.deps.tenantRecords.records.set(key, { value: pending, etag: 77_000 });
    const read = await ok(w, { method: 'GET', path: `sod-policy/proposals/${json.id}`, as: 'bob' });
    expect(read.json).toMatchObject({ state: 'approved', decisionReason: 'Agreed' });
    expect(read.json.notSealedByArchive).toBeUndefined();
  });
});

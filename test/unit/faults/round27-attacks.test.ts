/**
 * Red team 27: the newest merges (proposal reads, red team 26's sealing and export guards, web paging, chunked bodies),
 * attacked as a valid account with a narrow rights set, as someone who can write Cosmos DB but not Key Vault, and as a
 * holder of the storage account's data-plane role. Each case marked "Broke" fails without its fix; the others held.
 */
import { proposalRecordId, type ProposalRecord } from '../../../shared/auth/proposals';
import { decisionBlobName } from '../../../shared/auth/decision-blobs';
import { ok, send, TENANT, world, type World } from '../../support/in-process';
import { Readable } from 'node:stream';
import { RestError, type BlobServiceClient } from '@azure/storage-blob';
import { BlobArchive } from '../../../shared/adapters/azure/blobs';

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

describe("the Azure adapter's create-only write over a name taken by another", () => {
  /** A container where every name is taken by a blob of `size` bytes (each byte `fill`), counting the bytes read of it. */
  function taken(size: number, fill: number) {
    const counted = { bytes: 0 };
    const blob = {
      upload: async () => {
        throw new RestError('The specified blob already exists.', { statusCode: 409 });
      },
      download: async () => {
        let left = size;
        const stream = new Readable({
          read() {
            const n = Math.min(left, 1024 * 1024);
            left -= n;
            counted.bytes += n;
            this.push(n > 0 ? Buffer.alloc(n, fill) : null);
          },
        });
        return { contentLength: size, readableStreamBody: stream };
      },
    };
    const service = { getContainerClient: () => ({ getBlockBlobClient: () => blob, getBlobClient: () => blob }) };
    return { counted, blobs: new BlobArchive(service as unknown as BlobServiceClient, 'enforce') };
  }
  const worm = { retainUntil: null, legalHold: false };

  // Broke: the blob under the taken name was hashed whole to tell 'identical' from 'different'. A storage role's blob of
  // many GiB under the passed marker's name (red team 26 made the sealing timer stop there, and write it again, each
  // run) was streamed through SHA-256 by every run of the timer that seals every tenant.
  it('a blob of another size is "different" unread; one of the same size is read and judged by its bytes', async () => {
    const ours = Buffer.alloc(300, 7);
    const huge = taken(256 * 1024 * 1024, 7);
    expect(await huge.blobs.putCreateOnly('t-1', 'audit-seals/passed/2026-12/000000000040.json', ours, 'application/json', worm, {})).toBe('different');
    expect(huge.counted.bytes).toBeLessThanOrEqual(1024 * 1024);
    expect(await taken(300, 7).blobs.putCreateOnly('t-1', 'x.json', ours, 'application/json', worm, {})).toBe('identical');
    expect(await taken(300, 8).blobs.putCreateOnly('t-1', 'x.json', ours, 'application/json', worm, {})).toBe('different');
  });
});

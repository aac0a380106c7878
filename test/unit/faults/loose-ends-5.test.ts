/**
 * Loose ends a closing note left: each block names what broke. In-memory world, requests in-process through the real
 * pipeline (test/support/in-process.ts).
 */
import { disposalApprovalRecordId } from '../../../shared/retention/approve-disposal';
import { apiKeyRecordId, type ApiKeyRecord } from '../../../shared/auth/api-keys/api-key';
import { KEYS_SEALED_PER_RUN } from '../../../shared/auth/api-keys/key-seal';
import { runReconcileTimer } from '../../../shared/retention/timers';
import { rotatingWorld } from '../../support/rotating-vault';
import { settingBlobName } from '../../../shared/auth/rights-sets/settings-blobs';
import { SETTING_RESTORED } from '../../../shared/auth/decision-blobs';
import { rightsAssignmentRecordId, type RightsAssignmentRecord } from '../../../shared/auth/rights-sets/rights-records';
import type { RecordingLogger } from '../../support/in-memory';
import { approval, assign, dueDocs, hold, mint, ok, putSet, repair, requireApproval, send, TENANT, world, type World } from '../../support/in-process';

const itemOf = (w: World, id: string) => w.deps.catalog.documents.get(`${TENANT}/${id}`)!;

describe('a finished keyed approval retried after a legal hold withdrew it from one of its documents', () => {
  // Broke: the retry answered the sealed record's result as it stood, the document still under `approved`; a client
  // closing its review on that answer took a document the sweep will keep (the hold asked for the review again).
  it.each([
    ['the hold released', 'released'],
    ['the hold still open', 'open'],
    ['the approval written back onto the document in Cosmos DB after the release', 'written back'],
  ])('%s: skipped approval-withdrawn, the record unchanged, nothing approved again', async (_, scene) => {
    const w = world();
    await requireApproval(w);
    const [a, b] = await dueDocs(w);
    const call = { ...approval(w), body: { before: w.clock.now().toISOString(), reason: 'Annual review', documentIds: [a, b] }, headers: { 'Idempotency-Key': 'review-l5' } };
    const first = await ok(w, call, 201);
    expect(first.json.approved).toEqual([a, b]);
    const given = structuredClone(itemOf(w, a!).disposalApproval);
    const recordKey = `${TENANT}/${disposalApprovalRecordId(String(first.json.approvalId))}`;
    const record = structuredClone(w.deps.tenantRecords.records.get(recordKey));
    expect(record?.value).toBeDefined();
    const placed = await ok(w, hold(a!), 201);
    if (scene !== 'open') await ok(w, { method: 'DELETE', path: `documents/${a!}/legal-holds/${String(placed.json.id)}`, body: { reason: 'Closed' }, as: 'bob' }, 200);
    if (scene === 'written back') itemOf(w, a!).disposalApproval = given;
    const retry = await ok(w, call, 201);
    expect(retry.headers['Idempotent-Replayed']).toBe('true');
    expect(retry.json.approvalId).toBe(first.json.approvalId);
    expect(retry.json.approved).toEqual([b]);
    expect(retry.json.skipped).toEqual([{ id: a, reason: 'approval-withdrawn' }]);
    expect(w.deps.tenantRecords.records.get(recordKey)).toEqual(record);
    if (scene !== 'written back') expect(itemOf(w, a!).disposalApproval).toBeUndefined();
  });
});

describe('a finished keyed approval retried after an extension of retention voided it on one of its documents', () => {
  // Broke: the document, no longer due by the request's `before`, was never met by the retry's walk of what is due, and
  // stayed under `approved` though the extension voided the approval (approvedForDisposal): a client closed its review.
  it('skipped changed, the other still approved', async () => {
    const w = world();
    await requireApproval(w);
    const [a, b] = await dueDocs(w);
    const call = { ...approval(w), body: { before: w.clock.now().toISOString(), reason: 'Annual review', documentIds: [a, b] }, headers: { 'Idempotency-Key': 'review-l5-extended' } };
    expect((await ok(w, call, 201)).json.approved).toEqual([a, b]);
    await ok(w, { method: 'POST', path: `documents/${a!}/retention`, body: { retainUntil: '2090-01-01', reason: 'Litigation' }, as: 'up' });
    const retry = await ok(w, call, 201);
    expect(retry.json.approved).toEqual([b]);
    expect(retry.json.skipped).toEqual([{ id: a, reason: 'changed' }]);
  });
});

describe("an approval among many documents due, and its retry", () => {
  // Broke: a named approval walked every page of what was due to meet the documents it named, and so did each retry of
  // a finished one (keyed), to meet the documents it approved: a named approval of one document behind a tenant's
  // thousands due read them all each time. A named one now reads its documents by id, a bulk one's retry at most as
  // many pages as it approved hundreds and one more, the rest by id.
  it.each([
    ['named', 0, 0],
    ['bulk', 5, 2],
  ])('%s: the request reads %i pages of what is due at most, its retry %i', async (scene, requestPages, retryPages) => {
    const w = world();
    await requireApproval(w);
    const [a, b] = await dueDocs(w);
    const item = itemOf(w, a!);
    // 450 due sooner, each approved already by another request (a bulk approval passes them over unsaid).
    for (let i = 0; i < 450; i++) {
      const id = `00000000-0000-7000-8000-${i.toString(16).padStart(12, '0')}`; // never one of the uploads' ids
      const retainUntil = '2000-01-01T00:00:00.000Z';
      w.deps.catalog.documents.set(`${TENANT}/${id}`, { ...structuredClone(item), id, retention: { ...item.retention, retainUntil }, disposalApproval: { approvalId: 'earlier', approvedAt: retainUntil, approvedBy: { subject: 'bob', kind: 'user' }, reason: 'Earlier review', retainUntil } });
    }
    // Paged as the Cosmos store pages it: `limit` at a time, soonest first (the in-memory one answers one page).
    const due = w.deps.retention.catalog.due.bind(w.deps.retention.catalog);
    let pages = 0;
    w.deps.retention.catalog.due = async (tenantId, before, limit, token) => {
      pages++;
      const all = (await due(tenantId, before, limit)).items;
      const from = Number(token ?? 0);
      return { items: all.slice(from, from + limit), continuationToken: from + limit < all.length ? String(from + limit) : null };
    };
    const body = { before: w.clock.now().toISOString(), reason: 'Annual review', ...(scene === 'named' ? { documentIds: [a, b] } : {}) };
    const call = { ...approval(w), body, headers: { 'Idempotency-Key': `review-l5-${scene}` } };
    expect((await ok(w, call, 201)).json.approved).toEqual([a, b]);
    expect(pages).toBeLessThanOrEqual(requestPages);
    await ok(w, { method: 'POST', path: `documents/${a!}/retention`, body: { retainUntil: '2090-01-01', reason: 'Litigation' }, as: 'up' });
    pages = 0;
    const retry = await ok(w, call, 201);
    expect(retry.json.approved).toEqual([b]);
    expect(retry.json.skipped).toEqual([{ id: a, reason: 'changed' }]);
    expect(pages).toBeLessThanOrEqual(retryPages);
  });
});

describe('a named document an approval skips: already approved, or not due', () => {
  // Broke: every named document neither approved nor skipped otherwise was labelled `not-due`, one due and carrying
  // another standing approval too; the client told its reviewer the retention had not ended.
  it.each([
    ['due, approved by another request', 'approved', 'already-approved'],
    ['not due', 'not due', 'not-due'],
  ])('%s: skipped %s', async (_, scene, reason) => {
    const w = world();
    await requireApproval(w);
    const [a] = await dueDocs(w);
    const before = w.clock.now().toISOString();
    if (scene === 'approved') await ok(w, { ...approval(w), body: { before, reason: 'First review', documentIds: [a] } }, 201);
    const given = structuredClone(itemOf(w, a!).disposalApproval);
    // Not due: its retain-until lies after the approval's `before`.
    const asked = scene === 'not due' ? new Date(Date.parse(itemOf(w, a!).retention.retainUntil) - 86_400_000).toISOString() : before;
    const second = await ok(w, { ...approval(w, 'carol'), body: { before: asked, reason: 'Second review', documentIds: [a] } }, 201);
    expect(second.json.approved).toEqual([]);
    expect(second.json.skipped).toEqual([{ id: a, reason }]);
    expect(itemOf(w, a!).disposalApproval).toEqual(given);
  });
});

describe('the reconciler\'s reseal of keys sealed with a superseded chain key version', () => {
  // Broke: each run listed the first KEYS_SEALED_PER_RUN such records, with no cursor; as many planted with junk
  // old-version seals (never sealed again) came first at every run, and a genuine key behind them was never resealed.
  it('goes on where the last run stopped: a genuine key behind a run\'s worth of junk is resealed, and the walk comes round', async () => {
    const { w, rotate } = rotatingWorld();
    const keyId = /_([0-9a-f]{24})_/.exec(await mint(w, 'alice', 'tenant-admin'))![1]!;
    rotate();
    const records = w.deps.tenantRecords.records;
    const genuine = records.get(`${TENANT}/${apiKeyRecordId(keyId)}`)!;
    records.delete(`${TENANT}/${apiKeyRecordId(keyId)}`);
    const junk = Array.from({ length: KEYS_SEALED_PER_RUN + 6 }, (_, i) => `f${String(i).padStart(23, '0')}`);
    for (const id of junk) {
      const planted: ApiKeyRecord = { ...(genuine.value as ApiKeyRecord), id: apiKeyRecordId(id), keyId: id, keyVersion: 'v1', mac: 'junk' };
      records.set(`${TENANT}/${planted.id}`, { value: planted, etag: 9000 + w.seq++ });
    }
    // Stored after the junk: listed behind it.
    records.set(`${TENANT}/${apiKeyRecordId(keyId)}`, genuine);
    const runs = [];
    for (let i = 0; i < 3 && (records.get(`${TENANT}/${apiKeyRecordId(keyId)}`)!.value as ApiKeyRecord).keyVersion !== 'v2'; i++) runs.push(await runReconcileTimer(w.deps));
    expect(runs.flatMap((r) => r.keysSealed)).toEqual([`${TENANT}/${keyId}`]);
    expect((records.get(`${TENANT}/${apiKeyRecordId(keyId)}`)!.value as ApiKeyRecord).keyVersion).toBe('v2');
    // Past the end, the next run starts from the first again.
    expect((await runReconcileTimer(w.deps)).keysUnsealed).toContain(`${TENANT}/${junk[0]!}`);
  });
});

describe('a blob planted under the name a kept setting\'s next change takes', () => {
  // Broke: the change could not be kept (the name taken), and the reconciler wrote the change before it back over it:
  // a storage role (no rights in the tenant) undid an assignment's change. The change's keyed audit entry names its
  // revision and digest (keptRevisionDetail), the witness of a change whose blob is missing: it stands on that now.
  // Cosmos DB edited under that revision matches no entry, and the sealed change before is written back as before.
  it.each([
    ['the change as made: stands', false, 'auditor'],
    ['the record edited in Cosmos DB under its revision: the change before written back', true, 'clerk'],
  ])('%s', async (_, edited, expected) => {
    const w = world();
    await ok(w, putSet('clerk', ['documents:read']));
    await ok(w, assign('ian', 'clerk'));
    w.clock.advance(3_600_000);
    const name = settingBlobName(rightsAssignmentRecordId('ian'), w.clock.now().getTime(), false);
    await w.deps.blobs.putCreateOnly(TENANT, name, Buffer.from('{"note":"first"}'), 'application/json', { retainUntil: null, legalHold: false }, {});
    expect((await send(w, assign('ian', 'auditor'))).status).toBe(200);
    const key = `${TENANT}/${rightsAssignmentRecordId('ian')}`;
    if (edited) (w.deps.tenantRecords.records.get(key)!.value as RightsAssignmentRecord).assignedAt = new Date(0).toISOString();
    for (let i = 0; i < 2; i++) await repair(w);
    expect((w.deps.tenantRecords.records.get(key)!.value as RightsAssignmentRecord).rightsSet).toBe(expected);
    expect((w.deps.log as RecordingLogger).lines.filter((l) => l.message === SETTING_RESTORED)).toHaveLength(edited ? 1 : 0);
  });
});

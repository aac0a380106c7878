/**
 * Round 7: seals after a rotation of the audit chain key, withdrawals of approvals by time. Attacker models: a valid
 * account, a writer of Cosmos DB (not Key Vault) who may hold one low-privileged key's secret and, after a rotation,
 * the old chain key version, a storage role.
 */
import { DISPOSAL_APPROVAL_UNAUDITED, type DisposalApprovalRecord, sealApproval } from '../../../shared/retention/approve-disposal';
import { sealWith } from '../../../shared/kernel/archive-seal';
import { rotatingWorld } from '../../support/rotating-vault';
import type { RecordingLogger } from '../../support/in-memory';
import { AUDIT_OUTBOX_SEND_WITHIN_MS } from '../../../shared/kernel/audit';
import { approval, docOf, dueDocs, hold, ok, requireApproval, sweepNow, TENANT, world, type World } from '../../support/in-process';

const rotating = rotatingWorld;

const itemOf = (w: World, id: string) => w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
const alerts = (w: World) => (w.deps.log as RecordingLogger).lines.filter((l) => l.message === DISPOSAL_APPROVAL_UNAUDITED).map((l) => l.fields?.reason);

describe('a disposal approval sealed with a superseded chain key version, dated before AUDIT_CHAIN_KEYED_SINCE', () => {
  // The documents fall due 2029-01-01; the chain is keyed since 2029-01. Broke: the superseded seal's witness was
  // approvalAudited, which takes an approval given in a month before keying as given (its entry could not be keyed): the
  // old version's holder sealed one after the rotation, dated 2028-12, onto a document nobody had approved, and the sweep
  // disposed of it. No sealed approval is from before keying (seals are made with the chain key, after it keyed entries).
  it.each([
    ['genuine, given before the rotation: disposed of', false],
    ['sealed after it with the old version, dated 2028-12: kept, alerted', true],
  ])('%s', async (_, forge) => {
    const { w, vault, rotate } = rotating({ AUDIT_CHAIN_KEYED_SINCE: '2029-01' });
    await requireApproval(w);
    const [doc] = await dueDocs(w);
    const retainUntil = itemOf(w, doc!).retention.retainUntil;
    expect(retainUntil.slice(0, 7)).toBe('2029-01');
    if (!forge) await ok(w, { ...approval(w), body: { before: w.clock.now().toISOString(), reason: 'Annual review', documentIds: [doc] } }, 201);
    rotate();
    if (forge) {
      const forged = await sealApproval(TENANT, doc!, { approvalId: '0190f0f0-0000-7000-8000-0000000000f7', approvedAt: '2028-12-15T00:00:00.000Z', approvedBy: { subject: 'bob', kind: 'user', person: 'bob' }, reason: 'Annual review', retainUntil }, vault.leaked());
      w.deps.catalog.documents.set(`${TENANT}/${doc!}`, { ...itemOf(w, doc!), disposalApproval: forged });
    }
    const run = await sweepNow(w);
    expect(itemOf(w, doc!).status).toBe(forge ? 'active' : 'disposed');
    if (forge) expect(run.blocked).toContainEqual(expect.objectContaining({ documentId: doc, reason: 'approval-required: its approval was sealed with a superseded key version and is not in the audit log' }));
    expect(alerts(w)).toEqual(forge ? ['not in the audit log'] : []);
  });
});

describe('a hold by query over many documents', () => {
  // Each document it reaches has its own placement entry. Broke: each was appended on its own, awaited, before the next
  // document (an audit append and an outbox removal per document): at ARCHIVE_HOLD_QUERY_MAX_DOCUMENTS (up to 10,000)
  // that many more sequential round trips in one request. Batched, an entry must still be sent within
  // AUDIT_OUTBOX_SEND_WITHIN_MS of its change (else the sealing timer appends it too): a slow request sends as it goes.
  it.each([
    ['quick: one batch', 0, 2],
    ['90 s a document: each sent within a minute or so of its change', 90_000, 7],
  ])('%s', async (_, perDocument, appendsAtMost) => {
    const w = world();
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await docOf(w, { counterparty: 'ACME GmbH' }));
    const appendBatch = w.deps.audit.appendBatch.bind(w.deps.audit);
    let appends = 0;
    let latest = 0;
    w.deps.audit.appendBatch = async (...args: Parameters<typeof appendBatch>) => {
      appends++;
      for (const e of args[0]) if (e.requestId.startsWith('hold-placed:')) latest = Math.max(latest, w.clock.now().getTime() - Date.parse(e.at));
      return appendBatch(...args);
    };
    const replace = w.deps.retention.catalog.replace.bind(w.deps.retention.catalog);
    w.deps.retention.catalog.replace = async (...args: Parameters<typeof replace>) => {
      w.clock.advance(perDocument);
      return replace(...args);
    };
    const holdId = (await ok(w, { method: 'POST', path: 'legal-holds', body: { reason: 'Dispute', caseReference: 'C-7', query: { counterparty: 'ACME GmbH' } }, as: 'up' }, 201)).json.holdId as string;
    expect(appends).toBeLessThanOrEqual(appendsAtMost);
    expect(latest).toBeLessThan(AUDIT_OUTBOX_SEND_WITHIN_MS);
    const month = w.clock.now().toISOString().slice(0, 7);
    const placed = (await w.deps.audit.list(TENANT, month, 200, undefined, { action: 'legal-hold.place' })).items.filter((e) => e.requestId.startsWith(`hold-placed:${holdId}:`));
    expect(placed.map((e) => e.target).sort()).toEqual([...ids].sort());
  });
});

describe('an unsealed approval (given before ARCHIVE_APPROVALS_SEALED_SINCE) taken off its document before a hold', () => {
  // Its approvedAt is not sealed: a writer of Cosmos DB moves it past the hold's placement, within the month its entry is
  // looked for in. Broke: taken off the document before the placement (the entry names none), written back after the
  // release dated after the placement, it stood on its audit entry, and the document was disposed of unreviewed.
  it.each([
    ['no hold since: disposed of', false],
    ['a hold placed and released since, approvedAt moved past them: kept', true],
  ])('%s', async (_, held) => {
    const w = world();
    await requireApproval(w);
    const [doc] = await dueDocs(w);
    await ok(w, { ...approval(w), body: { before: w.clock.now().toISOString(), reason: 'Annual review', documentIds: [doc] } }, 201);
    const { mac: _m, keyVersion: _v, ...unsealed } = itemOf(w, doc!).disposalApproval!;
    const month = unsealed.approvedAt.slice(0, 7);
    if (held) {
      w.deps.catalog.documents.set(`${TENANT}/${doc!}`, { ...itemOf(w, doc!), disposalApproval: undefined });
      w.clock.advance(60_000);
      const holdId = (await ok(w, hold(doc!), 201)).json.id as string;
      await ok(w, { method: 'DELETE', path: `documents/${doc!}/legal-holds/${holdId}`, body: { reason: 'Closed' }, as: 'bob' }, 200);
      w.clock.advance(60_000);
    }
    const approvedAt = w.clock.now().toISOString();
    expect(approvedAt.slice(0, 7)).toBe(month);
    w.deps.catalog.documents.set(`${TENANT}/${doc!}`, { ...itemOf(w, doc!), disposalApproval: { ...unsealed, approvedAt } });
    const run = await sweepNow(w);
    expect(itemOf(w, doc!).status).toBe(held ? 'active' : 'disposed');
    if (held) expect(run.blocked).toContainEqual(expect.objectContaining({ documentId: doc, reason: 'approval-required: its approval was withdrawn by a legal hold' }));
  });
});

describe('a keyed approval\'s record sealed with a superseded chain key version', () => {
  // Judged by its own createdAt, a record the old version's holder sealed after the rotation, dated before it, answered a
  // retry: documents claimed approved that were not (the client closes its review; the sweep never disposes of them). It
  // stands only on its request's keyed entry; one without is passed over, and the retry answers what the documents carry.
  it.each([
    ['genuine: the retry answers the same', false],
    ['its result rewritten and sealed with the old version: the documents\' own answer', true],
  ])('%s', async (_, forge) => {
    const { w, vault, rotate } = rotating();
    await requireApproval(w);
    const [a, b] = await dueDocs(w);
    const call = { ...approval(w), body: { before: w.clock.now().toISOString(), reason: 'Annual review', documentIds: [a] }, headers: { 'Idempotency-Key': 'review-7' } };
    const first = await ok(w, call, 201);
    rotate();
    if (forge) {
      const at = [...w.deps.tenantRecords.records.keys()].find((k) => k.startsWith(`${TENANT}/disposal-approval:`))!;
      const { keyVersion: _v, mac: _m, ...kept } = w.deps.tenantRecords.records.get(at)!.value as DisposalApprovalRecord;
      const rewritten = { ...kept, result: { ...kept.result!, approved: [a!, b!] } };
      const sealed = await sealWith('disposal-approval-record', JSON.parse(JSON.stringify(rewritten)) as object, vault.leaked());
      w.deps.tenantRecords.records.set(at, { value: sealed as never, etag: 9000 + w.seq++ });
    }
    const retry = await ok(w, call, 201);
    expect(retry.json.approvalId).toBe(first.json.approvalId);
    expect(retry.json.approved).toEqual([a]);
  });
});

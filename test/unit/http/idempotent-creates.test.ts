/**
 * Idempotency-Key on the creates whose duplicate hurts: a legal hold (each one released by four eyes), a hold by query,
 * an export (copies the documents again, counts against the running exports' cap), a support grant (a second grant
 * provider staff may act under), a disposal approval (approved again, under a second approval). A retry whose answer was lost
 * gets the first request's result (Idempotent-Replayed) and makes nothing new; the same key for another request is
 * a 422; another person's key is their own.
 */
import { PERMISSIONS, type Permission, type Principal } from '../../../shared/kernel/principal';
import { servedArchive } from '../../support/served-archive';
import { keepManifest, seedDocument } from '../../support/seed';
import { blobLayout } from '../../../shared/kernel/blob-layout';

const { deps, base } = servedArchive();
const as = (subject: string, tenantId = 'acme'): Principal => ({ tenantId, subject, kind: 'user', rightsSet: 'tenant-admin', permissions: new Set<Permission>(PERMISSIONS) });
let principal = as('alice');
beforeEach(() => {
  principal = as('alice');
  deps.authenticator = { authenticate: async () => principal };
});

const post = async (path: string, body: unknown, key?: string) => {
  const res = await fetch(`${base()}/${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...(key ? { 'Idempotency-Key': key } : {}) }, body: JSON.stringify(body) });
  return { status: res.status, replayed: res.headers.get('idempotent-replayed'), location: res.headers.get('location'), json: (await res.json()) as Record<string, any> };
};
/** A document with its manifest (a hold flags every blob of the folder). */
async function seed(counterparty: string) {
  const doc = await seedDocument(deps, 'acme', { metadata: { documentDate: '2024-03-01', kind: 'invoice', counterparty } });
  await deps.blobs.putCreateOnly('acme', blobLayout.manifest(doc.id), Buffer.from(JSON.stringify(doc)), 'application/json', { retainUntil: doc.retention.retainUntil, legalHold: false }, {});
  return doc;
}
const holdsOn = async (id: string) => (await deps.catalog.get('acme', id))!.holds ?? [];
/** Entries in the chain and those stored with their change still waiting in the outbox (the fake clock's changes are older than a release sends). */
const actions = async (action: string, tenantId = 'acme') => {
  await deps.auditOutbox.flush();
  const outboxed = [...deps.catalog.outbox.values()].flatMap((item) => item.entries);
  return [...deps.audit.entries, ...outboxed].filter((e) => e.tenantId === tenantId && e.action === action).map((e) => ({ outcome: e.outcome, target: e.target, detail: e.detail }));
};

describe('a legal hold on one document', () => {
  it('a retry with the same key answers the hold placed, and places no second one', async () => {
    const doc = await seed('Hold Once BV');
    const first = await post(`documents/${doc.id}/legal-holds`, { reason: 'Tax audit', caseReference: 'FA-1' }, 'hold-1');
    const retry = await post(`documents/${doc.id}/legal-holds`, { reason: 'Tax audit', caseReference: 'FA-1' }, 'hold-1');
    expect(first).toMatchObject({ status: 201, replayed: null });
    expect(retry).toMatchObject({ status: 201, replayed: 'true', location: first.location, json: first.json });
    expect((await holdsOn(doc.id)).map((h) => h.id)).toEqual([first.json.id]);
    // One entry stored the hold; the retry's says it was answered again.
    const entries = (await actions('legal-hold.place')).filter((e) => e.detail?.startsWith(`hold=${first.json.id}`));
    expect(entries).toHaveLength(2);
    expect(entries).toEqual(expect.arrayContaining([
      { outcome: 'success', target: doc.id, detail: `hold=${first.json.id}` },
      { outcome: 'success', target: doc.id, detail: `hold=${first.json.id};replayed` },
    ]));
  });

  it('the same key with another reason or case is 422 and changes nothing; without a key each request places its own', async () => {
    const doc = await seed('Hold Twice BV');
    const first = await post(`documents/${doc.id}/legal-holds`, { reason: 'Tax audit', caseReference: 'FA-2' }, 'hold-2');
    const other = await post(`documents/${doc.id}/legal-holds`, { reason: 'Dispute', caseReference: 'FA-2' }, 'hold-2');
    expect(other).toMatchObject({ status: 422, json: { code: 'idempotency_key_reused', holdId: first.json.id } });
    expect(await holdsOn(doc.id)).toEqual([expect.objectContaining({ id: first.json.id, reason: 'Tax audit' })]);
    await post(`documents/${doc.id}/legal-holds`, { reason: 'Tax audit', caseReference: 'FA-2' });
    await post(`documents/${doc.id}/legal-holds`, { reason: 'Tax audit', caseReference: 'FA-2' });
    expect(await holdsOn(doc.id)).toHaveLength(3);
  });

  it('another person\'s use of the same key is their own hold (never a replay of alice\'s)', async () => {
    const doc = await seed('Hold Others BV');
    const alices = await post(`documents/${doc.id}/legal-holds`, { reason: 'Tax audit', caseReference: 'FA-3' }, 'hold-3');
    principal = as('bob');
    const bobs = await post(`documents/${doc.id}/legal-holds`, { reason: 'Dispute', caseReference: 'LG-3' }, 'hold-3');
    expect(bobs).toMatchObject({ status: 201, replayed: null });
    expect(bobs.json.id).not.toBe(alices.json.id);
    expect((await holdsOn(doc.id)).map((h) => h.placedBy.subject)).toEqual(['alice', 'bob']);
  });

  it('a malformed key is a 400 and places nothing', async () => {
    const doc = await seed('Hold Malformed BV');
    const res = await post(`documents/${doc.id}/legal-holds`, { reason: 'Tax audit', caseReference: 'FA-4' }, 'x'.repeat(201));
    expect(res).toMatchObject({ status: 400, json: { code: 'bad_request' } });
    expect(await holdsOn(doc.id)).toEqual([]);
  });
});

describe('a legal hold by query', () => {
  it('a retry places the same hold, also on what matches only now; a pure retry says it was replayed', async () => {
    const a = await seed('Query Hold BV');
    const body = { reason: 'Litigation', caseReference: 'LG-1', query: { counterparty: 'Query Hold BV' } };
    const first = await post('legal-holds', body, 'bulk-1');
    expect(first).toMatchObject({ status: 201, replayed: null, json: { documentIds: [a.id] } });
    const replay = await post('legal-holds', body, 'bulk-1');
    expect(replay).toMatchObject({ status: 201, replayed: 'true', json: { holdId: first.json.holdId, documentIds: [a.id] } });
    const b = await seed('Query Hold BV');
    const again = await post('legal-holds', body, 'bulk-1');
    expect(again).toMatchObject({ status: 201, replayed: null, json: { holdId: first.json.holdId } });
    expect(new Set(again.json.documentIds)).toEqual(new Set([a.id, b.id]));
    for (const id of [a.id, b.id]) expect((await holdsOn(id)).map((h) => h.id)).toEqual([first.json.holdId]);
  });

  it('the same key with another reason is 422 before any document is held', async () => {
    const a = await seed('Query Refused BV');
    const first = await post('legal-holds', { reason: 'Litigation', caseReference: 'LG-2', query: { counterparty: 'Query Refused BV' } }, 'bulk-2');
    const b = await seed('Query Refused BV');
    const other = await post('legal-holds', { reason: 'Something else', caseReference: 'LG-2', query: { counterparty: 'Query Refused BV' } }, 'bulk-2');
    expect(other).toMatchObject({ status: 422, json: { code: 'idempotency_key_reused' } });
    expect((await holdsOn(a.id)).map((h) => h.id)).toEqual([first.json.holdId]);
    expect(await holdsOn(b.id)).toEqual([]);
  });
});

describe('a support grant', () => {
  const grant = (ticket: string, expiresAt = '2025-03-05T00:00:00.000Z', scope = 'read-only') => ({ ticket, scope, expiresAt });
  const grants = async (ticket: string) => deps.tenantRecords.stored<{ id: string; tenantId: string; type: string; ticket: string }>('acme', 'support-grant').filter((g) => g.ticket === ticket);

  it('a retry with the same key answers the grant given, as it is now, and gives no second one', async () => {
    const first = await post('support-grants', grant('SUP-1'), 'grant-1');
    expect(first).toMatchObject({ status: 201, replayed: null });
    const retry = await post('support-grants', grant('SUP-1'), 'grant-1');
    expect(retry).toMatchObject({ status: 201, replayed: 'true', location: first.location, json: first.json });
    expect(await grants('SUP-1')).toHaveLength(1);
    // Revoked since: the retry answers it revoked, and grants nothing new.
    await fetch(`${base()}/support-grants/${first.json.id}`, { method: 'DELETE' });
    const late = await post('support-grants', grant('SUP-1'), 'grant-1');
    expect(late).toMatchObject({ status: 201, replayed: 'true', json: { id: first.json.id, revokedBy: { subject: 'alice' } } });
    expect(await grants('SUP-1')).toHaveLength(1);
    // One entry gave the grant; the retries' entries say they were answered again.
    const entries = (await actions('support-grant.create')).filter((e) => e.target === `support-grant:${first.json.id}`);
    expect(entries.map((e) => [e.outcome, e.detail]).sort()).toEqual([['success', 'replayed'], ['success', 'replayed'], ['success', expect.stringMatching(/^scope=read-only;expires=2025-03-05T00:00:00\.000Z;sealed-digest=[\w-]{43}$/)]]);
  });

  it('the same key with another ticket, scope or expiry is 422 naming the grant; another person\'s key is their own', async () => {
    const first = await post('support-grants', grant('SUP-2'), 'grant-2');
    for (const other of [grant('SUP-2b'), grant('SUP-2', '2025-03-06T00:00:00.000Z'), grant('SUP-2', undefined, 'metadata-only')]) {
      expect(await post('support-grants', other, 'grant-2')).toMatchObject({ status: 422, json: { code: 'idempotency_key_reused', grantId: first.json.id } });
    }
    expect(await grants('SUP-2b')).toEqual([]);
    principal = as('bob');
    const bobs = await post('support-grants', grant('SUP-2'), 'grant-2');
    expect(bobs).toMatchObject({ status: 201, replayed: null, json: { createdBy: { subject: 'bob' } } });
    expect(bobs.json.id).not.toBe(first.json.id);
    expect(await grants('SUP-2')).toHaveLength(2);
  });
});

describe('a disposal approval', () => {
  let tenant = 0;
  /** Documents of a tenant of their own (a bulk approval takes every one due), past their retention. */
  async function due(n: number, tenantId: string) {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const seeded = await seedDocument(deps, tenantId, { metadata: { documentDate: '2017-03-01' } });
      const doc = { ...seeded, retention: { class: 'fiscal-7y', retainUntil: '2025-01-01T00:00:00.000Z' } };
      deps.catalog.documents.set(`${tenantId}/${doc.id}`, doc);
      await keepManifest(deps, doc); // whom four eyes judge the uploader by
      ids.push(doc.id);
    }
    return ids;
  }
  const approvalOf = async (tenantId: string, id: string) => (await deps.catalog.get(tenantId, id))?.disposalApproval?.approvalId ?? null;
  const approve = (body: object, key?: string) => post('retention/approvals', { before: '2025-02-01T00:00:00Z', reason: 'Annual review', ...body }, key);

  it('a retry of a bulk approval answers the first result: the same documents, approved once; what fell due since waits', async () => {
    const tenantId = `approvals-${++tenant}`;
    principal = as('alice', tenantId);
    const [a, b] = await due(2, tenantId);
    const first = await approve({}, 'approve-1');
    expect(first).toMatchObject({ status: 201, replayed: null, json: { skipped: [], more: false } });
    expect(new Set(first.json.approved)).toEqual(new Set([a, b]));
    const [c] = await due(1, tenantId);
    const retry = await approve({}, 'approve-1');
    expect(retry).toMatchObject({ status: 201, replayed: 'true', json: first.json });
    expect([await approvalOf(tenantId, a!), await approvalOf(tenantId, b!), await approvalOf(tenantId, c!)]).toEqual([first.json.approvalId, first.json.approvalId, null]);
    const entries = await actions('retention.approve', tenantId);
    expect(entries).toHaveLength(2);
    expect(entries).toEqual(expect.arrayContaining([
      { outcome: 'success', target: `approval:${first.json.approvalId}`, detail: undefined },
      { outcome: 'success', target: `approval:${first.json.approvalId}`, detail: 'replayed' },
    ]));
  });

  it('the same key with another reason, before or documents is 422 naming the approval and approves nothing; the documents in another order are the same', async () => {
    const tenantId = `approvals-${++tenant}`;
    principal = as('alice', tenantId);
    const [a, b, c] = await due(3, tenantId);
    const first = await approve({ documentIds: [a, b] }, 'approve-2');
    expect(first).toMatchObject({ status: 201, json: { skipped: [] } });
    for (const other of [{ documentIds: [a, b], reason: 'Other' }, { documentIds: [a, b], before: '2025-01-15T00:00:00Z' }, { documentIds: [a, b, c] }, {}]) {
      expect(await approve(other, 'approve-2')).toMatchObject({ status: 422, json: { code: 'idempotency_key_reused', approvalId: first.json.approvalId } });
    }
    expect(await approvalOf(tenantId, c!)).toBeNull();
    expect(await approve({ documentIds: [b, a] }, 'approve-2')).toMatchObject({ status: 201, replayed: 'true', json: first.json });
  });

  it('another person\'s key is their own approval; a malformed key approves nothing', async () => {
    const tenantId = `approvals-${++tenant}`;
    principal = as('alice', tenantId);
    const [a] = await due(1, tenantId);
    expect(await approve({}, 'x'.repeat(201))).toMatchObject({ status: 400, json: { code: 'bad_request' } });
    expect(await approvalOf(tenantId, a!)).toBeNull();
    const alices = await approve({ documentIds: [a] }, 'approve-3');
    principal = as('bob', tenantId);
    const bobs = await approve({ documentIds: [a], reason: 'Something else' }, 'approve-3');
    expect(bobs).toMatchObject({ status: 201, replayed: null, json: { approved: [] } });
    expect(bobs.json.approvalId).not.toBe(alices.json.approvalId);
    expect(await approvalOf(tenantId, a!)).toBe(alices.json.approvalId);
  });
});

/**
 * Loose ends 6: a release everywhere of a hold by query judged every document by the hold's one placement; the sweep's
 * re-check of the uploader rule. The attacker writes Cosmos DB (not Key Vault) and holds an ordinary account.
 */
import { rightsAssignmentRecordId, rightsSetRecordId } from '../../../shared/auth/rights-sets/rights-records';
import { extendHoldsByQuery } from '../../../shared/retention/holds/extend-holds-by-query';
import { HOLD_PLACEMENT_UNWITNESSED } from '../../../shared/retention/holds/placement-witness';
import type { LegalHold } from '../../../shared/kernel/retention';
import { assign, type Call, dueDocs, ok, putSet, requireApproval, send, START, storedAssignment, sweepNow, TENANT, upload, hold, world, type World } from '../../support/in-process';

const flags = (w: World, id: string) => [...w.deps.blobs.blobs].filter(([k]) => k.startsWith(`${TENANT}/${id}/`)).map(([, b]) => b.worm.legalHold);
const holdOf = (w: World, id: string, holdId: string) => w.deps.catalog.documents.get(`${TENANT}/${id}`)!.holds!.find((h) => h.id === holdId)!;
/** What a writer of Cosmos DB does: bob's own hold on `id` renamed to carol's hold by query, carol named its placer. */
const renamed = (w: World, id: string, from: string, to: LegalHold) => {
  const doc = w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
  doc.holds = doc.holds!.filter((h) => h.id !== to.id).map((h) => (h.id === from ? { ...h, id: to.id, placedBy: to.placedBy, placedAt: to.placedAt, query: to.query } : h));
};
const releaseEverywhere = (holdId: string, as = 'bob'): Call => ({ method: 'DELETE', path: `legal-holds/${holdId}`, body: { reason: 'Over' }, as });
const byQuery = async (w: World, counterparty: string) => (await ok(w, { method: 'POST', path: 'legal-holds', body: { reason: 'Audit', caseReference: 'C-1', query: { counterparty } }, as: 'carol' }, 201)).json.holdId as string;

/** bob and carol may place and release holds, and neither is the other's second identity (round13-attacks.test.ts). */
function leads(): World {
  const w = world();
  w.deps.tenantRecords.records.set(`${TENANT}/${rightsSetRecordId('lead')}`, { value: { id: rightsSetRecordId('lead'), tenantId: TENANT, type: 'rights-set', name: 'lead', permissions: ['documents:read', 'documents:write', 'holds:place', 'holds:release', 'rights:manage'], updatedAt: START.toISOString(), updatedBy: { subject: 'root', kind: 'user' } } as never, etag: 2004 });
  for (const who of ['bob', 'carol']) (w.deps.tenantRecords.records.get(`${TENANT}/${rightsAssignmentRecordId(who)}`)!.value as unknown as { rightsSet: string }).rightsSet = 'lead';
  return w;
}

/**
 * Carol holds by query the documents of ACME GmbH; bob holds a document of his own (never under carol's hold, or under
 * it and released there since), renames his hold to carol's id in Cosmos DB and releases carol's hold everywhere. Broke:
 * four eyes judged every document by carol's placement, and bob's own hold was released with hers, its blobs' flags
 * cleared. Now the document is skipped (alerted) and the rest released.
 */
describe('a person\'s own hold renamed to a hold by query is not released with it everywhere', () => {
  it.each([
    ['on a document the hold never reached', false],
    ['on a document the hold was released from since', true],
  ])('%s', async (_, wasUnder) => {
    const w = leads();
    const x = (await ok(w, upload({ counterparty: 'ACME GmbH', fiscalYear: 2024 }), 201)).json.id as string;
    const d = (await ok(w, upload({ counterparty: wasUnder ? 'ACME GmbH' : 'Other BV', fiscalYear: 2024 }), 201)).json.id as string;
    const q = await byQuery(w, 'ACME GmbH');
    const carols = structuredClone(holdOf(w, x, q));
    if (wasUnder) await ok(w, { method: 'DELETE', path: `documents/${d}/legal-holds/${q}`, body: { reason: 'Over' }, as: 'alice' }, 200);
    const bobs = (await ok(w, hold(d, 'C-2', 'bob'), 201)).json.id as string;
    renamed(w, d, bobs, carols);
    const errors = jest.spyOn(w.deps.log, 'error');
    const answer = await ok(w, releaseEverywhere(q), 200);
    expect(answer.json.documentIds).toEqual([x]);
    expect(answer.json.skipped).toEqual([{ documentId: d, reason: 'hold_placement_unwitnessed' }]);
    expect(flags(w, d).every(Boolean)).toBe(true);
    expect(flags(w, x).some(Boolean)).toBe(false);
    expect(errors).toHaveBeenCalledWith(HOLD_PLACEMENT_UNWITNESSED, expect.objectContaining({ documentId: d, holdId: q }));
  });

  it('nor released alone on that document', async () => {
    const w = leads();
    await ok(w, upload({ counterparty: 'ACME GmbH', fiscalYear: 2024 }), 201);
    const x = [...w.deps.catalog.documents.values()][0]!.id;
    const d = (await ok(w, upload({ counterparty: 'Other BV', fiscalYear: 2024 }), 201)).json.id as string;
    const q = await byQuery(w, 'ACME GmbH');
    const bobs = (await ok(w, hold(d, 'C-2', 'bob'), 201)).json.id as string;
    renamed(w, d, bobs, structuredClone(holdOf(w, x, q)));
    const answer = await send(w, { method: 'DELETE', path: `documents/${d}/legal-holds/${q}`, body: { reason: 'Over' }, as: 'bob' });
    expect(answer.status).toBe(409);
    expect(flags(w, d).every(Boolean)).toBe(true);
  });

  it('releases everywhere a genuine hold by query, reached later by the reconciler, with one audit query per month and action', async () => {
    const w = leads();
    const first = [];
    for (let i = 0; i < 3; i++) first.push((await ok(w, upload({ counterparty: 'ACME GmbH', fiscalYear: 2024 }), 201)).json.id as string);
    const q = await byQuery(w, 'ACME GmbH');
    // Two months on, more of ACME's documents are archived and the reconciler reaches them.
    w.clock.advance(62 * 24 * 3600_000);
    const later = [];
    for (let i = 0; i < 3; i++) later.push((await ok(w, upload({ counterparty: 'ACME GmbH', fiscalYear: 2024 }), 201)).json.id as string);
    await extendHoldsByQuery(TENANT, { now: w.clock.now(), max: 100, actor: { subject: 'system:reconciler', kind: 'system' } }, w.deps);
    await w.deps.auditOutbox.flush();
    w.clock.advance(3600_000);
    const lists: string[] = [];
    const list = w.deps.audit.list.bind(w.deps.audit);
    w.deps.audit.list = async (tenantId, month, ...rest) => {
      lists.push(`${month} ${rest[2]?.action ?? ''}`);
      return list(tenantId, month, ...rest);
    };
    const answer = await ok(w, releaseEverywhere(q), 200);
    expect([...(answer.json.documentIds as string[])].sort()).toEqual([...first, ...later].sort());
    expect(answer.json.skipped).toEqual([]);
    for (const id of [...first, ...later]) expect(flags(w, id).some(Boolean)).toBe(false);
    // Not one per document: each month read at most once per kind of entry.
    const walks = lists.filter((l) => l.endsWith('legal-hold.place') || l.endsWith('legal-hold.release'));
    expect(new Set(walks).size).toBe(walks.length);
  });
});

/**
 * The sweep applied the uploader rule again (an approval's entry names no document: a copy onto another document passes
 * it) comparing approver and uploader only. up gives dave rights after up's uploads (dave: up's second identity, whom
 * the request path refuses as an approver of them); dave approves erin's upload; whoever can write Cosmos DB copies that
 * approval, unsealed as one from before ARCHIVE_APPROVALS_SEALED_SINCE (or with it unset) stands on its entry alone, onto
 * up's upload. Broke: the sweep disposed of it. Rights given after the approval do not count (the approver was a second
 * person when they approved).
 */
describe('the sweep refuses an approval by someone the uploader gave rights after the upload', () => {
  it.each([
    ['dave, given rights by up after the upload and before approving: kept', 'dave', true],
    ['frank, given rights by carol before approving and by up after: disposed', 'frank', false],
  ])('%s', async (_, approver, kept) => {
    const w = world();
    storedAssignment(w, 'erin', 'archivist', 'root');
    const other = (await ok(w, { ...upload({ fiscalYear: 2018, retentionClass: 'immovable-property-10y' }), as: 'erin' }, 201)).json.id as string;
    const [id] = await dueDocs(w);
    await requireApproval(w);
    await ok(w, putSet('approver', ['documents:read', 'retention:manage', 'retention:approve']));
    await ok(w, putSet('clerk', ['documents:read', 'rights:manage', 'retention:manage', 'retention:approve']));
    await ok(w, assign('up', 'clerk'));
    await ok(w, assign(approver, 'approver', kept ? 'up' : 'carol'));
    w.clock.advance(60_000);
    await ok(w, { method: 'POST', path: 'retention/approvals', body: { before: w.clock.now().toISOString(), reason: 'Annual review', documentIds: [other] }, as: approver }, 201);
    w.clock.advance(60_000);
    if (!kept) await ok(w, assign(approver, 'clerk', 'up'));
    const { keyVersion: _k, mac: _m, ...copied } = w.deps.catalog.documents.get(`${TENANT}/${other}`)!.disposalApproval!;
    const target = w.deps.catalog.documents.get(`${TENANT}/${id!}`)!;
    target.disposalApproval = { ...copied, retainUntil: target.retention.retainUntil };
    const run = await sweepNow(w);
    expect(w.deps.catalog.documents.get(`${TENANT}/${id!}`)!.status).toBe(kept ? 'active' : 'disposed');
    if (kept) expect(run.blocked.find((b) => b.documentId === id)?.reason).toMatch(/^approval-required: its approver was given rights by its uploader after the upload/);
  });
});

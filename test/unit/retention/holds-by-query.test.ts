import { BUILT_IN_RIGHTS_SETS, type Principal } from '../../../shared/kernel/principal';
import { auditOutboxItem, type AuditOutboxItem, type AuditStaging } from '../../../shared/kernel/audit';
import { assignRightsSet } from '../../../shared/auth/rights-sets/assign-rights-set';
import { putRightsSet } from '../../../shared/auth/rights-sets/put-rights-set';
import { disposalBlocker } from '../../../shared/kernel/retention-rules';
import { placeHoldsByQuery } from '../../../shared/retention/holds/place-holds-by-query';
import { releaseHoldEverywhere } from '../../../shared/retention/holds/release-hold-everywhere';
import { placeHold } from '../../../shared/retention/holds/place-hold';
import { releaseHold } from '../../../shared/retention/holds/release-hold';
import { inMemoryDeps } from '../../support/in-memory';
import { FakeClock } from '../../support/fake-clock';
import { seedMany, placeHoldWitnessed } from '../../support/seed';

const T = 'acme';
const auditor: Principal = { tenantId: T, subject: 'ann', kind: 'user', person: 'ann', rightsSet: 'auditor', permissions: new Set(['holds:place', 'documents:read']) };
const archivist: Principal = { tenantId: T, subject: 'bob', kind: 'user', person: 'bob', rightsSet: 'archivist', permissions: new Set(['holds:release']) };

async function fiscal2017(n: number) {
  const deps = inMemoryDeps();
  const docs = (await seedMany(deps, T, Array.from({ length: n }, () => ({ metadata: {}, fiscalYear: 2017 })))).sort((a, b) => a.id.localeCompare(b.id));
  // Seeding writes no manifest; ingest does, and a hold flags it too.
  for (const d of docs) await deps.blobs.putCreateOnly(T, `${d.id}/manifest.json`, Buffer.from(JSON.stringify(d)), 'application/json', { retainUntil: d.retention.retainUntil, legalHold: false }, {});
  return { deps, ids: docs.map((d) => d.id) };
}

describe('a legal hold by query over documents another request changes meanwhile', () => {
  it('passes over a match the sweep claimed after the query, and still holds every later match', async () => {
    const { deps, ids } = await fiscal2017(3);
    // The sweep claims the middle document between the hold's query and its turn.
    const matching = deps.retention.catalog.matching.bind(deps.retention.catalog);
    deps.retention.catalog.matching = async (...args) => {
      const page = await matching(...args);
      const claimed = deps.catalog.documents.get(`${T}/${ids[1]}`)!;
      deps.catalog.documents.set(`${T}/${ids[1]}`, { ...claimed, status: 'disposing' });
      return page;
    };
    const result = await placeHoldsByQuery({ principal: auditor, reason: 'tax audit', caseReference: 'FY2017', query: { fiscalYear: 2017 } }, deps);
    expect(result.documentIds).toEqual([ids[0], ids[2]]);
    expect(result.skipped).toEqual([{ documentId: ids[1], reason: 'document_disposed' }]);
    const last = deps.catalog.documents.get(`${T}/${ids[2]}`)!;
    expect(last.legalHold).toBe(true);
    // The next sweep may not dispose of it, however long its retention is over.
    expect(disposalBlocker({ ...last, retention: { ...last.retention, retainUntil: '2020-01-01T00:00:00.000Z' } }, new Date('2025-06-01T00:00:00Z'), false)).toBe('legal-hold');
  });

  it('release everywhere passes over a document whose hold another request released, and releases the rest', async () => {
    const { deps, ids } = await fiscal2017(3);
    const { holdId } = await placeHoldsByQuery({ principal: auditor, reason: 'tax audit', caseReference: 'FY2017', query: { fiscalYear: 2017 } }, deps);
    await releaseHold({ principal: archivist, documentId: ids[1]!, holdId, reason: 'released alone' }, deps);
    // The everywhere-release read its list before that: replay the race by listing the old holds.
    const held = deps.retention.catalog.held.bind(deps.retention.catalog);
    const before = await held(T, 100);
    deps.retention.catalog.held = async () => ({ ...before, items: [...before.items, { ...deps.catalog.documents.get(`${T}/${ids[1]}`)!, holds: before.items[0]!.holds }].sort((a, b) => a.id.localeCompare(b.id)) });
    const result = await releaseHoldEverywhere({ principal: archivist, holdId, reason: 'audit closed' }, deps);
    expect(result.documentIds).toEqual([ids[0], ids[2]]);
    expect(result.skipped).toEqual([{ documentId: ids[1], reason: 'hold_already_released' }]);
    for (const id of ids) expect(deps.catalog.documents.get(`${T}/${id}`)!.legalHold).toBe(false);
  });

  it('release everywhere checks four eyes on every document before it releases any', async () => {
    const { deps, ids } = await fiscal2017(2);
    // One hold id, placed on the first document by Bob and on the second by Ann: Ann may release only Bob's.
    const holdId = '0190aaaa-0000-7000-8000-00000000abcd';
    await placeHoldWitnessed({ principal: { ...auditor, subject: 'bob', person: 'bob' }, documentId: ids[0]!, holdId, reason: 'r', caseReference: 'c' }, deps);
    await placeHoldWitnessed({ principal: auditor, documentId: ids[1]!, holdId, reason: 'r', caseReference: 'c' }, deps);
    // Two single-document placements of one id (no request makes them; a Cosmos DB edit does) are refused before four
    // eyes: the witness found places it on one document only (placement-witness.ts, round13-attacks.test.ts).
    await expect(releaseHoldEverywhere({ principal: { ...archivist, subject: 'ann', person: 'ann' }, holdId, reason: 'r' }, deps)).rejects.toMatchObject({ code: 'hold_placement_unwitnessed' });
    expect(ids.map((id) => deps.catalog.documents.get(`${T}/${id}`)!.legalHold)).toEqual([true, true]);
  });
});

describe('a disposal approval and a later legal hold', () => {
  it('the hold withdraws the approval: after its release the document needs a new review before the sweep may dispose of it', async () => {
    const { deps, ids } = await fiscal2017(1);
    const key = `${T}/${ids[0]}`;
    const doc = deps.catalog.documents.get(key)!;
    const over = { ...doc.retention, retainUntil: '2025-01-01T00:00:00.000Z' };
    deps.catalog.documents.set(key, { ...doc, retention: over, disposalApproval: { approvalId: '0190aaaa-0000-7000-8000-00000000a001', retainUntil: over.retainUntil, approvedAt: '2025-02-01T00:00:00.000Z', approvedBy: { subject: 'cy', kind: 'user', person: 'cy' }, reason: 'reviewed' } });
    const now = new Date('2025-06-01T00:00:00Z');
    expect(disposalBlocker(deps.catalog.documents.get(key)!, now, true)).toBeNull();
    const details: (string | undefined)[] = [];
    let stored: AuditOutboxItem | undefined;
    const staging: AuditStaging = {
      item: (target, detail) => {
        details.push(detail);
        return auditOutboxItem([{ tenantId: T, at: deps.clock.now().toISOString(), actor: { subject: 'ann', kind: 'user', person: 'ann' }, action: 'legal-hold.place', target: target ?? null, outcome: 'success', status: 201, requestId: 'r', clientIp: null, userAgent: null, ...(detail ? { detail } : {}) }]);
      },
      stored: (item) => void (stored = item),
    };
    const hold = await placeHold({ principal: auditor, documentId: ids[0]!, reason: 'dispute', caseReference: 'D-1', audit: staging }, deps);
    // Appended, as the route's is: the release judges four eyes by it.
    await deps.auditOutbox.releaseNow(stored!);
    // What the hold withdrew stays readable: on the hold (the approval's own entry names no documents) and in its entry.
    expect(hold.withdrewDisposalApproval).toMatchObject({ approvalId: '0190aaaa-0000-7000-8000-00000000a001', approvedBy: { subject: 'cy' }, reason: 'reviewed' });
    expect(deps.catalog.documents.get(key)!.holds![0]!.withdrewDisposalApproval?.approvalId).toBe('0190aaaa-0000-7000-8000-00000000a001');
    expect(details).toEqual([`hold=${hold.id};approval-withdrawn=0190aaaa-0000-7000-8000-00000000a001`]);
    await releaseHold({ principal: archivist, documentId: ids[0]!, holdId: hold.id, reason: 'settled' }, deps);
    expect(deps.catalog.documents.get(key)!.disposalApproval).toBeUndefined();
    expect(disposalBlocker(deps.catalog.documents.get(key)!, now, true)).toBe('approval-required');
  });
});

describe('four eyes on a hold\'s release, for the person behind the second identity', () => {
  it('someone the placer gave rights to after placing the hold cannot release it; someone assigned before can', async () => {
    const { deps: base, ids } = await fiscal2017(1);
    const clock = new FakeClock('2025-03-01T12:00:00Z');
    const deps = { ...base, clock };
    const admin: Principal = { tenantId: T, subject: 'ann', kind: 'user', person: 'ann', rightsSet: 'tenant-admin', permissions: new Set(BUILT_IN_RIGHTS_SETS['tenant-admin']) };
    clock.set('2025-03-01T12:00:00Z');
    await assignRightsSet(admin, 'bob', 'accountant', clock.now(), deps);
    clock.set('2025-03-02T12:00:00Z');
    const hold = await placeHoldWitnessed({ principal: auditor, documentId: ids[0]!, reason: 'dispute', caseReference: 'D-2' }, deps);
    clock.set('2025-03-03T12:00:00Z');
    await assignRightsSet(admin, 'ann-guest', 'accountant', clock.now(), deps);
    const guest: Principal = { ...archivist, subject: 'ann-guest', person: 'ann-guest' };
    await expect(releaseHold({ principal: guest, documentId: ids[0]!, holdId: hold.id, reason: 'r' }, deps)).rejects.toMatchObject({ code: 'four_eyes_required' });
    await expect(releaseHoldEverywhere({ principal: guest, holdId: hold.id, reason: 'r' }, deps)).rejects.toMatchObject({ code: 'four_eyes_required' });
    expect((await releaseHold({ principal: archivist, documentId: ids[0]!, holdId: hold.id, reason: 'settled' }, deps)).releasedAt).toBeDefined();
  });
});

describe('four eyes on a hold\'s release, through a chain of identities', () => {
  it('someone given rights by a person the placer gave rights to after placing the hold cannot release it', async () => {
    const { deps: base, ids } = await fiscal2017(1);
    const clock = new FakeClock('2025-03-02T12:00:00Z');
    const deps = { ...base, clock };
    const hold = await placeHoldWitnessed({ principal: auditor, documentId: ids[0]!, reason: 'dispute', caseReference: 'D-4' }, deps);
    clock.set('2025-03-03T12:00:00Z');
    const admin = (subject: string): Principal => ({ tenantId: T, subject, kind: 'user', person: subject, rightsSet: 'tenant-admin', permissions: new Set(BUILT_IN_RIGHTS_SETS['tenant-admin']) });
    await assignRightsSet(admin('ann'), 'ann-guest', 'tenant-admin', clock.now(), deps);
    await assignRightsSet(admin('ann-guest'), 'ann-guest-2', 'accountant', clock.now(), deps);
    const third: Principal = { ...archivist, subject: 'ann-guest-2', person: 'ann-guest-2' };
    // The refusal names who made the releaser no second person, as the other four-eyes refusals do.
    await expect(releaseHold({ principal: third, documentId: ids[0]!, holdId: hold.id, reason: 'r' }, deps)).rejects.toMatchObject({ code: 'four_eyes_required', extensions: { approverRightsGivenBy: 'ann', approverRightsGivenThrough: expect.stringContaining('ann-guest') } });
    await expect(releaseHoldEverywhere({ principal: third, holdId: hold.id, reason: 'r' }, deps)).rejects.toMatchObject({ code: 'four_eyes_required' });
    expect(deps.catalog.documents.get(`${T}/${ids[0]}`)!.legalHold).toBe(true);
  });
});

describe('four eyes on a hold\'s release, when the placer widens the rights set of someone assigned before', () => {
  it('the placer adding holds:release to that set after placing the hold makes its holder no second person', async () => {
    const { deps: base, ids } = await fiscal2017(1);
    const clock = new FakeClock('2025-03-01T12:00:00Z');
    const deps = { ...base, clock };
    const admin: Principal = { tenantId: T, subject: 'ann', kind: 'user', person: 'ann', rightsSet: 'tenant-admin', permissions: new Set(BUILT_IN_RIGHTS_SETS['tenant-admin']) };
    await putRightsSet(admin, 'viewers', ['documents:read'], clock.now(), deps);
    await assignRightsSet(admin, 'ann-guest', 'viewers', clock.now(), deps);
    clock.set('2025-03-02T12:00:00Z');
    const hold = await placeHoldWitnessed({ principal: auditor, documentId: ids[0]!, reason: 'dispute', caseReference: 'D-3' }, deps);
    clock.set('2025-03-03T12:00:00Z');
    await putRightsSet(admin, 'viewers', ['documents:read', 'holds:release'], clock.now(), deps);
    const guest: Principal = { tenantId: T, subject: 'ann-guest', kind: 'user', person: 'ann-guest', rightsSet: 'viewers', permissions: new Set(['documents:read', 'holds:release']) };
    await expect(releaseHold({ principal: guest, documentId: ids[0]!, holdId: hold.id, reason: 'r' }, deps)).rejects.toMatchObject({ code: 'four_eyes_required' });
    await expect(releaseHoldEverywhere({ principal: guest, holdId: hold.id, reason: 'r' }, deps)).rejects.toMatchObject({ code: 'four_eyes_required' });
    expect(deps.catalog.documents.get(`${T}/${ids[0]}`)!.legalHold).toBe(true);
  });
});

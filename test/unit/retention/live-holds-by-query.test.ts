/**
 * A hold by query holds what its query matches while it is open, not only what matched when it was placed: a tax
 * audit's hold on fiscal year 2017 must keep a receipt of 2017 archived a month later, and one corrected into 2017.
 * Before, the hold was a snapshot: such a receipt, its retention already over (a late scan of an old year), was
 * disposed of by the next sweep while the audit it belongs to was open.
 */
import type { Principal } from '../../../shared/kernel/principal';
import { blobLayout } from '../../../shared/kernel/blob-layout';
import { holdByQueryRecordId, placeHoldsByQuery } from '../../../shared/retention/holds/place-holds-by-query';
import { releaseHoldEverywhere } from '../../../shared/retention/holds/release-hold-everywhere';
import { releaseHold } from '../../../shared/retention/holds/release-hold';
import { extendHoldsByQuery } from '../../../shared/retention/holds/extend-holds-by-query';
import { reconcile, RECONCILE_ACTOR } from '../../../shared/retention/reconcile';
import { sweep } from '../../../shared/retention/sweep';
import { listDueDocuments } from '../../../shared/retention/list-due-documents';
import { correctMetadata } from '../../../shared/documents/correct-metadata';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory';
import { loadConfig } from '../../../shared/config';
import { minimalLocalEnv } from '../../support/config-env';
import { requestStaging, seedDocument, seedDueDocument } from '../../support/seed';

const T = 'acme';
const auditor: Principal = { tenantId: T, subject: 'ann', kind: 'user', person: 'ann', rightsSet: 'auditor', permissions: new Set(['holds:place', 'documents:read']) };
const archivist: Principal = { tenantId: T, subject: 'bob', kind: 'user', person: 'bob', rightsSet: 'archivist', permissions: new Set(['holds:release']) };
const OVER = '2025-01-01T00:00:00.000Z';
const NOW = new Date('2025-06-01T00:00:00Z');
const FY2017 = { reason: 'tax audit', caseReference: 'FA-2017', query: { fiscalYear: 2017 } };

const doc = (deps: InMemoryDeps, id: string) => deps.catalog.documents.get(`${T}/${id}`)!;
const sweepNow = (deps: InMemoryDeps) => sweep({ now: NOW, budget: { maxItems: 100, maxMillis: 60_000 }, continuation: null, concurrency: 1 }, deps);
/** A document of `fiscalYear`, with the manifest ingest writes (a hold flags it too). */
async function archived(deps: InMemoryDeps, fiscalYear: number) {
  const d = await seedDocument(deps, T, { metadata: {}, fiscalYear });
  await deps.blobs.putCreateOnly(T, blobLayout.manifest(d.id), Buffer.from(JSON.stringify(d)), 'application/json', { retainUntil: d.retention.retainUntil, legalHold: false }, {});
  return d;
}
const extend = (deps: InMemoryDeps) => extendHoldsByQuery(T, { now: NOW, max: 100, actor: RECONCILE_ACTOR }, deps);

async function heldYear() {
  const deps = inMemoryDeps();
  const first = await seedDueDocument(deps, T, OVER);
  const placed = await placeHoldsByQuery({ principal: auditor, ...FY2017 }, deps);
  expect(placed.documentIds).toEqual([first.id]);
  return { deps, holdId: placed.holdId, first: first.id };
}

describe('an open hold by query reaches documents archived into its query later', () => {
  it('the reconciler gives a late receipt of the year the hold as placed (placer, placing, why), flags its blobs and audits it as its own', async () => {
    const { deps, holdId } = await heldYear();
    const late = await seedDueDocument(deps, T, OVER);
    const other = await archived(deps, 2018);
    const result = await reconcile({ now: NOW, maxItems: 100, continuation: null }, deps);
    expect(result.holdsExtended).toEqual([{ tenantId: T, documentId: late.id, holdId }]);
    const hold = doc(deps, late.id).holds!.find((h) => h.id === holdId)!;
    expect(hold).toMatchObject({ reason: 'tax audit', caseReference: 'FA-2017', placedBy: { subject: 'ann' }, query: { fiscalYear: 2017 }, extendedAt: NOW.toISOString() });
    expect(hold.placedAt < NOW.toISOString()).toBe(true);
    expect(doc(deps, late.id).legalHold).toBe(true);
    expect(deps.blobs.blobs.get(`${T}/${late.original.blobName}`)!.worm.legalHold).toBe(true);
    expect(doc(deps, other.id).holds ?? []).toEqual([]);
    expect(deps.audit.entries.filter((e) => e.target === late.id)).toMatchObject([{ action: 'legal-hold.place', actor: { subject: 'system:reconciler' }, detail: `hold=${holdId};extended` }]);
    // A second run has nothing to do: the hold is on it, once.
    expect(await extend(deps)).toEqual([]);
    expect(doc(deps, late.id).holds!.filter((h) => h.id === holdId)).toHaveLength(1);
  });

  it('before the reconciler reaches it, the sweep keeps a due document the open hold matches (and the disposal review says why)', async () => {
    const { deps } = await heldYear();
    const late = await seedDueDocument(deps, T, OVER);
    const unheld = { ...(await seedDueDocument(deps, T, OVER)) };
    deps.catalog.documents.set(`${T}/${unheld.id}`, { ...doc(deps, unheld.id), fiscalYear: 2016 });
    const review = await listDueDocuments(T, { before: NOW.toISOString(), limit: 50 }, deps);
    expect(review.items.find((i) => i.id === late.id)).toMatchObject({ legalHold: true, blockedBy: 'legal-hold' });
    expect(review.items.find((i) => i.id === unheld.id)).toMatchObject({ legalHold: false, blockedBy: null });
    const result = await sweepNow(deps);
    expect(result.blocked).toContainEqual({ tenantId: T, documentId: late.id, reason: 'legal-hold' });
    expect(result.disposed).toEqual([`${T}/${unheld.id}`]);
    expect(doc(deps, late.id).status).toBe('active');
    expect(deps.blobs.blobs.has(`${T}/${late.original.blobName}`)).toBe(true);
  });

  it('a document corrected into the query is reached; one corrected out of it before the run is not', async () => {
    const { deps, holdId, first } = await heldYear();
    const into = await archived(deps, 2018);
    deps.catalog.documents.set(`${T}/${into.id}`, { ...doc(deps, into.id), fiscalYear: 2017 });
    const outOf = await archived(deps, 2017);
    // Read by the run's query, corrected out of the year before its turn.
    const matchingNotUnder = deps.retention.catalog.matchingNotUnder.bind(deps.retention.catalog);
    deps.retention.catalog.matchingNotUnder = async (...args) => {
      const batch = await matchingNotUnder(...args);
      deps.catalog.documents.set(`${T}/${outOf.id}`, { ...doc(deps, outOf.id), fiscalYear: 2019 });
      return batch;
    };
    expect((await extend(deps)).map((e) => e.documentId)).toEqual([into.id]);
    expect(doc(deps, outOf.id).holds ?? []).toEqual([]);
    // The document held when the hold was placed keeps it when corrected out of the year: a hold is never lifted by a correction.
    deps.catalog.documents.set(`${T}/${first}`, { ...doc(deps, first), fiscalYear: 2019 });
    await extend(deps);
    expect(doc(deps, first).holds!.find((h) => h.id === holdId)!.releasedAt).toBeUndefined();
  });
});

describe('a correction never takes a document out of an open hold by query', () => {
  it('a receipt archived into the hold and corrected out of it before the reconciler came by is held first, then corrected', async () => {
    const { deps, holdId } = await heldYear();
    const late = await archived(deps, 2017);
    const accountant: Principal = { tenantId: T, subject: 'cas', kind: 'user', person: 'cas', rightsSet: 'accountant', permissions: new Set(['documents:correct', 'documents:read']) };
    const { document } = await correctMetadata({ principal: accountant, documentId: late.id, patch: { fiscalYear: 2018 }, reason: 'wrong year', ifMatch: 1 }, deps);
    expect(document.fiscalYear).toBe(2018);
    expect(document.holds).toMatchObject([{ id: holdId, placedBy: { subject: 'ann' }, extendedAt: expect.any(String) }]);
    expect(document.legalHold).toBe(true);
    expect(deps.audit.entries.filter((e) => e.target === late.id && e.action === 'legal-hold.place').map((e) => [e.actor.subject, e.detail])).toEqual([['system:legal-hold-by-query', `hold=${holdId};extended`]]);
    // Out of the year now: the reconciler does not take the hold away, nor place it twice.
    expect(await extend(deps)).toEqual([]);
    expect(doc(deps, late.id).holds).toHaveLength(1);
  });
});

describe('a correction into an open hold by query', () => {
  it('holds the document at once, withdrawing the disposal approval it carried: a release everywhere before the reconciler came by leaves it for review', async () => {
    const { deps, holdId } = await heldYear();
    const other = await seedDueDocument(deps, T, OVER);
    deps.catalog.documents.set(`${T}/${other.id}`, { ...doc(deps, other.id), fiscalYear: 2016, metadata: { fiscalYear: 2016 }, disposalApproval: { approvalId: 'ap-1', approvedAt: '2024-12-01T00:00:00.000Z', approvedBy: { subject: 'bob', kind: 'user' }, reason: 'review', retainUntil: OVER } });
    const accountant: Principal = { tenantId: T, subject: 'cas', kind: 'user', person: 'cas', rightsSet: 'accountant', permissions: new Set(['documents:correct', 'documents:read']) };
    const { document } = await correctMetadata({ principal: accountant, documentId: other.id, patch: { fiscalYear: 2017 }, reason: 'it is a 2017 receipt', ifMatch: 1 }, deps);
    expect(document.holds).toMatchObject([{ id: holdId, withdrewDisposalApproval: { approvalId: 'ap-1' } }]);
    expect(document.disposalApproval).toBeUndefined();
    await releaseHoldEverywhere({ principal: archivist, holdId, reason: 'audit closed' }, deps);
    expect(doc(deps, other.id).disposalApproval).toBeUndefined();
  });
});

describe('releases of a live hold', () => {
  it('a document released from it alone (four eyes) stays released and may be disposed of; the hold still reaches new documents', async () => {
    const { deps, holdId, first } = await heldYear();
    await releaseHold({ principal: archivist, documentId: first, holdId, reason: 'a private receipt, not the business' }, deps);
    const late = await seedDueDocument(deps, T, OVER);
    expect((await extend(deps)).map((e) => e.documentId)).toEqual([late.id]);
    expect(doc(deps, first).holds!.find((h) => h.id === holdId)!.releasedAt).toBeDefined();
    const result = await sweepNow(deps);
    expect(result.disposed).toEqual([`${T}/${first}`]);
    expect(doc(deps, late.id).status).toBe('active');
  });

  it('released everywhere, it reaches nothing more and keeps nothing from the sweep', async () => {
    const { deps, holdId } = await heldYear();
    await releaseHoldEverywhere({ principal: archivist, holdId, reason: 'audit closed' }, deps);
    const late = await seedDueDocument(deps, T, OVER);
    expect(await extend(deps)).toEqual([]);
    expect((await sweepNow(deps)).disposed).toHaveLength(2);
    expect(doc(deps, late.id).holds ?? []).toEqual([]);
  });

  it('a hold on a year with no document yet is open (it holds the first one archived) and is released everywhere by four eyes', async () => {
    const deps = inMemoryDeps();
    // As the route places it: its own entry, which the release judges four eyes by, names the placer.
    const request = requestStaging(deps, auditor, 'legal-hold.place-by-query');
    const placed = await placeHoldsByQuery({ principal: auditor, ...FY2017, audit: request.staging }, deps);
    await request.appended();
    expect(placed.documentIds).toEqual([]);
    await expect(releaseHoldEverywhere({ principal: auditor, holdId: placed.holdId, reason: 'mine' }, deps)).rejects.toMatchObject({ code: 'four_eyes_required' });
    const late = await seedDueDocument(deps, T, OVER);
    // Reached by the clock's now: the release reads the hold's entries up to now (its entry shows the hold reached the document).
    expect((await extendHoldsByQuery(T, { now: deps.clock.now(), max: 100, actor: RECONCILE_ACTOR }, deps)).map((e) => e.documentId)).toEqual([late.id]);
    await releaseHoldEverywhere({ principal: archivist, holdId: placed.holdId, reason: 'audit closed' }, deps);
    expect(doc(deps, late.id).legalHold).toBe(false);
    await expect(releaseHoldEverywhere({ principal: archivist, holdId: placed.holdId, reason: 'again' }, deps)).rejects.toMatchObject({ code: 'hold_not_found' });
  });

  it('a release everywhere made while the reconciler extends the hold leaves no document under it', async () => {
    const { deps, holdId } = await heldYear();
    const late = await seedDueDocument(deps, T, OVER);
    // The run reads the hold open and the document to reach; the release everywhere goes over the documents carrying it before the run's placing.
    const matchingNotUnder = deps.retention.catalog.matchingNotUnder.bind(deps.retention.catalog);
    let released = false;
    deps.retention.catalog.matchingNotUnder = async (...args) => {
      const batch = await matchingNotUnder(...args);
      if (!released) {
        released = true;
        await releaseHoldEverywhere({ principal: archivist, holdId, reason: 'audit closed' }, deps);
      }
      return batch;
    };
    await extend(deps);
    const hold = doc(deps, late.id).holds!.find((h) => h.id === holdId)!;
    expect(hold).toMatchObject({ releasedBy: { subject: 'bob' }, releaseReason: 'audit closed' });
    expect(doc(deps, late.id).legalHold).toBe(false);
    expect(deps.blobs.blobs.get(`${T}/${blobLayout.manifest(late.id)}`)!.worm.legalHold).toBe(false);
    expect(deps.audit.entries.filter((e) => e.target === late.id).map((e) => [e.action, e.detail])).toEqual([
      ['legal-hold.place', `hold=${holdId};extended`],
      ['legal-hold.release', `hold=${holdId};released-everywhere`],
    ]);
  });

  it('a retry of the placing (its answer lost) racing the release everywhere leaves no document under it either', async () => {
    const deps = inMemoryDeps();
    await seedDueDocument(deps, T, OVER);
    const placed = await placeHoldsByQuery({ principal: auditor, ...FY2017, idempotencyKey: 'fy2017' }, deps);
    const late = await seedDueDocument(deps, T, OVER);
    // The retry reads the hold's record open; the release everywhere goes by before the retry places anything.
    const get = deps.tenantRecords.get.bind(deps.tenantRecords);
    deps.tenantRecords.get = (async (...args: Parameters<typeof get>) => {
      const found = await get(...args);
      deps.tenantRecords.get = get;
      await releaseHoldEverywhere({ principal: archivist, holdId: placed.holdId, reason: 'audit closed' }, deps);
      return found;
    }) as typeof get;
    await placeHoldsByQuery({ principal: auditor, ...FY2017, idempotencyKey: 'fy2017' }, deps);
    expect(doc(deps, late.id).holds!.find((h) => h.id === placed.holdId)).toMatchObject({ releasedBy: { subject: 'bob' }, releaseReason: 'audit closed' });
    expect(doc(deps, late.id).legalHold).toBe(false);
    // Placed by the retry (its own entry on the document), then released as everywhere.
    expect(deps.audit.entries.filter((e) => e.target === late.id).map((e) => [e.action, e.actor.subject])).toEqual([['legal-hold.place', 'ann'], ['legal-hold.release', 'system:legal-hold-by-query']]);
  });
});

describe('a tenant\'s open holds by query are bounded', () => {
  it('one more than ARCHIVE_MAX_OPEN_HOLDS_BY_QUERY is refused (409 tenant_limit_reached, nothing made); a release everywhere makes room; a keyed retry is no new one', async () => {
    const deps = inMemoryDeps(loadConfig({ ...minimalLocalEnv, ARCHIVE_MAX_OPEN_HOLDS_BY_QUERY: '2' }));
    const request = requestStaging(deps, auditor, 'legal-hold.place-by-query');
    const first = await placeHoldsByQuery({ principal: auditor, ...FY2017, idempotencyKey: 'first', audit: request.staging }, deps);
    await request.appended();
    await placeHoldsByQuery({ principal: auditor, reason: 'dispute', caseReference: 'D-1', query: { counterparty: 'ACME GmbH' } }, deps);
    await expect(placeHoldsByQuery({ principal: auditor, reason: 'audit', caseReference: 'FA-2016', query: { fiscalYear: 2016 } }, deps)).rejects.toMatchObject({ code: 'tenant_limit_reached', extensions: { what: 'holds-by-query', limit: 2, count: 2 } });
    expect(deps.tenantRecords.stored(T, 'legal-hold-by-query')).toHaveLength(2);
    // Its retry answers the hold already made.
    expect((await placeHoldsByQuery({ principal: auditor, ...FY2017, idempotencyKey: 'first' }, deps)).holdId).toBe(first.holdId);
    await releaseHoldEverywhere({ principal: archivist, holdId: first.holdId, reason: 'audit closed' }, deps);
    await expect(placeHoldsByQuery({ principal: auditor, reason: 'audit', caseReference: 'FA-2016', query: { fiscalYear: 2016 } }, deps)).resolves.toMatchObject({ documentIds: [] });
  });

  it('placed at once into the last room, one is made and the rest refused: each counts under the gate the others move', async () => {
    const deps = inMemoryDeps(loadConfig({ ...minimalLocalEnv, ARCHIVE_MAX_OPEN_HOLDS_BY_QUERY: '2' }));
    await placeHoldsByQuery({ principal: auditor, ...FY2017 }, deps);
    const years = [2012, 2013, 2014, 2015];
    const placed = await Promise.allSettled(years.map((fiscalYear) => placeHoldsByQuery({ principal: auditor, reason: 'audit', caseReference: `FA-${fiscalYear}`, query: { fiscalYear } }, deps)));
    expect(placed.filter((p) => p.status === 'fulfilled')).toHaveLength(1);
    for (const p of placed.filter((x): x is PromiseRejectedResult => x.status === 'rejected')) expect(p.reason).toMatchObject({ code: 'tenant_limit_reached' });
    expect(deps.tenantRecords.stored(T, 'legal-hold-by-query')).toHaveLength(2);
  });
});

describe('a release in a shape no release writes is no release (isReleased), for holds by query and for a document\'s hold', () => {
  const YEAR = 365 * 86_400_000;
  // Broke: a hold by query was open only while its record had no `releasedAt` field at all (the query asked nothing
  // more), so one restored or edited to null, '' or a time far ahead stopped holding: the sweep disposed of the late
  // receipts it had yet to reach, and the reconciler extended it no further.
  it.each<[string, (now: number) => unknown]>([
    ['null', () => null],
    ['empty text', () => ''],
    ['text that is no instant', () => 'soon'],
    ['a number', () => 0],
    ['a year ahead', (now) => new Date(now + YEAR).toISOString()],
  ])('a hold by query released %s: still open, the sweep keeps what it has yet to reach', async (_name, releasedAt) => {
    const { deps, holdId } = await heldYear();
    const record = deps.tenantRecords.records.get(`${T}/${holdByQueryRecordId(holdId)}`)!.value as unknown as Record<string, unknown>;
    record.releasedAt = releasedAt(deps.clock.now().getTime());
    const late = await seedDueDocument(deps, T, OVER);
    expect((await sweepNow(deps)).blocked).toContainEqual({ tenantId: T, documentId: late.id, reason: 'legal-hold' });
    expect(doc(deps, late.id).status).toBe('active');
    expect(await extend(deps)).toEqual([{ tenantId: T, documentId: late.id, holdId }]);
  });

  it('control: a hold by query released at a readable time holds nothing new', async () => {
    const { deps, holdId } = await heldYear();
    const record = deps.tenantRecords.records.get(`${T}/${holdByQueryRecordId(holdId)}`)!.value as unknown as Record<string, unknown>;
    record.releasedAt = new Date(deps.clock.now().getTime() - 60_000).toISOString();
    const late = await seedDueDocument(deps, T, OVER);
    expect((await sweepNow(deps)).disposed).toEqual([`${T}/${late.id}`]);
  });

  // Broke: a document's hold with a `releasedAt` that is no instant was held (isHeld) and could not be released: the
  // release answered `hold_already_released`, so nobody could ever end it.
  it('a document\'s hold whose releasedAt is no instant is held, and can be released', async () => {
    const { deps, holdId, first } = await heldYear();
    const stored = doc(deps, first);
    deps.catalog.documents.set(`${T}/${first}`, { ...stored, legalHold: false, holds: stored.holds!.map((h) => ({ ...h, releasedAt: 'soon' })) });
    expect((await sweepNow(deps)).blocked).toContainEqual({ tenantId: T, documentId: first, reason: 'legal-hold' });
    const released = await releaseHold({ principal: archivist, documentId: first, holdId, reason: 'the audit is closed' }, deps);
    expect(released.releasedAt).toBe(deps.clock.now().toISOString());
    expect(doc(deps, first).holds!.find((h) => h.id === holdId)!.releasedAt).toBe(deps.clock.now().toISOString());
  });
});

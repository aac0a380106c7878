/**
 * One document's catalog item grown until Cosmos DB refuses it (2 MB), by someone holding the rights to add to its
 * history: corrections of the longest metadata, legal holds placed and released, retention extended a second at a time.
 * Past that limit the document took no write at all (no hold, no release, no disposal), and the sweep, which stopped at
 * a document it could not claim, stopped there every run for every tenant behind it. Texts are in three-byte characters
 * ('€'), the most UTF-8 bytes per UTF-16 unit that the API's length limits count.
 */
import { correctMetadata, MAX_CORRECTIONS } from '../../../shared/documents/correct-metadata';
import { extendRetention } from '../../../shared/retention/extend-retention';
import { MAX_HOLDS } from '../../../shared/retention/holds/place-hold';
import { releaseHold } from '../../../shared/retention/holds/release-hold';
import { placeHoldsByQuery } from '../../../shared/retention/holds/place-holds-by-query';
import { HOLD_NOT_EXTENDED } from '../../../shared/retention/holds/extend-holds-by-query';
import { reconcile } from '../../../shared/retention/reconcile';
import { sweep } from '../../../shared/retention/sweep';
import { DOCUMENT_RECORD_ROOM } from '../../../shared/retention/update';
import { DOCUMENT_CHECK_FAILED } from '../../../shared/retention/unchecked';
import { ArchiveError, type ErrorCode } from '../../../shared/kernel/errors';
import type { ArchivedDocument } from '../../../shared/kernel/document';
import { blobLayout } from '../../../shared/kernel/blob-layout';
import type { Principal } from '../../../shared/kernel/principal';
import { inMemoryDeps, type InMemoryDeps, type RecordingLogger } from '../../support/in-memory';
import { seedDocument, seedDueDocument, placeHoldWitnessed } from '../../support/seed';

const T = 'acme';
const COSMOS_ITEM_LIMIT = 2 * 1024 * 1024;
const wide = (n: number, salt = '') => (salt + '€'.repeat(n)).slice(0, n);
const who = (subject: string, permissions: string[]) => ({ tenantId: T, subject, kind: 'user', person: subject, rightsSet: 'x', permissions: new Set(permissions) }) as unknown as Principal;
const alice = who('alice', ['holds:place', 'holds:release', 'documents:correct', 'retention:extend', 'documents:read']);
const bob = who('bob', ['holds:place', 'holds:release', 'documents:correct', 'retention:extend', 'documents:read']);

const stored = (deps: InMemoryDeps, id: string, tenantId = T): ArchivedDocument => deps.catalog.documents.get(`${tenantId}/${id}`)!;
const bytesOf = (doc: ArchivedDocument) => Buffer.byteLength(JSON.stringify(doc));
const refusal = (p: Promise<unknown>): Promise<ErrorCode | 'accepted'> =>
  p.then(
    () => 'accepted' as const,
    (err: unknown) => {
      if (err instanceof ArchiveError) return err.code;
      throw err;
    },
  );

/** Widest metadata the API takes, different at every version so each correction changes every text field. */
const widest = (v: number) => ({ counterparty: wide(200, `c${v}`), reference: wide(200, `r${v}`), tags: Array.from({ length: 20 }, (_, i) => wide(50, `t${v}-${i}-`)) });
let current: InMemoryDeps;
/** A hold with the longest reason and case reference. */
const hold = (principal: Principal, documentId: string, n: number) => placeHoldWitnessed({ principal, documentId, reason: wide(500, `h${n}`), caseReference: wide(200, `c${n}`) }, current);

beforeEach(() => {
  current = inMemoryDeps();
});

describe('legal holds on one document', () => {
  it(`the ${MAX_HOLDS + 1}st is refused 409 too_many_holds and changes nothing; every one of them can still be released, and the document disposed of`, async () => {
    const deps = current;
    const doc = await seedDueDocument(deps, T, '2025-03-01T00:00:00.000Z');
    const holds = [];
    for (let n = 0; n < MAX_HOLDS; n++) holds.push(await hold(n % 2 ? alice : bob, doc.id, n));
    const before = stored(deps, doc.id);
    expect(await refusal(hold(alice, doc.id, MAX_HOLDS))).toBe('too_many_holds');
    expect(stored(deps, doc.id)).toEqual(before);
    // Four eyes: each released by the other person, with the longest reason.
    for (const [n, h] of holds.entries()) await releaseHold({ principal: n % 2 ? bob : alice, documentId: doc.id, holdId: h.id, reason: wide(500, `r${n}`) }, deps);
    expect(bytesOf(stored(deps, doc.id))).toBeLessThan(COSMOS_ITEM_LIMIT);
    // Released and kept: still the document's history, and still counted.
    expect(await refusal(hold(alice, doc.id, MAX_HOLDS))).toBe('too_many_holds');
    const swept = await sweep({ now: new Date('2025-03-02T00:00:00.000Z'), budget: { maxItems: 10, maxMillis: 3_600_000 }, continuation: null }, deps);
    expect(swept.disposed).toEqual([`${T}/${doc.id}`]);
  });

  it('an open hold by query passes over a full document (named in its answer), the reconciler tells an operator without stopping, the sweep keeps it, and a correction that could take it out of the query is refused', async () => {
    const deps = current;
    const log = deps.log as RecordingLogger;
    const doc = await seedDueDocument(deps, T, '2025-03-01T00:00:00.000Z');
    await correctMetadata({ principal: alice, documentId: doc.id, patch: { counterparty: 'Acme B.V.' }, reason: 'named', ifMatch: 1 }, deps);
    for (let n = 0; n < MAX_HOLDS; n++) await releaseHold({ principal: bob, documentId: doc.id, holdId: (await hold(alice, doc.id, n)).id, reason: 'done' }, deps);
    const byQuery = await placeHoldsByQuery({ principal: alice, reason: 'dispute', caseReference: 'D-1', query: { counterparty: 'acme b.v.' } }, deps);
    expect(byQuery.skipped).toEqual([{ documentId: doc.id, reason: 'too_many_holds' }]);

    const reconciled = await reconcile({ now: new Date('2025-03-02T00:00:00.000Z'), maxItems: 100, continuation: null }, deps);
    expect(reconciled.unchecked).toEqual([]);
    expect(log.lines.filter((l) => l.message === HOLD_NOT_EXTENDED).map((l) => l.fields?.documentId)).toEqual([doc.id]);
    expect(HOLD_NOT_EXTENDED).toContain(DOCUMENT_CHECK_FAILED); // the operators' alert on it
    const swept = await sweep({ now: new Date('2025-03-02T00:00:00.000Z'), budget: { maxItems: 10, maxMillis: 3_600_000 }, continuation: null }, deps);
    expect(swept.disposed).toEqual([]);

    const before = stored(deps, doc.id);
    expect(await refusal(correctMetadata({ principal: alice, documentId: doc.id, patch: { counterparty: 'Other N.V.' }, reason: 'relabel', ifMatch: 2 }, deps))).toBe('too_many_holds');
    expect(stored(deps, doc.id)).toEqual(before);
  });
});

describe('what people add to a document\'s history stops at DOCUMENT_RECORD_ROOM, what must follow still fits', () => {
  it('the longest corrections, then holds, then extensions, are refused 409 document_record_full past the room; releases and the disposal still go through under 2 MB', async () => {
    const deps = current;
    const doc = await seedDocument(deps, T, { metadata: {} });
    await deps.blobs.putCreateOnly(T, blobLayout.manifest(doc.id), Buffer.from('{}'), 'application/json', { retainUntil: doc.retention.retainUntil, legalHold: false }, {});
    let corrections = 0;
    let refusedCorrection: ErrorCode | 'accepted' = 'accepted';
    while (refusedCorrection === 'accepted' && corrections <= MAX_CORRECTIONS) {
      refusedCorrection = await refusal(correctMetadata({ principal: alice, documentId: doc.id, patch: widest(corrections), reason: wide(500, `why${corrections}`), ifMatch: corrections + 1 }, deps));
      if (refusedCorrection === 'accepted') corrections++;
    }
    // Corrections alone come near the room; then holds fill it.
    expect(bytesOf(stored(deps, doc.id))).toBeGreaterThan(DOCUMENT_RECORD_ROOM * 0.8);
    const holds = [];
    let refusedHold: ErrorCode | 'accepted' = 'accepted';
    while (refusedHold === 'accepted') {
      const placed = hold(alice, doc.id, holds.length);
      refusedHold = await refusal(placed);
      if (refusedHold === 'accepted') holds.push(await placed);
    }
    expect(holds.length).toBeLessThan(MAX_HOLDS);
    // Then extensions, a second at a time, fill what the last hold left.
    let refusedExtension: ErrorCode | 'accepted' = 'accepted';
    for (let s = 1; refusedExtension === 'accepted'; s++) {
      refusedExtension = await refusal(extendRetention({ principal: alice, documentId: doc.id, retainUntil: new Date(Date.parse('2099-06-01T00:00:00Z') + s * 1000).toISOString(), reason: wide(500, `e${s}`) }, deps));
    }
    expect({ corrections, holds: holds.length, refusedCorrection, refusedHold, refusedExtension }).toEqual({
      corrections,
      holds: holds.length,
      refusedCorrection: corrections === MAX_CORRECTIONS ? 'too_many_corrections' : 'document_record_full',
      refusedHold: 'document_record_full',
      refusedExtension: 'document_record_full',
    });
    const full = stored(deps, doc.id);
    expect(bytesOf(full)).toBeLessThanOrEqual(DOCUMENT_RECORD_ROOM);
    expect(await refusal(hold(bob, doc.id, 999))).toBe('document_record_full');
    expect(stored(deps, doc.id)).toEqual(full);

    for (const [n, h] of holds.entries()) await releaseHold({ principal: bob, documentId: doc.id, holdId: h.id, reason: wide(500, `r${n}`) }, deps);
    expect(bytesOf(stored(deps, doc.id))).toBeLessThan(COSMOS_ITEM_LIMIT);
    const swept = await sweep({ now: new Date('2099-07-01T00:00:00.000Z'), budget: { maxItems: 10, maxMillis: 3_600_000 }, continuation: null }, deps);
    expect(swept.disposed).toEqual([`${T}/${doc.id}`]);
  });
});

describe('the sweep meets a document it cannot claim', () => {
  it('names it for an operator and goes on to the tenants behind it; the next cycle tries it again', async () => {
    const deps = current;
    const log = deps.log as RecordingLogger;
    const stuck = await seedDueDocument(deps, 'aaa', '2025-03-01T00:00:00.000Z');
    const other = await seedDueDocument(deps, 'zzz', '2025-03-01T00:00:00.000Z');
    // As Cosmos answers a replace of an item grown past its limit (older items, written before the room was kept).
    const replace = deps.retention.catalog.replace.bind(deps.retention.catalog);
    let refusing = true;
    deps.retention.catalog.replace = async (doc, etag, outbox) => {
      if (refusing && doc.id === stuck.id) throw new Error('Request size is too large');
      return replace(doc, etag, outbox);
    };
    const at = new Date('2025-03-02T00:00:00.000Z');
    const first = await sweep({ now: at, budget: { maxItems: 10, maxMillis: 3_600_000 }, continuation: null }, deps);
    expect(first).toMatchObject({ disposed: [`zzz/${other.id}`], unchecked: [{ tenantId: 'aaa', documentId: stuck.id, error: 'Request size is too large' }], continuation: null });
    expect(log.lines.filter((l) => l.level === 'error').map((l) => l.message)).toEqual([`retention sweep ${DOCUMENT_CHECK_FAILED}`]);
    expect(stored(deps, stuck.id, 'aaa').status).toBe('active');
    refusing = false;
    const next = await sweep({ now: at, budget: { maxItems: 10, maxMillis: 3_600_000 }, continuation: null }, deps);
    expect(next.disposed).toEqual([`aaa/${stuck.id}`]);
  });
});

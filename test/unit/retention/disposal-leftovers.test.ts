/**
 * Red team, what a disposal leaves behind, from a valid account of the tenant: once the sweep has disposed of a
 * document, nothing the archive keeps or answers may still carry what its tombstone promises gone (counterparty,
 * reference, tags, amount, file names, the scan's bytes). Covers what tombstone.test.ts, disposal-sweep,
 * export-withdrawal and validation/disposed do not: the holds a tombstone keeps, and a correction's blob racing the sweep.
 */
import type { Principal } from '../../../shared/kernel/principal';
import type { ArchivedDocument } from '../../../shared/kernel/document';
import { toPublicDocument } from '../../../shared/kernel/document';
import { blobLayout } from '../../../shared/kernel/blob-layout';
import { placeHoldsByQuery } from '../../../shared/retention/holds/place-holds-by-query';
import { releaseHoldEverywhere } from '../../../shared/retention/holds/release-hold-everywhere';
import { sweep } from '../../../shared/retention/sweep';
import { correctMetadata, metadataHistoryOf } from '../../../shared/documents/correct-metadata';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory';
import { seedDocument } from '../../support/seed';

const T = 'acme';
const OVER = '2025-01-01T00:00:00.000Z';
const NOW = new Date('2025-06-01T00:00:00Z');
const auditor: Principal = { tenantId: T, subject: 'ann', kind: 'user', person: 'ann', rightsSet: 'auditor', permissions: new Set(['holds:place', 'documents:read']) };
const admin: Principal = { tenantId: T, subject: 'bob', kind: 'user', person: 'bob', rightsSet: 'tenant-admin', permissions: new Set(['holds:release', 'documents:correct']) };
const SECRETS = ['Zwanenburg', 'zwanenburg', 'ZW-REF', 'zw-ref', 'zwantag', '4242.42', 'zwan-scan'];

const stored = (deps: InMemoryDeps, id: string): ArchivedDocument => deps.catalog.documents.get(`${T}/${id}`)!;
const sweepNow = (deps: InMemoryDeps) => sweep({ now: NOW, budget: { maxItems: 100, maxMillis: 60_000 }, continuation: null, concurrency: 1 }, deps);
const leaked = (value: unknown) => SECRETS.filter((s) => JSON.stringify(value).includes(s));

/** A document of 2017 whose retention ended, with names in every field a tombstone drops, and the manifest ingest writes. */
async function dueWithNames(deps: InMemoryDeps): Promise<ArchivedDocument> {
  const seeded = await seedDocument(deps, T, { metadata: { counterparty: 'Zwanenburg Holding', reference: 'ZW-REF-77', tags: ['zwantag'], amount: 4242.42, currency: 'EUR' }, fiscalYear: 2017, fileName: 'zwan-scan.jpg' });
  const doc = { ...seeded, retention: { ...seeded.retention, retainUntil: OVER } };
  deps.catalog.documents.set(`${T}/${doc.id}`, doc);
  await deps.blobs.putCreateOnly(T, blobLayout.manifest(doc.id), Buffer.from(JSON.stringify(doc)), 'application/json', { retainUntil: OVER, legalHold: false }, {});
  for (const name of [doc.original.blobName, doc.rendition.blobName]) deps.blobs.blobs.get(`${T}/${name}`)!.worm.retainUntil = OVER;
  return doc;
}

describe('the holds a tombstone keeps name no counterparty', () => {
  it('a released hold by query on the counterparty: the tombstone (GET /documents/{id}) keeps the hold, not its counterparty', async () => {
    const deps = inMemoryDeps();
    const doc = await dueWithNames(deps);
    // A dispute with the counterparty, placed and settled: the hold stays on the document, its query the counterparty's name.
    const placed = await placeHoldsByQuery({ principal: auditor, reason: 'dispute', caseReference: 'C-1', query: { counterparty: 'Zwanenburg Holding' } }, deps);
    expect(placed.documentIds).toEqual([doc.id]);
    await releaseHoldEverywhere({ principal: admin, holdId: placed.holdId, reason: 'settled' }, deps);
    expect((await sweepNow(deps)).disposed).toEqual([`${T}/${doc.id}`]);

    const tombstone = stored(deps, doc.id);
    expect(tombstone.status).toBe('disposed');
    expect(leaked(tombstone)).toEqual([]);
    expect(leaked(toPublicDocument(tombstone))).toEqual([]);
    // Who held it, when, and that it was a hold by query, stay: the hold's own record keeps its query.
    expect(tombstone.holds).toMatchObject([{ id: placed.holdId, placedBy: { subject: 'ann' }, releasedBy: { subject: 'bob' }, query: {} }]);
  });

  it('a tombstone written before holds were stripped answers without the counterparty all the same', async () => {
    const deps = inMemoryDeps();
    const doc = await dueWithNames(deps);
    const placed = await placeHoldsByQuery({ principal: auditor, reason: 'dispute', caseReference: 'C-1', query: { fiscalYear: 2017, counterparty: 'Zwanenburg Holding' } }, deps);
    await releaseHoldEverywhere({ principal: admin, holdId: placed.holdId, reason: 'settled' }, deps);
    const held = stored(deps, doc.id).holds!;
    await sweepNow(deps);
    const older = { ...stored(deps, doc.id), holds: held };
    expect(leaked(toPublicDocument(older))).toEqual([]);
    expect(toPublicDocument(older).holds).toMatchObject([{ id: placed.holdId, query: { fiscalYear: 2017 } }]);
  });
});

describe("a correction's blob written after the sweep emptied the folder", () => {
  it('is removed by the correction that wrote it: no blob with the names stays beside the tombstone', async () => {
    const deps = inMemoryDeps();
    const doc = await dueWithNames(deps);
    // The correction's catalog write lands first; the sweep claims, empties the folder and writes the tombstone;
    // only then does the request write its correction-002.json (the whole metadata, names included), unlocked (retention past).
    const put = deps.blobs.putCreateOnly.bind(deps.blobs);
    let raced = false;
    deps.blobs.putCreateOnly = async (tenantId, name, ...rest) => {
      if (!raced && blobLayout.correctionVersion(name) !== null) {
        raced = true;
        expect((await sweepNow(deps)).disposed).toEqual([`${T}/${doc.id}`]);
      }
      return put(tenantId, name, ...rest);
    };
    await correctMetadata({ principal: admin, documentId: doc.id, patch: { counterparty: 'Zwanenburg Holding B.V.' }, reason: 'legal form', ifMatch: 1 }, deps);
    expect(raced).toBe(true);
    expect(stored(deps, doc.id).status).toBe('disposed');
    expect(await deps.blobs.documentBlobs(T, doc.id)).toEqual([]);
    expect(leaked(stored(deps, doc.id))).toEqual([]);
    expect(leaked(metadataHistoryOf(stored(deps, doc.id)))).toEqual([]);
  });
});

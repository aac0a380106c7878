/**
 * Metadata corrections kept in storage beside the manifest (shared/documents/correction-blobs.ts): a catalog item lost
 * or restored to an earlier point no longer loses the corrections made since.
 */
import type { Principal } from '../../../shared/kernel/principal';
import type { ArchivedDocument } from '../../../shared/kernel/document';
import { blobLayout } from '../../../shared/kernel/blob-layout';
import { sealedManifest } from '../../../shared/documents/manifest';
import { correctMetadata } from '../../../shared/documents/correct-metadata';
import { ownChangeStaging } from '../../../shared/audit/outbox';
import { indexFromManifest, CATALOG_REBUILD_ACTOR } from '../../../shared/documents/rebuild-catalog';
import { reconcile } from '../../../shared/retention/reconcile';
import { releaseHold } from '../../../shared/retention/holds/release-hold';
import { extendRetention } from '../../../shared/retention/extend-retention';
import { ArchiveError } from '../../../shared/kernel/errors';
import { inMemoryDeps, type InMemoryDeps, type RecordingLogger } from '../../support/in-memory';
import { seedDocument, placeHoldWitnessed } from '../../support/seed';

const T = 'acme';
const ann: Principal = { tenantId: T, subject: 'ann', kind: 'user', person: 'ann', rightsSet: 'tenant-admin', permissions: new Set(['documents:correct', 'holds:place', 'holds:release']) };
const bob: Principal = { ...ann, subject: 'bob', person: 'bob' };

async function archived(deps: InMemoryDeps): Promise<ArchivedDocument> {
  const doc = await seedDocument(deps, T, { metadata: { documentDate: '2024-03-01', kind: 'invoice', counterparty: 'Bakkerij Jansen' } });
  await deps.blobs.putCreateOnly(T, blobLayout.manifest(doc.id), await sealedManifest(doc, deps), 'application/json', { retainUntil: doc.retention.retainUntil, legalHold: false }, {});
  return doc;
}
/** As the request makes it: its `document.correct-metadata` entry (naming the correction's digest) stored with it, then appended (the reconciler keeps in storage only a correction the log holds). */
let requests = 0;
const correct = async (deps: InMemoryDeps, id: string, ifMatch: number, patch: Record<string, unknown>) => {
  const { staging, appended } = ownChangeStaging(deps.auditOutbox, { tenantId: T, at: deps.clock.now().toISOString(), actor: { subject: ann.subject, kind: 'user' }, action: 'document.correct-metadata', requestId: `req-${++requests}` });
  const result = await correctMetadata({ principal: ann, documentId: id, patch, reason: 'typo on the scan', ifMatch, audit: staging }, deps);
  await appended();
  return result;
};
const run = (deps: InMemoryDeps) => reconcile({ now: deps.clock.now(), maxItems: 100, continuation: null, folderContinuation: null, orphanContinuation: null, orphanGraceMinutes: 0 }, deps);
const stored = (deps: InMemoryDeps, id: string, version: number) => deps.blobs.blobs.get(`${T}/${blobLayout.correction(id, version)}`);
const reindexEntries = async (deps: InMemoryDeps, id: string) => {
  await deps.auditOutbox.flush();
  const outboxed = [...deps.catalog.outbox.values()].flatMap((i) => i.entries);
  return [...deps.audit.entries, ...outboxed].filter((e) => e.action === 'document.reindex' && e.target === id).map((e) => e.detail);
};

it('each correction the catalog accepts is kept beside the manifest, under the document\'s retention', async () => {
  const deps = inMemoryDeps();
  const doc = await archived(deps);
  await correct(deps, doc.id, 1, { counterparty: 'Bakkerij Jansen B.V.' });
  await correct(deps, doc.id, 2, { reference: 'INV-7' });
  const second = JSON.parse(stored(deps, doc.id, 3)!.bytes.toString('utf8'));
  expect(second).toMatchObject({ tenantId: T, documentId: doc.id, correction: { version: 3, reason: 'typo on the scan', metadata: { counterparty: 'Bakkerij Jansen B.V.', reference: 'INV-7' } } });
  expect(stored(deps, doc.id, 2)!.worm).toEqual({ retainUntil: doc.retention.retainUntil, legalHold: false });
});

it('a catalog item restored to before its corrections gets them back from storage, each with a reindex entry', async () => {
  const deps = inMemoryDeps();
  const doc = await archived(deps);
  const asIngested = structuredClone((await deps.catalog.get(T, doc.id))!);
  await correct(deps, doc.id, 1, { counterparty: 'Bakkerij Jansen B.V.' });
  await correct(deps, doc.id, 2, { amount: 12.5, currency: 'EUR' });
  const corrected = (await deps.catalog.get(T, doc.id))!;
  // A point-in-time restore of the catalog to before the corrections.
  deps.catalog.documents.set(`${T}/${doc.id}`, asIngested);
  const result = await run(deps);
  expect(result.correctionsRestored).toEqual([`${T}/${doc.id}/2`, `${T}/${doc.id}/3`]);
  const restored = (await deps.catalog.get(T, doc.id))!;
  expect({ metadata: restored.metadata, version: restored.metadataVersion, history: restored.metadataHistory }).toEqual({ metadata: corrected.metadata, version: 3, history: corrected.metadataHistory });
  expect(await reindexEntries(deps, doc.id)).toEqual(['correction-restored=2', 'correction-restored=3']);
  // Nothing left to do on the next run.
  expect((await run(deps)).correctionsRestored).toEqual([]);
});

it('a correction made on the restored item is judged after the stored ones come back (412 naming the version), never a second version 2', async () => {
  const deps = inMemoryDeps();
  const doc = await archived(deps);
  const asIngested = structuredClone((await deps.catalog.get(T, doc.id))!);
  await correct(deps, doc.id, 1, { counterparty: 'Bakkerij Jansen B.V.' });
  deps.catalog.documents.set(`${T}/${doc.id}`, asIngested);
  const refusal = await correct(deps, doc.id, 1, { reference: 'INV-9' }).catch((e: ArchiveError) => e);
  expect(refusal).toMatchObject({ code: 'precondition_failed', extensions: { metadataVersion: 2 } });
  expect((await deps.catalog.get(T, doc.id))!.metadata.counterparty).toBe('Bakkerij Jansen B.V.');
  await correct(deps, doc.id, 2, { reference: 'INV-9' });
  expect(JSON.parse(stored(deps, doc.id, 3)!.bytes.toString('utf8')).correction.metadata).toMatchObject({ counterparty: 'Bakkerij Jansen B.V.', reference: 'INV-9' });
});

it('a catalog item lost altogether is indexed from its manifest with its corrections', async () => {
  const deps = inMemoryDeps();
  const doc = await archived(deps);
  await correct(deps, doc.id, 1, { counterparty: 'Bakkerij Jansen B.V.' });
  await correct(deps, doc.id, 2, { kind: 'receipt' });
  const corrected = (await deps.catalog.get(T, doc.id))!;
  deps.catalog.documents.delete(`${T}/${doc.id}`);
  expect(await indexFromManifest(T, blobLayout.manifest(doc.id), CATALOG_REBUILD_ACTOR, deps)).toBe('created');
  const rebuilt = (await deps.catalog.get(T, doc.id))!;
  expect({ metadata: rebuilt.metadata, version: rebuilt.metadataVersion, history: rebuilt.metadataHistory }).toEqual({ metadata: corrected.metadata, version: 3, history: corrected.metadataHistory });
  expect(await reindexEntries(deps, doc.id)).toEqual(['indexed-from-manifest;corrections-restored=2..3']);
});

it('a correction whose blob write failed is answered and stored; the reconciler keeps it in storage', async () => {
  const deps = inMemoryDeps();
  deps.audit.chained = true; // witnesses count only keyed entries (audit-pages.ts auditHolds), as Cosmos DB's log keys them
  const doc = await archived(deps);
  const put = deps.blobs.putCreateOnly.bind(deps.blobs);
  deps.blobs.putCreateOnly = async (...args) => {
    if (blobLayout.correctionVersion(args[1]) !== null) throw new Error('storage unavailable');
    return put(...args);
  };
  const { correction } = await correct(deps, doc.id, 1, { counterparty: 'Bakkerij Jansen B.V.' });
  expect(correction?.version).toBe(2);
  expect(stored(deps, doc.id, 2)).toBeUndefined();
  expect((deps.log as RecordingLogger).lines.some((l) => l.message.startsWith('correction not kept in storage yet'))).toBe(true);
  deps.blobs.putCreateOnly = put;
  expect((await run(deps)).correctionsStored).toEqual([`${T}/${doc.id}/2`]);
  expect(JSON.parse(stored(deps, doc.id, 2)!.bytes.toString('utf8')).correction).toEqual(correction);
});

it('a kept correction is held and released with the document, and a hold placed while its blob is missing still holds', async () => {
  const deps = inMemoryDeps();
  deps.audit.chained = true; // witnesses count only keyed entries (audit-pages.ts auditHolds), as Cosmos DB's log keys them
  const doc = await archived(deps);
  await correct(deps, doc.id, 1, { counterparty: 'Bakkerij Jansen B.V.' });
  const hold = await placeHoldWitnessed({ principal: ann, documentId: doc.id, reason: 'Tax audit', caseReference: 'FA-1' }, deps);
  expect(stored(deps, doc.id, 2)!.worm.legalHold).toBe(true);
  await releaseHold({ principal: bob, documentId: doc.id, holdId: hold.id, reason: 'Audit closed' }, deps);
  expect(stored(deps, doc.id, 2)!.worm.legalHold).toBe(false);

  // Version 3's blob write fails; a hold placed then still holds every file, and the reconciler writes the correction held.
  const put = deps.blobs.putCreateOnly.bind(deps.blobs);
  deps.blobs.putCreateOnly = async (...args) => (blobLayout.correctionVersion(args[1]) === 3 ? Promise.reject(new Error('storage unavailable')) : put(...args));
  await correct(deps, doc.id, 2, { reference: 'INV-3' });
  deps.blobs.putCreateOnly = put;
  await placeHoldWitnessed({ principal: ann, documentId: doc.id, reason: 'Dispute', caseReference: 'LG-2' }, deps);
  expect(deps.blobs.blobs.get(`${T}/${doc.original.blobName}`)!.worm.legalHold).toBe(true);
  await run(deps);
  expect(stored(deps, doc.id, 3)!.worm.legalHold).toBe(true);
});

describe('a change that went by a correction blob not written yet looks again once its catalog write is done', () => {
  const deferred = () => {
    let open!: () => void;
    const reached = new Promise<void>((r) => (open = r));
    return { reached, open };
  };
  // The correcting request stops after its catalog write, before its blob; the other change runs its storage step
  // (the blob missing: passed over) and stops before its catalog write; the correcting request then writes its blob
  // and reads the document again (still the older retention, no hold), and only then is the other change's write done.
  async function interleaved(change: (deps: InMemoryDeps, id: string) => Promise<unknown>) {
    const deps = inMemoryDeps();
    const doc = await archived(deps);
    const blob = blobLayout.correction(doc.id, 2);
    const blobDue = deferred();
    const blobGo = deferred();
    const put = deps.blobs.putCreateOnly.bind(deps.blobs);
    deps.blobs.putCreateOnly = async (...args: Parameters<typeof put>) => {
      if (args[1] === blob) {
        blobDue.open();
        await blobGo.reached;
      }
      return put(...args);
    };
    const correcting = correct(deps, doc.id, 1, { reference: 'INV-7' });
    await blobDue.reached;
    const replace = deps.retention.catalog.replace.bind(deps.retention.catalog);
    const writeDue = deferred();
    const writeGo = deferred();
    deps.retention.catalog.replace = async (...args: Parameters<typeof replace>) => {
      writeDue.open();
      await writeGo.reached;
      return replace(...args);
    };
    const changing = change(deps, doc.id);
    // A change refused before its catalog write fails the test at once.
    await Promise.race([writeDue.reached, changing]);
    deps.retention.catalog.replace = replace;
    blobGo.open();
    await correcting;
    expect(stored(deps, doc.id, 2)).toBeDefined();
    writeGo.open();
    await changing;
    return { deps, doc, worm: stored(deps, doc.id, 2)!.worm };
  }

  it('an extension locks the blob until its new retain-until', async () => {
    const { deps, doc, worm } = await interleaved((deps, id) => extendRetention({ principal: ann, documentId: id, retainUntil: '2100-01-01T00:00:00Z', reason: 'Litigation' }, deps));
    expect((await deps.catalog.get(T, doc.id))!.retention.retainUntil).toBe('2100-01-01T00:00:00.000Z');
    expect(Date.parse(worm.retainUntil)).toBe(Date.parse('2100-01-01T00:00:00Z'));
  });

  it('a hold flags the blob', async () => {
    const { deps, doc, worm } = await interleaved((deps, id) => placeHoldWitnessed({ principal: bob, documentId: id, reason: 'Dispute', caseReference: 'LG-9' }, deps));
    expect((await deps.catalog.get(T, doc.id))!.legalHold).toBe(true);
    expect(worm.legalHold).toBe(true);
  });
});

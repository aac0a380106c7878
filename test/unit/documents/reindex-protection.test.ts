import { indexFromManifest, CATALOG_REBUILD_ACTOR } from '../../../shared/documents/rebuild-catalog';
import { disposalBlocker } from '../../../shared/kernel/retention-rules';
import { blobLayout } from '../../../shared/kernel/blob-layout';
import { sealedManifest } from '../../../shared/documents/manifest';
import { resyncLegalHold } from '../../../shared/retention/reconcile';
import { inMemoryDeps } from '../../support/in-memory';
import { seedDocument } from '../../support/seed';

const T = 'acme';

/** A document whose catalog item is lost while its manifest (the ingest snapshot) and blobs remain. */
async function lostCatalogItem() {
  const deps = inMemoryDeps();
  const doc = await seedDocument(deps, T, { metadata: {}, fiscalYear: 2017 });
  const manifest = { ...doc, retention: { ...doc.retention, retainUntil: '2025-01-01T00:00:00.000Z' } };
  await deps.blobs.putCreateOnly(T, blobLayout.manifest(doc.id), await sealedManifest(manifest, deps), 'application/json', { retainUntil: manifest.retention.retainUntil, legalHold: false }, {});
  // Ingest wrote every blob with the manifest's retain-until (the seed's is later, and storage never moves one earlier).
  for (const name of [doc.original.blobName, doc.rendition.blobName]) deps.blobs.blobs.get(`${T}/${name}`)!.worm.retainUntil = manifest.retention.retainUntil;
  deps.catalog.documents.delete(`${T}/${doc.id}`);
  return { deps, doc: manifest };
}

it('a document re-indexed from its manifest keeps the legal hold and the later retain-until its blobs carry', async () => {
  const { deps, doc } = await lostCatalogItem();
  // Placed and extended after ingest: only storage still says so.
  for (const name of [doc.original.blobName, doc.rendition.blobName, blobLayout.manifest(doc.id)]) {
    await deps.blobs.setLegalHold(T, name, true);
    await deps.blobs.extendRetention(T, name, '2040-01-01T00:00:00.000Z');
  }
  expect(await indexFromManifest(T, blobLayout.manifest(doc.id), CATALOG_REBUILD_ACTOR, deps)).toBe('created');
  const item = (await deps.catalog.get(T, doc.id))!;
  expect(item.legalHold).toBe(true);
  expect(item.holds).toEqual([expect.objectContaining({ caseReference: 'catalog-rebuild', placedBy: CATALOG_REBUILD_ACTOR })]);
  expect(item.retention.retainUntil).toBe('2040-01-01T00:00:00.000Z');
  expect(disposalBlocker(item, new Date('2041-01-01T00:00:00Z'), false)).toBe('legal-hold');
  const [entry] = deps.audit.entries;
  expect(entry).toMatchObject({ action: 'document.reindex', target: doc.id });
  expect(entry!.detail).toMatch(/^indexed-from-manifest;retain-until=2040-01-01T00:00:00.000Z;legal-hold=/);
  // The reconciler's resync then finds catalog and blobs agreeing: it clears no flag.
  expect(await resyncLegalHold(T, doc.id, new Date('2025-06-01T00:00:00Z'), deps)).toBeNull();
  for (const b of await deps.blobs.documentBlobWorm(T, doc.id)) expect(b.legalHold).toBe(true);
});

it('a manifest under another document\'s folder is not indexed', async () => {
  const { deps, doc } = await lostCatalogItem();
  await deps.blobs.putCreateOnly(T, '0190aaaa-0000-7000-8000-00000000beef/manifest.json', Buffer.from(JSON.stringify(doc)), 'application/json', { retainUntil: doc.retention.retainUntil, legalHold: false }, {});
  expect(await indexFromManifest(T, '0190aaaa-0000-7000-8000-00000000beef/manifest.json', CATALOG_REBUILD_ACTOR, deps)).toBe('skipped');
  expect(await deps.catalog.get(T, doc.id)).toBeNull();
});

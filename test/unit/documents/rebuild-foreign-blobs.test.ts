/**
 * A manifest planted in a document folder (someone with write access to the storage account) that
 * names another document's blobs as its own must not be indexed: the sweep would dispose of the
 * other document's original and rendition with it. And the disposer itself deletes nothing outside
 * the folder of the document it disposes of, whatever the catalog item names.
 */
import type { BlobServiceClient } from '@azure/storage-blob';
import { BlobDisposer } from '../../../shared/adapters/azure/disposer';
import { CATALOG_REBUILD_ACTOR, indexFromManifest } from '../../../shared/documents/rebuild-catalog';
import { uuidv7 } from '../../../shared/ids';
import { blobLayout } from '../../../shared/kernel/blob-layout';
import { inMemoryDeps } from '../../support/in-memory';
import { seedDocument } from '../../support/seed';

const T = 'acme';
const WORM = { retainUntil: '2020-01-01T00:00:00.000Z', legalHold: false };

it('a manifest naming blobs of another document is skipped, nothing indexed, nothing audited', async () => {
  const deps = inMemoryDeps();
  const victim = await seedDocument(deps, T, { metadata: {} });
  const planted = uuidv7();
  for (const forged of [
    { ...victim, id: planted },
    { ...victim, id: planted, originals: [{ ...victim.original, blobName: `${planted}/original.jpeg` }], original: { ...victim.original, blobName: `${planted}/original.jpeg` } },
    { ...victim, id: planted, originals: [{ ...victim.original, blobName: `${planted}/../${victim.id}/original.jpeg` }] },
  ]) {
    deps.blobs.blobs.delete(`${T}/${blobLayout.manifest(planted)}`);
    await deps.blobs.putCreateOnly(T, blobLayout.manifest(planted), Buffer.from(JSON.stringify(forged)), 'application/json', WORM, {});
    expect(await indexFromManifest(T, blobLayout.manifest(planted), CATALOG_REBUILD_ACTOR, deps)).toBe('skipped');
  }
  expect(await deps.catalog.get(T, planted)).toBeNull();
  expect(deps.audit.entries).toEqual([]);
});

it('the Azure disposer deletes only blobs under the document folder, all of them', async () => {
  const deleted: string[] = [];
  const blob = (name: string) => ({ delete: async () => void deleted.push(name), withVersion: () => ({ delete: async () => undefined }) });
  const container = {
    listBlobsFlat: async function* () {
      yield { name: 'x/notes/extra.txt', properties: {} };
      yield { name: 'x/manifest.json', properties: {} };
    },
    getBlobClient: blob,
  };
  const service = { getContainerClient: () => container } as unknown as BlobServiceClient;
  await new BlobDisposer(service).deleteDocument(T, 'x', ['y/original.jpg', 'y/rendition.pdf', 'x/manifest.json'], new Date('2025-01-01T00:00:00Z'));
  expect(deleted).toEqual(['x/notes/extra.txt', 'x/manifest.json']);
});

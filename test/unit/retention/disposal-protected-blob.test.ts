import { prepareDisposal } from '../../../shared/retention/dispose';
import { blobLayout } from '../../../shared/kernel/blob-layout';
import { inMemoryDeps } from '../../support/in-memory';
import { seedDueDocument } from '../../support/seed';

const T = 'acme';
const now = new Date('2025-06-01T00:00:00Z');

/** A document due in the catalog whose blobs' WORM expiry has passed too, with its manifest. */
async function due() {
  const deps = inMemoryDeps();
  const doc = await seedDueDocument(deps, T, '2025-01-01T00:00:00.000Z');
  return { deps, doc };
}

it('a blob still under a storage hold the catalog does not know of: nothing is deleted, and the document stays whole and active', async () => {
  const { deps, doc } = await due();
  // A hold placement failed half-way: the original's flag is set, the catalog never said so.
  await deps.blobs.setLegalHold(T, doc.original.blobName, true);
  const outcome = await prepareDisposal(T, doc.id, { now, runId: 'r1', requireApproval: false }, deps);
  expect(outcome).toEqual({ blocked: 'storage-refused', detail: 'blob-protected' });
  expect((await deps.blobs.documentBlobs(T, doc.id)).sort()).toEqual([doc.original.blobName, blobLayout.manifest(doc.id), doc.rendition.blobName].sort());
  expect((await deps.catalog.get(T, doc.id))!.status).toBe('active');
});

it('without any protection left, every blob goes', async () => {
  const { deps, doc } = await due();
  const outcome = await prepareDisposal(T, doc.id, { now, runId: 'r1', requireApproval: false }, deps);
  expect(outcome).toMatchObject({ id: doc.id, resumed: false });
  expect(await deps.blobs.documentBlobs(T, doc.id)).toEqual([]);
});

/**
 * A disposal that fails after some blobs are gone (storage busy, a hold set on one blob between the
 * disposer's listing and its deletes) must not put the catalog item back to `active`: the document
 * would be shown, exported and fixity-checked as whole while its original is gone. It stays
 * `disposing`, and the next run finishes the disposal (or is refused by storage again), as after a crash.
 */
import { StorageRefusal } from '../../../shared/ports';
import { prepareDisposal, finishDisposals } from '../../../shared/retention/dispose';
import { inMemoryDeps } from '../../support/in-memory';
import { seedDueDocument } from '../../support/seed';

const T = 'acme';
const now = new Date('2025-06-01T00:00:00Z');
const over = '2025-01-01T00:00:00.000Z';
const ctx = { now, runId: 'r1', requireApproval: false };

async function due() {
  const deps = inMemoryDeps();
  const doc = await seedDueDocument(deps, T, over);
  return { deps, doc };
}

it('storage fails after the original is deleted: the item stays disposing, and the next run completes the disposal', async () => {
  const { deps, doc } = await due();
  jest.spyOn(deps.retention.disposer, 'deleteDocument').mockImplementationOnce(async () => {
    deps.blobs.blobs.delete(`${T}/${doc.original.blobName}`);
    throw new StorageRefusal('ServerBusy');
  });
  expect(await prepareDisposal(T, doc.id, ctx, deps)).toEqual({ blocked: 'storage-refused', detail: 'ServerBusy' });
  expect((await deps.catalog.get(T, doc.id))!.status).toBe('disposing');

  const resumed = await prepareDisposal(T, doc.id, { ...ctx, runId: 'r2' }, deps);
  expect(resumed).toMatchObject({ id: doc.id, resumed: true });
  expect(await finishDisposals([resumed as Exclude<typeof resumed, { blocked: unknown }>], deps)).toEqual(['completed']);
  expect((await deps.catalog.get(T, doc.id))!.status).toBe('disposed');
  expect(await deps.blobs.documentBlobs(T, doc.id)).toEqual([]);
});

it('a hold set on the rendition after the original went: the item stays disposing on every later run, never active again', async () => {
  const { deps, doc } = await due();
  jest.spyOn(deps.retention.disposer, 'deleteDocument').mockImplementationOnce(async () => {
    deps.blobs.blobs.delete(`${T}/${doc.original.blobName}`);
    await deps.blobs.setLegalHold(T, doc.rendition.blobName, true);
    throw new StorageRefusal('BlobImmutableDueToLegalHold');
  });
  expect(await prepareDisposal(T, doc.id, ctx, deps)).toMatchObject({ blocked: 'storage-refused' });
  expect((await deps.catalog.get(T, doc.id))!.status).toBe('disposing');
  expect(await prepareDisposal(T, doc.id, { ...ctx, runId: 'r2' }, deps)).toEqual({ blocked: 'storage-refused', detail: 'blob-protected' });
  expect((await deps.catalog.get(T, doc.id))!.status).toBe('disposing');
  expect(await deps.blobs.exists(T, doc.rendition.blobName)).toBe(true);
});

it('storage protects a blob before anything is deleted: the item goes back to active, whole', async () => {
  const { deps, doc } = await due();
  await deps.blobs.setLegalHold(T, doc.original.blobName, true);
  expect(await prepareDisposal(T, doc.id, ctx, deps)).toEqual({ blocked: 'storage-refused', detail: 'blob-protected' });
  expect((await deps.catalog.get(T, doc.id))!.status).toBe('active');
});

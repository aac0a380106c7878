/**
 * Export ZIPs live in the archive account, which keeps blob versions (infra/main.bicep): deleting only the base
 * blob turned the ZIP into a previous version that stayed, with every document it held, long after the export
 * expired or was withdrawn because those documents were disposed of. A delete takes every version of the blob.
 */
import { RestError, type BlobServiceClient } from '@azure/storage-blob';
import { ExportBlobs } from '../../../shared/adapters/azure/export-store';
import { listContainersOf } from '../../support/container-listing';

function versionedService(listed: { name: string; versionId?: string }[]) {
  const deleted: string[] = [];
  const container = {
    listBlobsFlat: async function* (opts: { prefix?: string; includeVersions?: boolean }) {
      if (!opts.includeVersions) throw new Error('versions must be listed');
      for (const b of listed) if (b.name.startsWith(opts.prefix ?? '')) yield b;
    },
    getBlobClient: (name: string) => ({
      deleteIfExists: async () => {
        deleted.push(name);
        return { succeeded: true };
      },
      withVersion: (versionId: string) => ({
        deleteIfExists: async () => {
          deleted.push(`${name}@${versionId}`);
          return { succeeded: true };
        },
      }),
    }),
  };
  return { deleted, service: { getContainerClient: () => container } as unknown as BlobServiceClient };
}

it('deletes the ZIP and every version of it, and nothing of a blob whose name merely starts the same', async () => {
  const { deleted, service } = versionedService([
    { name: 'e1.zip', versionId: '2025-03-01T12:00:00.0000000Z' },
    { name: 'e1.zip', versionId: '2025-03-01T12:05:00.0000000Z' },
    { name: 'e1.zip.other', versionId: '2025-03-01T12:06:00.0000000Z' },
  ]);
  await new ExportBlobs(service).delete('acme', 'e1.zip');
  expect(deleted.sort()).toEqual(['e1.zip', 'e1.zip@2025-03-01T12:00:00.0000000Z', 'e1.zip@2025-03-01T12:05:00.0000000Z']);
});

it('a container never created (no export written yet) is nothing to delete', async () => {
  const container = {
    listBlobsFlat: async function* () {
      yield* [];
      throw new RestError('The specified container does not exist.', { statusCode: 404, code: 'ContainerNotFound' });
    },
    getBlobClient: () => ({ deleteIfExists: async () => ({ succeeded: false }) }),
  };
  await expect(new ExportBlobs({ getContainerClient: () => container } as unknown as BlobServiceClient).delete('acme', 'e1.zip')).resolves.toBeUndefined();
});

/** Containers and their blobs as storage lists them: `byPage` pages of `maxPageSize`, the token the next blob's index. */
function listingService(containers: Record<string, string[]>) {
  const created = new Date('2025-03-01T12:00:00.000Z');
  const service = {
    listContainers: listContainersOf(() => Object.keys(containers), 1),
    getContainerClient: (name: string) => ({
      listBlobsFlat: () => ({
        byPage: ({ continuationToken, maxPageSize }: { continuationToken?: string; maxPageSize: number }) => {
          const start = Number(continuationToken ?? 0);
          const names = containers[name]!;
          const end = Math.min(names.length, start + maxPageSize);
          const page = { segment: { blobItems: names.slice(start, end).map((n) => ({ name: n, properties: { createdOn: created } })) }, continuationToken: end < names.length ? String(end) : '' };
          return { next: async () => ({ done: false, value: page }) };
        },
      }),
    }),
  };
  return service as unknown as BlobServiceClient;
}

it.each([1, 2, 3, 10])('lists every export container (and no other) %i at a time, going on where the cursor says', async (limit) => {
  const blobs = new ExportBlobs(listingService({ 'exports-a': ['1.zip', '2.zip', '3.zip'], 'exports-b': ['4.zip'], 'tenant-a': ['x/manifest.json'] }));
  const walked: string[] = [];
  let cursor: string | null = null;
  for (let run = 0; run < 5; run++) {
    const page = await blobs.unsafeListStored(cursor, limit);
    walked.push(...page.items.map((b) => `${b.tenantId}/${b.blobName}@${b.createdOn}`));
    cursor = page.next;
    if (cursor === null) break;
  }
  expect(walked).toEqual(['a/1.zip', 'a/2.zip', 'a/3.zip', 'b/4.zip'].map((k) => `${k}@2025-03-01T12:00:00.000Z`));
  expect(cursor).toBeNull();
  // A cursor the listing cannot read starts from the first container.
  expect((await blobs.unsafeListStored('not json', 1)).items.map((b) => b.blobName)).toEqual(['1.zip']);
});

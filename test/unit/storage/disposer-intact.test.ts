/** The Azure disposer says a refusal left the document intact only when every blob the catalog names is still listed. */
import { RestError, type BlobServiceClient } from '@azure/storage-blob';
import { BlobDisposer } from '../../../shared/adapters/azure/disposer';
import { StorageRefusal } from '../../../shared/ports';

const now = new Date('2025-06-01T00:00:00Z');
const ordered = ['d/original.jpg', 'd/rendition.pdf', 'd/manifest.json'];

function serviceListing(names: string[], held: string) {
  const container = {
    listBlobsFlat: async function* () {
      for (const name of names) yield { name, properties: { legalHold: name === held } };
    },
    getBlobClient: () => {
      throw new Error('nothing may be deleted');
    },
  };
  return { getContainerClient: () => container } as unknown as BlobServiceClient;
}

it('a held blob with every blob still there: refused, intact', async () => {
  const err = await new BlobDisposer(serviceListing(ordered, 'd/rendition.pdf')).deleteDocument('acme', 'd', ordered, now).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(StorageRefusal);
  expect(err).toMatchObject({ code: 'blob-protected', intact: true });
});

it('a held blob after an earlier attempt deleted the original: refused, not intact', async () => {
  const err = await new BlobDisposer(serviceListing(ordered.slice(1), 'd/rendition.pdf')).deleteDocument('acme', 'd', ordered, now).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'blob-protected', intact: false });
});

describe('a delete refused after the listing', () => {
  const refused = () => new RestError('This operation is not permitted as the blob is immutable due to a policy.', { statusCode: 409, code: 'BlobImmutableDueToPolicy' });
  function service(refuse: (name: string) => boolean) {
    const deleted: string[] = [];
    const container = {
      listBlobsFlat: async function* () {
        for (const name of ordered) yield { name, properties: {} };
      },
      getBlobClient: (name: string) => ({
        delete: async () => {
          if (refuse(name)) throw refused();
          deleted.push(name);
        },
        withVersion: () => ({ delete: async () => undefined }),
      }),
    };
    return { deleted, service: { getContainerClient: () => container } as unknown as BlobServiceClient };
  }

  it('every delete refused: nothing went, intact', async () => {
    const { deleted, service: s } = service(() => true);
    const err = await new BlobDisposer(s).deleteDocument('acme', 'd', ordered, now).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'BlobImmutableDueToPolicy', intact: true });
    expect(deleted).toEqual([]);
  });

  it('the rendition refused after the original went: not intact, and the manifest stays', async () => {
    const { deleted, service: s } = service((name) => name === 'd/rendition.pdf');
    const err = await new BlobDisposer(s).deleteDocument('acme', 'd', ordered, now).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'BlobImmutableDueToPolicy', intact: false });
    expect(deleted).toEqual(['d/original.jpg']);
  });
});

import { BlobServiceClient, RestError } from '@azure/storage-blob';
import { blobLayout } from '../../kernel/blob-layout';
import { StorageRefusal, type DisposerPort } from '../../ports';

/**
 * The only code in the archive that removes blob versions. It is built in the composition
 * root and used by the retention sweep alone, after `disposalBlocker` found nothing that
 * keeps the document.
 */
export class BlobDisposer implements DisposerPort {
  constructor(private readonly service: BlobServiceClient) {}

  /**
   * Deletes every version of every blob under the document, the content blobs at once and
   * the manifest last (so the reconciler can never re-index a half-disposed document). Already-gone blobs count as
   * deleted, so a re-run after a crash finishes the job. Storage refusals reject as StorageRefusal.
   */
  async deleteDocument(tenantId: string, documentId: string, ordered: string[], now: Date): Promise<number> {
    try {
      return await this.deleteAll(tenantId, documentId, ordered, now);
    } catch (err) {
      if (err instanceof RestError) throw new StorageRefusal(err.code ?? String(err.statusCode), { cause: err });
      throw err;
    }
  }

  private async deleteAll(tenantId: string, documentId: string, ordered: string[], now: Date): Promise<number> {
    const container = this.service.getContainerClient(blobLayout.documentsContainer(tenantId));
    const listed: { name: string; versionId?: string }[] = [];
    const protectedBlobs: string[] = [];
    // One listing gives the versions to delete and what still protects them (a hold or an expiry the catalog did not know).
    for await (const b of container.listBlobsFlat({ prefix: blobLayout.folder(documentId), includeVersions: true, includeLegalHold: true, includeImmutabilityPolicy: true })) {
      listed.push({ name: b.name, ...(b.versionId ? { versionId: b.versionId } : {}) });
      const expires = b.properties.immutabilityPolicyExpiresOn;
      if (b.properties.legalHold === true || (expires && expires.getTime() > now.getTime())) protectedBlobs.push(b.name);
    }
    const stored = new Set(listed.map((b) => b.name));
    const whole = ordered.every((name) => stored.has(name));
    if (protectedBlobs.length > 0) {
      throw new StorageRefusal('blob-protected', { cause: new Error(`still protected: ${[...new Set(protectedBlobs)].join(', ')}`), intact: whole });
    }
    // Only the document's own folder: a catalog item naming another document's blob must not take it along.
    // What the listing found under the folder goes too (no `.`/`..` segment, which a URL would resolve elsewhere).
    const underFolder = listed.map((b) => b.name).filter((name) => !name.split('/').some((seg) => seg === '.' || seg === '..'));
    const names = [...new Set([...ordered.filter((name) => blobLayout.inFolder(documentId, name)), ...underFolder])];
    let deleted = 0;
    /** Any delete that took something away, version or base blob: after one, the document is no longer whole. */
    let removedAny = false;
    const remove = async (del: () => Promise<unknown>): Promise<boolean> => {
      const done = await gone(del);
      if (done) removedAny = true;
      return done;
    };
    // Originals and rendition at once, then the manifest. Every delete of a rank is let finish before a
    // failure is reported, so the refusal can say whether anything went (storage refusing every delete,
    // e.g. a policy the listing did not show yet, leaves the document whole).
    for (const r of [0, 1]) {
      const results = await Promise.allSettled(
        names
          .filter((name) => rank(name) === r)
          .map(async (name) => {
            const blob = container.getBlobClient(name);
            // With versioning, deleting the base blob turns the current version into a previous one;
            // then every version is deleted by id.
            if (await remove(() => blob.delete())) deleted++;
            await Promise.all(listed.filter((b) => b.name === name && b.versionId).map((v) => remove(() => blob.withVersion(v.versionId!).delete())));
          }),
      );
      const failed = results.find((x): x is PromiseRejectedResult => x.status === 'rejected');
      if (failed) {
        const err: unknown = failed.reason;
        if (err instanceof RestError) throw new StorageRefusal(err.code ?? String(err.statusCode), { cause: err, intact: whole && !removedAny });
        throw err;
      }
    }
    return deleted;
  }
}

const rank = (name: string) => (blobLayout.isManifest(name) ? 1 : 0);

/** Runs a delete; true if it deleted, false if the blob was already gone. */
async function gone(del: () => Promise<unknown>): Promise<boolean> {
  try {
    await del();
    return true;
  } catch (err) {
    if (err instanceof RestError && err.statusCode === 404) return false;
    throw err;
  }
}

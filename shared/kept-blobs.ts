import type { BlobArchivePort } from './ports';

/**
 * The most a small blob the archive keeps beside the catalog is read of: a manifest, a correction, a kept setting,
 * revocation or decision, an audit seal. Each is far below it (a Cosmos DB record is at most 2 MB, and what wraps it a
 * few hundred bytes). Whoever can create a blob in a tenant's container (a storage role, no rights in the tenant) can
 * put any size under a name the archive reads; read whole (`readAll`, downloadToBuffer) a gigabyte of it took the
 * instance's memory, and the host or the timer with it, for every tenant.
 */
export const KEPT_BLOB_MAX_BYTES = 4 * 1024 * 1024;

/**
 * A small kept blob in one read, with when the storage service created it (set by the service, not by whoever wrote
 * the blob: what tells a blob sealed under a superseded chain key, kernel/archive-seal.ts); null when absent. One larger
 * than KEPT_BLOB_MAX_BYTES is not read on and reads as no bytes (nothing parses from it: a revocation, a decision,
 * a manifest, correction or setting is none, a seal is unreadable). `maxBytes` lowers the bound
 * for a kind that is always far smaller (an audit seal, a revocation, a decision).
 */
export async function readKeptBlob(blobs: Pick<BlobArchivePort, 'readIfExists'>, tenantId: string, blobName: string, maxBytes = KEPT_BLOB_MAX_BYTES): Promise<{ bytes: Buffer; createdOn: string | null } | null> {
  const read = await blobs.readIfExists(tenantId, blobName);
  if (!read) return null;
  const empty = { bytes: Buffer.alloc(0), createdOn: read.createdOn };
  if (read.size > maxBytes) {
    read.stream.destroy();
    return empty;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of read.stream) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      read.stream.destroy();
      return empty;
    }
    chunks.push(Buffer.from(chunk as Uint8Array));
  }
  return { bytes: Buffer.concat(chunks), createdOn: read.createdOn };
}

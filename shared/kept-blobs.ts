import type { BlobArchivePort, ListedBlob } from './ports';

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
 * for a kind that is always far smaller (an audit seal, a revocation, a decision). With the blob's ETag as read (what a
 * verdict on it is remembered under: manifest.ts manifestByArchive).
 */
export async function readKeptBlob(blobs: Pick<BlobArchivePort, 'readIfExists'>, tenantId: string, blobName: string, maxBytes = KEPT_BLOB_MAX_BYTES): Promise<{ bytes: Buffer; createdOn: string | null; etag: string } | null> {
  const read = await blobs.readIfExists(tenantId, blobName);
  if (!read) return null;
  const bytes = await readBounded(read, maxBytes);
  return { bytes: typeof bytes === 'number' ? Buffer.alloc(0) : bytes, createdOn: read.createdOn, etag: read.etag };
}

/**
 * A blob's stream read to `maxBytes` at most: its bytes, or (past the bound, by the size storage states or by the bytes
 * streamed, which may run longer) the size seen, the stream destroyed unread on. Kept blobs and export checkpoints.
 */
export async function readBounded(read: { size: number; stream: NodeJS.ReadableStream & { destroy(): void } }, maxBytes: number): Promise<Buffer | number> {
  if (read.size > maxBytes) {
    read.stream.destroy();
    return read.size;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of read.stream) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      read.stream.destroy();
      return size;
    }
    chunks.push(Buffer.from(chunk as Uint8Array));
  }
  return Buffer.concat(chunks);
}

/**
 * Blobs the reconciler judged not the archive's on this instance, by tenant and name, with the ETag of the blob judged.
 * Broke: a storage role (no Cosmos DB, no Key Vault) planted blobs under the names the reconciler reads, and every run
 * read each again (a setting, a correction or a manifest to 4 MiB) and ran the audit witness queries again for each
 * unsealed revocation, decision, correction or manifest: what it planted once cost every run (or every pass of a walk).
 * The verdict on a blob stands (its bytes are create-only; the keys and the audit log that judged it do not change under
 * it), except where the key could not be read, which is not remembered. Keyed by ETag too: a blob deleted (one planted
 * unlocked can be) and created again under its name, the operator's remedy for a revocation planted before the revoke,
 * is another blob, judged afresh.
 */
const notKept = new Map<string, string>();
const NOT_KEPT_MAX = 10_000;

/** Whether this instance judged `blob` (as listed now) not the archive's: passed over unread. */
export function judgedNotKept(tenantId: string, blob: ListedBlob): boolean {
  return notKept.get(`${tenantId}/${blob.name}`) === blob.etag;
}

/** Remembers `blob` (as listed) judged not the archive's for `reason`; a key that could not be read judges nothing. */
export function rememberNotKept(tenantId: string, blob: ListedBlob, reason: string): void {
  if (reason === 'key unavailable') return;
  const key = `${tenantId}/${blob.name}`;
  notKept.delete(key);
  // The oldest verdict goes first: a pile larger than this is judged again in turn, each run reading a bounded part of it.
  if (notKept.size >= NOT_KEPT_MAX) notKept.delete(notKept.keys().next().value!);
  notKept.set(key, blob.etag);
}

/**
 * Blobs the reconciler found sealed by the archive on this instance, by tenant and name, with the ETag of the blob read
 * and a digest of what it holds: a kept setting that backs what Cosmos DB says of its record (settings-blobs.ts
 * restoreSettings) is read once per instance, not every run, and the record compared with the digest each run. A
 * sealed verdict stands as a judged one does (create-only bytes, a creation time that does not move).
 */
const kept = new Map<string, { etag: string; digest: string }>();

/** The digest this instance remembered of `blob` (as listed now) found sealed by the archive; null: not found so. */
export function keptDigest(tenantId: string, blob: ListedBlob): string | null {
  const found = kept.get(`${tenantId}/${blob.name}`);
  return found?.etag === blob.etag ? found.digest : null;
}

/** Remembers `blob` (as listed) found sealed by the archive, holding what `digest` digests. */
export function rememberKept(tenantId: string, blob: ListedBlob, digest: string): void {
  const key = `${tenantId}/${blob.name}`;
  kept.delete(key);
  if (kept.size >= NOT_KEPT_MAX) kept.delete(kept.keys().next().value!);
  kept.set(key, { etag: blob.etag, digest });
}

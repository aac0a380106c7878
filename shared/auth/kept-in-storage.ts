import type { BlobArchivePort, Logger } from '../ports';

/**
 * The most a kept revocation, decision or setting is read of: a record Cosmos DB holds is at most 2 MB, and what wraps it
 * a few hundred bytes. Whoever can create a blob in a tenant's container (a storage role, no rights in the tenant) can
 * put any size under a kept name; read whole (`readAll`, downloadToBuffer) a gigabyte of it took the instance's memory,
 * and the host or the reconciler with it, for every tenant.
 */
export const KEPT_BLOB_MAX_BYTES = 4 * 1024 * 1024;

/**
 * A kept blob's bytes in one read, null when absent; one larger than KEPT_BLOB_MAX_BYTES is not read on and reads as
 * empty (nothing parses from it: a revocation still revokes, a decision still decides, a setting is not sealed).
 */
export async function readKeptBytes(blobs: Pick<BlobArchivePort, 'readIfExists'>, tenantId: string, blobName: string): Promise<Buffer | null> {
  const read = await blobs.readIfExists(tenantId, blobName);
  if (!read) return null;
  if (read.size > KEPT_BLOB_MAX_BYTES) {
    read.stream.destroy();
    return Buffer.alloc(0);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of read.stream) {
    size += (chunk as Buffer).length;
    if (size > KEPT_BLOB_MAX_BYTES) {
      read.stream.destroy();
      return Buffer.alloc(0);
    }
    chunks.push(Buffer.from(chunk as Uint8Array));
  }
  return Buffer.concat(chunks);
}

/**
 * The reconciler's catch-up after a restore of Cosmos DB: every tenant whose container keeps blobs under `prefix`
 * (`revocations/`, `decisions/`, `settings/`), visited with their names. One failing tenant is logged as
 * `restoring <what> from storage failed` and does not stop the rest.
 */
export async function forEachTenantKeeping(prefix: string, what: string, deps: { blobs: Pick<BlobArchivePort, 'unsafeListTenants' | 'blobNames'>; log: Pick<Logger, 'error'> }, visit: (tenantId: string, names: string[]) => Promise<void>): Promise<void> {
  for await (const tenantId of deps.blobs.unsafeListTenants()) {
    try {
      const names = await deps.blobs.blobNames(tenantId, prefix);
      if (names.length > 0) await visit(tenantId, names);
    } catch (err) {
      deps.log.error(`restoring ${what} from storage failed`, { tenantId, error: err instanceof Error ? err.message : String(err) });
    }
  }
}

import type { Deps } from '../deps';
import { readKeptBlob } from '../kept-blobs';

/**
 * A manifest blob's bytes in one read, null when it is missing (its document disposed of since it was listed); a blob
 * too large to be a manifest (kept-blobs.ts KEPT_BLOB_MAX_BYTES) reads as empty (no manifest parses from it). For every
 * read of a manifest: the fixity check, the catalog rebuild and an upload's replay.
 */
export async function readManifestBytes(deps: Pick<Deps, 'blobs'>, tenantId: string, blobName: string): Promise<Buffer | null> {
  return (await readKeptBlob(deps.blobs, tenantId, blobName))?.bytes ?? null;
}

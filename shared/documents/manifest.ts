import type { Deps } from '../deps';

/** A manifest is the document as ingested: far below this; a larger blob is not one. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/**
 * A manifest blob's bytes in one read, null when it is missing (its document disposed of since it was listed); a blob
 * too large to be a manifest reads as empty (no manifest parses from it). For every read of a manifest:
 * the fixity check, the catalog rebuild and an upload's replay.
 */
export async function readManifestBytes(deps: Pick<Deps, 'blobs'>, tenantId: string, blobName: string): Promise<Buffer | null> {
  const read = await deps.blobs.readIfExists(tenantId, blobName);
  if (!read) return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of read.stream) {
    size += (chunk as Buffer).length;
    if (size > MAX_MANIFEST_BYTES) {
      read.stream.destroy();
      return Buffer.alloc(0);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

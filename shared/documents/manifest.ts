import type { Deps } from '../deps';
import type { ListedBlob } from '../ports';
import { readKeptBlob, rememberNotKept } from '../kept-blobs';
import { notKeptByArchive, sealWith } from '../kernel/archive-seal';
import { auditHolds } from '../audit/audit-pages';
import { blobLayout } from '../kernel/blob-layout';
import type { ArchivedDocument } from '../kernel/document';

/**
 * A manifest blob's bytes in one read, null when it is missing (its document disposed of since it was listed); a blob
 * too large to be a manifest (kept-blobs.ts KEPT_BLOB_MAX_BYTES) reads as empty (no manifest parses from it). For every
 * read of a manifest: the fixity check, the catalog rebuild and an upload's replay.
 */
export async function readManifestBytes(deps: Pick<Deps, 'blobs'>, tenantId: string, blobName: string): Promise<Buffer | null> {
  return (await readKeptBlob(deps.blobs, tenantId, blobName))?.bytes ?? null;
}

/**
 * Manifests carry the archive's seal (kernel/archive-seal.ts, purpose `manifest`): an HMAC under the audit chain key,
 * which whoever can write blobs does not hold. Unsealed, anyone able to create blobs in a tenant's container (a storage
 * role, no rights in the tenant) wrote a folder of their own (an original, a rendition, a manifest naming them with
 * their SHA-256 and any metadata: a fake invoice) and the reconciler indexed it after the orphan grace, into the
 * tenant's search, exports and fixity checks; or planted the manifest of a document id an Idempotency-Key predicts,
 * and the upload under that key adopted it as an earlier attempt's.
 */
const MANIFEST_SEAL = 'manifest';

/** Operators are alerted on this exact phrase (infra/main.bicep, manifestUnsealedAlert): a manifest the archive did not write. */
export const MANIFEST_UNSEALED = 'manifest in storage not sealed by the archive';

/** The manifest of `document` as ingest writes it: compact (read by programs, not people), with the archive's seal. */
export async function sealedManifest(document: ArchivedDocument, deps: Pick<Deps, 'audit'>): Promise<Buffer> {
  return Buffer.from(JSON.stringify(await sealWith(MANIFEST_SEAL, document, deps.audit.chainKeys)));
}

/** A manifest as read: the document it names (without the seal's fields), the stored JSON, and storage's creation time. */
export interface KeptManifest {
  document: ArchivedDocument;
  stored: Record<string, unknown>;
  createdOn: string | null;
  /** The blob's ETag as read, where the reader kept it: a verdict from the audit log is remembered under it. */
  etag?: string;
}

/** Reads a manifest (one bounded read); null when absent or empty (too large to be one). Not JSON: a SyntaxError. */
export async function readKeptManifest(deps: Pick<Deps, 'blobs'>, tenantId: string, blobName: string): Promise<KeptManifest | null> {
  const read = await readKeptBlob(deps.blobs, tenantId, blobName);
  return !read || read.bytes.length === 0 ? null : keptManifestOf(read.bytes, read.createdOn, blobName, read.etag);
}

/** A manifest's bytes as read (a SyntaxError when they are not one). */
export function keptManifestOf(bytes: Buffer, createdOn: string | null, blobName: string, etag?: string): KeptManifest {
  const stored = JSON.parse(bytes.toString('utf8')) as unknown;
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) throw new SyntaxError(`${blobName} is not a manifest`);
  const { mac: _m, keyVersion: _k, ...document } = stored as Record<string, unknown>;
  return { document: document as unknown as ArchivedDocument, stored: stored as Record<string, unknown>, createdOn, ...(etag ? { etag } : {}) };
}

/**
 * Unsealed manifests (from before the seal) this instance found witnessed by their ingest's keyed audit entry, by tenant
 * and name, with the ETag of the blob judged: an export of a year of them looked for each one's entry on every run.
 * The verdict stands for that blob (WORM: its bytes and creation time do not change under its ETag; the entry that
 * witnessed it stays in the append-only log). A sealed one costs only its HMAC and is not remembered.
 */
const witnessed = new Map<string, string>();
const WITNESSED_MAX = 10_000;

/**
 * Whether a manifest is the archive's: sealed by it, or written before the seal by an ingest the audit log holds the
 * success entry of (`document.ingest`, the folder's document id as target, in the month of the manifest's creation or
 * the next). Any other is logged MANIFEST_UNSEALED and is never indexed, adopted or taken as a witness.
 *
 * Only in its own place: the seal covers the document (its id and tenant), not the blob's name, so a sealed manifest
 * copied by a storage role into another folder, or from another tenant's container, is sealed but not the archive's
 * there. An upload under an Idempotency-Key adopted one copied under the id the key predicts, and answered another
 * tenant's document as its own.
 */
export async function manifestByArchive(tenantId: string, blobName: string, kept: KeptManifest, deps: Pick<Deps, 'audit' | 'log'>, listed?: ListedBlob): Promise<boolean> {
  if (kept.document.tenantId !== tenantId || typeof kept.document.id !== 'string' || blobName !== blobLayout.manifest(kept.document.id)) {
    deps.log.error(MANIFEST_UNSEALED, { tenantId, blob: blobName, reason: 'the manifest of another folder or tenant' });
    if (listed) rememberNotKept(tenantId, listed, 'the manifest of another folder or tenant');
    return false;
  }
  const documentId = blobName.slice(0, blobName.indexOf('/'));
  // Dated by storage's creation time of the blob, which whoever writes it cannot set; the document's createdAt only where
  // storage tells none. Both were taken: a manifest planted long after its folder's ingest (a folder a disposal emptied,
  // its tombstone lost to a restore) named that ingest's time and was witnessed by its entry.
  const remembered = `${tenantId}/${blobName}`;
  const ingested = async () => {
    if (kept.etag !== undefined && witnessed.get(remembered) === kept.etag) return true;
    const holds = await auditHolds(deps.audit, tenantId, { target: documentId, action: 'document.ingest' }, [kept.createdOn ?? kept.document.createdAt], (e) => e.outcome === 'success', kept.createdOn);
    if (holds && kept.etag !== undefined) {
      witnessed.delete(remembered);
      if (witnessed.size >= WITNESSED_MAX) witnessed.delete(witnessed.keys().next().value!); // the oldest first: looked for again
      witnessed.set(remembered, kept.etag);
    }
    return holds;
  };
  const why = await notKeptByArchive(MANIFEST_SEAL, kept.stored, kept.createdOn, deps.audit.chainKeys, ingested, 'no seal, and no audit entry of its ingest');
  if (why === null) return true;
  deps.log.error(MANIFEST_UNSEALED, { tenantId, blob: blobName, reason: why });
  if (listed) rememberNotKept(tenantId, listed, why);
  return false;
}

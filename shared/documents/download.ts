import type { Deps } from '../deps';
import { blobLayout } from '../kernel/blob-layout';
import type { ArchivedDocument, StoredFile } from '../kernel/document';
import { ArchiveError } from '../kernel/errors';
import type { StoredFileRef } from '../ports';
import { getDocument } from './get-document';
import { validationReportName } from '../kernel/validation';
import { FIXITY_MISMATCH, type KeptManifestRead, logManifestNotKept, manifestWitnessOrDisposed, readManifest } from '../retention/fixity';

/** `validation`: veraPDF's stored report on the rendition (JSON). */
export type Representation = 'original' | 'rendition' | 'validation';

export interface DocumentFileRequest {
  tenantId: string;
  documentId: string;
  representation: Representation;
  /** 1-based index among several originals; 1 for the only one. */
  part: number;
}

/** The stored file a document download hands out: its rendition or one of its originals, never a disposed document's. */
export async function documentFile(r: DocumentFileRequest, deps: Pick<Deps, 'catalog' | 'blobs' | 'log' | 'audit'>): Promise<StoredFileRef> {
  // The manifest is read beside the item (its name is the id's): the witness costs a download no round trip in time.
  // The item's answer comes first (a document not found or disposed of says so, whatever the manifest's read did).
  const [item, manifest] = await Promise.allSettled([activeDocument(r, deps), readManifest(r.tenantId, r.documentId, deps)]);
  if (item.status === 'rejected') throw item.reason;
  if (manifest.status === 'rejected') throw manifest.reason;
  const doc = item.value;
  await keptByArchive(doc, r, manifest.value, deps);
  let file: StoredFile;
  let name: string;
  if (r.representation === 'rendition') {
    file = doc.rendition;
    name = `${(doc.original.fileName ?? doc.id).replace(/\.[^.]*$/, '')}.pdf`;
  } else if (r.representation === 'validation') {
    if (!doc.validation || doc.validation.status === 'pending') {
      throw new ArchiveError('validation_pending', { detail: `The rendition of document ${doc.id} is queued for validation; its report is not stored yet.` });
    }
    file = { mediaType: 'application/json', ...doc.validation.report };
    // Broke: the manifest names no report, so one the catalog named anywhere in the folder (planted by a storage role,
    // named on the item with its SHA-256 by a writer of Cosmos DB) went out as the archive's. The archive writes one
    // name only (create-only, locked): a report named otherwise is not sent.
    if (file.blobName !== validationReportName(doc.id)) throw damaged(r, file, deps, "names a validation report the archive does not write");
    name = `${(doc.original.fileName ?? doc.id).replace(/\.[^.]*$/, '')}.validation.json`;
  } else {
    const original = doc.originals[r.part - 1];
    if (!original) throw new ArchiveError('document_not_found', { detail: `Document ${doc.id} has ${doc.originals.length} original file(s).` });
    file = original;
    const ext = original.blobName.split('.').pop()!;
    name = original.fileName ? savedAs(original.fileName, ext) : `${doc.id}-original-${r.part}.${ext}`;
  }
  // A file outside the document's own folder is another document's (a catalog item written behind the archive's back,
  // perhaps with that file's sha256 and size too): its bytes would go out, whole or as a link, under this document's
  // id with checksums that agree. Refused before a byte or a link is handed out, and alerted as damage.
  if (!blobLayout.inFolder(doc.id, file.blobName)) throw damaged(r, file, deps, 'names a file outside its folder');
  // A file whose item holds no SHA-256 (missing, null, empty, not 64 hex digits: restored, half written, edited by hand)
  // has no checksum to be sent under: missing or null it was a 500 `internal`, empty or not hex it went out with an ETag
  // and a Repr-Digest of nothing, as if that were the file archived. Refused and alerted as damage, as the fixity check
  // reports it (a mismatch).
  if (typeof file.sha256 !== 'string' || !SHA256_HEX.test(file.sha256)) throw damaged(r, file, deps, 'has no SHA-256 the catalog can read');
  // Damage the last fixity check found (a change of the same length, which a download itself cannot see before its last
  // byte): sent, it went out under the archived ETag and Repr-Digest as if it were the file archived. Already alerted by
  // that check; served again once a later check finds the file intact.
  const fixity = doc.fixity;
  if (fixity && !fixity.ok && [...(fixity.mismatched ?? []), ...(fixity.missing ?? [])].includes(file.blobName)) {
    throw new ArchiveError('file_damaged', { detail: `The fixity check of ${fixity.checkedAt} found this file of document ${doc.id} changed or missing: it is not sent. The archive's operators have been alerted.` });
  }
  return {
    container: blobLayout.documentsContainer(r.tenantId),
    blobName: file.blobName,
    sha256: file.sha256,
    size: file.size,
    mediaType: file.mediaType,
    name,
    read: async (range) => {
      let read;
      try {
        read = await deps.blobs.read(r.tenantId, file.blobName, range);
      } catch (err) {
        // The sweep claimed the document and deleted its blobs after the read above: answered as the disposal it
        // was (410), not as a storage failure (500). Still active: the failure is storage's.
        await activeDocument(r, deps);
        throw err;
      }
      // Storage names the blob's length before its first byte: one that is not the archived size (a truncated or
      // replaced blob) cannot be the file the ETag and Repr-Digest describe. A bit flip of the same length is only
      // known at the last byte, which the client's check against Repr-Digest finds (README, Downloads).
      if (read.size !== file.size) {
        read.stream.destroy();
        throw damaged(r, file, deps, `is stored with ${read.size} bytes, archived with ${file.size}`);
      }
      return read;
    },
  };
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * The document's folder is the archive's: its manifest there, describing the item, kept by the archive (as an export and
 * the fixity check ask). Broke: a download asked the catalog alone, so a catalog item written into Cosmos DB beside
 * blobs a storage role planted (no manifest, or one of their own) was served as an archived document, under an ETag and
 * a Repr-Digest that agree. One small read more per download; refused and alerted as damage.
 */
async function keptByArchive(doc: ArchivedDocument, r: DocumentFileRequest, read: KeptManifestRead, deps: Pick<Deps, 'catalog' | 'blobs' | 'log' | 'audit'>): Promise<void> {
  const found = await manifestWitnessOrDisposed(doc, deps, read);
  if (found === null) return;
  // The sweep disposing of it since the item was read (the manifest goes last): answered as that disposal (410; 404 gone).
  if (found === 'disposed') await activeDocument(r, deps);
  logManifestNotKept(doc, found === 'disposed' ? 'missing' : found, 'download', deps.log);
  throw new ArchiveError('file_damaged', { detail: `The stored files of document ${r.documentId} are not witnessed by the manifest the archive kept: nothing is sent. The archive's operators have been alerted.` });
}

/** Damage found by a download: alerted as the fixity check alerts it, answered 500 `file_damaged` (the file is not served). */
function damaged(r: DocumentFileRequest, file: StoredFile, deps: Pick<Deps, 'log'>, what: string): ArchiveError {
  deps.log.error(FIXITY_MISMATCH, { tenantId: r.tenantId, documentId: r.documentId, mismatched: [file.blobName], missing: [], found: `download: ${what}` });
  return new ArchiveError('file_damaged', { detail: `The stored file of document ${r.documentId} is not the file archived: it is not sent. The archive's operators have been alerted.` });
}

async function activeDocument(r: DocumentFileRequest, deps: Pick<Deps, 'catalog'>): Promise<ArchivedDocument> {
  const doc = await getDocument(r.tenantId, r.documentId, deps);
  if (doc.status !== 'active') throw new ArchiveError('document_disposed', { detail: `Document ${doc.id} was disposed of after its retention ended; only its tombstone remains.` });
  return doc;
}

/** Other spellings of the extensions an original is stored under (the type the archive found in its bytes). */
const SAME_TYPE: Record<string, readonly string[]> = { jpg: ['jpg', 'jpeg', 'jpe', 'jfif'], tif: ['tif', 'tiff'] };

/**
 * The uploader's file name, ending in the extension of the type archived: the name is theirs, the type
 * the archive checked. A JPEG named `statement.html` would otherwise be saved, and opened by whoever
 * downloads it, as a web page.
 */
function savedAs(fileName: string, ext: string): string {
  const own = fileName.includes('.') ? fileName.split('.').pop()!.toLowerCase() : '';
  return (SAME_TYPE[ext] ?? [ext]).includes(own) ? fileName : `${fileName}.${ext}`;
}

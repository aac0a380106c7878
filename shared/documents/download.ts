import type { Readable } from 'node:stream';
import type { Deps } from '../deps';
import { ArchiveError } from '../kernel/errors';
import { parseRange } from '../http/range';
import { contentDisposition } from '../http/respond';
import { blobLayout } from '../kernel/blob-layout';
import { getDocument } from './get-document';
import type { StoredFile } from '../kernel/document';

export type Representation = 'original' | 'rendition';

export interface DownloadRequest {
  tenantId: string;
  documentId: string;
  representation: Representation;
  /** 1-based index among several originals; 1 for the only one. */
  part: number;
  range: string | null;
  ifRange: string | null;
  ifNoneMatch: string | null;
  /** `redirect`: answer 303 with a short-lived read-only link to the blob instead of the bytes. */
  delivery?: 'stream' | 'redirect';
}

export interface DownloadResult {
  status: 200 | 206 | 303 | 304;
  headers: Record<string, string>;
  body?: Readable;
}

/**
 * Stream a stored file with its checksum (RFC 9530 Repr-Digest), a strong ETag derived
 * from the SHA-256, and single byte ranges. Nothing is buffered whole.
 */
export async function downloadFile(r: DownloadRequest, deps: Pick<Deps, 'catalog' | 'blobs' | 'links' | 'config' | 'clock'>): Promise<DownloadResult> {
  const doc = await getDocument(r.tenantId, r.documentId, deps);
  if (doc.status !== 'active') throw new ArchiveError('document_disposed', { detail: `Document ${doc.id} was disposed of after its retention ended; only its tombstone remains.` });
  let file: StoredFile;
  let name: string;
  if (r.representation === 'rendition') {
    file = doc.rendition;
    name = `${(doc.original.fileName ?? doc.id).replace(/\.[^.]*$/, '')}.pdf`;
  } else {
    const original = doc.originals[r.part - 1];
    if (!original) throw new ArchiveError('document_not_found', { detail: `Document ${doc.id} has ${doc.originals.length} original file(s).` });
    file = original;
    name = original.fileName ?? `${doc.id}-original-${r.part}.${original.blobName.split('.').pop()}`;
  }
  const etag = `"${file.sha256}"`;
  const common: Record<string, string> = {
    ETag: etag,
    'Repr-Digest': `sha-256=:${Buffer.from(file.sha256, 'hex').toString('base64')}:`,
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'private, no-cache',
  };
  if (r.ifNoneMatch && r.ifNoneMatch.split(',').some((t) => t.trim() === etag || t.trim() === '*')) {
    return { status: 304, headers: common };
  }
  if (r.delivery === 'redirect') {
    // Large files: the client reads straight from Blob Storage through a read-only, one-blob SAS of at most an hour.
    const link = await deps.links.readOnlyUrl(
      blobLayout.documentsContainer(r.tenantId),
      file.blobName,
      { ttlSeconds: deps.config.ARCHIVE_DOWNLOAD_LINK_SECONDS, contentDisposition: contentDisposition(name), contentType: file.mediaType },
      deps.clock.now(),
    );
    return { status: 303, headers: { ...common, Location: link.url, 'Cache-Control': 'no-store', 'Link-Expires': link.expiresOn.toISOString() } };
  }
  // If-Range: the range applies only while the representation is unchanged.
  const rangeHeader = r.ifRange && r.ifRange.trim() !== etag ? null : r.range;
  const range = parseRange(rangeHeader, file.size);
  const read = await deps.blobs.read(r.tenantId, file.blobName, range ? { offset: range.start, count: range.end - range.start + 1 } : undefined);
  const headers: Record<string, string> = {
    ...common,
    'Content-Type': file.mediaType,
    'Content-Length': String(read.contentLength),
    'Content-Disposition': contentDisposition(name),
  };
  if (range) {
    headers['Content-Range'] = `bytes ${range.start}-${range.end}/${file.size}`;
    return { status: 206, headers, body: read.stream };
  }
  return { status: 200, headers, body: read.stream };
}

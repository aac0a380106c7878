import type { Readable } from 'node:stream';
import type { Deps } from '../deps';
import { documentFile, type DocumentFileRequest } from '../documents/download';
import { exportFile } from '../exports/download-export';
import type { StoredFileRef } from '../ports';
import { ArchiveError } from '../kernel/errors';
import type { Principal } from '../kernel/principal';
import { parseRange } from './range';
import { contentDisposition } from './respond';

export interface DownloadConditions {
  range: string | null;
  ifRange: string | null;
  ifNoneMatch: string | null;
  /** `redirect`: answer 303 with a short-lived read-only link to the blob instead of the bytes. */
  delivery?: 'stream' | 'redirect';
  /** The link expires by then at the latest: the requesting credential's own expiry. */
  linkNotAfter?: string;
}

export interface DownloadResult {
  status: 200 | 206 | 303 | 304;
  headers: Record<string, string>;
  body?: Readable;
  /** For the request's audit entry: which file was read (its SHA-256), which bytes, or until when its link reads. */
  auditDetail: string;
}

/**
 * The one conditional download, for documents and exports alike: a strong ETag from the SHA-256,
 * its checksum (RFC 9530 Repr-Digest), If-None-Match, If-Range, single byte ranges, or a 303 to a
 * short-lived read-only link. Nothing is buffered whole.
 */
export async function deliverStoredFile(file: StoredFileRef, c: DownloadConditions, deps: Pick<Deps, 'links' | 'config' | 'clock'>): Promise<DownloadResult> {
  const etag = `"${file.sha256}"`;
  const common: Record<string, string> = {
    ETag: etag,
    'Repr-Digest': `sha-256=:${Buffer.from(file.sha256, 'hex').toString('base64')}:`,
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'private, no-cache',
  };
  // Weak comparison (RFC 9110 13.1.2): a cache that stored the ETag as W/"…" is answered 304 too.
  // The SHA-256 names the file read: one original of several, the rendition or the report.
  const read = `sha256=${file.sha256}`;
  if (c.ifNoneMatch && c.ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === etag || t.trim() === '*')) {
    return { status: 304, headers: common, auditDetail: read };
  }
  if (c.delivery === 'redirect') {
    // Large files: the client reads straight from Blob Storage through a read-only, one-blob SAS of at most an
    // hour, never past the file's own availability (an export fetched just before it expires), nor past the
    // credential that asked for it (an API key about to expire would otherwise read on through its link).
    const until = [file.availableUntil, c.linkNotAfter].filter((t): t is string => t !== undefined).map((t) => Date.parse(t));
    const left = Math.floor((Math.min(Infinity, ...until) - deps.clock.now().getTime()) / 1000);
    const link = await deps.links.readOnlyUrl(
      file.container,
      file.blobName,
      { ttlSeconds: Math.max(1, Math.min(deps.config.ARCHIVE_DOWNLOAD_LINK_SECONDS, left)), contentDisposition: contentDisposition(file.name), contentType: file.mediaType },
      deps.clock.now(),
    );
    // The link reads unaudited until it expires: the entry says until when.
    return { status: 303, headers: { ...common, Location: link.url, 'Cache-Control': 'no-store', 'Link-Expires': link.expiresOn.toISOString() }, auditDetail: `${read};link-until=${link.expiresOn.toISOString()}` };
  }
  // If-Range: the range applies only while the representation is unchanged.
  const range = parseRange(c.ifRange && c.ifRange.trim() !== etag ? null : c.range, file.size);
  const bytes = await file.read(range ? { offset: range.start, count: range.end - range.start + 1 } : undefined);
  const headers: Record<string, string> = {
    ...common,
    'Content-Type': file.mediaType,
    'Content-Length': String(bytes.contentLength),
    'Content-Disposition': contentDisposition(file.name),
  };
  if (range) return { status: 206, headers: { ...headers, 'Content-Range': `bytes ${range.start}-${range.end}/${file.size}` }, body: bytes.stream, auditDetail: `${read};bytes=${range.start}-${range.end}` };
  return { status: 200, headers, body: bytes.stream, auditDetail: read };
}

export type DownloadRequest = DocumentFileRequest & DownloadConditions;

export async function downloadFile(r: DownloadRequest, deps: Pick<Deps, 'catalog' | 'blobs' | 'links' | 'config' | 'clock'>): Promise<DownloadResult> {
  return deliverStoredFile(await documentFile(r, deps), r, deps);
}

export type ExportDownloadRequest = { tenantId: string; exportId: string } & DownloadConditions;

export async function downloadExport(r: ExportDownloadRequest, deps: Pick<Deps, 'exportJobs' | 'exportBlobs' | 'links' | 'config' | 'clock'>): Promise<DownloadResult> {
  return deliverStoredFile(await exportFile(r, deps), r, deps);
}

/**
 * `?delivery=redirect` for a principal that may take a link, and how long that link may live. Provider staff may not: a link is a
 * bearer URL nothing in the archive can revoke, and a grant is "revocable at once"; they stream,
 * and each streamed request checks the grant again.
 */
export function deliveryFor(principal: Pick<Principal, 'kind' | 'credentialExpiresAt'>, delivery: DownloadConditions['delivery']): Pick<DownloadConditions, 'delivery' | 'linkNotAfter'> {
  if (delivery === 'redirect' && principal.kind === 'support') {
    throw new ArchiveError('forbidden', { detail: 'Support access streams downloads: a read-only link would outlive a revoked grant. Leave out ?delivery=redirect.', extensions: { rule: 'support-no-links' } });
  }
  return { delivery, ...(principal.credentialExpiresAt ? { linkNotAfter: principal.credentialExpiresAt } : {}) };
}

import type { Readable } from 'node:stream';
import type { Deps } from '../deps';
import { documentFile, type DocumentFileRequest } from '../documents/download';
import { exportFile } from '../exports/download-export';
import type { StoredFileRef } from '../ports';
import { ArchiveError } from '../kernel/errors';
import type { Principal } from '../kernel/principal';
import { parseRange, type ByteRange } from './range';
import { contentDisposition } from './respond';

export interface DownloadConditions {
  range: string | null;
  ifRange: string | null;
  ifNoneMatch: string | null;
  /** If-Match: the request is for this file only (412 otherwise); strong comparison, `*` any. */
  ifMatch?: string | null;
  /** `redirect`: answer 303 with a short-lived read-only link to the blob instead of the bytes. */
  delivery?: 'stream' | 'redirect';
  /** The link expires by then at the latest: the requesting credential's own expiry. */
  linkNotAfter?: string;
  /** Whether the principal may be sent a link (support may not: rule support-no-links); see deliveryFor. */
  mayLink: boolean;
  /** HEAD: the answer's status and headers, the file not read (the pipeline leaves the content out). */
  head?: boolean;
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
 *
 * No answer streams more than ARCHIVE_STREAMED_ANSWER_MAX_BYTES: the Functions Node library writes a
 * streamed answer without backpressure and reads on after the client left
 * (Azure/azure-functions-nodejs-library#294), so a client slower than storage would have the worker hold the
 * whole blob in memory. A larger whole file is sent as a link (303, exactly as `?delivery=redirect`), or,
 * to a principal that may not take links, refused with `range_too_large` naming the size to ask for with
 * Range. A range up to the cap is served. A larger one (`bytes=N-` resuming a large file: curl -C - -L,
 * wget -c, a browser's download manager) gets the same 303, its audit entry naming the range; the client
 * re-sends its Range to the link and storage serves it. Support is refused it alike. Decided here, not in
 * a host, so the local host (which has backpressure) behaves, and is tested, the same.
 *
 * If-Range is evaluated here as for any answer (strong match with our ETag, else the range is dropped), but
 * above the cap it changes nothing but the audit entry: the range and the whole file are answered by the
 * same link, and the client's Range and If-Range go with it to storage, which decides. Storage does not
 * evaluate If-Range (Azure's Get Blob documents only If-Match, If-None-Match, If-(Un)Modified-Since;
 * Azurite ignores it): it serves the Range whatever the If-Range holds. That is safe because a link reads
 * a blob that never changes (WORM originals, renditions and reports; an export's ZIP is fixed under its
 * id), so a client's partial of this URL is of those bytes whichever validator it keeps: our ETag, a date,
 * or, most often, storage's own ETag from a download that began at the link. Refusing an If-Range that is
 * not ours would break exactly that resume; were storage ever to evaluate one, ours would not match its
 * ETag and the client would get the whole file: correct, only not resumed.
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
  // If-Match first (RFC 9110 §13.2.2): it used to be ignored, so a client that asked for bytes only of the file it had
  // (If-Match: its ETag) was sent the bytes of whatever the URL read now, as if they continued its copy. Strong
  // comparison (§13.1.1): a weak tag never matches.
  if (c.ifMatch && !c.ifMatch.split(',').some((t) => t.trim() === etag || t.trim() === '*')) {
    throw new ArchiveError('precondition_failed', { detail: `If-Match names no strong ETag of this file: it is ${etag} (a weak tag never matches). Nothing was sent.`, extensions: { etag } });
  }
  if (c.ifNoneMatch && c.ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === etag || t.trim() === '*')) {
    return { status: 304, headers: common, auditDetail: read };
  }
  // If-Range: the range applies only while the representation is unchanged.
  const asked = () => parseRange(c.ifRange && c.ifRange.trim() !== etag ? null : c.range, file.size);
  if (c.delivery === 'redirect') {
    // The link goes out whatever the Range (storage serves it); the entry names a range the client asked for, as above the cap.
    let range: ByteRange | null = null;
    try {
      range = asked();
    } catch {
      // an unsatisfiable range is storage's to answer (416); the link reads the whole file
    }
    return linkTo(file, c, deps, common, range ? `${read};bytes=${range.start}-${range.end}` : read);
  }
  const range = asked();
  const cap = deps.config.ARCHIVE_STREAMED_ANSWER_MAX_BYTES;
  if (range ? range.end - range.start + 1 > cap : file.size > cap) {
    if (c.mayLink) return linkTo(file, c, deps, common, range ? `${read};bytes=${range.start}-${range.end}` : read);
    throw tooLargeToStream(file.size, cap, range);
  }
  const count = range ? range.end - range.start + 1 : file.size;
  const bytes = c.head ? null : await file.read(range ? { offset: range.start, count } : undefined);
  const headers: Record<string, string> = {
    ...common,
    'Content-Type': file.mediaType,
    'Content-Length': String(bytes?.contentLength ?? count),
    'Content-Disposition': contentDisposition(file.name),
  };
  const body = bytes ? { body: bytes.stream } : {};
  if (range) return { status: 206, headers: { ...headers, 'Content-Range': `bytes ${range.start}-${range.end}/${file.size}` }, ...body, auditDetail: `${read};bytes=${range.start}-${range.end}` };
  return { status: 200, headers, ...body, auditDetail: read };
}

async function linkTo(file: StoredFileRef, c: DownloadConditions, deps: Pick<Deps, 'links' | 'config' | 'clock'>, common: Record<string, string>, read: string): Promise<DownloadResult> {
  // Large files: the client reads straight from Blob Storage through a read-only, one-blob SAS of at most an
  // hour, never past the file's own availability (an export fetched just before it expires), nor past the
  // credential that asked for it (an API key about to expire would otherwise read on through its link).
  // To the millisecond (notAfter): a link asked for in the last second before such a limit had been given a whole second past it.
  // A token is accepted up to the clock tolerance past its exp, but a link for it would have ended before it was read
  // (a 303 to a link Storage refuses): a clear 401 instead, which a client answers by signing in again.
  if (c.linkNotAfter !== undefined && Date.parse(c.linkNotAfter) <= deps.clock.now().getTime()) {
    throw new ArchiveError('unauthenticated', { detail: 'The token has expired (it was accepted within the clock tolerance), so no link can be signed for it: sign in again.' });
  }
  const until = Math.min(Infinity, ...[file.availableUntil, c.linkNotAfter].filter((t): t is string => t !== undefined).map((t) => Date.parse(t)));
  const left = Math.floor((until - deps.clock.now().getTime()) / 1000);
  const link = await deps.links.readOnlyUrl(
    file.container,
    file.blobName,
    { ttlSeconds: Math.max(1, Math.min(deps.config.ARCHIVE_DOWNLOAD_LINK_SECONDS, left)), ...(Number.isFinite(until) ? { notAfter: new Date(until) } : {}), contentDisposition: contentDisposition(file.name), contentType: file.mediaType },
    deps.clock.now(),
  );
  // The link reads unaudited until it expires: the entry says until when.
  return { status: 303, headers: { ...common, Location: link.url, 'Cache-Control': 'no-store', 'Link-Expires': link.expiresOn.toISOString() }, auditDetail: `${read};link-until=${link.expiresOn.toISOString()}` };
}

/**
 * 422, not 416: RFC 9110 §15.5.17 keeps 416 for ranges none of which is satisfiable (or too many small ones),
 * and clients read it so (wget, and this archive's CLI, take it as "nothing left to fetch"); a large range is
 * satisfiable, and a whole-file request has no range at all. 413 is about the request's own content.
 */
function tooLargeToStream(size: number, cap: number, range: ByteRange | null): ArchiveError {
  // Only support gets here (a principal that may take links is sent one): pieces are the way, never a link.
  const detail = range
    ? `The range asks for ${range.end - range.start + 1} bytes; one answer carries at most ${cap}, and support access gets no links (rule support-no-links). Ask for at most ${cap} bytes per request (Range: bytes=${range.start}-${range.start + cap - 1}, then on).`
    : `The file has ${size} bytes, more than the ${cap} one answer carries, and support access gets no links (rule support-no-links). Fetch it in pieces of at most ${cap} bytes with Range (bytes=0-${cap - 1}, then on), each with If-Range set to the first piece's ETag.`;
  return new ArchiveError('range_too_large', { detail, extensions: { maxRangeBytes: cap, size } });
}

export type DownloadRequest = DocumentFileRequest & DownloadConditions;

export async function downloadFile(r: DownloadRequest, deps: Pick<Deps, 'catalog' | 'blobs' | 'links' | 'config' | 'clock' | 'log' | 'audit'>): Promise<DownloadResult> {
  return deliverStoredFile(await documentFile(r, deps), r, deps);
}

export type ExportDownloadRequest = { tenantId: string; exportId: string } & DownloadConditions;

export async function downloadExport(r: ExportDownloadRequest, deps: Pick<Deps, 'exportJobs' | 'exportBlobs' | 'links' | 'config' | 'clock' | 'log' | 'audit' | 'auditOutbox'>): Promise<DownloadResult> {
  return deliverStoredFile(await exportFile(r, deps), r, deps);
}

/**
 * `?delivery=redirect` for a principal that may take a link, and how long that link may live. Provider staff may not: a link is a
 * bearer URL nothing in the archive can revoke, and a grant is "revocable at once"; they stream,
 * and each streamed request checks the grant again.
 */
export function deliveryFor(principal: Pick<Principal, 'kind' | 'credentialExpiresAt'>, delivery: DownloadConditions['delivery']): Pick<DownloadConditions, 'delivery' | 'linkNotAfter' | 'mayLink'> {
  const mayLink = principal.kind !== 'support';
  if (delivery === 'redirect' && !mayLink) {
    throw new ArchiveError('forbidden', { detail: 'Support access streams downloads: a read-only link would outlive a revoked grant. Leave out ?delivery=redirect (a large file comes in Range pieces).', extensions: { rule: 'support-no-links' } });
  }
  return { delivery, mayLink, ...(principal.credentialExpiresAt ? { linkNotAfter: principal.credentialExpiresAt } : {}) };
}

import type { Deps } from '../deps';
import type { DownloadResult } from '../documents/download';
import { ArchiveError } from '../kernel/errors';
import { parseRange } from '../http/range';
import { contentDisposition } from '../http/respond';
import { getExport } from './start-export';
import { blobLayout } from '../kernel/blob-layout';

export interface ExportDownloadRequest {
  tenantId: string;
  exportId: string;
  range: string | null;
  ifRange: string | null;
  ifNoneMatch: string | null;
  delivery?: 'stream' | 'redirect';
}

/** The finished ZIP, streamed with the same headers as a document download: ETag, Repr-Digest, Range, If-Range, If-None-Match. */
export async function downloadExport(r: ExportDownloadRequest, deps: Pick<Deps, 'exportJobs' | 'exportBlobs' | 'links' | 'config' | 'clock'>): Promise<DownloadResult> {
  const job = await getExport(r.tenantId, r.exportId, deps);
  if (job.status === 'expired' || Date.parse(job.expiresAt) <= deps.clock.now().getTime()) {
    throw new ArchiveError('export_expired', { detail: `Export ${job.id} expired at ${job.expiresAt}; start a new one.` });
  }
  if (job.status !== 'completed' || !job.archive) {
    throw new ArchiveError('export_not_ready', { detail: `Export ${job.id} is ${job.status}.`, extensions: { status: job.status, progress: job.progress } });
  }
  const { size, sha256 } = job.archive;
  const etag = `"${sha256}"`;
  const name = `export-${job.filter.fiscalYear ?? 'search'}-${job.id}.zip`;
  const common: Record<string, string> = {
    ETag: etag,
    'Repr-Digest': `sha-256=:${Buffer.from(sha256, 'hex').toString('base64')}:`,
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'private, no-cache',
  };
  if (r.ifNoneMatch && r.ifNoneMatch.split(',').some((t) => t.trim() === etag || t.trim() === '*')) return { status: 304, headers: common };
  if (r.delivery === 'redirect') {
    const link = await deps.links.readOnlyUrl(
      blobLayout.exportsContainer(r.tenantId),
      job.blobName,
      { ttlSeconds: deps.config.ARCHIVE_DOWNLOAD_LINK_SECONDS, contentDisposition: contentDisposition(name), contentType: 'application/zip' },
      deps.clock.now(),
    );
    return { status: 303, headers: { ...common, Location: link.url, 'Cache-Control': 'no-store', 'Link-Expires': link.expiresOn.toISOString() } };
  }
  const range = parseRange(r.ifRange && r.ifRange.trim() !== etag ? null : r.range, size);
  const read = await deps.exportBlobs.read(r.tenantId, job.blobName, range ? { offset: range.start, count: range.end - range.start + 1 } : undefined);
  const headers: Record<string, string> = { ...common, 'Content-Type': 'application/zip', 'Content-Length': String(read.contentLength), 'Content-Disposition': contentDisposition(name) };
  if (range) return { status: 206, headers: { ...headers, 'Content-Range': `bytes ${range.start}-${range.end}/${size}` }, body: read.stream };
  return { status: 200, headers, body: read.stream };
}

import { z } from 'zod';
import { correctionDigest, correctMetadata, metadataETag, metadataHistoryOf, parseMetadataIfMatch } from '../shared/documents/correct-metadata';
import { downloadFile, Representation } from '../shared/documents/download';
import { getDocument } from '../shared/documents/get-document';
import { ingestDocument } from '../shared/documents/ingest';
import { listDocuments, parseQuery, ZListQuery } from '../shared/documents/list-documents';
import { toPublicDocument } from '../shared/documents/types';
import { ArchiveError } from '../shared/http/errors';
import { parseJsonBody } from '../shared/http/json-body';
import { type RouteDef, type TenantContext, tenantRoute } from '../shared/http/pipeline';
import { created, json } from '../shared/http/respond';
import { parseUpload } from '../shared/http/upload';
import type { Deps } from '../shared/app';

/** Thin handlers: parse, call the core, map the result. Authentication, rights and audit live in the pipeline. */
async function uploadDocument({ req, principal, audit }: TenantContext, deps: Deps) {
  const upload = await parseUpload(req, { maxBytes: deps.config.ARCHIVE_MAX_UPLOAD_BYTES, maxFiles: deps.config.ARCHIVE_MAX_PAGES });
  const { document, replayed } = await ingestDocument({ principal, files: upload.files, metadata: upload.metadata, idempotencyKey: req.headers.get('idempotency-key') }, deps);
  audit.target = document.id;
  return created(`${deps.config.ARCHIVE_PUBLIC_BASE_PATH}/documents/${document.id}`, toPublicDocument(document), replayed ? { 'Idempotent-Replayed': 'true' } : {});
}

async function readDocument({ req, principal }: TenantContext, deps: Deps) {
  const document = await getDocument(principal.tenantId, req.params.id!, deps);
  return json(200, toPublicDocument(document), { ETag: metadataETag(document) });
}

async function listTenantDocuments({ req, principal }: TenantContext, deps: Deps) {
  const page = await listDocuments(principal.tenantId, parseQuery(ZListQuery, req.url.searchParams), deps);
  return json(200, { items: page.items.map(toPublicDocument), continuationToken: page.continuationToken });
}

function download(representation: Representation) {
  return async ({ req, principal }: TenantContext, deps: Deps) => {
    const part = req.params.part === undefined ? 1 : Number(req.params.part);
    if (!Number.isInteger(part) || part < 1) throw new ArchiveError('document_not_found', { detail: 'No such original file.' });
    const h = (name: string) => req.headers.get(name);
    const delivery = req.url.searchParams.get('delivery') ?? 'stream';
    if (delivery !== 'stream' && delivery !== 'redirect') throw new ArchiveError('invalid_query', { detail: 'delivery must be stream or redirect.' });
    const result = await downloadFile(
      { tenantId: principal.tenantId, documentId: req.params.id!, representation, part, range: h('range'), ifRange: h('if-range'), ifNoneMatch: h('if-none-match'), delivery },
      deps,
    );
    return { status: result.status, headers: result.headers, ...(result.body ? { body: result.body } : {}) };
  };
}

const ZCorrection = z.object({ reason: z.string().trim().min(1).max(500) }).catchall(z.unknown());

/**
 * `PATCH /documents/{id}/metadata`: the body is an RFC 7396 merge patch of the metadata plus the
 * required `reason` (metadata has no field of that name). If-Match names the metadata version.
 */
async function correctDocumentMetadata({ req, principal, audit }: TenantContext, deps: Deps) {
  const type = (req.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/merge-patch+json') throw new ArchiveError('unsupported_media_type', { detail: 'Send the correction as application/merge-patch+json (RFC 7396) with a "reason".' });
  const ifMatch = parseMetadataIfMatch(req.headers.get('if-match'));
  if (ifMatch === null) throw new ArchiveError('precondition_required', { detail: 'Send If-Match with the ETag of the document (its metadata version, e.g. "metadata-1"), as read from GET /documents/{id}.' });
  const { reason, ...patch } = await parseJsonBody(req, ZCorrection);
  const { document, correction } = await correctMetadata({ principal, documentId: req.params.id!, patch, reason, ifMatch }, deps);
  if (correction) audit.detail = `metadata-version=${correction.version};fields=${correction.changes.map((c) => c.field).join(',')};sha256=${correctionDigest(correction)}`;
  return json(200, { ...toPublicDocument(document), ...(correction ? { correction } : {}) }, { ETag: metadataETag(document) });
}

async function readMetadataHistory({ req, principal }: TenantContext, deps: Deps) {
  const document = await getDocument(principal.tenantId, req.params.id!, deps);
  return json(200, metadataHistoryOf(document), { ETag: metadataETag(document) });
}

export const documentRoutes: RouteDef[] = [
  tenantRoute({ name: 'uploadDocument', method: 'POST', route: 'documents', permission: 'documents:write', action: 'document.ingest', handler: uploadDocument }),
  tenantRoute({ name: 'listDocuments', method: 'GET', route: 'documents', permission: 'documents:read', action: 'document.list', handler: listTenantDocuments }),
  tenantRoute({ name: 'getDocument', method: 'GET', route: 'documents/{id}', permission: 'documents:read', action: 'document.read', handler: readDocument }),
  tenantRoute({ name: 'correctDocumentMetadata', method: 'PATCH', route: 'documents/{id}/metadata', permission: 'documents:correct', action: 'document.correct-metadata', handler: correctDocumentMetadata }),
  tenantRoute({ name: 'getDocumentMetadataHistory', method: 'GET', route: 'documents/{id}/metadata/history', permission: 'documents:read', action: 'document.metadata-history', handler: readMetadataHistory }),
  tenantRoute({ name: 'downloadOriginal', method: 'GET', route: 'documents/{id}/original', permission: 'documents:download', action: 'document.download-original', handler: download('original') }),
  tenantRoute({ name: 'downloadOriginalPart', method: 'GET', route: 'documents/{id}/originals/{part}', permission: 'documents:download', action: 'document.download-original', handler: download('original') }),
  tenantRoute({ name: 'downloadRendition', method: 'GET', route: 'documents/{id}/rendition', permission: 'documents:download', action: 'document.download-rendition', handler: download('rendition') }),
  tenantRoute({ name: 'downloadValidationReport', method: 'GET', route: 'documents/{id}/validation', permission: 'documents:download', action: 'document.download-validation', handler: download('validation') }),
];

import { z } from 'zod';
import { numberInUrl } from '../shared/kernel/url-number';
import { correctionAnswer, correctMetadata, metadataETag, metadataHistoryOf, parseMetadataIfMatch } from '../shared/documents/correct-metadata';
import type { Representation } from '../shared/documents/download';
import { deliveryFor, downloadFile } from '../shared/http/download';
import { getDocument } from '../shared/documents/get-document';
import { ingestDocument } from '../shared/documents/ingest';
import { listDocuments, ZListQuery } from '../shared/documents/list-documents';
import { toPublicDocument } from '../shared/kernel/document';
import type { ErrorCode } from '../shared/kernel/errors';
import { ArchiveError } from '../shared/kernel/errors';
import { shownText } from '../shared/kernel/text';
import { parseJsonBody } from '../shared/http/json-body';
import { operation, reply, type Responses } from '../shared/http/operation';
import { ZCorrectionReceipt, ZDocument, ZDocumentPage, ZId, ZMetadataCorrection, ZMetadataHistory } from '../shared/http/schemas';
import { parseUpload } from '../shared/http/upload';
import { ACCEPTED_MEDIA_TYPES } from '../shared/normalise/types';

/** Thin handlers: the definition says what comes in and goes out; the core does the work. Authentication, rights and audit live in the pipeline. */
const ZDocumentParams = z.strictObject({ id: ZId });

export const uploadDocument = operation({
  name: 'uploadDocument', method: 'POST', route: 'documents', tags: ['documents'],
  summary: 'Archive a scan (raw body or multipart with a `metadata` part)',
  description: '`Idempotency-Key` makes retries safe. `Content-Digest` or `Repr-Digest` (RFC 9530, `sha-256=:…:` of the body as sent) is checked before anything is stored: 400 `digest_mismatch` if the body differs. Metadata (multipart part `metadata`): see the DocumentMetadata schema.',
  auth: 'tenant', permission: 'documents:write', action: 'document.ingest', idempotencyKey: true,
  query: z.strictObject({ metadata: z.string().optional().meta({ description: 'A raw body\'s metadata as URL-encoded JSON (or the Archive-Metadata header, not both)' }) }),
  body: { stream: [...ACCEPTED_MEDIA_TYPES, 'multipart/form-data'], description: 'The scan itself, or multipart: `file` parts and one JSON `metadata` part' },
  responses: { 201: { description: 'Archived; Location names it', json: ZDocument, headers: ['Location', 'Idempotent-Replayed'] } },
  errors: ['bad_request', 'empty_body', 'malformed_multipart', 'invalid_metadata', 'payload_too_large', 'unsupported_media_type', 'duplicate_document', 'corrupt_file', 'encrypted_pdf', 'active_content', 'too_many_pixels', 'pixel_budget_exceeded', 'normalisation_timeout', 'normalisation_memory', 'too_many_pages', 'decompressed_too_large', 'embedded_file', 'xfa_form', 'trailing_data', 'digest_mismatch', 'idempotency_key_reused', 'idempotency_in_flight', 'invalid_retention_policy', 'retention_ended', 'too_many_uploads', 'worm_unavailable'],
  handler: async ({ req, idempotencyKey, principal, audit }, deps) => {
    const upload = await parseUpload(req, { maxBytes: deps.config.ARCHIVE_MAX_UPLOAD_BYTES, maxFiles: deps.config.ARCHIVE_MAX_PAGES, spoolAboveBytes: deps.config.ARCHIVE_UPLOAD_SPOOL_BYTES, spoolDir: deps.config.ARCHIVE_SPOOL_DIR, spoolShare: { owner: principal.tenantId, maxBytes: deps.config.ARCHIVE_SPOOL_MAX_BYTES_PER_TENANT } });
    const { document, replayed } = await ingestDocument({ principal, files: upload.files, metadata: upload.metadata, idempotencyKey, audit: audit.staging(201) }, deps).finally(() => upload.discard());
    audit.target = document.id;
    // As every create that takes a key: the retry's own entry says it stored nothing.
    if (replayed) audit.detail = 'replayed';
    return reply(201, toPublicDocument(document), { Location: `${deps.config.ARCHIVE_PUBLIC_BASE_PATH}/documents/${document.id}`, ...(replayed ? { 'Idempotent-Replayed': 'true' } : {}) });
  },
});

export const listTenantDocuments = operation({
  name: 'listDocuments', method: 'GET', route: 'documents', tags: ['documents'],
  summary: 'Search the tenant\'s documents (filters, sort, continuation paging)',
  auth: 'tenant', permission: 'documents:read', action: 'document.list',
  query: ZListQuery,
  responses: { 200: { description: 'A page', json: ZDocumentPage } },
  errors: [],
  handler: async ({ query, principal }, deps) => {
    const page = await listDocuments(principal.tenantId, query, deps);
    return reply(200, { items: page.items.map(toPublicDocument), continuationToken: page.continuationToken });
  },
});

export const readDocument = operation({
  name: 'getDocument', method: 'GET', route: 'documents/{id}', tags: ['documents'], summary: 'One document',
  auth: 'tenant', permission: 'documents:read', action: 'document.read',
  params: ZDocumentParams, paramsError: 'document_not_found',
  responses: { 200: { description: 'The document; ETag names its metadata version (for If-Match on a correction)', json: ZDocument, headers: ['ETag'] } },
  errors: ['document_not_found'],
  handler: async ({ params, principal }, deps) => {
    const document = await getDocument(principal.tenantId, params.id, deps);
    return reply(200, toPublicDocument(document), { ETag: metadataETag(document) });
  },
});

const ZCorrection = z.object({ reason: shownText('prose', 500) }).catchall(z.unknown());

/**
 * `PATCH /documents/{id}/metadata`: an RFC 7396 merge patch of the metadata plus the required `reason`
 * (metadata has no field of that name). If-Match names the metadata version. Declared as a byte body
 * because its media type is application/merge-patch+json, which the JSON body reader accepts too.
 */
export const correctDocumentMetadata = operation({
  name: 'correctDocumentMetadata', method: 'PATCH', route: 'documents/{id}/metadata', tags: ['documents'],
  summary: 'Correct a document\'s metadata (merge patch with a reason); files and hashes never change',
  auth: 'tenant', permission: 'documents:correct', action: 'document.correct-metadata',
  params: ZDocumentParams, paramsError: 'document_not_found',
  body: { stream: ['application/merge-patch+json'], description: 'RFC 7396 merge patch of the metadata plus `reason`; If-Match: the ETag of GET /documents/{id}' },
  responses: { 200: { description: 'The corrected document, with the correction; to a caller without documents:read, only what it corrected (the fields and their new values) and the version now', json: z.union([ZDocument.extend({ correction: ZMetadataCorrection.optional() }), ZCorrectionReceipt]), headers: ['ETag'] } },
  errors: ['document_not_found', 'document_disposed', 'invalid_metadata', 'bad_request', 'unsupported_media_type', 'payload_too_large', 'precondition_failed', 'precondition_required', 'retention_shortening_refused', 'too_many_corrections', 'too_many_holds', 'document_record_full', 'worm_unavailable'],
  handler: async ({ params, req, principal, audit }, deps) => {
    const type = (req.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/merge-patch+json') throw new ArchiveError('unsupported_media_type', { detail: 'Send the correction as application/merge-patch+json (RFC 7396) with a "reason".' });
    const ifMatch = parseMetadataIfMatch(req.headers.get('if-match'));
    if (ifMatch === null) throw new ArchiveError('precondition_required', { detail: 'Send If-Match with the ETag of the document (its metadata version, e.g. "metadata-1"), as read from GET /documents/{id}.' });
    const { reason, ...patch } = await parseJsonBody(req, ZCorrection);
    const { document, correction } = await correctMetadata({ principal, documentId: params.id, patch, reason, ifMatch, audit: audit.staging(200) }, deps);
    return reply(200, correctionAnswer(principal, document, correction), { ETag: metadataETag(document) });
  },
});

export const readMetadataHistory = operation({
  name: 'getDocumentMetadataHistory', method: 'GET', route: 'documents/{id}/metadata/history', tags: ['documents'],
  summary: 'Every version of a document\'s metadata: who, when, why, what changed',
  auth: 'tenant', permission: 'documents:read', action: 'document.metadata-history',
  params: ZDocumentParams, paramsError: 'document_not_found',
  responses: { 200: { description: 'The metadata history', json: ZMetadataHistory, headers: ['ETag'] } },
  errors: ['document_not_found'],
  handler: async ({ params, principal }, deps) => {
    const document = await getDocument(principal.tenantId, params.id, deps);
    return reply(200, metadataHistoryOf(document), { ETag: metadataETag(document) });
  },
});

/** Other query parameters are ignored (links may carry their own), so this one is not strict. */
export const ZDelivery = z.object({ delivery: z.enum(['stream', 'redirect']).default('stream') });

/** The answers of a conditional, ranged download (documents and exports alike). */
export const downloadResponses = (mediaTypes: readonly string[], what: string) =>
  ({
    200: { description: `${what}, streamed`, stream: mediaTypes, headers: ['ETag', 'Repr-Digest', 'Content-Disposition', 'Accept-Ranges'] },
    206: { description: 'One byte range (Range, If-Range)', stream: mediaTypes, headers: ['ETag', 'Repr-Digest', 'Content-Disposition', 'Content-Range', 'Accept-Ranges'] },
    303: { description: '`?delivery=redirect`, or a whole file or Range larger than ARCHIVE_STREAMED_ANSWER_MAX_BYTES (Range is then re-sent to the link): Location is a read-only SAS link to this one blob, valid at most an hour', headers: ['Location', 'Link-Expires', 'ETag'] },
    304: { description: 'If-None-Match matched', headers: ['ETag'] },
  }) as const satisfies Responses;

const DOWNLOAD_ERRORS: ErrorCode[] = ['document_not_found', 'document_disposed', 'precondition_failed', 'range_not_satisfiable', 'range_too_large', 'file_damaged'];
const DOWNLOAD_ACTION = { original: 'document.download-original', rendition: 'document.download-rendition', validation: 'document.download-validation' } as const satisfies Record<Representation, string>;
// An original is served as the type its bytes were archived as (one the upload accepts): declared as
// application/octet-stream alone, every original answered a type the description did not name (schemathesis).
const DOWNLOAD_MEDIA: Record<Representation, readonly string[]> = { original: ACCEPTED_MEDIA_TYPES, rendition: ['application/pdf'], validation: ['application/json'] };
const DOWNLOAD_WHAT: Record<Representation, string> = { original: 'The original', rendition: 'The PDF/A rendition', validation: "veraPDF's report" };

/** `part` only on `originals/{part}`: the n-th original, 1-based. */
const ZDownloadParams = z.strictObject({ id: ZId, part: numberInUrl((n) => n.int().min(1).max(100_000).optional()) });

function download(name: string, route: string, representation: Representation, summary: string) {
  return operation({
    name, method: 'GET', route, tags: ['documents'], summary,
    auth: 'tenant', permission: 'documents:download', action: DOWNLOAD_ACTION[representation],
    params: ZDownloadParams, paramsError: 'document_not_found',
    query: ZDelivery,
    responses: downloadResponses(DOWNLOAD_MEDIA[representation], DOWNLOAD_WHAT[representation]),
    errors: representation === 'validation' ? [...DOWNLOAD_ERRORS, 'validation_pending'] : DOWNLOAD_ERRORS,
    handler: async ({ params, query, req, principal, audit }, deps) => {
      const h = (header: string) => req.headers.get(header);
      const result = await downloadFile(
        { tenantId: principal.tenantId, documentId: params.id, representation, part: params.part ?? 1, range: h('range'), ifRange: h('if-range'), ifNoneMatch: h('if-none-match'), ifMatch: h('if-match'), head: req.method === 'HEAD', ...deliveryFor(principal, query.delivery) },
        deps,
      );
      audit.detail = result.auditDetail;
      return result.body ? { status: result.status as 200 | 206, headers: result.headers, body: result.body } : { status: result.status, headers: result.headers };
    },
  });
}

export const documentRoutes = [
  uploadDocument,
  listTenantDocuments,
  readDocument,
  download('downloadOriginal', 'documents/{id}/original', 'original', 'Download the (first) original'),
  download('downloadOriginalPart', 'documents/{id}/originals/{part}', 'original', 'Download the n-th original (1-based)'),
  download('downloadRendition', 'documents/{id}/rendition', 'rendition', 'Download the archival PDF rendition'),
  download('downloadValidationReport', 'documents/{id}/validation', 'validation', "Download veraPDF's report on the rendition (validation.json)"),
  correctDocumentMetadata,
  readMetadataHistory,
];

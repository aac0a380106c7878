import type { Representation } from '../shared/documents/download';
import { downloadFile } from '../shared/http/download';
import { getDocument } from '../shared/documents/get-document';
import { ingestDocument } from '../shared/documents/ingest';
import { listDocuments, parseQuery, ZListQuery } from '../shared/documents/list-documents';
import { toPublicDocument } from '../shared/kernel/document';
import { ArchiveError } from '../shared/kernel/errors';
import { type RouteDef, type TenantContext, tenantRoute } from '../shared/http/pipeline';
import { created, json } from '../shared/http/respond';
import { parseUpload } from '../shared/http/upload';
import type { Deps } from '../shared/deps';

/** Thin handlers: parse, call the core, map the result. Authentication, rights and audit live in the pipeline. */
async function uploadDocument({ req, principal, audit }: TenantContext, deps: Deps) {
  const upload = await parseUpload(req, { maxBytes: deps.config.ARCHIVE_MAX_UPLOAD_BYTES, maxFiles: deps.config.ARCHIVE_MAX_PAGES });
  const { document, replayed } = await ingestDocument({ principal, files: upload.files, metadata: upload.metadata, idempotencyKey: req.headers.get('idempotency-key') }, deps);
  audit.target = document.id;
  return created(`${deps.config.ARCHIVE_PUBLIC_BASE_PATH}/documents/${document.id}`, toPublicDocument(document), replayed ? { 'Idempotent-Replayed': 'true' } : {});
}

async function readDocument({ req, principal }: TenantContext, deps: Deps) {
  return json(200, toPublicDocument(await getDocument(principal.tenantId, req.params.id!, deps)));
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

export const documentRoutes: RouteDef[] = [
  tenantRoute({ name: 'uploadDocument', method: 'POST', route: 'documents', permission: 'documents:write', action: 'document.ingest', handler: uploadDocument }),
  tenantRoute({ name: 'listDocuments', method: 'GET', route: 'documents', permission: 'documents:read', action: 'document.list', handler: listTenantDocuments }),
  tenantRoute({ name: 'getDocument', method: 'GET', route: 'documents/{id}', permission: 'documents:read', action: 'document.read', handler: readDocument }),
  tenantRoute({ name: 'downloadOriginal', method: 'GET', route: 'documents/{id}/original', permission: 'documents:download', action: 'document.download-original', handler: download('original') }),
  tenantRoute({ name: 'downloadOriginalPart', method: 'GET', route: 'documents/{id}/originals/{part}', permission: 'documents:download', action: 'document.download-original', handler: download('original') }),
  tenantRoute({ name: 'downloadRendition', method: 'GET', route: 'documents/{id}/rendition', permission: 'documents:download', action: 'document.download-rendition', handler: download('rendition') }),
];

/**
 * The OpenAPI 3.1 description, generated from the route table (paths, methods, permissions,
 * audit actions) and the zod schemas the handlers parse with (`z.toJSONSchema`): one source of
 * truth. Every route is described in OPERATIONS, keyed by route name; the unit test fails for a
 * route name missing there.
 */
import { z } from 'zod';
import { ZDocumentMetadata } from '../kernel/document';
import { ZListQuery } from '../documents/list-documents';
import { EXPORT_STATUSES, ZExportRequest } from '../kernel/export';
import { ERROR_CODES } from '../kernel/errors';
import type { RouteDef } from '../http/pipeline';

export interface OperationDoc {
  summary: string;
  description?: string;
  tags: string[];
  /** zod schema of the query string (as parsed by the handler). */
  query?: z.ZodType;
  /** zod schema of a JSON request body. */
  body?: z.ZodType;
  /** A non-JSON request body: media types accepted. */
  rawBody?: string[];
  /** Status → description (and optionally a component schema name). */
  responses: Record<string, string | { description: string; schema?: string; mediaType?: string }>;
}

const DOWNLOAD_RESPONSES: OperationDoc['responses'] = {
  '200': { description: 'The bytes, streamed, with ETag, Repr-Digest (RFC 9530), Content-Disposition', mediaType: 'application/octet-stream' },
  '206': 'One byte range (Range, If-Range)',
  '303': '`?delivery=redirect`: Location is a read-only SAS link to this one blob, valid at most an hour',
  '304': 'If-None-Match matched',
  '404': 'No such document (or another tenant\'s)',
  '416': 'Range not satisfiable',
};
const ZDelivery = z.strictObject({ delivery: z.enum(['stream', 'redirect']).default('stream') });

const t = (tag: string, summary: string, responses: OperationDoc['responses'], extra: Partial<OperationDoc> = {}): OperationDoc => ({ summary, tags: [tag], responses, ...extra });

export const OPERATIONS: Record<string, OperationDoc> = {
  health: t('health', 'Liveness', { '200': 'Up' }),
  healthReady: t('health', 'Readiness: Blob and Cosmos answer', { '200': 'Ready', '503': 'A dependency is unavailable' }),
  uploadDocument: t('documents', 'Archive a scan (raw body or multipart with a `metadata` part)', { '201': { description: 'Archived; Location names it', schema: 'Document' }, '409': 'Duplicate original', '413': 'Too large', '415': 'Type not accepted', '422': 'Refused content' }, {
    rawBody: ['image/jpeg', 'image/png', 'image/tiff', 'application/pdf', 'multipart/form-data'],
    description: '`Idempotency-Key` makes retries safe. Metadata (multipart part `metadata`): see the DocumentMetadata schema.',
  }),
  listDocuments: t('documents', 'Search the tenant\'s documents (filters, sort, continuation paging)', { '200': { description: 'A page', schema: 'DocumentPage' }, '400': 'Invalid query' }, { query: ZListQuery }),
  getDocument: t('documents', 'One document', { '200': { description: 'The document', schema: 'Document' }, '404': 'No such document' }),
  downloadOriginal: t('documents', 'Download the (first) original', DOWNLOAD_RESPONSES, { query: ZDelivery }),
  downloadOriginalPart: t('documents', 'Download the n-th original (1-based)', DOWNLOAD_RESPONSES, { query: ZDelivery }),
  downloadRendition: t('documents', 'Download the archival PDF rendition', DOWNLOAD_RESPONSES, { query: ZDelivery }),
  createExport: t('exports', 'Export a search (e.g. a fiscal year) as one ZIP with manifest.json and manifest.csv', { '202': { description: 'Started; Location names the export', schema: 'Export' }, '400': 'Invalid request' }, { body: ZExportRequest }),
  getExport: t('exports', 'Progress of an export', { '200': { description: 'The export', schema: 'Export' }, '404': 'No such export' }),
  downloadExport: t('exports', 'Download a finished export ZIP (needs exports:create, like starting one; Range, If-Range, If-None-Match, ?delivery=redirect)', {
    ...DOWNLOAD_RESPONSES,
    '200': { description: 'The ZIP, streamed', mediaType: 'application/zip' },
    '409': 'Not finished',
    '410': 'Expired',
  }, { query: ZDelivery }),
  placeLegalHold: t('retention', 'Place a legal hold on a document', { '201': 'Placed', '404': 'No such document' }),
  releaseLegalHold: t('retention', 'Release a legal hold (four eyes: not by the person who placed it, nor through their API key)', { '200': 'Released', '403': 'Four-eyes rule', '404': 'No such hold' }),
  releaseLegalHoldEverywhere: t('retention', 'Release a hold on every document it covers', { '200': 'Released', '404': 'No such hold' }),
  placeLegalHoldsByQuery: t('retention', 'Place a legal hold on every document matching a search (at most ARCHIVE_HOLD_QUERY_MAX_DOCUMENTS)', { '201': 'Placed', '400': 'Invalid query, or it matches more documents than one hold covers (nothing held)' }),
  getRetentionPolicy: t('retention', 'The tenant\'s retention policy', { '200': 'The policy' }),
  putRetentionPolicy: t('retention', 'Set the tenant\'s retention policy (never below the legal floor; lowering a safeguard below the strongest that has applied is refused to a person holding retention:approve through any credential)', { '200': 'Set', '403': 'Missing retention:manage, or segregation of duties (approver-lowers-safeguards)', '422': 'Invalid policy' }),
  extendRetention: t('retention', 'Extend a document\'s retention (never shorten)', { '200': 'Extended', '422': 'Shortening refused' }),
  listRetentionDue: t('retention', 'Documents whose retention has ended', { '200': 'A page' }),
  approveDisposal: t('retention', 'Approve disposal of documents due', { '200': 'Approved' }),
  listAudit: t('audit', 'The tenant\'s audit entries', { '200': 'A page' }),
  verifyAudit: t('audit', 'Verify the audit hash chain', { '200': 'Verification report' }),
  createApiKey: t('access', 'Create an API key (shown once); it acts for its creator\'s person and never beyond the creator\'s permissions', { '201': 'Created', '403': 'Missing keys:manage, or segregation of duties (rights-ceiling, conflicting-permissions)' }),
  listApiKeys: t('access', 'List API keys (never the secrets)', { '200': 'Keys' }),
  revokeApiKey: t('access', 'Revoke an API key', { '204': 'Revoked', '404': 'No such key' }),
  listRightsSets: t('access', 'Rights sets', { '200': 'Rights sets' }),
  putRightsSet: t('access', 'Create or replace a rights set (added permissions only those the caller holds)', { '200': 'Saved', '403': 'Missing rights:manage, or segregation of duties (rights-ceiling, own-rights, conflicting-permissions)' }),
  deleteRightsSet: t('access', 'Delete a rights set', { '204': 'Deleted', '409': 'In use' }),
  listRightsAssignments: t('access', 'Who holds which rights set', { '200': 'Assignments' }),
  putRightsAssignment: t('access', 'Assign a rights set to a subject (never oneself; only a set within the caller\'s permissions)', { '200': 'Saved', '403': 'Missing rights:manage, or segregation of duties (rights-ceiling, self-assignment, conflicting-permissions)' }),
  deleteRightsAssignment: t('access', 'Remove a subject\'s assignment', { '204': 'Deleted' }),
  readSodPolicy: t('access', 'Segregation-of-duties policy', { '200': 'Policy' }),
  putSodPolicy: t('access', 'Set the segregation-of-duties policy', { '200': 'Saved' }),
  createSupportGrant: t('access', 'Grant provider support access (a scope within the caller\'s permissions; never bulk exports)', { '201': 'Granted', '403': 'Missing support:grant, or segregation of duties (rights-ceiling)' }),
  listSupportGrants: t('access', 'Support-access grants', { '200': 'Grants' }),
  revokeSupportGrant: t('access', 'Revoke a support-access grant', { '204': 'Revoked' }),
  openApi: t('meta', 'This OpenAPI 3.1 description', { '200': 'The description' }),
};

type JsonSchema = Record<string, unknown>;
const schemaOf = (s: z.ZodType): JsonSchema => {
  const { $schema: _s, ...rest } = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  return rest;
};

const COMPONENTS: Record<string, JsonSchema> = {
  DocumentMetadata: schemaOf(ZDocumentMetadata),
  Document: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      status: { type: 'string' },
      pages: { type: 'integer' },
      original: { $ref: '#/components/schemas/File' },
      originals: { type: 'array', items: { $ref: '#/components/schemas/File' } },
      rendition: { $ref: '#/components/schemas/File' },
      metadata: { $ref: '#/components/schemas/DocumentMetadata' },
      fiscalYear: { type: 'integer' },
      retention: { type: 'object', properties: { class: { type: 'string' }, retainUntil: { type: 'string', format: 'date-time' } } },
      legalHold: { type: 'boolean' },
      createdAt: { type: 'string', format: 'date-time' },
    },
  },
  File: { type: 'object', properties: { mediaType: { type: 'string' }, size: { type: 'integer' }, sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' }, fileName: { type: ['string', 'null'] } } },
  DocumentPage: { type: 'object', properties: { items: { type: 'array', items: { $ref: '#/components/schemas/Document' } }, continuationToken: { type: ['string', 'null'] } } },
  ExportRequest: schemaOf(ZExportRequest),
  Export: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      status: { enum: [...EXPORT_STATUSES] },
      filter: { type: 'object' },
      includeOriginals: { type: 'boolean' },
      requestId: { type: 'string' },
      progress: { type: 'object', properties: { total: { type: 'integer' }, documents: { type: 'integer' }, files: { type: 'integer' }, bytes: { type: 'integer' } } },
      archive: { type: 'object', properties: { size: { type: 'integer' }, sha256: { type: 'string' }, download: { type: 'string' } } },
      expiresAt: { type: 'string', format: 'date-time' },
      error: { type: 'string' },
    },
  },
  Problem: {
    type: 'object',
    description: 'RFC 9457 problem details',
    properties: {
      type: { type: 'string' },
      title: { type: 'string' },
      status: { type: 'integer' },
      detail: { type: 'string' },
      code: { enum: ERROR_CODES },
      requestId: { type: 'string' },
    },
    required: ['type', 'title', 'status', 'code', 'requestId'],
  },
};

function queryParameters(schema: z.ZodType) {
  const js = schemaOf(schema) as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, s]) => ({ name, in: 'query', required: (js.required ?? []).includes(name) && !('default' in s), schema: s }));
}

function response(code: string, r: OperationDoc['responses'][string]) {
  const d = typeof r === 'string' ? { description: r } : r;
  const isError = Number(code) >= 400;
  const content = isError
    ? { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } }
    : d.schema
      ? { 'application/json': { schema: { $ref: `#/components/schemas/${d.schema}` } } }
      : d.mediaType
        ? { [d.mediaType]: { schema: { type: 'string', contentMediaType: d.mediaType } } }
        : undefined;
  return { description: d.description, ...(content ? { content } : {}) };
}

/** The description of every route of the table; a route missing from OPERATIONS is still listed (x-undescribed). */
export function buildOpenApi(routes: readonly RouteDef[], basePath = '/api') {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const op = OPERATIONS[route.name];
    const pathParams = [...route.route.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1]!, in: 'path', required: true, schema: { type: 'string' } }));
    const responses: Record<string, unknown> = {};
    for (const [code, r] of Object.entries(op?.responses ?? { '200': 'OK' })) responses[code] = response(code, r);
    if (route.auth === 'tenant') {
      responses['401'] ??= response('401', 'No valid credential');
      responses['403'] ??= response('403', `Needs ${route.permission}`);
    }
    const operation = {
      operationId: route.name,
      summary: op?.summary ?? route.name,
      ...(op?.description ? { description: op.description } : {}),
      tags: op?.tags ?? ['other'],
      ...(route.auth === 'tenant' ? { security: [{ bearer: [] }], 'x-permission': route.permission, 'x-audit-action': route.action } : { security: [] }),
      parameters: [...pathParams, ...(op?.query ? queryParameters(op.query) : [])],
      ...(op?.body ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(op.body) } } } } : {}),
      ...(op?.rawBody ? { requestBody: { required: true, content: Object.fromEntries(op.rawBody.map((m) => [m, { schema: { type: 'string', contentMediaType: m } }])) } } : {}),
      responses,
      ...(op ? {} : { 'x-undescribed': true }),
    };
    (paths[`/${route.route}`] ??= {})[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Document archive API', version: '0.1.0', description: 'Scanned invoices and receipts, kept as original and PDF/A rendition with SHA-256; tenant-scoped catalog and audit log.' },
    servers: [{ url: basePath }],
    paths,
    components: { schemas: COMPONENTS, securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
  };
}

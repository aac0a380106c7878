import { z } from 'zod';
import { numberInUrl } from '../shared/kernel/url-number';
import { pageToken, ZContinuationToken } from '../shared/kernel/page-token';
import type { Deps } from '../shared/deps';
import type { Config } from '../shared/config';
import { deliveryFor, downloadExport } from '../shared/http/download';
import { maintainExports } from '../shared/exports/maintain-exports';
import { exportSealed, getExport, listExports, startExport } from '../shared/exports/start-export';
import { EXPORT_WORK_ON_REQUEST_MS, queueExportWork } from '../shared/exports/queued-export';
import { toPublicExport, ZExportRequest } from '../shared/kernel/export';
import { operation, reply } from '../shared/http/operation';
import { ZExport, ZId } from '../shared/http/schemas';
import { downloadResponses, ZDelivery } from './documents';

/** Thin handlers for bulk exports (a ZIP of a search, e.g. a fiscal year). */
const ZExportParams = z.strictObject({ id: ZId });

export const createExport = operation({
  name: 'createExport', method: 'POST', route: 'exports', tags: ['exports'],
  summary: 'Export a search (e.g. a fiscal year) as one ZIP with manifest.json and manifest.csv',
  description: '`Idempotency-Key` makes a retry safe: the export\'s id is derived from it and the accountable person, so a retry answers the export already started, as it is now (`Idempotent-Replayed: true`), instead of starting a second; the same key with another search or options is a 422.',
  auth: 'tenant', permission: ['exports:create', 'documents:download'], action: 'export.create', idempotencyKey: true,
  body: { json: ZExportRequest, example: { fiscalYear: 2024, includeOriginals: true } },
  responses: { 202: { description: 'Started; Location names the export', json: ZExport, headers: ['Location', 'Idempotent-Replayed'] } },
  errors: ['export_too_large', 'invalid_query', 'too_many_exports', 'idempotency_key_reused'],
  handler: async ({ body, req, idempotencyKey, principal, audit }, deps) => {
    const { job, started } = await startExport(principal, body, req.requestId, deps, audit.staging(202), idempotencyKey);
    audit.target = job.id;
    if (started) await queueExportWork(job, deps, { withinMs: EXPORT_WORK_ON_REQUEST_MS });
    else audit.detail = 'replayed';
    const base = deps.config.ARCHIVE_PUBLIC_BASE_PATH;
    return reply(202, toPublicExport(job, base, deps.clock.now(), await exportSealed(job, deps)), { Location: `${base}/exports/${job.id}`, ...(started ? {} : { 'Idempotent-Replayed': 'true' }) });
  },
});

export const readExport = operation({
  name: 'getExport', method: 'GET', route: 'exports/{id}', tags: ['exports'], summary: 'Progress of an export',
  auth: 'tenant', permission: 'documents:read', action: 'export.read',
  params: ZExportParams, paramsError: 'export_not_found',
  responses: { 200: { description: 'The export', json: ZExport } },
  errors: ['export_not_found'],
  handler: async ({ params, principal }, deps) => {
    const job = await getExport(principal.tenantId, params.id, deps);
    return reply(200, toPublicExport(job, deps.config.ARCHIVE_PUBLIC_BASE_PATH, deps.clock.now(), await exportSealed(job, deps)));
  },
});

const ZListExports = z.strictObject({ limit: numberInUrl((n) => n.int().min(1).max(200).default(50)), continuationToken: ZContinuationToken.optional() });

export const listTenantExports = operation({
  name: 'listExports', method: 'GET', route: 'exports', tags: ['exports'], summary: "The tenant's exports, newest first, paged",
  auth: 'tenant', permission: 'documents:read', action: 'export.list',
  query: ZListExports,
  responses: { 200: { description: 'A page of exports', json: z.strictObject({ items: z.array(ZExport), continuationToken: z.string().nullable() }) } },
  errors: [],
  handler: async ({ query, principal }, deps) => {
    const scope = { list: 'exports', tenantId: principal.tenantId };
    const page = await listExports(principal.tenantId, query.limit, pageToken.decode(query.continuationToken, scope), deps);
    return reply(200, { items: page.items.map(({ job, sealed }) => toPublicExport(job, deps.config.ARCHIVE_PUBLIC_BASE_PATH, deps.clock.now(), sealed)), continuationToken: pageToken.encode(page.continuationToken, scope) });
  },
});

// A bulk copy: the same right as starting one, so a grant to read single documents never carries it.
export const downloadExportArchive = operation({
  name: 'downloadExport', method: 'GET', route: 'exports/{id}/download', tags: ['exports'],
  summary: 'Download a finished export ZIP (needs exports:create and documents:download, like starting one; Range, If-Range, If-None-Match, ?delivery=redirect)',
  auth: 'tenant', permission: ['exports:create', 'documents:download'], action: 'export.download',
  params: ZExportParams, paramsError: 'export_not_found',
  query: ZDelivery,
  responses: downloadResponses(['application/zip'], 'The ZIP'),
  errors: ['export_not_found', 'export_not_ready', 'export_expired', 'export_not_sealed', 'precondition_failed', 'range_not_satisfiable', 'range_too_large', 'file_damaged'],
  handler: async ({ params, query, req, principal, audit }, deps) => {
    const h = (name: string) => req.headers.get(name);
    const result = await downloadExport({ tenantId: principal.tenantId, exportId: params.id, range: h('range'), ifRange: h('if-range'), ifNoneMatch: h('if-none-match'), ifMatch: h('if-match'), head: req.method === 'HEAD', ...deliveryFor(principal, query.delivery) }, deps);
    audit.detail = result.auditDetail;
    return result.body ? { status: result.status as 200 | 206, headers: result.headers, body: result.body } : { status: result.status, headers: result.headers };
  },
});

export const exportRoutes = [listTenantExports, createExport, readExport, downloadExportArchive];

/** Registered with app.timer by functions/index.ts. */
export const exportTimer = {
  name: 'exportMaintenance',
  description: 'Restarts stale export jobs and deletes expired export ZIPs',
  schedule: (c: Config) => c.ARCHIVE_EXPORT_SCHEDULE,
  run: (deps: Deps) => maintainExports({ now: deps.clock.now(), deps }),
};

import type { Deps } from '../shared/deps';
import type { Config } from '../shared/config';
import { downloadExport } from '../shared/http/download';
import { maintainExports } from '../shared/exports/maintain-exports';
import { getExport, startExport } from '../shared/exports/start-export';
import { toPublicExport, ZExportRequest } from '../shared/kernel/export';
import { ArchiveError } from '../shared/kernel/errors';
import { parseJsonBody } from '../shared/http/json-body';
import { type RouteDef, type TenantContext, tenantRoute } from '../shared/http/pipeline';
import { json } from '../shared/http/respond';

/** Thin handlers for bulk exports (a ZIP of a search, e.g. a fiscal year). */
async function createExport({ req, principal, audit }: TenantContext, deps: Deps) {
  const request = await parseJsonBody(req, ZExportRequest);
  const { job, run } = await startExport(principal, request, req.requestId, deps);
  audit.target = job.id;
  // The worker runs in this process after the 202 is sent (see shared/exports/start-export.ts).
  setImmediate(() => {
    run().catch((err: unknown) => deps.log.error('export worker crashed', { exportId: job.id, error: String(err) }));
  });
  const base = deps.config.ARCHIVE_PUBLIC_BASE_PATH;
  return json(202, toPublicExport(job, base), { Location: `${base}/exports/${job.id}` });
}

async function readExport({ req, principal }: TenantContext, deps: Deps) {
  return json(200, toPublicExport(await getExport(principal.tenantId, req.params.id!, deps), deps.config.ARCHIVE_PUBLIC_BASE_PATH));
}

async function downloadExportArchive({ req, principal }: TenantContext, deps: Deps) {
  const delivery = req.url.searchParams.get('delivery') ?? 'stream';
  if (delivery !== 'stream' && delivery !== 'redirect') throw new ArchiveError('invalid_query', { detail: 'delivery must be stream or redirect.' });
  const h = (name: string) => req.headers.get(name);
  const result = await downloadExport({ tenantId: principal.tenantId, exportId: req.params.id!, range: h('range'), ifRange: h('if-range'), ifNoneMatch: h('if-none-match'), delivery }, deps);
  return { status: result.status, headers: result.headers, ...(result.body ? { body: result.body } : {}) };
}

export const exportRoutes: RouteDef[] = [
  tenantRoute({ name: 'createExport', method: 'POST', route: 'exports', permission: 'exports:create', action: 'export.create', handler: createExport }),
  tenantRoute({ name: 'getExport', method: 'GET', route: 'exports/{id}', permission: 'documents:read', action: 'export.read', handler: readExport }),
  // A bulk copy: the same right as starting one, so a grant to read single documents never carries it.
  tenantRoute({ name: 'downloadExport', method: 'GET', route: 'exports/{id}/download', permission: 'exports:create', action: 'export.download', handler: downloadExportArchive }),
];

/** Registered with app.timer by functions/index.ts. */
export const exportTimer = {
  name: 'exportMaintenance',
  schedule: (c: Config) => c.ARCHIVE_EXPORT_SCHEDULE,
  run: (deps: Deps) => maintainExports({ now: deps.clock.now(), deps }),
};

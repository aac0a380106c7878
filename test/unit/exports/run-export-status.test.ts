/**
 * A failed export's audit entry records the status a request failing the same way answers:
 * the export runner is core and imports no HTTP, so the status comes from the one table in
 * shared/http/problem.ts through `deps.errorStatus` (handed in by the composition root).
 */
import { runExport } from '../../../shared/exports/run-export';
import { sealExportRequest } from '../../../shared/exports/export-seal';
import { ERROR_STATUS } from '../../../shared/http/problem';
import type { ExportJob } from '../../../shared/kernel/export';
import { InMemoryCatalog, inMemoryDeps } from '../../support/in-memory';

/** A search that matches more documents than one export may hold. */
class VastCatalog extends InMemoryCatalog {
  override async countMatching(): Promise<number> {
    return Number.MAX_SAFE_INTEGER;
  }
}

it('records export_too_large with its HTTP status, 422', async () => {
  const deps = { ...inMemoryDeps(), catalog: new VastCatalog() };
  const at = deps.clock.now().toISOString();
  const job: ExportJob = {
    id: 'exp-1', tenantId: 'acme', type: 'export', status: 'running', filter: { fiscalYear: 2024 }, includeOriginals: false,
    createdAt: at, createdBy: { subject: 'u', kind: 'user' }, requestId: 'req-1', heartbeatAt: at, attempts: 0,
    progress: { total: 0, documents: 0, files: 0, bytes: 0 }, blobName: 'exp-1.zip', expiresAt: at,
  };
  await deps.exportJobs.create(await sealExportRequest(job, deps.audit.chainKeys));
  const done = await runExport('acme', 'exp-1', deps);
  expect(done.status).toBe('failed');
  expect(deps.audit.entries.map((e) => [e.action, e.status, e.detail])).toEqual([['export.failed', ERROR_STATUS.export_too_large, 'export_too_large']]);
  expect(ERROR_STATUS.export_too_large).toBe(422);
});

import type { Deps } from '../deps';
import { type Principal, personOf } from '../kernel/principal';
import { ArchiveError } from '../kernel/errors';
import { CHANGED, withFreshReads } from '../kernel/concurrency';
import { idFromIdempotencyKey, uuidv7 } from '../ids';
import type { AuditStaging } from '../kernel/audit';
import { writeWithAuditEntry } from '../audit/outbox';
import { type CsvFormat, DEFAULT_CSV_FORMAT, type ExportJob, exportBlobName, type TExportRequest } from '../kernel/export';
import { canonicalJson } from '../kernel/audit-chain';
import { exportUnsealedBecause, sealExportRequest } from './export-seal';

/**
 * Create the export job; the caller queues its work (`started`: created by this call, not a replay).
 *
 * The worker runs in its own invocation from the `export-work` queue (shared/exports/queued-export.ts), not in the
 * answering process after the 202: in Azure Functions that was work outside any invocation, ended when the instance was
 * scaled in or recycled. The worker writes a heartbeat; the export maintenance timer queues a restart of any running
 * job whose heartbeat is stale (a job whose work was never queued as well: the ZIP is rebuilt from the start, into the
 * new attempt's own blob). Every worker claims the job and saves it only over the version it holds, so a slow worker
 * and its restart never both finish one export.
 */
export async function startExport(principal: Principal, request: Omit<TExportRequest, 'csv'> & { csv?: CsvFormat }, requestId: string, deps: Deps, audit?: AuditStaging, /** Validated (ids.ts idempotencyKeyOf). */ idempotencyKey: string | null = null): Promise<{ job: ExportJob; started: boolean }> {
  const now = deps.clock.now();
  if (request.amountMin !== undefined && request.amountMax !== undefined && request.amountMin > request.amountMax) {
    throw new ArchiveError('bad_request', { detail: 'amountMin must not be greater than amountMax.' });
  }
  const { includeOriginals, csv, ...filter } = request;
  let total: number | undefined;
  // Each running export is a worker copying up to ARCHIVE_EXPORT_MAX_DOCUMENTS documents: unbounded, one account
  // could start them by the thousand. The count is taken under the tenant's start gate and the job written only over
  // it, so starts sent at once are counted one after another (they used to pass together, each on the same count).
  // With a key the export's id is derived from it and the person: a retry whose first answer was lost finds the export
  // it started (a second one would copy the same documents again and count against the running exports' cap).
  const keyed = idempotencyKey === null ? null : idFromIdempotencyKey(principal.tenantId, personOf(principal), idempotencyKey, 'export');
  return withFreshReads("The tenant's exports", async () => {
    if (keyed) {
      const earlier = await deps.exportJobs.get(principal.tenantId, keyed);
      if (earlier) return { job: sameExportRequest(earlier, { includeOriginals, csv: csv ?? DEFAULT_CSV_FORMAT, filter }), started: false };
    }
    const { running, gate } = await deps.exportJobs.runningUnderGate(principal.tenantId);
    if (running >= deps.config.ARCHIVE_EXPORT_MAX_RUNNING) {
      throw new ArchiveError('too_many_exports', { detail: `The tenant has ${running} exports running, as many as it may (${deps.config.ARCHIVE_EXPORT_MAX_RUNNING}); start this one when one of them has finished.`, retryAfterSeconds: 60, extensions: { running, maxRunning: deps.config.ARCHIVE_EXPORT_MAX_RUNNING } });
    }
    total ??= await deps.catalog.countMatching(principal.tenantId, filter);
    // Created here, by the main app, before the job exists: the export worker's role cannot create a container.
    await deps.exportBlobs.ensureContainer(principal.tenantId);
    const id = keyed ?? uuidv7(now.getTime());
    const job: ExportJob = await sealExportRequest({
      id,
      tenantId: principal.tenantId,
      type: 'export',
      status: 'running',
      filter,
      includeOriginals,
      csv: csv ?? DEFAULT_CSV_FORMAT,
      createdAt: now.toISOString(),
      createdBy: { subject: principal.subject, kind: principal.kind, person: personOf(principal) },
      requestId,
      heartbeatAt: now.toISOString(),
      attempts: 0,
      progress: { total, documents: 0, files: 0, bytes: 0 },
      blobName: exportBlobName(id, 1),
      expiresAt: new Date(now.getTime() + deps.config.ARCHIVE_EXPORT_TTL_HOURS * 3600_000).toISOString(),
    }, deps.audit.chainKeys);
    // Stored with its audit entry: an export (a tenant's documents leaving the archive) never starts unrecorded.
    const written = await writeWithAuditEntry(audit, { target: id }, (outbox) => deps.exportJobs.createGated(job, gate, outbox), (r) => r === 'created');
    return written === 'created' ? { job, started: true } : CHANGED;
  });
}

/**
 * The export a retry with the same Idempotency-Key started, if it asked for the same (compared as canonical JSON: the
 * same search with its fields in another order is the same request); another request with the key is a 422.
 */
function sameExportRequest(earlier: ExportJob, asked: Pick<ExportJob, 'includeOriginals' | 'csv' | 'filter'>): ExportJob {
  const differences = (['filter', 'includeOriginals', 'csv'] as const).filter((k) => canonicalJson(earlier[k] ?? (k === 'csv' ? DEFAULT_CSV_FORMAT : null)) !== canonicalJson(asked[k]));
  if (differences.length > 0) {
    throw new ArchiveError('idempotency_key_reused', { detail: `This Idempotency-Key already started export ${earlier.id} with another ${differences.join(', ')}; nothing was started.`, extensions: { exportId: earlier.id, differences } });
  }
  return earlier;
}

/** A tenant's export; another tenant's answers the same 404 as a missing one. */
export async function getExport(tenantId: string, id: string, deps: Pick<Deps, 'exportJobs'>): Promise<ExportJob> {
  const job = await deps.exportJobs.get(tenantId, id);
  if (!job) throw new ArchiveError('export_not_found', { detail: `No export ${id}.` });
  return job;
}

/**
 * Whether an export as answered to a client is as the archive sealed it (the API's `sealed`). Broke: `GET /exports` listed
 * an edited job as stored with no mark (display only: its download, expiry and withdrawal judge the seal). Not alerted
 * here: an answer decides nothing, and what does alerts (exportSealHolds).
 */
export async function exportSealed(job: ExportJob, deps: Pick<Deps, 'audit'>): Promise<boolean> {
  return (await exportUnsealedBecause(job, deps.audit.chainKeys)) === null;
}

/** `GET /exports`: the tenant's exports, newest first, paged, each with whether it is as the archive sealed it. */
export async function listExports(tenantId: string, limit: number, continuationToken: string | undefined, deps: Pick<Deps, 'exportJobs' | 'audit'>) {
  const page = await deps.exportJobs.list(tenantId, limit, continuationToken);
  return { ...page, items: await Promise.all(page.items.map(async (job) => ({ job, sealed: await exportSealed(job, deps) }))) };
}

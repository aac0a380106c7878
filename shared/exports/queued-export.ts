import { endReached, readInstant } from '../kernel/instant';
import { attemptsMade, type ExportJob, ZExportWorkMessage } from '../kernel/export';
import { type ExportDeps, restartExport } from './run-export';
import type { ExportWorkPort } from '../ports';

/** Logged (error) for an `export-work` message that names no job in the form the queue carries; it is dropped, not retried. */
export const EXPORT_WORK_REFUSED = 'export work message refused: not {tenantId, exportId}';

export type QueuedExportResult =
  | { outcome: 'refused'; reason: string }
  | { outcome: 'not-found' | 'claimed-elsewhere'; tenantId: string; exportId: string }
  | { outcome: 'not-due'; tenantId: string; exportId: string; reason: string }
  | { outcome: 'ran'; tenantId: string; exportId: string; status: ExportJob['status'] };

/**
 * Why a job is not due to run now, or null when it is: running, unexpired, attempts left, and never claimed or its
 * worker silent for ARCHIVE_EXPORT_STALE_SECONDS (what export maintenance judges stale). Everything else is another
 * hand's: a live worker keeps its job, maintenance expires an expired one and fails one out of attempts.
 */
export function notDueBecause(job: ExportJob, now: Date, config: ExportDeps['config']): string | null {
  if (job.status !== 'running') return `it is ${String(job.status)}`;
  if (endReached(job.expiresAt, now)) return 'it has expired';
  const made = attemptsMade(job);
  if (made === null || made >= config.ARCHIVE_EXPORT_MAX_ATTEMPTS) return 'its attempts are used up (export maintenance fails it)';
  const heartbeat = readInstant(job.heartbeatAt);
  const stale = heartbeat === null || heartbeat < now.getTime() - config.ARCHIVE_EXPORT_STALE_SECONDS * 1000;
  if (made > 0 && !stale) return 'its worker gave a sign of life lately';
  return null;
}

/**
 * One `export-work` message, in its own invocation (functions/index.ts runExportWork, in Azure in the export app with a
 * longer timeout than the main app's 10 minutes; local/export-loop.ts). The message
 * is only a name: the job is read and judged here (status, expiry, attempts, heartbeat; its seal when claimed), and
 * claimed over the version judged, so a replayed, duplicated or forged message can at most start a job that was due to
 * run anyway, and two deliveries of one message never run one attempt twice (the second finds the claim's fresh
 * heartbeat, or loses the claim on the etag). A malformed message is refused (logged; the caller drops it: a retry
 * cannot mend it). A store failure throws: the host retries the message, then moves it to `<queue>-poison`.
 */
export async function runQueuedExport(message: unknown, deps: ExportDeps): Promise<QueuedExportResult> {
  let body: unknown = message;
  if (typeof message === 'string') {
    try {
      body = JSON.parse(message);
    } catch {
      body = undefined;
    }
  }
  const parsed = ZExportWorkMessage.safeParse(body);
  if (!parsed.success) {
    const reason = parsed.error.issues.map((i) => `${i.path.join('.') || 'message'}: ${i.message}`).join('; ').slice(0, 500);
    deps.log.error(EXPORT_WORK_REFUSED, { reason });
    return { outcome: 'refused', reason };
  }
  const { tenantId, exportId } = parsed.data;
  const found = await deps.exportJobs.getVersioned(tenantId, exportId);
  if (!found) return { outcome: 'not-found', tenantId, exportId };
  const notDue = notDueBecause(found.item, deps.clock.now(), deps.config);
  if (notDue !== null) {
    deps.log.info('export work not run: the job is not due', { tenantId, exportId, reason: notDue });
    return { outcome: 'not-due', tenantId, exportId, reason: notDue };
  }
  if (!(await restartExport(found, deps))) return { outcome: 'claimed-elsewhere', tenantId, exportId };
  const after = await deps.exportJobs.get(tenantId, exportId);
  return { outcome: 'ran', tenantId, exportId, status: after?.status ?? found.item.status };
}

/**
 * Queues a new export's work. A failed send is logged, not answered as an error: the job is stored and running with its
 * heartbeat, so export maintenance finds it stale and queues its work then (the client polls `GET /exports/{id}`).
 */
export async function queueExportWork(job: Pick<ExportJob, 'tenantId' | 'id'>, deps: Pick<ExportDeps, 'log'> & { exportWork: ExportWorkPort }): Promise<boolean> {
  try {
    await deps.exportWork.enqueue(job.tenantId, job.id);
    return true;
  } catch (err) {
    deps.log.warn(EXPORT_WORK_NOT_QUEUED, { tenantId: job.tenantId, exportId: job.id, error: String(err) });
    return false;
  }
}

/** Logged (warn) when an export's work could not be queued; export maintenance queues it once its heartbeat is stale. */
export const EXPORT_WORK_NOT_QUEUED = 'export work not queued; export maintenance queues it once stale';

import { setTimeout as sleep } from 'node:timers/promises';
import { endReached, readInstant } from '../kernel/instant';
import { attemptsMade, attemptsUsedUp, type ExportJob, ZExportWorkMessage } from '../kernel/export';
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
export function notDueBecause(job: ExportJob, now: Date, config: ExportDeps['config'], /** Seen silent by a redelivery (runQueuedExport). */ silent = false): string | null {
  if (job.status !== 'running') return `it is ${String(job.status)}`;
  if (endReached(job.expiresAt, now)) return 'it has expired';
  const made = attemptsMade(job);
  if (made === null || attemptsUsedUp(job, config.ARCHIVE_EXPORT_MAX_ATTEMPTS)) return 'its attempts are used up (export maintenance fails it)';
  const heartbeat = readInstant(job.heartbeatAt);
  const stale = heartbeat === null || heartbeat < now.getTime() - config.ARCHIVE_EXPORT_STALE_SECONDS * 1000;
  if (made > 0 && !stale && !silent) return WORKER_LIVELY;
  return null;
}

const WORKER_LIVELY = 'its worker gave a sign of life lately';

/**
 * How long a redelivered message watches a job whose heartbeat is fresh before taking its worker for gone. A live worker
 * writes the job each second through its whole attempt from its claim, the count and a file's copy included (run-export.ts Heartbeat). One silent
 * longer (a hung store) loses the job at its next write, as to maintenance.
 */
export const REDELIVERY_QUIET_SECONDS = 60;

/** The queue's delivery count of the message (1: its first); `pause` stands in for waiting, in tests. */
export type ExportWorkDelivery = { dequeueCount: number; pause?: (ms: number) => Promise<unknown> };

/**
 * One `export-work` message, in its own invocation (functions/index.ts runExportWork, in Azure in the export app with a
 * longer timeout than the main app's 10 minutes; local/export-loop.ts). The message
 * is only a name: the job is read and judged here (status, expiry, attempts, heartbeat; its seal when claimed), and
 * claimed over the version judged, so a replayed, duplicated or forged message can at most start a job that was due to
 * run anyway, and two deliveries of one message never run one attempt twice (the second finds the claim's fresh
 * heartbeat, or loses the claim on the etag). A malformed message is refused (logged; the caller drops it: a retry
 * cannot mend it). A store failure throws: the host retries the message, then moves it to `<queue>-poison`.
 */
export async function runQueuedExport(message: unknown, deps: ExportDeps, delivery: ExportWorkDelivery = { dequeueCount: 1 }): Promise<QueuedExportResult> {
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
  let found = await deps.exportJobs.getVersioned(tenantId, exportId);
  if (!found) return { outcome: 'not-found', tenantId, exportId };
  let notDue = notDueBecause(found.item, deps.clock.now(), deps.config);
  if (notDue === WORKER_LIVELY && delivery.dequeueCount > 1) {
    // A host retry of a run that threw finds the heartbeat that run wrote seconds before. Broke: it ran nothing, and the
    // export waited ARCHIVE_EXPORT_STALE_SECONDS (600 s) for maintenance. A job nobody wrote while watched is claimed
    // (over that version: a worker that writes it meanwhile keeps it, and one that writes it later finds it claimed).
    await (delivery.pause ?? sleep)(REDELIVERY_QUIET_SECONDS * 1000);
    const again = await deps.exportJobs.getVersioned(tenantId, exportId);
    if (!again) return { outcome: 'not-found', tenantId, exportId };
    notDue = notDueBecause(again.item, deps.clock.now(), deps.config, again.etag === found.etag);
    found = again;
  }
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
export async function queueExportWork(job: Pick<ExportJob, 'tenantId' | 'id'>, deps: Pick<ExportDeps, 'log'> & { exportWork: ExportWorkPort }, options: { withinMs?: number } = {}): Promise<boolean> {
  try {
    await deps.exportWork.enqueue(job.tenantId, job.id, options);
    return true;
  } catch (err) {
    deps.log.warn(EXPORT_WORK_NOT_QUEUED, { tenantId: job.tenantId, exportId: job.id, error: String(err) });
    return false;
  }
}

/**
 * How long `POST /exports` waits for its work message before answering. Broke: the send had only the queue's own bound
 * (QUEUE_CALL_MS, 25 s), so a queue that did not answer held the client's 202 that long, for a send whose failure
 * costs nothing (maintenance queues the job once stale). Maintenance keeps the long bound: no client waits on it.
 */
export const EXPORT_WORK_ON_REQUEST_MS = 3_000;

/** Logged (warn) when an export's work could not be queued; export maintenance queues it once its heartbeat is stale. */
export const EXPORT_WORK_NOT_QUEUED = 'export work not queued; export maintenance queues it once stale';

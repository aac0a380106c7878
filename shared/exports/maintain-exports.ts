import type { Deps } from '../deps';
import { ArchiveError } from '../kernel/errors';
import { endReached } from '../kernel/instant';
import { attemptsMade, attemptsUsedUp, exportDisposableListName, exportExpired, type ExportJob } from '../kernel/export';
import type { Versioned } from '../ports';
import { queueExportWork } from './queued-export';
import { deleteExportBlobs, EXPORT_BLOB_OUTLIVED, saveWithSystemEntry, withdrawDisposedExports } from './withdraw-exports';
import { exportSealHolds } from './export-seal';

/** Logged (warn) for an export failed because its worker stopped ARCHIVE_EXPORT_MAX_ATTEMPTS times; the infra alert matches it. */
export const EXPORT_STALLED = 'export stalled: its worker stopped before finishing as often as it may';

/** Timer state: the id after which the next maintenance run looks for exports holding a disposed document. */
const WITHDRAWAL_CURSOR = 'export-withdrawal-after';

/** Timer state: the id after which the next maintenance run judges live exports' seals. */
const SEAL_CURSOR = 'export-seal-after';

/** Timer state: where the next maintenance run goes on listing the export blobs in storage ('': from the first). */
export const EXPORT_BLOB_CURSOR = 'export-blob-after';

/** Past the longest an export may live (ARCHIVE_EXPORT_TTL_HOURS from its start), its blobs are deleted this much later. */
const EXPORT_BLOB_MARGIN_MS = 86_400_000;

export interface MaintainResult {
  expired: string[];
  /** Stale (or never queued): their work queued again, to be claimed and rebuilt from the start by the queue's worker. */
  restarted: string[];
  /** Failed instead of restarted: their worker had stopped ARCHIVE_EXPORT_MAX_ATTEMPTS times. */
  stalled: string[];
  /** Withdrawn because documents they held were disposed of (shared/exports/withdraw-exports.ts). */
  withdrawn: string[];
  /** Export blobs (`<tenant>/<name>`) deleted as older than any export may live, whatever their jobs say. */
  outlived: string[];
}

/**
 * Export maintenance (timer, and callable on its own): delete expired export blobs and mark
 * their jobs `expired`; queue a restart of running jobs whose worker died (stale heartbeat); withdraw
 * exports holding a document that has been disposed of (the sweep's own withdrawal missed it). Idempotent:
 * a second run finds nothing new to do. `tenantId` keeps a run to one tenant (the timer passes none).
 */
export async function maintainExports({ now, deps, maxItems = 100, tenantId }: { now: Date; deps: Deps; maxItems?: number; tenantId?: string }): Promise<MaintainResult> {
  const jobs = deps.exportJobs;
  const staleBefore = new Date(now.getTime() - deps.config.ARCHIVE_EXPORT_STALE_SECONDS * 1000);
  const result: MaintainResult = { expired: [], restarted: [], stalled: [], withdrawn: [], outlived: [] };
  /** Expires the job listed (`sealed`: its seal held); false when it changed since. */
  const expire = async (listed: Versioned<ExportJob>, sealed: boolean): Promise<boolean> => {
    const job = listed.item;
    // Every attempt's blobs: a worker that died after its upload may have left some (blobs first, so a crash before the job save is retried).
    try {
      await deleteExportBlobs(job, deps, !sealed);
    } catch (err) {
      // Broke: one job whose blob would not go (a storage role's lease on its ZIP) threw every run there, and no other
      // export was expired, judged or withdrawn, nor any outlived blob deleted, again. Alerted; tried again next run.
      deps.log.error(EXPORT_BLOB_OUTLIVED, { tenantId: job.tenantId, exportId: job.id, notDeleted: String(err) });
      return false;
    }
    const { archive: _gone, disposableFilter: _filter, completedSeal: _handedOut, ...rest } = job;
    // Over the version listed: a worker that saved since is refused its next save, and the next run expires the job.
    // The system, like the sweep and the other timers (was recorded as kind `client` before); its entry is stored with the save.
    // One whose seal did not hold has its entry filed under no request its record names.
    const expired = await saveWithSystemEntry(job, { action: 'export.expired', actor: 'export-maintenance', at: now, ...(sealed ? {} : { unsealed: true as const }) }, (outbox) => jobs.replace({ ...rest, status: 'expired', heartbeatAt: now.toISOString() }, listed.etag, outbox), deps);
    return expired !== 'conflict';
  };
  // After a failed send no more are tried this run (each waits its bound on an unanswering queue); the next run tries again.
  let queueing = true;
  for (const listed of await jobs.unsafeListDue(now, staleBefore, maxItems, tenantId)) {
    const job = listed.item;
    let attempts: number | null;
    // One whose seal does not hold (edited in Cosmos DB, or from before the seal) is expired at once, whatever its
    // `expiresAt` says: an export is a copy, so nothing of the tenant's is lost; its entry names no request it names.
    const sealed = await exportSealHolds(job, 'export-maintenance', deps);
    if (!sealed || endReached(job.expiresAt, now)) {
      if (await expire(listed, sealed)) result.expired.push(job.id);
    } else if ((attempts = attemptsMade(job)) === null || attemptsUsedUp(job, deps.config.ARCHIVE_EXPORT_MAX_ATTEMPTS)) {
      // Restarted without end, an export its worker cannot finish within its app's Functions timeout (the export app's,
      // infra/main.bicep exportApp), or that the platform stops each time, was rebuilt from its start on every run until
      // it expired, days later, still "running". Failed, it tells the accountant to narrow it; the operators are alerted. Attempts stored as no count
      // (kernel/export.ts attemptsMade) are read as the cap reached: how often it stopped is not known.
      const stopped = attempts === null ? 'an unknown number of' : String(attempts);
      const e = new ArchiveError('export_stalled', { detail: `The export's worker stopped ${stopped} times before finishing (at ${job.progress.documents} of ${job.progress.total} documents the last time).` });
      const failed = { ...job, status: 'failed' as const, error: `${e.code}: ${e.message}`, heartbeatAt: now.toISOString() };
      const saved = await saveWithSystemEntry(job, { action: 'export.failed', actor: 'export-maintenance', at: now, detail: `attempts=${attempts ?? 'unknown'}`, failedStatus: deps.errorStatus(e.code) }, (outbox) => jobs.replace(failed, listed.etag, outbox), deps);
      if (saved === 'conflict') continue; // the worker gave a sign of life since: it keeps its job
      await deleteExportBlobs(job, deps);
      deps.log.warn(EXPORT_STALLED, { tenantId: job.tenantId, exportId: job.id, attempts: attempts ?? 'unknown', documents: job.progress.documents, total: job.progress.total });
      result.stalled.push(job.id);
    } else if (queueing) {
      // The worker stopped (instance recycled mid-export), or its work was never queued: its work is queued again, and
      // the queue's worker claims the job over the version it judges stale (a worker that gave a sign of life since
      // keeps it). Broke: the restart ran inline here, one export after another within this timer's one Functions
      // timeout, so two big ones never both finished and expiry and withdrawal waited behind them.
      queueing = await queueExportWork(job, deps);
      if (queueing) result.restarted.push(job.id);
    }
  }
  // Broke: a completed export not yet due whose seal does not hold (its expiry moved later in Cosmos DB, its ZIP
  // swapped) was listed by nothing here and stayed until its edited expiry. Live ones are judged, a page a run.
  const sealAfter = tenantId ? '' : ((await deps.retention.timers.get<string>(SEAL_CURSOR)) ?? '');
  let live = await jobs.unsafeListLive(now, maxItems, tenantId, sealAfter);
  if (live.length === 0 && sealAfter !== '') live = await jobs.unsafeListLive(now, maxItems, tenantId, '');
  for (const listed of live) {
    if (!(await exportSealHolds(listed.item, 'export-maintenance', deps)) && (await expire(listed, false))) result.expired.push(listed.item.id);
  }
  if (!tenantId) await deps.retention.timers.set(SEAL_CURSOR, live.at(-1)?.item.id ?? '');
  // The timer's run (every tenant) goes on where the previous one stopped; a run for one tenant looks from its first.
  const after = tenantId ? '' : ((await deps.retention.timers.get<string>(WITHDRAWAL_CURSOR)) ?? '');
  const withdrawal = await withdrawDisposedExports(now, deps, maxItems, tenantId, after);
  if (!tenantId) await deps.retention.timers.set(WITHDRAWAL_CURSOR, withdrawal.next);
  result.withdrawn = withdrawal.withdrawn;
  if (!tenantId) result.outlived = await deleteOutlivedBlobs(now, deps, maxItems);
  return result;
}

/**
 * Broke: an export's blobs were deleted only through its job, so a job deleted in Cosmos DB (or kept from expiring by an
 * edit standing) left its ZIP, a copy of documents perhaps disposed of since, in storage for ever. Storage's own listing,
 * a page a run: a blob created longer ago than any export may live (plus a margin) is deleted, whatever Cosmos DB says.
 */
async function deleteOutlivedBlobs(now: Date, deps: Deps, maxItems: number): Promise<string[]> {
  const stored = await deps.retention.timers.get<string>(EXPORT_BLOB_CURSOR);
  const page = await deps.exportBlobs.unsafeListStored(typeof stored === 'string' && stored !== '' ? stored : null, maxItems);
  const createdBefore = now.getTime() - deps.config.ARCHIVE_EXPORT_TTL_HOURS * 3_600_000 - EXPORT_BLOB_MARGIN_MS;
  const deleted: string[] = [];
  for (const { tenantId, blobName, createdOn } of page.items) {
    const created = createdOn === null ? Number.NaN : Date.parse(createdOn);
    if (!(created < createdBefore)) continue;
    try {
      // Its job, by the id its name starts with (kernel/export.ts exportBlobName): one the archive ended deleted these already.
      const job = await deps.exportJobs.get(tenantId, blobName.split('.')[0] ?? '');
      // What a live export hands out (its ZIP and list) stays while its seal holds, until its sealed expiry deletes it.
      // Broke: judged by ARCHIVE_EXPORT_TTL_HOURS as configured now, lowered since an export began (720 hours to 24), its
      // ZIP was deleted days before its expiry, the export still `completed` with a download (410).
      if (job && handedOut(job, blobName) && !exportExpired(job, now) && (await exportSealHolds(job, 'export-maintenance', deps))) continue;
      await deps.exportBlobs.delete(tenantId, blobName);
      deleted.push(`${tenantId}/${blobName}`);
      if (job?.status !== 'expired' && job?.status !== 'failed') deps.log.warn(EXPORT_BLOB_OUTLIVED, { tenantId, blobName, createdOn, job: job?.status ?? 'missing' });
    } catch (err) {
      // Broke: one blob whose delete failed each time (a storage role's lease on it, say) threw the run before the cursor
      // was saved, so every run stopped there and no blob after it was deleted again. Alerted, passed, met next lap.
      deps.log.error(EXPORT_BLOB_OUTLIVED, { tenantId, blobName, createdOn, notDeleted: String(err) });
    }
  }
  await deps.retention.timers.set(EXPORT_BLOB_CURSOR, page.next ?? '');
  return deleted;
}

/** Whether `blobName` is what the completed `job` hands out: its ZIP, or the list of the documents a disposal can reach. */
const handedOut = (job: ExportJob, blobName: string): boolean => job.status === 'completed' && (blobName === job.blobName || blobName === exportDisposableListName(job.id, job.attempts));

import type { Deps } from '../deps';
import { endReached } from '../kernel/instant';
import { restartExport } from './run-export';
import { deleteExportBlobs, saveWithSystemEntry, withdrawDisposedExports } from './withdraw-exports';

/** Timer state: the id after which the next maintenance run looks for exports holding a disposed document. */
const WITHDRAWAL_CURSOR = 'export-withdrawal-after';

export interface MaintainResult {
  expired: string[];
  restarted: string[];
  /** Withdrawn because documents they held were disposed of (shared/exports/withdraw-exports.ts). */
  withdrawn: string[];
}

/**
 * Export maintenance (timer, and callable on its own): delete expired export blobs and mark
 * their jobs `expired`; restart running jobs whose worker died (stale heartbeat); withdraw
 * exports holding a document that has been disposed of (the sweep's own withdrawal missed it). Idempotent:
 * a second run finds nothing new to do. `tenantId` keeps a run to one tenant (the timer passes none).
 */
export async function maintainExports({ now, deps, maxItems = 100, tenantId }: { now: Date; deps: Deps; maxItems?: number; tenantId?: string }): Promise<MaintainResult> {
  const jobs = deps.exportJobs;
  const staleBefore = new Date(now.getTime() - deps.config.ARCHIVE_EXPORT_STALE_SECONDS * 1000);
  const result: MaintainResult = { expired: [], restarted: [], withdrawn: [] };
  for (const listed of await jobs.unsafeListDue(now, staleBefore, maxItems, tenantId)) {
    const job = listed.item;
    if (endReached(job.expiresAt, now)) {
      // Every attempt's blobs: a worker that died after its upload may have left some (blobs first, so a crash before the job save is retried).
      await deleteExportBlobs(job, deps);
      const { archive: _gone, disposableFilter: _filter, ...rest } = job;
      // Over the version listed: a worker that saved since is refused its next save, and the next run expires the job.
      // The system, like the sweep and the other timers (was recorded as kind `client` before); its entry is stored with the save.
      const expired = await saveWithSystemEntry(job, { action: 'export.expired', actor: 'export-maintenance', at: now }, (outbox) => jobs.replace({ ...rest, status: 'expired', heartbeatAt: now.toISOString() }, listed.etag, outbox), deps);
      if (expired === 'conflict') continue;
      result.expired.push(job.id);
    } else {
      // The worker stopped (instance recycled mid-export): rebuild the ZIP from the start, claiming
      // the job over the version judged stale (a worker that gave a sign of life since keeps it).
      if (await restartExport(listed, deps)) result.restarted.push(job.id);
    }
  }
  // The timer's run (every tenant) goes on where the previous one stopped; a run for one tenant looks from its first.
  const after = tenantId ? '' : ((await deps.retention.timers.get<string>(WITHDRAWAL_CURSOR)) ?? '');
  const withdrawal = await withdrawDisposedExports(now, deps, maxItems, tenantId, after);
  if (!tenantId) await deps.retention.timers.set(WITHDRAWAL_CURSOR, withdrawal.next);
  result.withdrawn = withdrawal.withdrawn;
  return result;
}

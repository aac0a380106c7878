import type { Deps } from '../deps';
import { runExport } from './run-export';

export interface MaintainResult {
  expired: string[];
  restarted: string[];
}

/**
 * Export maintenance (timer, and callable on its own): delete expired export blobs and mark
 * their jobs `expired`; restart running jobs whose worker died (stale heartbeat). Idempotent:
 * a second run finds nothing new to do. `tenantId` keeps a run to one tenant (the timer passes none).
 */
export async function maintainExports({ now, deps, maxItems = 100, tenantId }: { now: Date; deps: Deps; maxItems?: number; tenantId?: string }): Promise<MaintainResult> {
  const jobs = deps.exportJobs;
  const staleBefore = new Date(now.getTime() - deps.config.ARCHIVE_EXPORT_STALE_SECONDS * 1000);
  const result: MaintainResult = { expired: [], restarted: [] };
  for (const job of await jobs.unsafeListDue(now, staleBefore, maxItems, tenantId)) {
    if (Date.parse(job.expiresAt) <= now.getTime()) {
      await deps.exportBlobs.delete(job.tenantId, job.blobName);
      const { archive: _gone, ...rest } = job;
      await jobs.save({ ...rest, status: 'expired', heartbeatAt: now.toISOString() });
      await deps.audit.append({
        tenantId: job.tenantId,
        at: now.toISOString(),
        actor: { subject: 'system:export-maintenance', kind: 'client' },
        action: 'export.expired',
        target: job.id,
        outcome: 'success',
        status: 200,
        requestId: job.requestId,
        clientIp: null,
        userAgent: 'export-maintenance',
      });
      result.expired.push(job.id);
    } else {
      // The worker stopped (instance recycled mid-export): rebuild the ZIP from the start.
      await runExport(job.tenantId, job.id, deps);
      result.restarted.push(job.id);
    }
  }
  return result;
}

import type { Deps } from '../deps';
import { exportBlobName, type ExportJob } from '../kernel/export';
import type { Versioned } from '../ports';

export type WithdrawDeps = Pick<Deps, 'exportJobs' | 'exportBlobs' | 'audit' | 'log'>;

/** Disposed ids named on the job and in the audit entry (the count is always whole). */
const NAMED = 20;

/**
 * Once a document is disposed of, no copy of it stays downloadable through the archive: an export
 * holding it is withdrawn. Exports are copies, not archived documents, so this deletes them:
 * every attempt's ZIP first (a crash before the job save leaves the job to be withdrawn again),
 * then the job, over the version read, goes `expired` with the reason, then the audit entry.
 * False when the job changed since it was read (another withdrawal, expiry): the caller reads again.
 */
export async function withdrawExport(found: Versioned<ExportJob>, disposed: readonly string[], now: Date, deps: WithdrawDeps): Promise<boolean> {
  const job = found.item;
  for (let attempt = 1; attempt <= Math.max(1, job.attempts); attempt++) await deps.exportBlobs.delete(job.tenantId, exportBlobName(job.id, attempt));
  const { archive: _gone, ...rest } = job;
  const at = now.toISOString();
  const withdrawn: ExportJob = { ...rest, status: 'expired', heartbeatAt: at, withdrawn: { at, documents: disposed.slice(0, NAMED) } };
  if ((await deps.exportJobs.replace(withdrawn, found.etag)) === 'conflict') return false;
  await deps.audit.append({
    tenantId: job.tenantId,
    at,
    actor: { subject: 'system:export-withdrawal', kind: 'system' },
    action: 'export.withdrawn',
    target: job.id,
    outcome: 'success',
    status: 200,
    requestId: job.requestId,
    clientIp: null,
    userAgent: 'export-withdrawal',
    detail: `documents-disposed=${disposed.length};${disposed.slice(0, NAMED).join(',')}`,
  });
  deps.log.info('export withdrawn: documents it held were disposed of', { tenantId: job.tenantId, exportId: job.id, disposed: disposed.length });
  return true;
}

/**
 * The retention sweep's part, after a batch of one tenant's disposals: withdraw every live export
 * that recorded one of these documents as disposable. No catalog reads: the sweep knows what it disposed of.
 */
export async function withdrawExportsHolding(tenantId: string, disposedIds: readonly string[], now: Date, deps: WithdrawDeps): Promise<string[]> {
  if (disposedIds.length === 0) return [];
  const disposed = new Set(disposedIds);
  const out: string[] = [];
  for (let round = 0; round < 5; round++) {
    let changed = false;
    for (const found of await deps.exportJobs.unsafeListHoldingDisposable(now, 1000, tenantId)) {
      const held = (found.item.disposable ?? []).filter((id) => disposed.has(id));
      if (held.length === 0) continue;
      if (await withdrawExport(found, held, now, deps)) out.push(found.item.id);
      else changed = true;
    }
    // A job written meanwhile (another withdrawal, an expiry) is listed again, fresh.
    if (!changed) return out;
  }
  return out; // still changing: export maintenance checks it again
}

/** Which of the tenant's documents are no longer active (disposed of, or being disposed of). */
export async function disposedAmong(tenantId: string, ids: readonly string[], deps: Pick<Deps, 'catalog'>): Promise<string[]> {
  const gone: string[] = [];
  for (const id of ids) {
    const doc = await deps.catalog.get(tenantId, id);
    if (!doc || doc.status !== 'active') gone.push(id);
  }
  return gone;
}

/**
 * Export maintenance's part (the safety net for a sweep that stopped between a tombstone and the
 * withdrawal, or a worker that completed while the sweep ran): live exports that may hold a
 * document whose retention has ended are checked against the catalog, one point read per
 * recorded id, and withdrawn if any is gone.
 */
export async function withdrawDisposedExports(now: Date, deps: WithdrawDeps & Pick<Deps, 'catalog'>, maxItems: number, tenantId?: string): Promise<string[]> {
  const out: string[] = [];
  for (const found of await deps.exportJobs.unsafeListHoldingDisposable(now, maxItems, tenantId)) {
    const gone = await disposedAmong(found.item.tenantId, found.item.disposable ?? [], deps);
    if (gone.length > 0 && (await withdrawExport(found, gone, now, deps))) out.push(found.item.id);
  }
  return out;
}

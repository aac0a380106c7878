import { createHash } from 'node:crypto';
import type { Deps } from '../deps';
import { EXPORT_ATTEMPTS_LIMIT, exportBlobNames, exportDisposableListName, EXPORT_MARKS_MAX, type ExportJob } from '../kernel/export';
import type { AuditInput, Versioned } from '../ports';
import { auditOutboxItem, type AuditOutboxItem } from '../kernel/audit';
import { mayHold } from './disposable-filter';
import { exportSealHolds } from './export-seal';

export type WithdrawDeps = Pick<Deps, 'exportJobs' | 'exportBlobs' | 'auditOutbox' | 'log' | 'audit'>;

/** Disposed ids named on the job and in the audit entry (the count is always whole). */
const NAMED = 20;

/** The job as a withdrawal leaves it: `expired`, with the reason; no archive (its ZIP is gone), no filter (nothing left to test). */
export function withdrawnJob(job: ExportJob, disposed: readonly string[], now: Date): ExportJob {
  const { archive: _gone, disposableFilter: _filter, completedSeal: _handedOut, ...rest } = job;
  const at = now.toISOString();
  return { ...rest, status: 'expired', heartbeatAt: at, withdrawn: { at, documents: disposed.slice(0, NAMED) } };
}

/**
 * Every blob the job's attempts wrote: ZIPs and lists. First, so a crash before the job save leaves the job to be withdrawn
 * again. `everyAttempt` for a job whose seal did not hold: its `attempts` may have been lowered, which left the ZIP.
 */
export async function deleteExportBlobs(job: ExportJob, deps: Pick<Deps, 'exportBlobs'>, everyAttempt = false): Promise<void> {
  for (const name of exportBlobNames(everyAttempt ? { id: job.id, attempts: EXPORT_ATTEMPTS_LIMIT } : job)) await deps.exportBlobs.delete(job.tenantId, name);
}

/**
 * Operators are alerted on this exact phrase (infra/main.bicep, exportBlobOutlivedAlert): an export blob older than any
 * export may live was deleted while its job was missing or not ended (a job deleted, or its record edited, in Cosmos DB),
 * or an ended export's blob could not be deleted.
 */
export const EXPORT_BLOB_OUTLIVED = 'export blob outlived its export';

/** What the archive itself did to an export (expired it, withdrew it): its audit entry's action, actor, time and detail. */
export interface SystemChange {
  action: 'export.expired' | 'export.withdrawn' | 'export.failed';
  actor: string;
  at: Date;
  detail?: string;
  /** A failure's status (its outcome is then `failed`); none: the change succeeded (200). */
  failedStatus?: number;
  /** The job's seal did not hold: its `requestId` may name another request, so the entry is filed under none of them. */
  unsealed?: true;
}

/** The request an entry about an unsealed job is filed under: its own, not one its edited record names. */
export const unsealedExportRequest = (job: Pick<ExportJob, 'id'>): string => `export-not-sealed:${job.id}`;

/** The entry for what the archive itself did to an export, under the request that started the export. */
function systemEntry(job: ExportJob, what: SystemChange): AuditInput {
  return {
    tenantId: job.tenantId,
    at: what.at.toISOString(),
    actor: { subject: `system:${what.actor}`, kind: 'system' },
    action: what.action,
    target: job.id,
    outcome: what.failedStatus === undefined ? 'success' : 'failed',
    status: what.failedStatus ?? 200,
    requestId: what.unsealed ? unsealedExportRequest(job) : job.requestId,
    clientIp: null,
    userAgent: what.actor,
    ...(what.detail || what.unsealed ? { detail: [what.unsealed ? 'not-sealed' : '', what.detail ?? ''].filter(Boolean).join(';') } : {}),
  };
}

/**
 * Saves a job with the entry of what happened to it after its request (completed, failed, expired, withdrawn) in
 * the same batch (the audit outbox), then appends the entry. Appended after the save, as it was, the entry was lost
 * whenever the run stopped in between (the log refused it, the save was applied but its answer lost): the job is
 * finished by then, and no later run takes it up again. `save` writes the job with the item (the worker saves
 * through its lease); `saved` says from its result whether it was stored. The item has its own id: the export's
 * request has one already (`audit-outbox:<requestId>`, its export.create entry), which may still be there.
 */
export async function saveWithEntry<R>(entry: AuditInput, save: (outbox: AuditOutboxItem) => Promise<R>, saved: (result: R) => boolean, deps: Pick<Deps, 'auditOutbox'>): Promise<R> {
  const item = auditOutboxItem([entry], { name: `${entry.requestId}:${entry.action}` });
  const written = await save(item);
  if (saved(written)) await deps.auditOutbox.releaseNow(item);
  return written;
}

/** `saveWithEntry` for what the archive itself did to the export; 'conflict' when the job changed since it was read. */
export function saveWithSystemEntry<R>(job: ExportJob, what: SystemChange, save: (outbox: AuditOutboxItem) => Promise<R | 'conflict'>, deps: Pick<Deps, 'auditOutbox'>): Promise<R | 'conflict'> {
  return saveWithEntry(systemEntry(job, what), save, (r) => r !== 'conflict', deps);
}

/** A withdrawal's change: the disposed documents it was for, counted and (the first NAMED) named. */
export function withdrawal(disposed: readonly string[], now: Date): SystemChange {
  return { action: 'export.withdrawn', actor: 'export-withdrawal', at: now, detail: `documents-disposed=${disposed.length};${disposed.slice(0, NAMED).join(',')}` };
}

export function logWithdrawal(job: ExportJob, disposed: readonly string[], deps: Pick<Deps, 'log'>): void {
  deps.log.info('export withdrawn: documents it held were disposed of', { tenantId: job.tenantId, exportId: job.id, disposed: disposed.length });
}

/**
 * Once a document is disposed of, no copy of it stays downloadable through the archive: an export
 * holding it is withdrawn. Exports are copies, not archived documents, so this deletes them:
 * every attempt's blobs first, then the job, over the version read, goes `expired` with the
 * reason, its audit entry stored with it. False when the job changed since it was read (another
 * withdrawal, expiry, a sweep's mark): the caller reads again.
 */
export async function withdrawExport(found: Versioned<ExportJob>, disposed: readonly string[], now: Date, deps: WithdrawDeps, unsealed = false): Promise<boolean> {
  try {
    await deleteExportBlobs(found.item, deps, unsealed);
  } catch (err) {
    // Broke: a blob that would not go (a storage role's lease on the ZIP) threw before the job was saved, every time: the
    // export holding a disposed document's copy stayed completed. Withdrawn all the same; its blobs are alerted and left
    // to export maintenance's walk of the export containers (maintain-exports.ts deleteOutlivedBlobs).
    deps.log.error(EXPORT_BLOB_OUTLIVED, { tenantId: found.item.tenantId, exportId: found.item.id, notDeleted: String(err) });
  }
  const saved = await saveWithSystemEntry(found.item, { ...withdrawal(disposed, now), ...(unsealed ? { unsealed } : {}) }, (outbox) => deps.exportJobs.replace(withdrawnJob(found.item, disposed, now), found.etag, outbox), deps);
  if (saved === 'conflict') return false;
  logWithdrawal(found.item, disposed, deps);
  return true;
}

/** Operators are alerted on this exact phrase (infra/main.bicep, exportListEditedAlert): the list blob is not the one the export wrote. */
export const EXPORT_LIST_EDITED = 'export disposable list in storage not as the export wrote it';

/**
 * Which of `ids` the completed export holds: from the ids on the job, or, for a large export, the
 * Bloom filter first and the attempt's list blob only on a possible hit (streamed, one id a line).
 * A list that cannot be read counts every possible hit as held: the export is withdrawn rather
 * than left downloadable on a guess.
 */
export async function heldAmong(job: ExportJob, ids: readonly string[], deps: Pick<Deps, 'exportBlobs' | 'log'>): Promise<string[]> {
  if (job.disposable) {
    const held = new Set(job.disposable);
    return ids.filter((id) => held.has(id));
  }
  if (!job.disposableFilter) return [];
  const maybe = new Set(mayHold(job.disposableFilter, ids));
  if (maybe.size === 0) return [];
  const found: string[] = [];
  const digest = createHash('sha256');
  try {
    const list = await deps.exportBlobs.read(job.tenantId, exportDisposableListName(job.id, job.attempts));
    let rest = '';
    for await (const chunk of list.stream) {
      digest.update(chunk as Buffer);
      const parts = (rest + (chunk as Buffer).toString('latin1')).split('\n');
      rest = parts.pop()!;
      for (const line of parts) if (maybe.has(line)) found.push(line);
    }
    if (maybe.has(rest)) found.push(rest);
  } catch (err) {
    deps.log.error('export disposable list unreadable; withdrawing on the filter alone', { tenantId: job.tenantId, exportId: job.id, error: String(err) });
    return [...maybe];
  }
  // The list is a plain blob: one rewritten in storage (a document taken out) settled the filter's "maybe" as "no", and
  // an export holding a disposed document stayed downloadable. The job's seal covers the digest as written.
  if (job.disposableListDigest !== undefined && digest.digest('hex') !== job.disposableListDigest) {
    deps.log.error(EXPORT_LIST_EDITED, { tenantId: job.tenantId, exportId: job.id });
    return [...maybe];
  }
  return found;
}

/**
 * The sweep's mark on a running export: the documents it disposed of (the worker, which alone
 * knows what it holds, withdraws instead of completing if it holds one). Over the version read,
 * so a completion saved meanwhile makes this a conflict and the job is judged again, completed.
 */
async function mark(found: Versioned<ExportJob>, disposed: readonly string[], deps: WithdrawDeps): Promise<boolean> {
  const prior = found.item.disposedWhileRunning ?? [];
  if (prior === 'many' || disposed.every((id) => prior.includes(id))) return true; // marked already (a resumed disposal)
  const marks = [...new Set([...prior, ...disposed])];
  const next: ExportJob = { ...found.item, disposedWhileRunning: marks.length > EXPORT_MARKS_MAX ? 'many' : marks };
  return (await deps.exportJobs.replace(next, found.etag)) !== 'conflict';
}

/**
 * The retention sweep's part, after a batch of one tenant's documents lost their blobs (before
 * their tombstones: a run stopped before this ends is finished by the next, which withdraws
 * again): withdraw every completed export holding one of them, and mark every running one. No
 * catalog reads: the sweep knows what it disposed of. A job written meanwhile (a heartbeat,
 * a completion) is read again and judged again.
 */
export async function withdrawExportsHolding(tenantId: string, disposedIds: readonly string[], now: Date, deps: WithdrawDeps, marked?: string[]): Promise<string[]> {
  if (disposedIds.length === 0) return [];
  const out: string[] = [];
  // Every page: the first 1000 alone (fewer from Cosmos, whose page stops at 4 MB of jobs) left a tenant's later exports
  // holding a disposed document downloadable, and one too large for its ids to fit on the job was in no later net.
  let token: string | undefined;
  do {
    const page = await deps.exportJobs.listExposed(tenantId, now, EXPOSED_PAGE, token);
    token = page.continuationToken ?? undefined;
    out.push(...(await withdrawFrom(page.items, disposedIds, now, deps, marked)));
  } while (token !== undefined);
  return out;
}

/**
 * The sweep's second look, once the batch's disposal entries are appended, at the running exports it marked: one
 * completed since is judged as any completed one (withdrawn if it holds a disposed document), one still running is
 * marked again if its mark is gone. Point reads only. Broke: the mark is in Cosmos DB, and the worker's other witness,
 * the keyed disposal entries (run-export.ts loggedAsDisposed), is appended after the mark, with the tombstones: a
 * worker completing in between, its mark deleted by a writer of Cosmos DB, saw neither, and nothing looked at its
 * export again (maintenance re-checks only exports of up to EXPORT_DISPOSABLE_ON_JOB documents).
 */
export async function withdrawMarkedExports(tenantId: string, markedIds: readonly string[], disposedIds: readonly string[], now: Date, deps: WithdrawDeps): Promise<string[]> {
  const out: string[] = [];
  for (const id of new Set(markedIds)) {
    const found = await deps.exportJobs.getVersioned(tenantId, id);
    if (found) out.push(...(await withdrawFrom([found], disposedIds, now, deps)));
  }
  return out;
}

/** Exposed exports read per page by the sweep's withdrawal. */
const EXPOSED_PAGE = 100;

async function withdrawFrom(exposed: readonly Versioned<ExportJob>[], disposedIds: readonly string[], now: Date, deps: WithdrawDeps, marked?: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const listed of exposed) {
    let found: Versioned<ExportJob> | null = listed;
    for (let attempt = 0; found; attempt++) {
      // A job carrying a completion seal handed out a ZIP, whatever its status says: the status is under no seal. Broke:
      // whoever could write Cosmos DB set a completed export's status to failed (or running) while the sweep ran and
      // back after; the completion seal still checked, and its ZIP with a disposed document's copy was handed out.
      const handedOut = found.item.completedSeal !== undefined;
      const job: ExportJob = handedOut ? { ...found.item, status: 'completed' } : found.item;
      let done = true;
      if (job.status === 'running') {
        done = await mark(found, disposedIds, deps);
        if (done) marked?.push(job.id);
      }
      else if (job.status === 'completed' && Date.parse(job.expiresAt) > now.getTime()) {
        // Broke: an export's `expiresAt`, `disposable` and the rest were not sealed, and one whose list was edited in
        // Cosmos DB (or whose expiry was moved past its disposable documents' retention) was not withdrawn: a copy of a
        // disposed document stayed downloadable. Listed whatever its `disposableFrom`; one not sealed is withdrawn.
        const sealed = await exportSealHolds(job, 'retention-sweep', deps);
        const reachable = !sealed || !(Date.parse(job.disposableFrom ?? '') > now.getTime());
        const held = !reachable ? [] : sealed ? await heldAmong(job, disposedIds, deps) : [...disposedIds];
        if (held.length > 0) {
          done = await withdrawExport(found, held, now, deps, !sealed);
          if (done) out.push(job.id);
        }
      }
      if (done) break;
      if (attempt >= 10) {
        deps.log.warn('export kept changing while the sweep judged it; left to export maintenance', { tenantId: job.tenantId, exportId: job.id });
        break;
      }
      found = await deps.exportJobs.getVersioned(job.tenantId, job.id);
    }
  }
  return out;
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
 * Export maintenance's part (a safety net: the sweep withdraws and marks before it writes
 * tombstones, and the worker judges its marks before completing): live exports whose ids are on
 * the job and whose retention may have ended are checked against the catalog, one point read per
 * id, and withdrawn if any is gone. Exports with a list blob (more than EXPORT_DISPOSABLE_ON_JOB
 * ids) are left to the sweep: reading up to 100,000 ids every run would cost more than it guards.
 * A run looks at `maxItems` of them in id order after `after` (where the previous run stopped; at the end it starts
 * again from the first) and answers where the next run goes on (`next`). Always the first `maxItems` of them, in no
 * order, a tenant whose exports held documents due but not disposed of (awaiting an approval, held) or too many to
 * fit on the job filled every run, and no other tenant's export was ever looked at.
 */
export async function withdrawDisposedExports(now: Date, deps: WithdrawDeps & Pick<Deps, 'catalog'>, maxItems: number, tenantId?: string, after = ''): Promise<{ withdrawn: string[]; next: string }> {
  const out: string[] = [];
  let listed = await deps.exportJobs.unsafeListHoldingDisposable(now, maxItems, tenantId, after);
  if (listed.length === 0 && after !== '') listed = await deps.exportJobs.unsafeListHoldingDisposable(now, maxItems, tenantId, '');
  for (const found of listed) {
    if (!found.item.disposable) continue;
    // Its ids are not to be trusted: withdrawn at once (an export is a copy: nothing of the tenant's is lost).
    if (!(await exportSealHolds(found.item, 'export-maintenance', deps))) {
      if (await withdrawExport(found, [], now, deps, true)) out.push(found.item.id);
      continue;
    }
    const gone = await disposedAmong(found.item.tenantId, found.item.disposable, deps);
    if (gone.length > 0 && (await withdrawExport(found, gone, now, deps))) out.push(found.item.id);
  }
  return { withdrawn: out, next: listed.at(-1)?.item.id ?? '' };
}

import type { Deps } from '../deps';
import { blobLayout } from '../kernel/blob-layout';
import { ArchiveError } from '../kernel/errors';
import type { StoredFileRef } from '../ports';
import { exportExpired, type ExportJob } from '../kernel/export';
import { getExport } from './start-export';
import { FIXITY_MISMATCH } from '../retention/fixity';
import { exportSealHolds } from './export-seal';
import { loggedAsDisposed } from './run-export';
import { heldAmong, withdrawExport } from './withdraw-exports';
import { mayHold } from './disposable-filter';

type DownloadDeps = Pick<Deps, 'exportJobs' | 'exportBlobs' | 'clock' | 'log' | 'audit' | 'auditOutbox' | 'config'>;

/** The finished ZIP of an export, once it is complete and until it expires (or is withdrawn because documents it held were disposed of). */
export async function exportFile(r: { tenantId: string; exportId: string }, deps: DownloadDeps): Promise<StoredFileRef> {
  const job = downloadable(await getExport(r.tenantId, r.exportId, deps), deps);
  // Broke: the job was not sealed, so one edited in Cosmos DB (expiry moved later, its ZIP swapped for another export's)
  // was handed out as edited. Judged after the checks above, which refuse without it; export maintenance expires it.
  if (!(await exportSealHolds(job, 'download', deps))) {
    throw new ArchiveError('export_not_sealed', { detail: `Export ${job.id} is not as the archive sealed it (changed in the catalog since, or made before exports were sealed): it is not handed out. The archive's operators have been alerted; start a new export.` });
  }
  const disposed = await disposedSinceBuilt(job, deps);
  if (disposed.length > 0) {
    const found = await deps.exportJobs.getVersioned(r.tenantId, r.exportId);
    if (found) await withdrawExport(found, disposed, deps.clock.now(), deps);
    throw new ArchiveError('export_expired', { detail: `Export ${job.id} was withdrawn: ${disposed.length === 1 ? 'a document it held was' : 'documents it held were'} disposed of at the end of their retention, and no copy stays downloadable; start a new one.`, extensions: { reason: 'documents-disposed' } });
  }
  return {
    container: blobLayout.exportsContainer(r.tenantId),
    blobName: job.blobName,
    sha256: job.archive.sha256,
    size: job.archive.size,
    mediaType: 'application/zip',
    name: `export-${job.filter.fiscalYear ?? 'search'}-${job.id}.zip`,
    availableUntil: job.expiresAt,
    read: async (range) => {
      const read = await deps.exportBlobs.readIfExists(r.tenantId, job.blobName, range);
      // Exports are plain blobs (no WORM): one of another length than the ZIP built (rewritten, truncated) cannot be the
      // file the ETag and Repr-Digest describe, and storage says so before the first byte. Refused and alerted, as the
      // worker alerts damage it finds; a change of the same length is the client's check against Repr-Digest to find.
      if (read && read.size !== job.archive.size) {
        read.stream.destroy();
        deps.log.error(FIXITY_MISMATCH, { tenantId: r.tenantId, exportId: job.id, mismatched: [job.blobName], missing: [], found: `download: stored with ${read.size} bytes, built with ${job.archive.size}` });
        throw new ArchiveError('file_damaged', { detail: `The stored ZIP of export ${job.id} is not the one built: it is not sent. The archive's operators have been alerted; start a new export.` });
      }
      if (read) return read;
      // Gone since the job was read: a withdrawal (a document it held disposed of) or an expiry deletes the ZIP
      // before it saves the job. Answered as what it is (410), not as a storage failure (500).
      downloadable(await getExport(r.tenantId, r.exportId, deps), deps);
      throw new ArchiveError('export_expired', { detail: `Export ${job.id} is being withdrawn or expired: its ZIP is no longer stored; start a new one.` });
    },
  };
}

/**
 * The documents the export holds that the keyed audit log shows disposed of since it began (its sealed `createdAt`;
 * none before its sealed `disposableFrom`, the first retain-until among them: nothing is looked up before). Broke: the
 * sweep's one look and maintenance's safety net find an export by what Cosmos DB says of it, so whoever could write
 * Cosmos DB hid a completed one from both (status failed, completion seal off) while a document it held was disposed of,
 * wrote the genuine record back after, and its ZIP, with the disposed document's copy, was handed out. The keyed entry
 * cannot be written or kept out of the log without Key Vault.
 */
async function disposedSinceBuilt(job: ExportJob, deps: DownloadDeps): Promise<string[]> {
  const now = deps.clock.now();
  const reachable = Date.parse(job.disposableFrom ?? '');
  if (!(reachable <= now.getTime())) return [];
  // A ZIP is fetched in many ranges: the log is asked once per DISPOSALS_CHECK_MAX_AGE_MS per instance, per export.
  const checked = disposalsChecked.get(deps.audit) ?? new Map<string, number>();
  disposalsChecked.set(deps.audit, checked);
  const key = `${job.tenantId}\n${job.id}\n${job.blobName}`;
  const at = checked.get(key);
  if (at !== undefined && now.getTime() - at >= 0 && now.getTime() - at < DISPOSALS_CHECK_MAX_AGE_MS) return [];
  // Only an entry naming a document the export may hold (the ids on the job, or its Bloom filter).
  const onJob = job.disposable ? new Set(job.disposable) : null;
  const mayBeHeld = (id: string) => (onJob ? onJob.has(id) : job.disposableFilter ? mayHold(job.disposableFilter, [id]).length > 0 : false);
  const targets = await loggedAsDisposed(job.tenantId, Math.max(reachable, Date.parse(job.createdAt)), mayBeHeld, deps);
  const held = targets.length === 0 ? [] : await heldAmong(job, targets, deps);
  if (held.length === 0) {
    if (checked.size >= 10_000) checked.clear();
    checked.set(key, now.getTime());
  }
  return held;
}

/** How long an instance takes an export's look at the disposal entries as still true (its ranges fetched one after another). */
const DISPOSALS_CHECK_MAX_AGE_MS = 60_000;
/** Per audit port (one per instance): the exports found holding no disposed document, and when. */
const disposalsChecked = new WeakMap<object, Map<string, number>>();

function downloadable(job: ExportJob, deps: Pick<Deps, 'clock'>): ExportJob & { archive: NonNullable<ExportJob['archive']> } {
  if (job.withdrawn) {
    const n = job.withdrawn.documents.length;
    // None named: withdrawn for its record, not as the archive wrote it (export-seal.ts), not for a disposal.
    const why = n === 0 ? 'its record in the catalog is not as the archive wrote it (the operators have been alerted)' : `${n === 1 ? 'a document it held was' : 'documents it held were'} disposed of at the end of their retention`;
    throw new ArchiveError('export_expired', { detail: `Export ${job.id} was withdrawn at ${job.withdrawn.at}: ${why}, and no copy stays downloadable; start a new one.`, extensions: { withdrawnAt: job.withdrawn.at, reason: 'documents-disposed' } });
  }
  if (exportExpired(job, deps.clock.now())) {
    throw new ArchiveError('export_expired', { detail: `Export ${job.id} expired at ${job.expiresAt}; start a new one.` });
  }
  if (job.status !== 'completed' || !job.archive) {
    throw new ArchiveError('export_not_ready', { detail: `Export ${job.id} is ${job.status}.`, extensions: { status: job.status, progress: job.progress } });
  }
  return { ...job, archive: job.archive };
}

import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import type { Deps } from '../deps';
import { auditMonth, auditMonthsFrom, type AuditOutboxItem } from '../kernel/audit';
import { keyedEntries } from '../audit/audit-pages';
import type { ArchivedDocument, StoredFile } from '../kernel/document';
import { ArchiveError, toArchiveError } from '../kernel/errors';
import { blobLayout } from '../kernel/blob-layout';
// The worker's audit entry records the status a request failing the same way would answer.
import type { AuditInput, BlobRead, ExportJobsPort, Versioned } from '../ports';
import { Fingerprint, ManifestSpool, type FileFingerprint } from './manifest-spool';
import { ExportNames } from './names';
import { ExportZip } from './zip-writer';
import { deleteExportBlobs, disposedAmong, logWithdrawal, saveWithEntry, saveWithSystemEntry, withdrawal, withdrawnJob } from './withdraw-exports';
import { exportSealHolds, sealExportCompletion } from './export-seal';
import { disposableFilter } from './disposable-filter';
import { BlockSink, type CheckpointFile, ExportBlobTaken, EXPORT_BLOB_TAKEN, EXPORT_CHECKPOINT, EXPORT_CHECKPOINT_REFUSED, type ExportCheckpoint, type ResumedCheckpoint, resumableCheckpoint, saveCheckpoint } from './export-checkpoint';
import { detailsWitnessDiffers, FIXITY_MISMATCH, manifestDescribes, manifestWitnessOrDisposed } from '../retention/fixity';
import { keptManifestOf, manifestByArchive, readManifestBytes } from '../documents/manifest';
import { readKeptBlob } from '../kept-blobs';
import { attemptsMade, DEFAULT_CSV_FORMAT, EXPORT_DISPOSABLE_ON_JOB, type ExportJob, exportBlobName, exportCheckpointName, exportDisposableListName, type ExportManifest, type ManifestDocument, type ManifestFile, type ManifestValidation } from '../kernel/export';

export type ExportDeps = Pick<Deps, 'catalog' | 'blobs' | 'exportBlobs' | 'exportJobs' | 'audit' | 'auditOutbox' | 'clock' | 'config' | 'log' | 'errorStatus'>;

const PAGE = 100;
/** Blob downloads opened ahead of the one being zipped (each buffers at most a stream's high-water mark). */
const PREFETCH = 4;

interface PlannedFile {
  doc: ArchivedDocument;
  file: StoredFile;
  entry: ManifestFile;
  /** Whether its document's manifest was there (one gone: a disposal under way). */
  witnessed: boolean;
}

/**
 * The export worker: streams every matching document's rendition (and, on request, originals)
 * from the archive blobs through a ZIP writer (zip64 when needed) into the export blob, hashing
 * every file on the way (and refusing a file whose hash differs from the catalog), then adds
 * manifest.json (which records manifest.csv's SHA-256) and manifest.csv. Memory stays flat: nothing
 * is buffered whole; manifest entries and the CSV are spooled to temporary files and streamed into
 * the ZIP at the end.
 */
export async function runExport(tenantId: string, exportId: string, deps: ExportDeps): Promise<ExportJob> {
  const found = await deps.exportJobs.getVersioned(tenantId, exportId);
  if (!found) throw new ArchiveError('export_not_found');
  return (await claimAndRun(found, deps)) ?? (await deps.exportJobs.get(tenantId, exportId)) ?? found.item;
}

/**
 * Maintenance's restart of a job it judged stale: runs it only if the claim over that version
 * holds (a worker that gave a sign of life since keeps its job). True when this run claimed it.
 */
export async function restartExport(listed: Versioned<ExportJob>, deps: ExportDeps): Promise<boolean> {
  return (await claimAndRun(listed, deps)) !== null;
}

/** Claim the job over `found`'s version, then run it; null when it is not this worker's to run. */
async function claimAndRun(found: Versioned<ExportJob>, deps: ExportDeps): Promise<ExportJob | null> {
  const jobs = deps.exportJobs;
  const { tenantId, id: exportId } = found.item;
  if (found.item.status !== 'running') return null; // finished, failed or expired: nothing to run
  const made = attemptsMade(found.item);
  // Attempts stored as no count: not run (its attempt's blob name would be `'two' + 1`); maintenance fails it once stale.
  if (made === null) {
    deps.log.warn('export not run: its attempts are not a count', { tenantId, exportId });
    return null;
  }
  // Broke: a running or restarted job's search, originals, requester or expiry edited in Cosmos DB was run as edited (a
  // ZIP of other documents; audit entries and manifest.json naming another requester). Failed, not run, alerted; its
  // entry is the system's, filed under no request the edited record names.
  if (!(await exportSealHolds(found.item, 'export-worker', deps))) {
    const e = new ArchiveError('export_not_sealed', { detail: 'The export job is not as the archive sealed it: it was not run. Start a new export.' });
    const failed: ExportJob = { ...found.item, status: 'failed', error: `${e.code}: ${e.message}`, heartbeatAt: deps.clock.now().toISOString() };
    await deleteExportBlobs(found.item, deps, true);
    const saved = await saveWithSystemEntry(found.item, { action: 'export.failed', actor: 'export-worker', at: deps.clock.now(), unsealed: true, failedStatus: deps.errorStatus(e.code) }, (outbox) => jobs.replace(failed, found.etag, outbox), deps);
    return saved === 'conflict' ? null : failed;
  }
  const attempts = made + 1;
  // An earlier attempt's checkpoint: this one goes on in that attempt's ZIP (export-checkpoint.ts). One not readable now
  // is none: the attempt starts from the first document.
  const resume = await resumableCheckpoint(found.item, made, deps).catch((err: unknown) => {
    deps.log.warn(EXPORT_CHECKPOINT_REFUSED, { tenantId, exportId, why: `not read: ${String(err)}` });
    return null;
  });
  // A new attempt hands out nothing until its own completion seals it: a completion seal or ZIP left on a running job
  // (set running again in Cosmos DB) is not carried. The sweep takes a job with a completion seal as handed out whatever
  // its status (withdraw-exports.ts), and judged this attempt's job by the old seal: a false alarm.
  const { completedSeal: _stale, archive: _staleZip, ...unclaimed } = found.item;
  const claim: ExportJob = { ...unclaimed, status: 'running', attempts, blobName: resume?.blobName ?? exportBlobName(exportId, attempts), heartbeatAt: deps.clock.now().toISOString(), progress: { ...found.item.progress, documents: 0, files: 0, bytes: 0 } };
  delete claim.error;
  // This attempt reads the catalog afresh: documents disposed of before it cannot be in it.
  delete claim.disposedWhileRunning;
  const claimed = await jobs.replace(claim, found.etag);
  if (claimed === 'conflict') {
    deps.log.info('export claimed by another worker', { tenantId, exportId });
    return null;
  }
  const lease = new JobLease(claim, claimed.etag, jobs);
  // Broke: a checkpoint passed over (not sealed, not readable, its blocks not the blob's) left the ZIP it named, its
  // blocks committed, in storage until the export expired: a copy of every document it held, one disposed of since
  // withdrawn by nothing (test/unit/faults/round22-resume.test.ts). This attempt starts from the first document in its
  // own blob, so the earlier attempts' are nobody's; deleted once its claim holds (not before: another's resume).
  if (!resume && made > 0) for (const name of [...Array.from({ length: made }, (_, i) => exportBlobName(exportId, i + 1)), exportCheckpointName(exportId)]) await deps.exportBlobs.delete(tenantId, name).catch(() => undefined);
  try {
    return await writeArchive(lease, deps, resume);
  } catch (err) {
    if (err instanceof Superseded) return superseded(lease, deps);
    if (err instanceof HoldsDisposed) {
      try {
        return await withdrawAtCompletion(lease, err.documents, deps);
      } catch (saveErr) {
        if (saveErr instanceof Superseded) return superseded(lease, deps);
        throw saveErr;
      }
    }
    const e = toArchiveError(err);
    const logged = () => e.code === 'internal' && deps.log.error('export failed', { tenantId, exportId, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
    // Its blob written by another: most often the later attempt that took its job, and then no failure of the export's.
    const taken = err instanceof ExportBlobTaken;
    if (!taken) logged();
    try {
      const failed: ExportJob = { ...lease.job, status: 'failed', error: e.code === 'internal' ? 'internal' : `${e.code}: ${e.message}`, heartbeatAt: deps.clock.now().toISOString() };
      const saved = await saveWithEntry(workerEntry(deps, failed, 'export.failed', 'failed', deps.errorStatus(e.code), e.code), (outbox) => lease.save(failed, undefined, outbox), () => true, deps);
      // Broke: said only as `export failed` (internal), no alert: a storage role's blob put under the ZIP's name before the
      // attempt's first commit, or committed over it, failed any export with one write (red team 26).
      if (taken) deps.log.error(EXPORT_BLOB_TAKEN, { tenantId, exportId, blob: lease.job.blobName, error: err.message });
      return saved;
    } catch (saveErr) {
      if (saveErr instanceof Superseded) return superseded(lease, deps);
      throw saveErr;
    }
  }
}

/** Someone else wrote the job after this worker claimed it (a restart, expiry): this worker's result is not the export's. */
class Superseded extends Error {
  constructor() {
    super('the export job was claimed or changed by someone else');
    this.name = 'Superseded';
  }
}

/** The sweep disposed of documents this export holds while it ran: it is withdrawn instead of completed. */
class HoldsDisposed extends Error {
  constructor(readonly documents: string[]) {
    super('documents the export holds were disposed of while it ran');
    this.name = 'HoldsDisposed';
  }
}

/** Saves a job takes before the worker gives up on it (each retry follows a sweep's mark: one per disposal batch). */
const MARKED_RETRIES = 20;

/**
 * The worker's hold on its job: each save is written only over the version it last wrote. A
 * version written by the retention sweep (same attempt, still running, with documents it disposed
 * of marked) is taken in: `onMarked` judges the marks, then the save is retried over it. Any other
 * writer (a restart, an expiry) supersedes the worker.
 */
class JobLease {
  constructor(
    public job: ExportJob,
    private etag: string,
    private readonly jobs: ExportJobsPort,
  ) {}

  /** With `outbox`, the save's audit outbox item is stored with the job: both or neither. */
  async save(next: ExportJob, onMarked?: (job: ExportJob) => Promise<void>, outbox?: AuditOutboxItem): Promise<ExportJob> {
    // Broke: a save carried the marks of the caller's copy. Taken in above a marks check that failed on the store (the
    // `many` case reads the catalog), the lease held the marked version while the beat's copy had none, and its next
    // beat saved over that version without them. Every save carries the marks of the version it is written over.
    if (this.job.disposedWhileRunning !== undefined) next = { ...next, disposedWhileRunning: this.job.disposedWhileRunning };
    for (let retry = 0; retry <= MARKED_RETRIES; retry++) {
      const written = await this.jobs.replace(next, this.etag, outbox);
      if (written !== 'conflict') {
        this.etag = written.etag;
        this.job = next;
        return next;
      }
      const stored = await this.jobs.getVersioned(this.job.tenantId, this.job.id);
      if (!stored || stored.item.status !== 'running' || stored.item.attempts !== this.job.attempts) break;
      const marks = stored.item.disposedWhileRunning;
      this.etag = stored.etag;
      this.job = { ...this.job, disposedWhileRunning: marks };
      next = { ...next, disposedWhileRunning: marks };
      await onMarked?.(this.job);
    }
    throw new Superseded();
  }
}

/** How often a running worker saves its job's heartbeat, at most. */
const HEARTBEAT_MS = 1000;

/**
 * The worker's sign of life through its whole attempt: a save of the job (its heartbeat and progress) each HEARTBEAT_MS
 * through the lease, one at a time and none after `stop` (the worker's next save waits for it), so no two saves race
 * the lease's etag. Broke: it beat only through the export's end; between files the worker saved only after each file,
 * so it was silent for as long as one file took (a large one from a slow read or into a slow upload), and a message
 * delivered again (REDELIVERY_QUIET_SECONDS; a data-plane holder raises any message's dequeueCount by receiving it)
 * took the live worker's job: the attempt was lost (test/unit/faults/round19-attacks.test.ts). Before that, the end
 * (the witness walk, manifest.json and .csv, the upload's end) was silent for minutes in a year's export.
 * Only while the attempt moves (`moved`: bytes through the ZIP, a document planned, a step of the end): one hung in a
 * step (a read or an upload that never ends) for ARCHIVE_EXPORT_STALE_SECONDS stops beating, and is taken up again once
 * stale, as a dead one is, rather than held by its beat until the export app's timeout.
 */
class Heartbeat {
  private readonly timer: NodeJS.Timeout;
  private saving: Promise<void> | null = null;
  /** Superseded, or HoldsDisposed from `onMarked`: thrown by `stop`. */
  private lost: Superseded | HoldsDisposed | null = null;
  private movedAt = Date.now();
  private advancedOnce = false;
  /** The blob the attempt writes, where it started over in its own (startedOver); null: the claim's. */
  private blobName: string | null = null;
  private readonly claimed: ExportJob;

  constructor(
    private job: ExportJob,
    private readonly lease: JobLease,
    private readonly deps: ExportDeps,
    private readonly onMarked: (job: ExportJob) => Promise<void>,
  ) {
    this.claimed = job;
    this.timer = setInterval(() => void this.beatOnce(), HEARTBEAT_MS);
    this.timer.unref();
  }

  /** The attempt moved on (real time: a hung step is judged by how long it has not). */
  moved(): void {
    this.movedAt = Date.now();
  }

  /** One beat at a time: the one in flight, else a new one. */
  private beatOnce(): Promise<void> {
    return (this.saving ??= this.beat().finally(() => (this.saving = null)));
  }

  private async beat(): Promise<void> {
    if (this.lost || Date.now() - this.movedAt > this.deps.config.ARCHIVE_EXPORT_STALE_SECONDS * 1000) return;
    try {
      this.job = await this.lease.save(this.asAttempt({ ...this.job, heartbeatAt: this.deps.clock.now().toISOString() }), this.onMarked);
    } catch (err) {
      if (err instanceof Superseded || err instanceof HoldsDisposed) this.lost = err;
      // A store that did not answer this once: the next beat tries again (the worker's own next save throws if it still fails).
      else this.deps.log.warn('export heartbeat not saved', { tenantId: this.job.tenantId, exportId: this.job.id, error: String(err) });
    }
  }

  /** The attempt saved a checkpoint of its own: it went on, and its job says so (attemptsUsedUp), saved now: a cut may come next. */
  async advanced(): Promise<void> {
    if (this.advancedOnce) return;
    this.advancedOnce = true;
    await this.saving; // one in flight was the job before
    await this.beatOnce();
  }

  /** A refused resume started over in the attempt's own blob: every save from now on names it. */
  startedOver(blobName: string): void {
    this.blobName = blobName;
  }

  /**
   * The job as this attempt has it: in the blob it writes, and counted as one that went on once it is (set on every
   * save: a beat in flight saved the job before).
   */
  private asAttempt(job: ExportJob): ExportJob {
    const own = this.blobName === null ? job : { ...job, blobName: this.blobName };
    if (!this.advancedOnce) return own;
    const before: unknown = this.claimed.attemptsAdvanced;
    return { ...own, attemptsAdvanced: (typeof before === 'number' && Number.isInteger(before) && before > 0 ? before : 0) + 1 };
  }

  /** Between files: a lost lease (or a disposed document held) ends the attempt now, not after the last file. */
  check(): void {
    if (this.lost) throw this.lost;
  }

  /** Ends the beats; the job as last saved. */
  async stop(): Promise<ExportJob> {
    clearInterval(this.timer);
    await this.saving;
    if (this.lost) throw this.lost;
    return this.asAttempt(this.job);
  }
}

/**
 * The worker withdraws its own export: no completion, every blob of the job deleted, the job
 * `expired` with the reason (over the version it holds, taking in later marks), audited.
 */
async function withdrawAtCompletion(lease: JobLease, documents: string[], deps: ExportDeps): Promise<ExportJob> {
  const now = deps.clock.now();
  await deleteExportBlobs(lease.job, deps);
  const job = await saveWithSystemEntry(lease.job, withdrawal(documents, now), (outbox) => lease.save(withdrawnJob(lease.job, documents, now), undefined, outbox), deps);
  if (job === 'conflict') throw new Superseded(); // the lease never answers 'conflict': it throws Superseded itself
  logWithdrawal(job, documents, deps);
  return job;
}

/**
 * The held documents whose retention ends before the export expires: only they can be disposed
 * of while it lives. All of them, whatever their number (at most ARCHIVE_EXPORT_MAX_DOCUMENTS):
 * up to EXPORT_DISPOSABLE_ON_JOB on the job, more in the attempt's list blob with a Bloom filter
 * on the job, so the export keeps its lifetime however many documents a legal hold keeps past
 * their retention.
 */
class DisposableDocuments {
  private readonly held = new Set<string>();
  private from = Infinity;
  private readonly cutoff: number;

  constructor(expiresAt: string) {
    this.cutoff = Date.parse(expiresAt);
  }

  /**
   * `sealedUntil`: the retain-until in the archive's manifest of the document. The earlier of it and the catalog's
   * decides, as retention is lengthened, never shortened, from what ingest sealed. Broke: the catalog's alone, which
   * whoever writes Cosmos DB moved years on while the export walked (and back after): the export named nothing a
   * disposal could reach, the sweep's withdrawal and the download's look passed it over, and its ZIP, a copy of a
   * document disposed of, was handed out (test/unit/faults/round18-attacks.test.ts). The sealed one not read (no manifest,
   * none readable): reachable at once. Broke: the catalog's alone decided then, and a document past its retention (its
   * blobs unlocked) had its manifest moved aside by a storage role while the export walked, and back after: the same
   * hand-out (test/unit/faults/round21-attacks.test.ts).
   */
  add(doc: ArchivedDocument, sealedUntil: string | undefined): void {
    const sealed = typeof sealedUntil === 'string' ? Date.parse(sealedUntil) : Number.NaN;
    const catalog = typeof doc.retention.retainUntil === 'string' ? Date.parse(doc.retention.retainUntil) : Number.NaN;
    const until = !Number.isFinite(sealed) ? 0 : Number.isFinite(catalog) ? Math.min(sealed, catalog) : sealed;
    if (until >= this.cutoff) return;
    this.held.add(doc.id);
    this.from = Math.min(this.from, until);
  }

  /**
   * Which documents the sweep marked as disposed of (while this export ran) it holds. Past
   * EXPORT_MARKS_MAX marks the sweep wrote only `many`: the catalog is asked about each held one.
   */
  async disposedOf(job: ExportJob, deps: ExportDeps): Promise<string[]> {
    const marks = job.disposedWhileRunning;
    if (!marks || this.held.size === 0) return [];
    if (marks === 'many') return disposedAmong(job.tenantId, [...this.held], deps);
    return marks.filter((id) => this.held.has(id));
  }

  /** The job's fields; a large list is written to its blob first (the job names no list that is not there). */
  async record(job: ExportJob, deps: ExportDeps): Promise<Pick<ExportJob, 'disposable' | 'disposableCount' | 'disposableFilter' | 'disposableFrom' | 'disposableListDigest'>> {
    if (this.held.size === 0) return {};
    const disposableFrom = new Date(this.from).toISOString();
    if (this.held.size <= EXPORT_DISPOSABLE_ON_JOB) return { disposable: [...this.held], disposableCount: this.held.size, disposableFrom };
    const ids = [...this.held].sort();
    const digest = createHash('sha256');
    for (const chunk of lines(ids)) digest.update(chunk);
    await deps.exportBlobs.upload(job.tenantId, exportDisposableListName(job.id, job.attempts), Readable.from(lines(ids)), 'text/plain; charset=utf-8');
    return { disposableCount: ids.length, disposableFilter: disposableFilter(ids, ids.length), disposableFrom, disposableListDigest: digest.digest('hex') };
  }
}

function* lines(ids: string[]): Generator<string> {
  for (let i = 0; i < ids.length; i += 1000) yield ids.slice(i, i + 1000).join('\n') + '\n';
}

/** A superseded worker stops: no save, no audit entry (the job's holder writes those); its own blob is already gone. */
async function superseded(lease: JobLease, deps: ExportDeps): Promise<ExportJob> {
  deps.log.warn('export worker superseded; stopped', { tenantId: lease.job.tenantId, exportId: lease.job.id, attempt: lease.job.attempts });
  return (await deps.exportJobs.get(lease.job.tenantId, lease.job.id)) ?? lease.job;
}

async function writeArchive(lease: JobLease, deps: ExportDeps, resume: ResumedCheckpoint | null): Promise<ExportJob> {
  // The job's progress is the beat's, counted in place from here on.
  const job: ExportJob = { ...lease.job, progress: { ...lease.job.progress } };
  // Replaced when a refused resume starts over: the beat judges the marks by the walk under way.
  const disposable = { current: new DisposableDocuments(job.expiresAt) };
  // The beat starts at the claim, the count its first step. Broke: it started after the count, so a long one (a large
  // tenant's search) was as silent as a dead worker, and a redelivered message watching the job took it
  // (test/unit/faults/round19-attacks.test.ts). Marks a beat takes in are judged as the completion judges them (a
  // document not walked yet is judged there).
  const beat = new Heartbeat(job, lease, deps, async (marked) => {
    const gone = await disposable.current.disposedOf(marked, deps);
    if (gone.length > 0) throw new HoldsDisposed(gone);
  });
  // Broke: the beat was stopped only where the count, the walk or the end failed; a throw between them (the spool's
  // temporary folder not made) left it beating, and its next save wrote the job, saved failed, back to running
  // (test/unit/faults/round20-attacks.test.ts). Whatever the attempt throws, its beat ends first.
  try {
    return await writeBeating(job, lease, disposable, beat, deps, resume);
  } catch (err) {
    await beat.stop().catch(() => undefined);
    throw err;
  }
}

/** A checkpoint the attempt found does not describe what it finds (the walk, the ZIP's bytes): it starts from the first document. */
class ResumeRefused extends Error {
  constructor(why: string) {
    super(why);
    this.name = 'ResumeRefused';
  }
}

async function writeBeating(job: ExportJob, lease: JobLease, disposable: { current: DisposableDocuments }, beat: Heartbeat, deps: ExportDeps, resume: ResumedCheckpoint | null): Promise<ExportJob> {
  const { tenantId } = job;
  // A throw from here on ends the beat in writeArchive before the failure is saved.
  const total = await deps.catalog.countMatching(tenantId, job.filter);
  if (total > deps.config.ARCHIVE_EXPORT_MAX_DOCUMENTS) {
    throw new ArchiveError('export_too_large', { detail: `The search matches ${total} documents; an export holds at most ${deps.config.ARCHIVE_EXPORT_MAX_DOCUMENTS}. Narrow it (e.g. by date range).` });
  }
  job.progress.total = total;
  beat.moved();
  beat.check();
  for (;;) {
    try {
      return await writeZip(job, lease, disposable.current, beat, deps, resume);
    } catch (err) {
      if (!(err instanceof ResumeRefused) || resume === null) throw err;
      deps.log.warn(EXPORT_CHECKPOINT_REFUSED, { tenantId, exportId: job.id, why: err.message });
      // Broke: it started over in the blob the checkpoint named, its first commit made over whatever that blob held: an
      // attempt that lost its job while reading the ZIP back made the later attempt's completed ZIP its own first files
      // (test/unit/faults/round22-resume.test.ts). Only while the job is still this attempt's, and in its own blob, as a
      // new attempt: the one given up and the checkpoint are deleted.
      if (!(await stillTheAttempt(job, deps))) throw new Superseded();
      await deps.exportBlobs.delete(tenantId, resume.blobName).catch(() => undefined);
      // The version read: one written since is another's (its own first save then finds it and asks whose the job is).
      await deps.exportBlobs.deleteIf(tenantId, exportCheckpointName(job.id), { ifMatch: resume.checkpointEtag });
      job.blobName = exportBlobName(job.id, job.attempts);
      beat.startedOver(job.blobName);
      // From the first document, as a new attempt: its own walk's bookkeeping, none of the one given up.
      disposable.current = new DisposableDocuments(job.expiresAt);
      Object.assign(job.progress, { documents: 0, files: 0, bytes: 0 });
      resume = null;
    }
  }
}

async function writeZip(job: ExportJob, lease: JobLease, disposable: DisposableDocuments, beat: Heartbeat, deps: ExportDeps, resume: ResumedCheckpoint | null): Promise<ExportJob> {
  const { tenantId } = job;
  const zip = new ExportZip();
  const archivePrint = new Fingerprint();
  // The version of the ZIP the resume hashed: the attempt commits over it only (BlockSink).
  let resumedEtag = '';
  if (resume) {
    // node:crypto's running hash cannot be saved: the ZIP's bytes so far are read back and hashed again (one read of
    // the blob, not one of every document), and must be the ones the checkpoint sealed.
    try {
      // Broke: a block staged under one of the checkpoint's ids (a storage role's, or a cut attempt's numbered alike) is
      // not in the committed bytes read back, and the attempt's commit (Put Block List's `Latest`: a staged block before
      // the committed one) took it: the ZIP held bytes never hashed, under the SHA-256 of those that were
      // (test/unit/faults/round22-resume.test.ts). Committed again first: the bytes hashed are the ones the list holds.
      await deps.exportBlobs.commitBlocks(tenantId, resume.blobName, resume.blocks.map((b) => b.id));
      const prefix = await deps.exportBlobs.read(tenantId, resume.blobName, { offset: 0, count: resume.offset });
      resumedEtag = prefix.etag;
      for await (const chunk of prefix.stream) {
        archivePrint.add(Buffer.from(chunk as Uint8Array));
        beat.moved();
      }
    } catch (err) {
      throw new ResumeRefused(`the ZIP's bytes could not be read back (${err instanceof Error ? err.message : String(err)})`);
    }
    const sofar = archivePrint.sofar();
    if (sofar.size !== resume.offset || sofar.sha256 !== resume.prefixSha256) throw new ResumeRefused('the ZIP\'s bytes are not the ones it sealed');
    zip.resume(resume.offset, resume.files);
  }
  const counted = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      beat.moved();
      cb(null, archivePrint.add(chunk));
    },
  });
  const output = (zip.outputStream as Readable).pipe(counted);
  const zipFailure: { error: Error | null } = { error: null };
  zip.on('error', (err: unknown) => {
    zipFailure.error = err instanceof Error ? err : new Error(String(err));
    counted.destroy(zipFailure.error);
  });
  const sink = new BlockSink(deps, tenantId, job.blobName, job.attempts, resume && { ...resume, etag: resumedEtag });
  const upload = pipeline(output, sink);
  upload.catch(() => undefined); // awaited below; a failure here surfaces there

  const names = new ExportNames();
  const spool = new ManifestSpool();
  // Real time, not the archive's clock: the witness compares it with the store's own write times.
  const walkBegan = new Date();
  // By the archive's clock, as the sweep dates its disposal entries (loggedAsDisposed): from the walk that wrote the
  // checkpoint's files, whose bytes this attempt does not read again.
  const walkFrom = resume ? new Date(Math.min(Date.parse(resume.walkFrom), deps.clock.now().getTime())) : deps.clock.now();
  const walked = new Set<string>();
  // The files in the ZIP, as a checkpoint states them; the resumed ones first.
  const inZip: CheckpointFile[] = resume ? [...resume.files] : [];
  const skip = resume?.files.length ?? 0;
  let checkpointed = false;
  /** A checkpoint would have been larger than one is read: no more are saved. */
  let checkpointsEnded = false;
  // The checkpoint's version as this attempt read (its resume) or last wrote it; null: none of its own yet.
  let checkpointEtag = resume?.checkpointEtag ?? null;
  let since = { files: 0, bytes: 0 };
  const checkpoint = async () => {
    // At a file's end: yazl has written every file added (data descriptors too) and the sink has them all.
    await sink.until(() => zip.quiet() && sink.received === zip.cursor);
    const blocks = await sink.commit();
    const written = zip.writtenEntries();
    written.forEach((e, i) => Object.assign(inZip[i]!, e));
    const sofar = archivePrint.sofar();
    const state: ExportCheckpoint = { format: 'export-checkpoint/1', tenantId, exportId: job.id, requestId: job.requestId, createdAt: job.createdAt, attempt: job.attempts, blobName: job.blobName, blocks, offset: sofar.size, prefixSha256: sofar.sha256, walkFrom: walkFrom.toISOString(), files: inZip };
    let saved = await saveCheckpoint(state, checkpointEtag, deps);
    if (saved === 'too large') {
      // More than a checkpoint is read of (export-checkpoint.ts): none after it either, each larger still. A cut goes on
      // from the last one saved.
      checkpointsEnded = true;
      deps.log.warn('export checkpoints end: the next would be larger than one is read', { tenantId, exportId: job.id, files: inZip.length });
      return;
    }
    if (saved === 'conflict') {
      // Written since by another: the attempt holding the job (this one stops), or, the job still this attempt's, one
      // that lost it (its write came after this attempt's claim deleted the checkpoint), replaced.
      if (!(await stillTheAttempt(job, deps))) throw new Superseded();
      await deps.exportBlobs.delete(tenantId, exportCheckpointName(job.id));
      saved = await saveCheckpoint(state, null, deps);
      if (typeof saved === 'string') throw new Error('the export checkpoint was written by another while this attempt wrote it');
    }
    checkpointEtag = saved.etag;
    checkpointed = true;
    await beat.advanced();
    since = { files: 0, bytes: 0 };
  };
  let manifestJson: FileFingerprint;
  try {
    const queue: { planned: PlannedFile; read: Promise<BlobRead | null> | null }[] = [];
    let plannedFiles = 0;
    const pending = plan(job, deps, names, (doc, sealedUntil) => {
      disposable.add(doc, sealedUntil);
      walked.add(doc.id);
    });
    const fill = async () => {
      while (queue.length < PREFETCH) {
        const next = await pending.next();
        beat.moved();
        if (next.done) return;
        const p = next.value;
        if ('doc' in p && 'file' in p) {
          // A file the checkpoint holds is not read again.
          const read = plannedFiles++ < skip ? null : deps.blobs.readIfExists(tenantId, p.file.blobName);
          read?.catch(() => undefined);
          queue.push({ planned: p, read });
        } else {
          await spool.add(p.manifest);
        }
      }
    };
    await fill();
    let at = 0;
    while (queue.length > 0) {
      const { planned, read } = queue.shift()!;
      const index = at++;
      await fill();
      // A catalog item whose file names a blob outside its own folder (another document's: a catalog written behind the
      // archive's back, its sha256 and size copied too) would put that document's bytes into the ZIP under this one's
      // name, and the re-hash below would pass: no file of a document lives anywhere but in its folder.
      if (!blobLayout.inFolder(planned.doc.id, planned.file.blobName)) {
        deps.log.error(FIXITY_MISMATCH, { tenantId: planned.doc.tenantId, documentId: planned.doc.id, exportId: job.id, mismatched: [planned.file.blobName], missing: [] });
        throw new ArchiveError('export_fixity_mismatch', { detail: `Document ${planned.doc.id}: ${planned.entry.path} names a file outside the document's folder.` });
      }
      if (read === null) {
        // In the ZIP already, if the walk names it as the checkpoint does: the same file (its catalog checksums, judged by
        // this walk's witnesses), at the same place. A document changed, gone or added since (a disposal, a correction)
        // makes the walk another one, and the attempt starts from the first document, as before there were checkpoints.
        const held = resume!.files[index]!;
        if (held.path !== planned.entry.path || held.size !== planned.file.size || held.sha256 !== planned.file.sha256 || held.mtime !== new Date(planned.doc.createdAt).toISOString()) {
          throw new ResumeRefused(`the walk no longer names the files it holds (at ${planned.doc.id})`);
        }
        // Its manifest gone (a disposal under way): its file decides, as when a new attempt reads it (gone()).
        if (!planned.witnessed && !(await deps.blobs.exists(tenantId, planned.file.blobName))) await gone(planned, job, deps);
      } else {
        const blob = (await read) ?? (await gone(planned, job, deps));
        const hash = createHash('sha256');
        const hashing = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            hash.update(chunk);
            beat.moved();
            cb(null, chunk);
          },
        });
        blob.stream.on('error', (err) => hashing.destroy(err));
        blob.stream.pipe(hashing);
        zip.addReadStream(hashing, planned.entry.path, { compress: false, size: planned.file.size, mtime: new Date(planned.doc.createdAt) });
        await finished(hashing);
        zip.settle(); // the files written so far are set aside: yazl scanned them all again for each file (zip-writer.ts)
        // The hash before the ZIP's own failure: a file of another length is refused by the ZIP too, and is the same damage.
        const sha256 = hash.digest('hex');
        if (sha256 !== planned.file.sha256) {
          // Damage to an archived document, found here rather than by the fixity timer: the operators' fixity alert fires for it too.
          deps.log.error(FIXITY_MISMATCH, { tenantId: planned.doc.tenantId, documentId: planned.doc.id, exportId: job.id, mismatched: [planned.file.blobName], missing: [] });
          throw new ArchiveError('export_fixity_mismatch', { detail: `Document ${planned.doc.id}: ${planned.entry.path} does not match its archived SHA-256.` });
        }
        if (zipFailure.error) throw zipFailure.error;
        inZip.push({ path: planned.entry.path, size: planned.file.size, sha256, mtime: new Date(planned.doc.createdAt).toISOString(), crc32: 0, offset: 0 });
        since = { files: since.files + 1, bytes: since.bytes + planned.file.size };
      }
      job.progress.files++;
      job.progress.bytes += planned.file.size;
      if (planned.entry.role === 'rendition') job.progress.documents++;
      beat.check(); // the beat saves the progress (the job's progress is the beat's, counted in place)
      // Each checkpoint states every file so far: one at least an eighth as many files again as the ZIP holds, so that a
      // year of 100,000 documents writes a few of its final checkpoint's size in all, not one per thousand files.
      const due = since.files >= EXPORT_CHECKPOINT.files || since.bytes >= EXPORT_CHECKPOINT.bytes;
      if (due && since.files * 8 >= inZip.length && !checkpointsEnded) await checkpoint();
    }
    while (true) {
      const rest = await pending.next();
      beat.moved();
      if (rest.done) break;
      if (!('file' in rest.value)) await spool.add(rest.value.manifest);
    }
    if (at < skip) throw new ResumeRefused('the walk names fewer files than it holds');
    await witnessWalk(job, walkBegan, walked, deps);
    beat.moved();

    await spool.close();
    const csv = job.csv ?? DEFAULT_CSV_FORMAT;
    // The CSV first, to a temporary file: manifest.json, which goes into the ZIP before it, records its SHA-256.
    const manifestCsv = await spool.writeCsv(csv);
    const manifest: Omit<ExportManifest, 'documents'> = {
      format: 'archive-export/1',
      export: {
        id: job.id,
        tenantId,
        createdAt: job.createdAt,
        createdBy: job.createdBy,
        filter: job.filter,
        includeOriginals: job.includeOriginals,
        csv,
        requestId: job.requestId,
        auditEntryId: await findAuditEntryId(deps, job),
      },
      counts: { documents: spool.count, files: job.progress.files, bytes: job.progress.bytes },
      manifestCsv,
    };
    const now = deps.clock.now();
    const manifestJsonPrint = new Fingerprint();
    zip.addReadStream(spool.json(manifest, manifestJsonPrint), 'manifest.json', { mtime: now });
    zip.addReadStream(spool.writtenCsv(), 'manifest.csv', { mtime: now });
    zip.end();
    await upload;
    if (zipFailure.error) throw zipFailure.error;
    manifestJson = manifestJsonPrint.result();
  } catch (err) {
    counted.destroy();
    await upload.catch(() => undefined);
    await dropAttempt(job, err, resume !== null || checkpointed, deps, { created: sink.created, checkpointEtag });
    throw err;
  } finally {
    await spool.dispose();
  }
  const completedAt = deps.clock.now().toISOString();
  try {
    // The sweep marks a running export with what it disposed of; the completion is saved only over
    // the version whose marks were judged, so a mark written after is a conflict, judged in turn.
    const judge = async (marked: ExportJob) => {
      const gone = new Set(await disposable.disposedOf(marked, deps));
      if (walked.size > 0) for (const id of await loggedAsDisposed(tenantId, walkFrom.getTime(), (id) => walked.has(id), deps)) gone.add(id);
      if (gone.size > 0) throw new HoldsDisposed([...gone]);
    };
    await judge(lease.job);
    const recorded = await disposable.record(job, deps);
    // The last beat's job (its heartbeat, any marks it took in: judged as it took them); the completion is the next save.
    job = await beat.stop();
    const archive = archivePrint.result();
    // Sealed from the job this worker claimed (its seal held then), never from the stored one: a later edit is not taken in.
    const completed = await sealExportCompletion({ ...job, ...recorded, status: 'completed', completedAt, heartbeatAt: completedAt, archive, manifestJson }, deps.audit.chainKeys);
    // The audit log keeps what was handed out for as long as it keeps the entry: an export folder is proven against it years later.
    const handedOut = `manifest-json-sha256=${manifestJson.sha256};manifest-json-size=${manifestJson.size};zip-sha256=${archive.sha256};zip-size=${archive.size}`;
    const saved = await saveWithEntry(workerEntry(deps, completed, 'export.completed', 'success', 200, handedOut), (outbox) => lease.save(completed, judge, outbox), () => true, deps);
    // Done: nothing to go on from (an expiry or withdrawal deletes it too).
    await deps.exportBlobs.delete(tenantId, exportCheckpointName(job.id)).catch(() => undefined);
    return saved;
  } catch (err) {
    // Lost the job while uploading: the ZIP and list this attempt wrote are nobody's result (a ZIP a checkpoint names
    // is left, as the attempt that took the job may be going on in it, unless this attempt made it and the job names
    // another ZIP: dropUnheld).
    if (err instanceof Superseded) {
      if (!(resume !== null || checkpointed)) await deps.exportBlobs.delete(tenantId, job.blobName).catch(() => undefined);
      else await dropUnheld(job, { created: sink.created, checkpointEtag }, deps);
      await deps.exportBlobs.delete(tenantId, exportDisposableListName(job.id, job.attempts)).catch(() => undefined);
    }
    throw err;
  }
}

/**
 * A failed attempt's ZIP and checkpoint are deleted: the job fails (or is withdrawn). A refused resume's are deleted by
 * writeBeating, which starts over.
 * One that lost its job to another attempt leaves a ZIP a checkpoint names (`shared`), unless it made the ZIP and the
 * job names another (dropUnheld): that attempt may be going on from it (an expiry or a withdrawal deletes every
 * attempt's blobs).
 */
async function dropAttempt(job: ExportJob, err: unknown, shared: boolean, deps: ExportDeps, own: Own): Promise<void> {
  // A blob there before this attempt's first commit (its conflict) is not the attempt's: left as it is.
  if (err instanceof ExportBlobTaken && !own.created) return;
  if (shared && err instanceof Superseded) return dropUnheld(job, own, deps);
  // Broke: only a Superseded failure spared a shared ZIP. An attempt that lost its job while hung (a read that ends in a
  // timeout, a file's damage) failed after the later attempt went on in the same blob, and deleted that attempt's ZIP
  // (completed: its download answered 410) and checkpoint (test/unit/faults/round22-resume.test.ts). A shared blob
  // goes only while the job is still this attempt's; not known (the store did not answer): left to the job's end.
  // A refused resume: writeBeating deletes the ZIP given up and the checkpoint while the job is still this attempt's.
  if (err instanceof ResumeRefused) return;
  // Whether the job is still this attempt's, read once (a shared Superseded one went to dropUnheld above).
  const ours = !(err instanceof Superseded) && (await stillTheAttempt(job, deps));
  if (shared && !ours) return;
  await deps.exportBlobs.delete(job.tenantId, job.blobName).catch(() => undefined);
  // Broke: an attempt that never checkpointed, its job handed on, failing on its own (a read's timeout) deleted the
  // checkpoint the attempt holding the job had written (red team 26). Only while the job is still this attempt's.
  if (ours) await deps.exportBlobs.delete(job.tenantId, exportCheckpointName(job.id)).catch(() => undefined);
}

/** What an attempt made of its own: its ZIP (its first commit found no blob), and its checkpoint's version as last written. */
type Own = { created: boolean; checkpointEtag: string | null };

/**
 * A ZIP this attempt made, and its checkpoint, once it lost its job: deleted where the job names another ZIP (the attempt
 * holding it did not go on in this one, and one that later does finds it gone and starts over). Broke: a fresh attempt
 * hung before its first commit made its ZIP after the next attempt's claim had deleted the earlier ones: nobody's, a
 * copy of the documents it held until the export expired (test/unit/faults/round22-resume.test.ts). Left when the job
 * is not read (the store did not answer): the export's end deletes every attempt's blobs.
 */
async function dropUnheld(job: ExportJob, own: Own, deps: ExportDeps): Promise<void> {
  if (!own.created) return;
  const stored = await deps.exportJobs.get(job.tenantId, job.id).catch(() => undefined);
  if (stored === undefined || stored?.blobName === job.blobName) return;
  await deps.exportBlobs.delete(job.tenantId, job.blobName).catch(() => undefined);
  if (own.checkpointEtag === null) return;
  // Broke: read its ETag, then deleted it without a condition: the holding attempt's checkpoint, written between the
  // two, was lost (test/unit/faults/round22-resume.test.ts). Deleted only while it is the version this attempt wrote.
  await deps.exportBlobs.deleteIf(job.tenantId, exportCheckpointName(job.id), { ifMatch: own.checkpointEtag }).catch(() => undefined);
}

/** Whether the stored job is still this attempt's (or gone); false when the store does not answer. */
async function stillTheAttempt(job: ExportJob, deps: ExportDeps): Promise<boolean> {
  const stored = await deps.exportJobs.get(job.tenantId, job.id).catch(() => undefined);
  return stored === null || stored?.attempts === job.attempts;
}

/**
 * A planned file no longer in storage: its document disposed of since the export read the catalog (the sweep deleted
 * its blobs), and the export is withdrawn as at completion (HoldsDisposed); the file of a document still active is
 * missing, damage alerted as the fixity check alerts it. Read as any other failure, a disposal raised `export failed`.
 */
async function gone(planned: PlannedFile, job: ExportJob, deps: ExportDeps): Promise<never> {
  const now = await deps.catalog.get(planned.doc.tenantId, planned.doc.id);
  if (now?.status !== 'active') throw new HoldsDisposed([planned.doc.id]);
  deps.log.error(FIXITY_MISMATCH, { tenantId: planned.doc.tenantId, documentId: planned.doc.id, exportId: job.id, mismatched: [], missing: [planned.file.blobName] });
  throw new ArchiveError('export_fixity_mismatch', { detail: `Document ${planned.doc.id}: ${planned.entry.path} is missing from storage.` });
}

/** Hosts' clocks apart, at most: a disposal entry dated by the sweep's host this much before the walk began is looked at. */
export const DISPOSAL_ENTRY_SKEW_MS = 5 * 60_000;

/**
 * Which of the documents `named` takes the audit log shows disposed of since `since` (ms, the archive's clock): the
 * archive's keyed `document.dispose` entries (keyedEntries), one walk per month, not a query per document; only an entry
 * `named` takes has its key checked. The keyed entry cannot be written without Key Vault. The worker's (since its walk
 * began) and a download's (download-export.ts disposedSinceBuilt). Broke: the sweep's mark on the running job was the
 * worker's only word of a disposal, and whoever can write Cosmos DB deleted it: the worker completed, its ZIP holding a
 * disposed document's copy (maintenance re-checks only exports of up to EXPORT_DISPOSABLE_ON_JOB documents). One not
 * appended yet is not seen: the sweep marks before its tombstones, whose entries are appended right after them, so it
 * looks again at what it marked once they are (withdraw-exports.ts withdrawMarkedExports). Not flushed here as a hold's
 * witness is (placement-witness.ts): the sweep's entries are on its own instance's way, not this one's.
 */
export async function loggedAsDisposed(tenantId: string, since: number, named: (id: string) => boolean, deps: Pick<ExportDeps, 'audit' | 'clock'> & { config: Pick<ExportDeps['config'], 'ARCHIVE_SWEEP_MAX_SECONDS'> }): Promise<string[]> {
  // An entry is dated when its sweep run began (dispose.ts planDisposal), which claims documents for up to its budget
  // after: one claimed after `since` is dated up to that long before it.
  const from = new Date(since - deps.config.ARCHIVE_SWEEP_MAX_SECONDS * 1000 - DISPOSAL_ENTRY_SKEW_MS).toISOString();
  const found = new Set<string>();
  for (const month of auditMonthsFrom(from, deps.clock.now())) {
    for (const e of await keyedEntries(deps.audit, tenantId, month, { action: 'document.dispose', from }, (e) => typeof e.target === 'string' && named(e.target))) found.add(e.target as string);
  }
  return [...found];
}

export const EXPORT_INCOMPLETE = 'export incomplete: the search walk left out documents the search matches';

/** Said where an export's blob is written by another than its attempt (export-checkpoint.ts). */
export { EXPORT_BLOB_TAKEN } from './export-checkpoint';

/**
 * An export says it holds everything its search matches, and accountants take it as the fiscal year's whole record. The
 * walk pages through a sorted search, where a store's paging has lost items before (documents without the sort key, past
 * the first page). So a second query, by another path, names every matching document that stayed unchanged all through
 * the walk; one the walk did not meet fails the export loudly (alerted) instead of completing it short. Documents written
 * during the walk (new, corrected, disposed of) are not witnessed: the walk may or may not meet them.
 */
async function witnessWalk(job: ExportJob, walkBegan: Date, walked: ReadonlySet<string>, deps: ExportDeps): Promise<void> {
  const missed = (await deps.catalog.idsUnchangedSince(job.tenantId, job.filter, walkBegan)).filter((id) => !walked.has(id));
  if (missed.length === 0) return;
  deps.log.error(EXPORT_INCOMPLETE, { tenantId: job.tenantId, exportId: job.id, missed: missed.length, documentIds: missed.slice(0, 20) });
  throw new ArchiveError('export_incomplete', {
    detail: `The search matches ${missed.length} archived document(s) that the export's walk did not return (first: ${missed[0]}); the export was stopped rather than completed without them.`,
  });
}

type Planned = PlannedFile | { manifest: ManifestDocument };

/** The retain-until a document's manifest (the archive's, judged before) states, if readable. */
function retainUntilIn(manifest: Buffer): string | undefined {
  try {
    const until = (JSON.parse(manifest.toString('utf8')) as { retention?: { retainUntil?: unknown } } | null)?.retention?.retainUntil;
    return typeof until === 'string' ? until : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A page's manifests (and a corrected document's kept correction) read ahead of the document being planned, in the
 * order the ZIP takes the documents, at most this many started and not yet checked: each was a blob round trip the walk
 * waited for in turn, while the renditions were already read PREFETCH ahead (`npm run bench:export`). Each is a small
 * buffered blob (at most MAX_MANIFEST_BYTES); no rendition is read by it.
 */
export const MANIFEST_PREFETCH = 4;

/** What witnesses a document's catalog item, read ahead; checked in the walk's order (`plan`). */
interface Witness {
  /** The WORM manifest, null when gone (a disposal under way, or none was ever kept: see `unkept`). */
  manifest: Buffer | null;
  /** No manifest, and the item read again is still active: no disposal took it, so its folder is not the archive's. */
  unkept?: boolean;
  describes: boolean;
  /** Whether the manifest is the archive's (manifest.ts manifestByArchive), judged only for one that describes the item. */
  byArchive?: boolean;
  /** The kept correction of the item's version, read only for a corrected document whose manifest describes it. */
  kept?: Buffer | null;
}

async function readWitness(doc: ArchivedDocument, deps: ExportDeps): Promise<Witness> {
  const name = blobLayout.manifest(doc.id);
  const read = await readKeptBlob(deps.blobs, doc.tenantId, name);
  // Broke: a manifest gone was taken as a disposal under way, so neither check below ran, and a folder planted with no
  // manifest at all (its blobs by a storage role, its item written into Cosmos DB) was exported as archived. A disposal
  // tombstones the item: one still active when read again (fresh) has lost its manifest, or never had one (the answer
  // the download and the validation worker share, manifestWitnessOrDisposed).
  if (read === null) return { manifest: null, describes: false, unkept: (await manifestWitnessOrDisposed(doc, deps, null)) === 'missing' };
  const manifest = read.bytes;
  const describes = manifestDescribes(manifest, doc);
  if (!describes) return { manifest, describes };
  // Judged as the fixity check judges it, by storage's creation time from the same read (no round trip more): its HMAC,
  // or for one from before the seal its ingest's audit entry (looked for once per blob per instance).
  const byArchive = await manifestByArchive(doc.tenantId, name, keptManifestOf(manifest, read.createdOn, name, read.etag), deps);
  const version = doc.metadataVersion ?? 1;
  // As detailsWitnessDiffers would read it: one read more per corrected document, none for one the check refuses anyway.
  if (!byArchive || version <= 1) return { manifest, describes, byArchive };
  return { manifest, describes, byArchive, kept: await readManifestBytes(deps, doc.tenantId, blobLayout.correction(doc.id, version)) };
}

/** Walk the search page by page (document date order) and name each file; the manifest entry follows a document's files. */
async function* plan(job: ExportJob, deps: ExportDeps, names: ExportNames, held: (doc: ArchivedDocument, sealedUntil: string | undefined) => void): AsyncGenerator<Planned> {
  let continuationToken: string | undefined;
  do {
    const page = await deps.catalog.list(job.tenantId, { ...job.filter, sort: 'documentDate', order: 'asc', limit: PAGE, ...(continuationToken ? { continuationToken } : {}) });
    const docs = page.items.filter((doc) => (doc.status as string) === 'active'); // tombstones have no blobs left
    // The witnesses' reads run ahead; their checks, and a failure's log line and error, come in the walk's order, so the
    // first failing document decides and nothing after it is planned. A read failing is thrown at its own document.
    const witnesses: (Promise<Witness> | undefined)[] = [];
    const readAhead = (checked: number) => {
      while (witnesses.length < Math.min(docs.length, checked + MANIFEST_PREFETCH)) {
        const read = readWitness(docs[witnesses.length]!, deps);
        read.catch(() => undefined); // awaited at its document; one past a failure is not
        witnesses.push(read);
      }
    };
    for (const [at, doc] of docs.entries()) {
      readAhead(at);
      const { manifest, describes, byArchive, kept, unkept } = await witnesses[at]!;
      witnesses[at] = undefined;
      readAhead(at + 1);
      // The catalog's checksums are what each file is re-hashed against: an item rewritten behind the archive's back with
      // a blob's new bytes and their sha256 and size would pass that re-hash and be exported, and verify offline, as
      // archived. The WORM manifest is the second witness (the fixity check's): a document it no longer describes is
      // not exported. A manifest gone with its item disposed of since the walk listed it is left to the file reads.
      if (unkept) {
        deps.log.error(FIXITY_MISMATCH, { tenantId: doc.tenantId, documentId: doc.id, exportId: job.id, mismatched: [], missing: [blobLayout.manifest(doc.id)] });
        throw new ArchiveError('export_fixity_mismatch', { detail: `Document ${doc.id}: its archived manifest is missing from storage.` });
      }
      if (manifest !== null && !describes) {
        deps.log.error(FIXITY_MISMATCH, { tenantId: doc.tenantId, documentId: doc.id, exportId: job.id, mismatched: [blobLayout.manifest(doc.id)], missing: [] });
        throw new ArchiveError('export_fixity_mismatch', { detail: `Document ${doc.id}: its files do not match its archived manifest.` });
      }
      // Broke: only whether the manifest described the item was asked. Whoever can create blobs and write Cosmos DB put a
      // folder of their own (a fake invoice, a manifest naming its SHA-256) and a catalog item for it into exports and
      // manifest.csv, verified offline, until the next fixity cycle. The manifest must be the archive's, as fixity asks.
      if (manifest !== null && !byArchive) {
        deps.log.error(FIXITY_MISMATCH, { tenantId: doc.tenantId, documentId: doc.id, exportId: job.id, mismatched: [blobLayout.manifest(doc.id)], missing: [] });
        throw new ArchiveError('export_fixity_mismatch', { detail: `Document ${doc.id}: its manifest in storage is not the archive's.` });
      }
      // Its details too (metadata, fiscal year, retention class), which manifest.json and manifest.csv state as the
      // document's: against the manifest, or the kept correction of the catalog's version (read ahead with the manifest).
      const differs = manifest === null ? null : await detailsWitnessDiffers(doc, manifest, deps, deps.clock.now(), kept);
      if (differs !== null) {
        deps.log.error(FIXITY_MISMATCH, { tenantId: doc.tenantId, documentId: doc.id, exportId: job.id, mismatched: [differs], missing: [] });
        throw new ArchiveError('export_fixity_mismatch', { detail: `Document ${doc.id}: its details do not match its archived manifest or metadata correction.` });
      }
      const paths = names.paths(doc, job.includeOriginals);
      const files: PlannedFile[] = [
        { doc, file: doc.rendition, entry: { path: paths.rendition, role: 'rendition', mediaType: doc.rendition.mediaType, size: doc.rendition.size, sha256: doc.rendition.sha256, validation: manifestValidation(doc) }, witnessed: manifest !== null },
      ];
      paths.originals.forEach((path, i) => {
        const o = doc.originals[i]!;
        files.push({ doc, file: o, entry: { path, role: 'original', mediaType: o.mediaType, size: o.size, sha256: o.sha256 }, witnessed: manifest !== null });
      });
      yield* files;
      held(doc, manifest === null ? undefined : retainUntilIn(manifest));
      yield { manifest: { id: doc.id, fiscalYear: doc.fiscalYear, createdAt: doc.createdAt, metadata: { ...doc.metadata }, files: files.map((f) => f.entry) } };
    }
    continuationToken = page.continuationToken ?? undefined;
  } while (continuationToken);
}

/**
 * The POST's audit entry, written by the pipeline once the 202 is sent: found by request id, in the tenant's month
 * partition, keyed by the archive (keyedEntries). Any was taken, so one written into Cosmos DB with the job's request id
 * (newer, so listed first) was the entry the export cited.
 */
async function findAuditEntryId(deps: ExportDeps, job: ExportJob): Promise<string | null> {
  const months = new Set([job.createdAt.slice(0, 7), auditMonth(deps.clock.now())]);
  for (let attempt = 0; attempt < 5; attempt++) {
    for (const month of months) {
      const [found] = await keyedEntries(deps.audit, job.tenantId, month, { action: 'export.create', requestId: job.requestId }, () => true);
      if (found) return found.id;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return null;
}

/** The worker's entry about its job (completed, failed), under the request that started the export, stored with the job's save. */
function workerEntry(deps: ExportDeps, job: ExportJob, action: 'export.completed' | 'export.failed', outcome: 'success' | 'failed', status: number, detail?: string): AuditInput {
  return {
    tenantId: job.tenantId,
    at: deps.clock.now().toISOString(),
    actor: job.createdBy,
    action,
    target: job.id,
    outcome,
    status,
    requestId: job.requestId,
    clientIp: null,
    userAgent: 'export-worker',
    ...(detail ? { detail } : {}),
  };
}

/** The rendition's validation as the export manifest states it. */
function manifestValidation(doc: ArchivedDocument): ManifestValidation {
  const v = doc.validation;
  if (!v || v.status === 'pending') return { status: 'pending' };
  return { status: v.status, validator: `${v.validator.name} ${v.validator.version}`, profile: v.profile, failedRules: v.failedRules, validatedAt: v.validatedAt, reportSha256: v.report.sha256 };
}

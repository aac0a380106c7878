/**
 * Where a cut export attempt stopped, so the next attempt goes on from there. An attempt runs at most 2 h, and the
 * platform cuts one on scale-in (Flex Consumption's grace is at most 60 minutes): each attempt started again from the
 * first document, and a large tenant's year, cut three times, failed for good.
 *
 * The ZIP is written as blocks of a block blob (BlockSink). Every EXPORT_CHECKPOINT files or bytes, at a file's end, the
 * attempt commits the blocks so far and writes this checkpoint beside the ZIP: the committed blocks, the SHA-256 of the
 * bytes they hold, and each file written (its path, size, SHA-256, and the CRC-32 and offset yazl's central directory
 * lists). Sealed by the archive (purpose `export-checkpoint`): a storage writer can change the blob but not forge it.
 * The next attempt walks the search again from the first document (every witness, the names, manifest.json's entries
 * and the disposal bookkeeping are its own), takes the checkpoint's files without reading their bytes while the walk
 * names the same files in the same order, and writes the rest after them.
 */
import { Writable } from 'node:stream';
import type { Deps } from '../deps';
import { sealWith, unsealedBecause } from '../kernel/archive-seal';
import { exportBlobName, exportCheckpointName, type ExportJob } from '../kernel/export';
import type { ZipEntryState } from './zip-writer';
import { readBounded } from '../kept-blobs';

const CHECKPOINT_SEAL = 'export-checkpoint';

/**
 * Bytes of one file's entry in a checkpoint, at most: `{"path":…,"size":…,"sha256":…,"mtime":…,"crc32":…,"offset":…},`
 * with the longest path names.ts gives (`originals/`, 200 bytes of name, ` (<document id>)`, `-500`, an extension: 258
 * bytes) and the largest numbers measures 450 (test/unit/exports/resume.test.ts); with margin.
 */
export const CHECKPOINT_ENTRY_MAX_BYTES = 512;

/**
 * The most files a checkpoint states: an export at ARCHIVE_EXPORT_MAX_DOCUMENTS' default (100,000 documents), each its
 * rendition and up to 4 originals. Not every file an export can hold (ARCHIVE_MAX_PAGES originals a document: 50 million
 * files, 25 GB of checkpoint, no bound at all): past it an attempt saves no more checkpoints, and a cut goes on from the
 * last one it saved.
 */
const CHECKPOINT_MAX_FILES = 500_000;

/**
 * How often an attempt saves a checkpoint, at a file's end, whichever comes first, and the most bytes one is written or
 * read of (a test sets fewer): CHECKPOINT_MAX_FILES entries, 50,000 blocks (the most a blob commits) of at most 64
 * bytes, and 64 KiB for the rest (ids, hashes, the seal): about 247 MiB.
 */
export const EXPORT_CHECKPOINT = { files: 1000, bytes: 64 * 1024 * 1024, maxBytes: CHECKPOINT_MAX_FILES * CHECKPOINT_ENTRY_MAX_BYTES + 50_000 * 64 + 64 * 1024 };

/** A file the ZIP holds, as the checkpoint states it. */
export interface CheckpointFile extends ZipEntryState {
  sha256: string;
}

export interface ExportCheckpoint {
  format: 'export-checkpoint/1';
  tenantId: string;
  exportId: string;
  requestId: string;
  createdAt: string;
  /** The attempt that wrote it. */
  attempt: number;
  /** The ZIP's blob: the attempt's that wrote its first bytes. */
  blobName: string;
  blocks: { id: string; size: number }[];
  /** The bytes the blocks hold, and their SHA-256 (the ZIP's, so far). */
  offset: number;
  prefixSha256: string;
  /** When (the archive's clock) the walk that wrote the first of these bytes began: disposals are looked for from then. */
  walkFrom: string;
  files: CheckpointFile[];
}

/** A checkpoint an attempt goes on from, with the version of it read. */
export type ResumedCheckpoint = ExportCheckpoint & { checkpointEtag: string };

type CheckpointDeps = Pick<Deps, 'exportBlobs' | 'log'> & { audit: Pick<Deps['audit'], 'chainKeys'> };

/**
 * Written only over `expected`, the checkpoint's ETag as this attempt last read (its resume) or wrote it, or, null, only
 * where there is none: 'conflict' when another wrote it since. Broke: written over whatever was there, so an attempt that
 * had lost its job wrote its checkpoint over the one of the attempt holding it (test/unit/faults/round22-resume.test.ts).
 */
export async function saveCheckpoint(checkpoint: ExportCheckpoint, expected: string | null, deps: CheckpointDeps): Promise<{ etag: string } | 'conflict' | 'too large'> {
  const sealed = await sealWith(CHECKPOINT_SEAL, checkpoint, deps.audit.chainKeys);
  const bytes = Buffer.from(JSON.stringify(sealed));
  // Not read past this (resumableCheckpoint): written, it would be refused, and said as planted.
  if (bytes.length > EXPORT_CHECKPOINT.maxBytes) return 'too large';
  return deps.exportBlobs.putIf(checkpoint.tenantId, exportCheckpointName(checkpoint.exportId), bytes, 'application/json', expected === null ? { ifNoneMatch: '*' } : { ifMatch: expected });
}

/**
 * The job's checkpoint, if a later attempt of it may go on from there (`made`: the attempts made before this one), or
 * null (logged when one was there): not sealed by the archive, of another job, named a blob no attempt of this job
 * writes, or whose blob's committed blocks are not the ones it names. Its bytes are judged by the attempt that resumes
 * (their SHA-256, read back). Judged whoever wrote it: the safe side is the first document.
 */
export async function resumableCheckpoint(job: ExportJob, made: number, deps: CheckpointDeps): Promise<ResumedCheckpoint | null> {
  const name = exportCheckpointName(job.id);
  const read = await deps.exportBlobs.readIfExists(job.tenantId, name);
  if (!read) return null;
  const refuse = (why: string) => {
    deps.log.warn(EXPORT_CHECKPOINT_REFUSED, { tenantId: job.tenantId, exportId: job.id, why });
    return null;
  };
  // Broke: read whole, whatever its size. A storage role (no Key Vault) put a huge blob under the name, and every
  // restart of that export read it into the export app's memory, every tenant's (red team 26). Past the most an attempt
  // writes (saveCheckpoint), it is not read on: not the archive's, said as a blob written by another than its attempt.
  const max = EXPORT_CHECKPOINT.maxBytes;
  const tooLarge = (size: number) => {
    deps.log.error(EXPORT_BLOB_TAKEN, { tenantId: job.tenantId, exportId: job.id, blob: name, why: `checkpoint of ${size} bytes or more: at most ${max} are written` });
    return refuse(`larger than a checkpoint is written (at most ${max} bytes)`);
  };
  const bytes = await readBounded(read, max).catch(() => null);
  if (typeof bytes === 'number') return tooLarge(bytes);
  let parsed: ExportCheckpoint & { mac?: unknown };
  try {
    if (bytes === null) throw new Error('not read');
    parsed = JSON.parse(bytes.toString('utf8')) as ExportCheckpoint & { mac?: unknown };
  } catch {
    return refuse('not readable');
  }
  if (!parsed || typeof parsed !== 'object' || typeof parsed.mac !== 'string') return refuse('not sealed');
  const unsealed = await unsealedBecause(CHECKPOINT_SEAL, parsed, read.createdOn, deps.audit.chainKeys);
  if (unsealed !== null) return refuse(`not sealed: ${unsealed}`);
  const c = parsed;
  if (c.format !== 'export-checkpoint/1' || c.tenantId !== job.tenantId || c.exportId !== job.id || c.requestId !== job.requestId || c.createdAt !== job.createdAt) return refuse('of another job');
  if (!Number.isInteger(c.attempt) || c.attempt < 1 || c.attempt > made) return refuse('of an attempt this job has not made');
  if (!Array.from({ length: c.attempt }, (_, i) => exportBlobName(job.id, i + 1)).includes(c.blobName)) return refuse('names a blob no attempt of this job writes');
  if (c.files.length === 0 || c.blocks.reduce((n, b) => n + b.size, 0) !== c.offset) return refuse('its blocks do not hold its bytes');
  const committed = await deps.exportBlobs.committedBlocks(job.tenantId, c.blobName);
  if (committed.length !== c.blocks.length || committed.some((b, i) => b.id !== c.blocks[i]!.id || b.size !== c.blocks[i]!.size)) return refuse('its blocks are not the blob\'s');
  const { mac: _mac, keyVersion: _kv, ...checkpoint } = c as ExportCheckpoint & { mac: unknown; keyVersion?: unknown };
  // The version read: the resumed attempt writes its checkpoint over this one only (saveCheckpoint).
  return { ...checkpoint, checkpointEtag: read.etag };
}

/** Logged (warn) when an attempt does not go on from a checkpoint it found and starts from the first document. */
export const EXPORT_CHECKPOINT_REFUSED = 'export checkpoint not resumed: the attempt starts from the first document';

/** Staged at most this many bytes a block, and this many blocks in flight (memory stays flat, as the SDK's uploadStream). */
const BLOCK_BYTES = 4 * 1024 * 1024;
const IN_FLIGHT = 4;

/**
 * The ZIP's bytes into the export blob as staged blocks; `commit` makes the blob the blocks so far (at a checkpoint, and
 * at the end). Block ids name the attempt: one that lost the job and still stages a block never stages one of its holder's.
 */
export class BlockSink extends Writable {
  private readonly blocks: { id: string; size: number }[];
  private pending: Buffer[] = [];
  private pendingSize = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private failure: Error | null = null;
  private waiters: (() => void)[] = [];
  /** The bytes the blob holds once committed: the resumed ones and every one written to this sink. */
  received: number;
  /** The blob's version as this attempt last read (its resume) or committed it; null before either. */
  private etag: string | null;
  /** Whether this attempt's first commit made the blob (none was there): it is the attempt's own ZIP. */
  created = false;

  constructor(
    private readonly deps: Pick<Deps, 'exportBlobs'>,
    private readonly tenantId: string,
    private readonly blobName: string,
    private readonly attempt: number,
    resumed: { blocks: { id: string; size: number }[]; offset: number; etag: string } | null,
  ) {
    super();
    this.blocks = resumed ? [...resumed.blocks] : [];
    this.received = resumed?.offset ?? 0;
    this.etag = resumed?.etag ?? null;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.pending.push(chunk);
    this.pendingSize += chunk.length;
    this.received += chunk.length;
    // After yazl's own step (it marks a file written right after writing its last bytes): see `until`.
    setImmediate(() => this.wake());
    if (this.pendingSize < BLOCK_BYTES) return cb(this.failure);
    this.stage();
    if (this.inFlight.size < IN_FLIGHT) return cb(this.failure);
    void Promise.race(this.inFlight).then(() => cb(this.failure));
  }

  /** Destroyed (the ZIP failed, the pipeline's end): a checkpoint waiting on it fails rather than waits. */
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.failure ??= err ?? new Error('the export blob\'s writer was closed');
    this.wake();
    cb(err);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.commit().then(() => cb(), cb);
  }

  /** Resolves once `ready` holds, asked again after each write. */
  async until(ready: () => boolean): Promise<void> {
    while (!ready()) {
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Stages what is pending, waits for every block, and commits them all: the blob is the bytes received. */
  async commit(): Promise<{ id: string; size: number }[]> {
    if (this.pendingSize > 0) this.stage();
    await Promise.all(this.inFlight);
    if (this.failure) throw this.failure;
    // Broke: committed whoever wrote the blob since. An attempt that lost its job while hung went on writing into the
    // blob the later attempt had resumed in (the same blob) and made it its own blocks, the later one's completed ZIP
    // replaced (test/unit/faults/round22-resume.test.ts); a storage role's commit after the resume's read was built on.
    // Over the version this attempt last read or committed: one written since by another is not this attempt's to go on.
    // The first only where there is no blob. Broke: a fresh attempt's first commit made whatever it found its own,
    // a blob planted under its name or made again after the next attempt's claim deleted it (red team 23).
    const committed = await this.deps.exportBlobs.commitBlocks(this.tenantId, this.blobName, this.blocks.map((b) => b.id), this.etag === null ? { ifNoneMatch: '*' } : { ifMatch: this.etag });
    if (committed === 'conflict') throw new ExportBlobTaken(this.blobName);
    this.created ||= this.etag === null;
    this.etag = committed.etag;
    return [...this.blocks];
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private stage(): void {
    const bytes = Buffer.concat(this.pending, this.pendingSize);
    this.pending = [];
    this.pendingSize = 0;
    // One length for every id of a blob (storage refuses others): attempt (at most EXPORT_ATTEMPTS_LIMIT) and index.
    const id = Buffer.from(`${String(this.attempt).padStart(2, '0')}-${String(this.blocks.length).padStart(8, '0')}`).toString('base64');
    this.blocks.push({ id, size: bytes.length });
    const staged = this.deps.exportBlobs.stageBlock(this.tenantId, this.blobName, id, bytes).catch((err: unknown) => {
      this.failure ??= err instanceof Error ? err : new Error(String(err));
      this.wake();
    });
    const tracked = staged.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }
}

/**
 * Operators are alerted on this exact phrase (infra/main.bicep, exportBlobTakenAlert): an attempt's ZIP blob written by
 * another while the job was still the attempt's (not the later attempt that took it), or a checkpoint larger than any
 * attempt writes: a storage role (no Key Vault).
 */
export const EXPORT_BLOB_TAKEN = 'export blob written by another than its attempt';

/** The export's blob was written by another since this attempt last read or committed it (another attempt, a storage role). */
export class ExportBlobTaken extends Error {
  constructor(blobName: string) {
    super(`the export blob ${blobName} was written by another since this attempt last wrote it`);
    this.name = 'ExportBlobTaken';
  }
}

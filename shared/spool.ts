import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArchiveError } from './kernel/errors';

/**
 * Temporary files for bytes too large to hold in memory (spooled uploads, their renditions):
 * an unguessable name in `dir` (ARCHIVE_SPOOL_DIR, else os.tmpdir()); the code that names one removes it in a `finally`.
 */
export function spoolPath(kind: 'upload' | 'rendition', dir: string = tmpdir()): string {
  return path.join(dir, `archive-${kind}-${randomBytes(12).toString('hex')}`);
}

/** Removes a spooled file; one that is already gone (or was never written) is fine. */
export async function removeSpooled(file: string | undefined): Promise<void> {
  if (file !== undefined) await rm(file, { force: true });
}

/** Bytes of spooled files (uploads and their renditions) held per owner on this instance, from the first byte written to the file's removal. */
const spooledBytes = new Map<string, number>();

/**
 * An owner's share of the instance's spool disk. Unbounded, one tenant's many large uploads at once (a bulk import
 * with high concurrency, or uploads left hanging mid-body) filled the disk every tenant's large uploads are spooled to,
 * and another tenant's upload failed. Past its share an upload is refused 429 `too_many_uploads` with Retry-After,
 * and what it had spooled is removed.
 */
export class SpoolShare {
  private held = 0;
  constructor(private readonly owner: string, private readonly maxBytes: number) {}

  /** Takes `bytes` of the share, or the refusal when they would pass it (nothing taken then). */
  take(bytes: number): ArchiveError | null {
    const now = spooledBytes.get(this.owner) ?? 0;
    if (now + bytes > this.maxBytes) {
      return new ArchiveError('too_many_uploads', { detail: `This tenant's large uploads in progress hold ${now} bytes of this instance's temporary storage, and this one would take it past the ${this.maxBytes} one tenant may hold at once; retry when one of them has finished.`, retryAfterSeconds: 5, extensions: { maxBytes: this.maxBytes } });
    }
    spooledBytes.set(this.owner, now + bytes);
    this.held += bytes;
    return null;
  }

  /** Takes bytes already written whatever the share (a rendition larger than its estimate): the next uploads are refused instead. */
  takeWritten(bytes: number): void {
    if (bytes <= 0) return;
    spooledBytes.set(this.owner, (spooledBytes.get(this.owner) ?? 0) + bytes);
    this.held += bytes;
  }

  giveBack(): void {
    if (this.held === 0) return;
    const left = (spooledBytes.get(this.owner) ?? 0) - this.held;
    if (left > 0) spooledBytes.set(this.owner, left);
    else spooledBytes.delete(this.owner);
    this.held = 0;
  }
}

/** Bytes an owner's spooled uploads and renditions hold on this instance now (for tests and health). */
export const spooledBytesOf = (owner: string): number => spooledBytes.get(owner) ?? 0;

import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

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

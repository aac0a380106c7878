import { ZipFile } from 'yazl';

/** yazl's entry states (index.js `Entry.*`): an entry at or past FILE_DATA_DONE has its bytes and data descriptor written. */
const FILE_DATA_DONE = 3;

interface YazlEntry {
  state: number;
  crc32: number | null;
  compressedSize: number | null;
  relativeOffsetOfLocalHeader?: number;
}

interface YazlInternals {
  entries: YazlEntry[];
  ended: boolean;
  outputStreamCursor: number;
}

/** A file the ZIP holds, as a resumed attempt takes it from a checkpoint (export-checkpoint.ts). */
export interface ZipEntryState {
  path: string;
  size: number;
  /** ISO time, the entry's mtime as added. */
  mtime: string;
  crc32: number;
  offset: number;
}

/** yazl's Entry constructor (not exported by yazl): taken from an entry of a ZIP no one reads. */
function entryClass(): new (path: string, isDirectory: boolean, options: object) => YazlEntry {
  const probe = new ZipFile();
  probe.addEmptyDirectory('probe/');
  return (probe as unknown as YazlInternals).entries[0]!.constructor as new (path: string, isDirectory: boolean, options: object) => YazlEntry;
}

/**
 * yazl's ZipFile for an export of tens of thousands of files. yazl finds the entry to write next by scanning its entry
 * list from the first entry on every step (`getFirstNotDoneEntry` in `pumpEntries`, several steps per entry), so a ZIP of
 * N files cost it O(N²): 0.9 s of CPU for 10,000 small files, 3.9 s for 20,000, 14 s for 40,000, and minutes for an
 * export at ARCHIVE_EXPORT_MAX_DOCUMENTS with originals, all on the host's event loop. The export adds one file at a
 * time, each written out before the next, so the entries already written are kept aside (`settle`, called after each
 * file) and put back in order, in front of the rest, when the ZIP ends: its central directory lists every entry, as
 * yazl would have written it. What yazl writes is unchanged byte for byte.
 */
export class ExportZip extends ZipFile {
  private readonly written: YazlEntry[] = [];

  private get internals(): YazlInternals {
    return this as unknown as YazlInternals;
  }

  /** Sets aside the entries at the front whose data is written; the ones after stay where yazl looks for them. */
  settle(): void {
    const entries = this.internals.entries;
    let done = 0;
    while (done < entries.length && entries[done]!.state >= FILE_DATA_DONE) done++;
    if (done === 0) return;
    for (const entry of entries.splice(0, done)) this.written.push(entry);
  }

  /** How many bytes yazl has written to its output so far. */
  get cursor(): number {
    return this.internals.outputStreamCursor;
  }

  /** Whether every file added is written out (its data descriptor too): a point a checkpoint can describe. */
  quiet(): boolean {
    this.settle();
    return this.internals.entries.length === 0;
  }

  /** The files written so far, in order: their CRC-32 and where their local header starts. */
  writtenEntries(): { crc32: number; offset: number }[] {
    return this.written.map((e) => ({ crc32: e.crc32 ?? 0, offset: e.relativeOffsetOfLocalHeader ?? 0 }));
  }

  /**
   * A ZIP whose first `offset` bytes, holding `entries`, were written by an earlier attempt: yazl goes on from there, and
   * its central directory lists them first, as it would have had it written them itself (each built as addReadStream
   * builds it: stored, size known, streamed with a data descriptor). Before anything is added.
   */
  resume(offset: number, entries: ZipEntryState[]): void {
    if (this.internals.entries.length > 0 || this.written.length > 0 || this.cursor !== 0) throw new Error('a ZIP is resumed before anything is added');
    const Entry = entryClass();
    for (const e of entries) {
      const entry = new Entry(e.path, false, { compress: false, size: e.size, mtime: new Date(e.mtime) });
      entry.crc32 = e.crc32;
      entry.compressedSize = e.size;
      entry.relativeOffsetOfLocalHeader = e.offset;
      entry.state = FILE_DATA_DONE;
      this.written.push(entry);
    }
    this.internals.outputStreamCursor = offset;
  }

  override end(...args: Parameters<ZipFile['end']>): void {
    if (!this.internals.ended) this.restore();
    super.end(...args);
  }

  /** Every entry back in the list, in the order added (written ones first): the central directory is written from it. */
  private restore(): void {
    const entries = this.internals.entries;
    this.internals.entries = this.written.concat(entries);
    this.written.length = 0;
  }
}

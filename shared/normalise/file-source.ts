/**
 * Spooled uploads in the normaliser: a large JPEG or (passed-through) PNG is walked through a small
 * window of its file and passed through into the rendition as file ranges (a JPEG's one, a PNG's
 * IDAT payloads), which are copied in chunks when the rendition is written (to a file, hashed as
 * written). Neither the upload nor the rendition is ever held whole.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { SpooledFile } from '../ports';

/** Bytes of a file that go into the rendition unchanged (an image stream passed through). */
export interface FileRange {
  path: string;
  offset: number;
  length: number;
}

/** A piece of a rendition as written: bytes made here, or bytes copied from the upload's file. */
export type Segment = Buffer | FileRange;

/** The stream objects whose contents live in a file, as its ranges in order (their in-memory contents are empty placeholders). */
export const externalContents = new WeakMap<object, FileRange[]>();

/** What the marker walkers need of their input; a Buffer is one, and so is a FileBytes. */
export interface ByteSource {
  readonly length: number;
  at(index: number): number | undefined;
  indexOf(byte: number, from: number): number;
  /** A Buffer of [start, end): a view for a Buffer, a copy for a file (only short segments are taken). */
  subarray(start: number, end: number): Buffer;
  readUInt16BE(offset: number): number;
}

const WINDOW = 1 << 20;
const CHUNK = 1 << 20;

/**
 * Random access to a file through one 1 MiB window, with synchronous reads: it runs in the
 * normaliser's worker thread, where blocking is what the thread is for.
 */
export class FileBytes implements ByteSource {
  private readonly window = Buffer.allocUnsafe(WINDOW);
  private start = 0;
  private end = 0;
  private fd: number | null;

  constructor(readonly file: SpooledFile) {
    this.fd = openSync(file.path, 'r');
  }

  get length(): number {
    return this.file.size;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private read(into: Buffer, from: number): number {
    let n = 0;
    while (n < into.length) {
      const got = readSync(this.fd!, into, n, into.length - n, from + n);
      if (got === 0) break;
      n += got;
    }
    return n;
  }

  private load(at: number): void {
    this.start = at;
    this.end = at + this.read(this.window.subarray(0, Math.min(WINDOW, this.length - at)), at);
  }

  at(index: number): number | undefined {
    if (index < 0 || index >= this.length) return undefined;
    if (index < this.start || index >= this.end) this.load(index);
    return this.window[index - this.start];
  }

  indexOf(byte: number, from: number): number {
    for (let i = Math.max(0, from); i < this.length; i = this.end) {
      if (i < this.start || i >= this.end) this.load(i);
      const k = this.window.subarray(i - this.start, this.end - this.start).indexOf(byte);
      if (k >= 0) return i + k;
    }
    return -1;
  }

  subarray(start: number, end: number): Buffer {
    const from = Math.max(0, Math.min(start, this.length));
    const out = Buffer.alloc(Math.max(0, Math.min(end, this.length) - from));
    this.read(out, from);
    return out;
  }

  readUInt16BE(offset: number): number {
    if (offset < 0 || offset + 2 > this.length) throw new RangeError(`offset ${offset} is out of range`);
    return (this.at(offset)! << 8) | this.at(offset + 1)!;
  }

  range(offset: number, length: number): FileRange {
    return { path: this.file.path, offset, length };
  }

  /**
   * Bytes [start, end) as views of the window, 1 MiB at most each: a view is valid only until the
   * next read of this file (the caller is done with it before it asks for the next one).
   */
  *chunks(start: number, end: number): Generator<Buffer> {
    for (let at = Math.max(0, start), stop = Math.min(end, this.length); at < stop; at = Math.min(this.end, stop)) {
      if (at < this.start || at >= this.end) this.load(at);
      yield this.window.subarray(at - this.start, Math.min(this.end, stop) - this.start);
    }
  }

  /** The whole file in memory: for formats that are not walked through a window. */
  readAll(): Buffer {
    return this.subarray(0, this.length);
  }
}

/**
 * Bytes [start, end) of a Buffer or a file, 1 MiB at most at a time: views of the Buffer, or of the
 * file's window (see FileBytes.chunks). For checks that stream over data (CRCs, inflating).
 */
export function* chunksOf(b: Buffer | FileBytes, start: number, end: number): Generator<Buffer> {
  if (!Buffer.isBuffer(b)) {
    yield* b.chunks(start, end);
    return;
  }
  for (let at = start; at < end; at += CHUNK) yield b.subarray(at, Math.min(end, at + CHUNK));
}

/** The rendition in memory (small uploads): file ranges, if any, are read in (each file opened once). */
export function concatSegments(segments: Segment[]): Buffer {
  const files = new Map<string, FileBytes>();
  try {
    return Buffer.concat(
      segments.map((s) => {
        if (Buffer.isBuffer(s)) return s;
        let f = files.get(s.path);
        if (!f) files.set(s.path, (f = new FileBytes({ path: s.path, size: statSync(s.path).size, sha256: '' })));
        const out = f.subarray(s.offset, s.offset + s.length);
        if (out.length !== s.length) throw new Error(`the upload's file ended before byte ${s.offset + s.length}`);
        return out;
      }),
    );
  } finally {
    for (const f of files.values()) f.close();
  }
}

/**
 * The rendition written to `path` (created, never replaced), hashed as written. Everything goes
 * through one 1 MiB buffer, file ranges read straight into it: a PNG's IDAT payloads are thousands
 * of small ranges, which must not cost a write (or an open) each.
 */
export async function writeSegments(segments: Segment[], path: string): Promise<SpooledFile> {
  const hash = createHash('sha256');
  const out = await open(path, 'wx', 0o600);
  const buffer = Buffer.allocUnsafe(CHUNK);
  let filled = 0;
  let size = 0;
  const write = async (b: Buffer) => {
    hash.update(b);
    for (let at = 0; at < b.length; ) at += (await out.write(b, at, b.length - at)).bytesWritten;
    size += b.length;
  };
  const flush = async () => {
    await write(buffer.subarray(0, filled));
    filled = 0;
  };
  let source: { path: string; handle: Awaited<ReturnType<typeof open>> } | undefined;
  try {
    for (const s of segments) {
      if (Buffer.isBuffer(s)) {
        if (filled + s.length <= CHUNK) {
          filled += s.copy(buffer, filled);
          continue;
        }
        await flush();
        await write(s);
        continue;
      }
      if (source?.path !== s.path) {
        await source?.handle.close();
        source = undefined;
        source = { path: s.path, handle: await open(s.path, 'r') };
      }
      for (let done = 0; done < s.length; ) {
        if (filled === CHUNK) await flush();
        const { bytesRead } = await source.handle.read(buffer, filled, Math.min(CHUNK - filled, s.length - done), s.offset + done);
        if (bytesRead === 0) throw new Error(`the upload's file ended before byte ${s.offset + s.length}`);
        filled += bytesRead;
        done += bytesRead;
      }
    }
    if (filled) await flush();
  } finally {
    await source?.handle.close();
    await out.close();
  }
  return { path, size, sha256: hash.digest('hex') };
}

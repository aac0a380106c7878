import { createHash } from 'crypto';
import * as zlib from 'zlib';
import { ArchiveError } from '../kernel/errors';
import type { FileBytes } from './file-source';
import { NormaliseLimits } from './types';

/** Default ceiling on bytes any one decompression may produce (PDF streams, TIFF strips, PNG data). */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 512 * 1024 * 1024;

export function maxDecompressed(limits: NormaliseLimits): number {
  return limits.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
}

export function corrupt(detail: string, cause?: unknown): ArchiveError {
  return new ArchiveError('corrupt_file', { detail, cause });
}

/**
 * Bytes after a format's end are where polyglots hide (a ZIP after a PDF's %%EOF,
 * a JPEG's EOI, a PNG's IEND): the original is kept byte for byte, so such a file
 * is refused rather than archived as something else too.
 */
export function trailingData(format: string, offset: number, total: number, what = `its end`): ArchiveError {
  const trailingBytes = total - offset;
  return new ArchiveError('trailing_data', {
    detail: `The ${format} carries ${trailingBytes} bytes of other data after ${what} (from byte offset ${offset}); upload the ${format} alone.`,
    extensions: { format, offset, trailingBytes },
  });
}

/**
 * A ZIP reader finds an archive by its end-of-central-directory record, which
 * must end the file (after a comment of at most 64 KiB). When one does, the file
 * opens as a ZIP whatever else it is: refused, with the ZIP's first byte as offset.
 */
export function refuseZipTail(b: Buffer, format: string): void {
  const at = zipEndRecordAt(b);
  if (at < 0) return;
  const cdSize = b.readUInt32LE(at + 12);
  const cdOffset = b.readUInt32LE(at + 16);
  // Offsets relative to the ZIP's own start (an appended ZIP) give that start; absolute ones give 0 or less.
  const start = at - cdSize - cdOffset;
  const firstLocal = b.indexOf(Buffer.from('PK\x03\x04', 'latin1'));
  const offset = start > 0 ? start : firstLocal >= 0 && firstLocal < at ? firstLocal : at;
  throw trailingData(format, offset, b.length, 'its end: a ZIP archive');
}

/**
 * refuseZipTail for a spooled file: the search reads only the last 64 KiB; a candidate record (a
 * refusal, in practice) reads the whole file, so the answer names the same offset as in memory.
 */
export function refuseZipTailOfFile(f: FileBytes, format: string): void {
  if (zipEndRecordAt(f.subarray(Math.max(0, f.length - 22 - 0xffff), f.length)) >= 0) refuseZipTail(f.readAll(), format);
}

const ZIP_END_SIGNATURE = Buffer.from([0x50, 0x4b, 0x05, 0x06]);

/**
 * Where the last end-of-central-directory record that ends `b` exactly (with its comment) starts;
 * -1 when none. Candidates are found by the native search (every upload's tail is scanned).
 */
function zipEndRecordAt(b: Buffer): number {
  if (b.length < 22) return -1;
  const from = Math.max(0, b.length - 22 - 0xffff);
  for (let at = b.lastIndexOf(ZIP_END_SIGNATURE, b.length - 22); at >= from; at = at > 0 ? b.lastIndexOf(ZIP_END_SIGNATURE, at - 1) : -1) {
    if (b.readUInt16LE(at + 20) === b.length - at - 22) return at;
  }
  return -1;
}

/** Pixel and decoded-size limits, checked from header values before anything is allocated. */
export function checkPixels(width: number, height: number, limits: NormaliseLimits, what: string): void {
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width <= 0 || height <= 0) {
    throw corrupt(`The ${what} declares invalid dimensions ${width}×${height}.`);
  }
  if (width * height > limits.maxPixelsPerPage) {
    throw new ArchiveError('too_many_pixels', {
      detail: `The ${what} declares ${width}×${height} pixels; at most ${limits.maxPixelsPerPage} pixels a page are accepted.`,
      extensions: { width, height, maxPixelsPerPage: limits.maxPixelsPerPage },
    });
  }
}

export function checkDecodedSize(bytes: number, limits: NormaliseLimits, what: string): void {
  const max = maxDecompressed(limits);
  if (bytes > max) {
    throw new ArchiveError('decompressed_too_large', {
      detail: `The ${what} would decompress to ${bytes} bytes; at most ${max} are accepted.`,
    });
  }
}

/** Inflate a zlib stream, never producing more than `max` bytes. */
export function inflateBounded(data: Buffer, max: number, what: string, raw = false): Buffer {
  try {
    return raw ? zlib.inflateRawSync(data, { maxOutputLength: Math.max(1, max) }) : zlib.inflateSync(data, { maxOutputLength: Math.max(1, max) });
  } catch (cause) {
    if (cause instanceof RangeError || (cause as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new ArchiveError('decompressed_too_large', { detail: `The ${what} decompresses to more than ${max} bytes.`, cause });
    }
    throw corrupt(`The ${what} has corrupt compressed data.`, cause);
  }
}

/** Inflate that tolerates a missing zlib trailer (some writers omit it); used where completeness is checked by size. */
export function inflateLenient(data: Buffer, max: number, what: string): Buffer {
  try {
    return zlib.inflateSync(data, { maxOutputLength: Math.max(1, max), finishFlush: zlib.constants.Z_SYNC_FLUSH });
  } catch (cause) {
    if (cause instanceof RangeError || (cause as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new ArchiveError('decompressed_too_large', { detail: `The ${what} decompresses to more than ${max} bytes.`, cause });
    }
    throw corrupt(`The ${what} has corrupt compressed data.`, cause);
  }
}

/** Flate-compress decoded samples and prove the round trip gives the same bytes (pixel-equality). */
export function deflateChecked(raw: Buffer, level = 6): Buffer {
  const out = zlib.deflateSync(raw, { level });
  const back = zlib.inflateSync(out, { maxOutputLength: Math.max(1, raw.length) });
  if (!back.equals(raw)) throw new Error('Flate round trip changed the pixels');
  return out;
}

export function sha256(...parts: (Buffer | string)[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) {
    h.update(typeof p === 'string' ? Buffer.from(p, 'utf8') : p);
    h.update('\u0000');
  }
  return h.digest();
}

/** Reverse the bit order of every byte (TIFF FillOrder 2). */
const REVERSED = (() => {
  const t = new Uint8Array(256);
  for (let i = 0; i < 256; i++) {
    let r = 0;
    for (let b = 0; b < 8; b++) if (i & (1 << b)) r |= 1 << (7 - b);
    t[i] = r;
  }
  return t;
})();
export function reverseBits(data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(data.length);
  for (let i = 0; i < data.length; i++) out[i] = REVERSED[data[i]!]!;
  return out;
}

/** Number formatting for content streams: deterministic, at most 4 decimals. */
export function num(n: number): string {
  if (Object.is(n, -0)) n = 0;
  const s = n.toFixed(4).replace(/\.?0+$/, '');
  return s === '-0' ? '0' : s;
}

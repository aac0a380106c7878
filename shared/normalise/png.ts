import * as zlib from 'zlib';
import { ArchiveError } from '../kernel/errors';
import { iccInfo } from './icc';
import { DEFAULT_DPI } from './jpeg';
import { inflate, inflateEnd, inflateInit } from 'pako/lib/zlib/inflate';
import ZStream from 'pako/lib/zlib/zstream';
import { chunksOf, FileBytes } from './file-source';
import { ColorSpec, ImageSpec, PageSource } from './pdfa';
import { NormaliseLimits } from './types';
import { checkDecodedSize, checkPixels, corrupt, deflateChecked, inflateBounded, maxDecompressed, refuseZipTail, refuseZipTailOfFile, trailingData } from './util';

/** Chunks that say how the samples are encoded: once each, before PLTE and IDAT (PNG §5.6). */
const COLOUR_CHUNKS = new Set(['iCCP', 'sRGB', 'gAMA', 'cHRM']);
const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

/** Where a chunk's data lies in the PNG (in its Buffer or its spooled file). */
export interface ChunkRange {
  offset: number;
  length: number;
}

export interface PngInfo {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  interlace: number;
  palette?: Buffer;
  trns?: Buffer;
  icc?: Buffer;
  phys?: { x: number; y: number; unit: number };
  /** The gAMA value (×100000), the cHRM chromaticities (×100000, white x y, red x y, green x y, blue x y), and whether an sRGB chunk came (each comes once at most: a second is refused). */
  gamma?: number;
  chrm?: number[];
  srgb?: boolean;
  /** The IDAT payloads, in order: never read here, only their CRCs are checked. */
  idat: ChunkRange[];
}

/** CRC-32 of bytes [start, end), read 1 MiB at a time from a file. */
function crcOf(b: Buffer | FileBytes, start: number, end: number, crc: number): number {
  for (const chunk of chunksOf(b, start, end)) crc = zlib.crc32(chunk, crc);
  return crc;
}

/**
 * Walk the chunks, checking every CRC and the chunk order we rely on. A spooled PNG is walked through
 * its file's window: only the small chunks read below are taken, the rest (image data, text) is only
 * CRC-checked, streaming.
 */
export function parsePng(b: Buffer | FileBytes, limits: NormaliseLimits): PngInfo {
  if (b.length < 8 || !b.subarray(0, 8).equals(SIGNATURE)) throw corrupt('The PNG signature is invalid.');
  let pos = 8;
  let info: PngInfo | undefined;
  let sawIend = false;
  let idatDone = false;
  const idat: ChunkRange[] = [];
  const seenColour = new Set<string>();
  while (pos < b.length) {
    if (pos + 12 > b.length) throw corrupt('The PNG is truncated inside a chunk header.');
    const head = b.subarray(pos, pos + 8);
    const len = head.readUInt32BE(0);
    const type = head.toString('latin1', 4, 8);
    if (len > 0x7fffffff || pos + 12 + len > b.length) throw corrupt(`The PNG is truncated: its ${type.replace(/[^\x20-\x7e]/g, '?')} chunk is cut short.`);
    const start = pos + 8;
    const end = start + len;
    const crc = b.subarray(end, end + 4).readUInt32BE(0);
    if (crcOf(b, start, end, zlib.crc32(head.subarray(4, 8))) !== crc) throw corrupt(`The PNG ${type.replace(/[^\x20-\x7e]/g, '?')} chunk fails its CRC check.`);
    pos += 12 + len;
    if (!info && type !== 'IHDR') throw corrupt('The PNG does not start with an IHDR chunk.');
    if (type !== 'IDAT' && idat.length) idatDone = true;
    // Only the chunks read below are taken (a copy when walking a file).
    const data = () => b.subarray(start, end);
    if (COLOUR_CHUNKS.has(type)) {
      // libpng (and so browsers) uses the first of these and ignores one after PLTE or IDAT; we took the last and any.
      if (info?.palette || idat.length || seenColour.has(type)) {
        throw new ArchiveError('corrupt_file', {
          detail: `The PNG has ${seenColour.has(type) ? 'a second' : 'an out-of-place'} ${type} chunk (it must come once, before PLTE and IDAT): readers differ on which colour encoding they use, so it could show different colours.`,
          extensions: { reason: 'misplaced_colour_chunk' },
        });
      }
      seenColour.add(type);
    }
    switch (type) {
      case 'IHDR': {
        if (info || len !== 13) throw corrupt('The PNG IHDR chunk is invalid.');
        const ihdr = data();
        const width = ihdr.readUInt32BE(0);
        const height = ihdr.readUInt32BE(4);
        const depth = ihdr[8]!;
        const colorType = ihdr[9]!;
        if (ihdr[10] !== 0 || ihdr[11] !== 0 || ihdr[12]! > 1) throw corrupt('The PNG declares an unknown compression, filter or interlace method.');
        if (!DEPTHS[colorType]?.includes(depth)) throw corrupt(`The PNG declares an invalid colour type ${colorType} / bit depth ${depth}.`);
        checkPixels(width, height, limits, 'PNG');
        info = { width, height, depth, colorType, interlace: ihdr[12]!, idat };
        break;
      }
      case 'PLTE':
        if (len % 3 !== 0 || len === 0 || len > 768) throw corrupt('The PNG palette is invalid.');
        info!.palette = data();
        break;
      case 'tRNS':
        info!.trns = data();
        break;
      case 'iCCP': {
        const iccp = data();
        const nul = iccp.indexOf(0);
        if (nul > 0 && nul < 80 && iccp[nul + 1] === 0) {
          try {
            info!.icc = inflateBounded(iccp.subarray(nul + 2), 16 * 1024 * 1024, 'PNG ICC profile');
          } catch {
            /* an unreadable profile is ignored, not fatal */
          }
        }
        break;
      }
      case 'gAMA':
        if (len === 4) info!.gamma = data().readUInt32BE(0);
        break;
      case 'cHRM':
        if (len === 32) {
          const c = data();
          info!.chrm = Array.from({ length: 8 }, (_, i) => c.readUInt32BE(4 * i));
        }
        break;
      case 'sRGB':
        info!.srgb = true;
        break;
      case 'pHYs':
        if (len === 9) {
          const phys = data();
          info!.phys = { x: phys.readUInt32BE(0), y: phys.readUInt32BE(4), unit: phys[8]! };
        }
        break;
      case 'IDAT':
        if (idatDone) throw corrupt('The PNG IDAT chunks are not consecutive.');
        idat.push({ offset: start, length: len });
        break;
      case 'acTL':
        throw new ArchiveError('unsupported_media_type', { detail: 'Animated PNGs are not accepted.' });
      case 'IEND':
        sawIend = true;
        break;
    }
    if (sawIend) break;
  }
  if (!info) throw corrupt('The PNG has no IHDR chunk.');
  if (!sawIend) throw corrupt('The PNG is truncated: it has no IEND chunk.');
  // Nothing may follow IEND (PNG §5.6); bytes there are another file riding along.
  if (pos < b.length) throw trailingData('PNG', pos, b.length, 'its IEND chunk');
  // A ZIP can also hide in a chunk, its comment spanning the IEND after it.
  if (Buffer.isBuffer(b)) refuseZipTail(b, 'PNG');
  else refuseZipTailOfFile(b, 'PNG');
  if (!idat.length) throw corrupt('The PNG has no image data.');
  if (info.colorType === 3 && !info.palette) throw corrupt('The palette PNG has no PLTE chunk.');
  return info;
}

/**
 * How much of a spooled PNG the type sniffer must see to answer as it would on the whole file:
 * file-type walks the chunk headers up to the first IDAT (a PNG) or acTL (an APNG), so the head
 * read must reach past that header even when large chunks come before it.
 */
export function pngSniffLength(f: FileBytes): number {
  let pos = 8;
  while (pos + 8 <= f.length) {
    const head = f.subarray(pos, pos + 8);
    const type = head.toString('latin1', 4, 8);
    // A length file-type reads as negative ends its walk too.
    if (type === 'IDAT' || type === 'acTL' || head.readUInt32BE(0) > 0x7fffffff) return Math.min(f.length, pos + 12);
    pos += 12 + head.readUInt32BE(0);
  }
  return f.length;
}

interface Pass { w: number; h: number; x0: number; y0: number; dx: number; dy: number }
const ADAM7: [number, number, number, number][] = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];

function passes(info: PngInfo): Pass[] {
  if (!info.interlace) return [{ w: info.width, h: info.height, x0: 0, y0: 0, dx: 1, dy: 1 }];
  return ADAM7.map(([x0, y0, dx, dy]) => ({
    x0, y0, dx, dy,
    w: Math.max(0, Math.ceil((info.width - x0) / dx)),
    h: Math.max(0, Math.ceil((info.height - y0) / dy)),
  }));
}

const rowBytes = (w: number, bitsPerPixel: number) => Math.ceil((w * bitsPerPixel) / 8);

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * Undo the PNG filters of `h` rows of `rb` bytes (each after its filter byte) from `at`; returns the
 * rows without filter bytes. Also what a PDF stream's PNG predictors (10–15) are (pdf-xref.ts).
 */
export function unfilter(src: Buffer, at: number, h: number, bpp: number, rb: number): Buffer {
  const out = Buffer.alloc(rb * h);
  for (let y = 0; y < h; y++) {
    const f = src[at + y * (rb + 1)]!;
    const s = at + y * (rb + 1) + 1;
    const o = y * rb;
    const p = o - rb;
    switch (f) {
      case 0: src.copy(out, o, s, s + rb); break;
      case 1: for (let i = 0; i < rb; i++) out[o + i] = (src[s + i]! + (i >= bpp ? out[o + i - bpp]! : 0)) & 255; break;
      case 2: for (let i = 0; i < rb; i++) out[o + i] = (src[s + i]! + (y ? out[p + i]! : 0)) & 255; break;
      case 3: for (let i = 0; i < rb; i++) out[o + i] = (src[s + i]! + (((i >= bpp ? out[o + i - bpp]! : 0) + (y ? out[p + i]! : 0)) >> 1)) & 255; break;
      case 4:
        for (let i = 0; i < rb; i++) {
          const a = i >= bpp ? out[o + i - bpp]! : 0;
          const b = y ? out[p + i]! : 0;
          const c = i >= bpp && y ? out[p + i - bpp]! : 0;
          out[o + i] = (src[s + i]! + paeth(a, b, c)) & 255;
        }
        break;
      default:
        throw corrupt(`The PNG uses an unknown row filter ${f}.`);
    }
  }
  return out;
}

/** Decode to packed rows of `bitsPerPixel` (PDF sample layout: rows padded to whole bytes). */
function decodePixels(info: PngInfo, inflated: Buffer): Buffer {
  const bitsPerPixel = CHANNELS[info.colorType]! * info.depth;
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const full = rowBytes(info.width, bitsPerPixel);
  let at = 0;
  const ps = passes(info);
  if (!info.interlace) return unfilter(inflated, 0, info.height, bpp, full);
  const out = Buffer.alloc(full * info.height);
  for (const p of ps) {
    if (p.w === 0 || p.h === 0) continue;
    const rb = rowBytes(p.w, bitsPerPixel);
    const rows = unfilter(inflated, at, p.h, bpp, rb);
    at += (rb + 1) * p.h;
    for (let y = 0; y < p.h; y++) {
      const oy = p.y0 + y * p.dy;
      for (let x = 0; x < p.w; x++) {
        const ox = p.x0 + x * p.dx;
        if (bitsPerPixel >= 8) {
          rows.copy(out, oy * full + ox * bpp, y * rb + x * bpp, y * rb + x * bpp + bpp);
        } else {
          const sbit = x * bitsPerPixel;
          const v = (rows[y * rb + (sbit >> 3)]! >> (8 - bitsPerPixel - (sbit & 7))) & ((1 << bitsPerPixel) - 1);
          const dbit = ox * bitsPerPixel;
          const di = oy * full + (dbit >> 3);
          out[di] = out[di]! | (v << (8 - bitsPerPixel - (dbit & 7)));
        }
      }
    }
  }
  return out;
}

function inflatedSize(info: PngInfo): number {
  const bitsPerPixel = CHANNELS[info.colorType]! * info.depth;
  return passes(info).reduce((n, p) => n + (p.w && p.h ? (rowBytes(p.w, bitsPerPixel) + 1) * p.h : 0), 0);
}

/** The IDAT payloads joined: a view when there is one and the PNG is in memory, else a copy. */
function readIdat(bytes: Buffer | FileBytes, idat: ChunkRange[]): Buffer {
  if (Buffer.isBuffer(bytes) && idat.length === 1) return bytes.subarray(idat[0]!.offset, idat[0]!.offset + idat[0]!.length);
  const out = Buffer.allocUnsafe(idat.reduce((n, r) => n + r.length, 0));
  let at = 0;
  for (const r of idat) for (const chunk of chunksOf(bytes, r.offset, r.offset + r.length)) at += chunk.copy(out, at);
  return out;
}

/** sRGB's chromaticities as cHRM writes them (white, red, green, blue; x and y ×100000). */
const SRGB_CHRM = [31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000];
/** gAMA values browsers show as sRGB (1/2.2 = 45455; Chromium shows 44000–46000 unchanged). */
const SRGB_GAMMA = { min: 44000, max: 46000 };
const CHRM_TOLERANCE = 1000;

/**
 * The rendition shows a PNG's samples as sRGB. A PNG without an sRGB chunk or a usable ICC profile
 * says how its samples are encoded with gAMA and cHRM, and browsers draw it so: a gAMA of 0.01 shows
 * a 240 grey as black, a cHRM with red and blue swapped shows red as blue. Such a file would show one
 * picture in a browser and another in its rendition, so it is refused unless both chunks say sRGB.
 */
function refuseNonSrgbEncoding(info: PngInfo): void {
  const gamma = info.gamma !== undefined && (info.gamma < SRGB_GAMMA.min || info.gamma > SRGB_GAMMA.max) ? info.gamma : undefined;
  const chrm = info.chrm?.some((v, i) => Math.abs(v - SRGB_CHRM[i]!) > CHRM_TOLERANCE) ? info.chrm : undefined;
  if (gamma === undefined && chrm === undefined) return;
  const what = [
    ...(gamma !== undefined ? [`gamma ${gamma / 100000} (gAMA; sRGB is about 0.45455)`] : []),
    ...(chrm !== undefined ? [`chromaticities other than sRGB's (cHRM ${chrm.map((v) => v / 100000).join(' ')})`] : []),
  ].join(' and ');
  throw new ArchiveError('unsupported_media_type', {
    detail: `The PNG declares ${what} and no sRGB or ICC profile chunk: viewers show its colours and tones through that encoding, the archive's rendition would show the samples as sRGB, so the two could differ. Save the scan as sRGB.`,
    extensions: { reason: 'png_colour_encoding' },
  });
}

/**
 * A PNG in memory, or a spooled one walked through its file. Passed through (no alpha, no palette
 * transparency, not interlaced), a spooled PNG's stream is its IDAT payloads as ranges of that file:
 * checked by inflating them streaming, never read into memory at once. Decoded PNGs read the IDAT
 * data in whole and keep the pixels, as in memory: the decoded-pixel budget bounds them.
 */
export async function pngPage(bytes: Buffer | FileBytes, limits: NormaliseLimits, walked?: PngInfo): Promise<PageSource> {
  // The pixel budget has walked the chunks already (declaredPixels): that walk, CRCs over the whole file, serves here too.
  const info = walked ?? parsePng(bytes, limits);
  const expected = inflatedSize(info);
  checkDecodedSize(expected, limits, 'PNG image');
  const channels = CHANNELS[info.colorType]!;
  const colorChannels = info.colorType === 4 ? 1 : info.colorType === 6 ? 3 : channels;
  let colorSpace: ColorSpec = { kind: 'device', name: info.colorType === 0 || info.colorType === 4 ? 'DeviceGray' : 'DeviceRGB' };
  const notes: string[] = [];
  if (info.icc) {
    const icc = iccInfo(info.icc);
    const n = info.colorType === 0 || info.colorType === 4 ? 1 : 3;
    if (icc && icc.n === n) {
      colorSpace = { kind: 'icc', profile: info.icc, n: icc.n };
      notes.push('embedded ICC profile used as /ICCBased colour space');
    } else notes.push('embedded ICC profile unusable, ignored');
  }
  if (colorSpace.kind !== 'icc' && !info.srgb) refuseNonSrgbEncoding(info);
  let alphaTable: Buffer | undefined;
  if (info.colorType === 3) {
    const pal = info.palette!;
    const entries = pal.length / 3;
    colorSpace = { kind: 'indexed', base: colorSpace, hival: entries - 1, lookup: pal };
    if (info.trns && info.trns.length) {
      alphaTable = Buffer.alloc(256, 255);
      info.trns.copy(alphaTable, 0, 0, Math.min(256, info.trns.length));
    }
  }
  let colorKeyMask: number[] | undefined;
  if (info.trns && (info.colorType === 0 || info.colorType === 2)) {
    const n = info.colorType === 0 ? 1 : 3;
    if (info.trns.length >= 2 * n) {
      const mask = (1 << info.depth) - 1;
      colorKeyMask = [];
      for (let i = 0; i < n; i++) {
        const v = info.trns.readUInt16BE(2 * i) & mask;
        colorKeyMask.push(v, v);
      }
      notes.push('tRNS colour key kept as /Mask');
    }
  }
  const dpi = pngDpi(info);
  const base = { widthPx: info.width, heightPx: info.height, dpiX: dpi.x, dpiY: dpi.y, dpiSource: dpi.source, orientation: 1 };
  const passThrough = !info.interlace && colorChannels === channels && !alphaTable;
  /** The image dictionary either way: Flate data, with the PNG predictors when the IDAT payload is passed through. */
  const flateImage = (data: Pick<ImageSpec<Buffer>, 'data' | 'decodeParms'>): ImageSpec<Buffer> => ({
    width: info.width,
    height: info.height,
    bitsPerComponent: info.depth,
    colorSpace,
    filter: 'FlateDecode',
    ...data,
    ...(colorKeyMask ? { colorKeyMask } : {}),
  });
  if (passThrough) {
    // Inflating everything (streamed, nothing kept) proves the data complete and every row filter valid.
    const stride = rowBytes(info.width, channels * info.depth) + 1;
    const decodeParms = { Predictor: 15, Colors: channels, BitsPerComponent: info.depth, Columns: info.width };
    let image: ImageSpec;
    if (Buffer.isBuffer(bytes)) {
      const zdata = readIdat(bytes, info.idat);
      await checkInflatedRows(zdata, expected, stride);
      const own = flateImage({ decodeParms, data: zdata });
      // The check: the stream is the concatenated IDAT payload of the upload, byte for byte.
      let off = 0;
      for (const r of info.idat) {
        if (!own.data.subarray(off, off + r.length).equals(bytes.subarray(r.offset, r.offset + r.length))) throw new Error('PNG stream identity check failed');
        off += r.length;
      }
      image = own;
    } else {
      checkInflatedRowsOfFile(
        (function* () {
          for (const r of info.idat) yield* chunksOf(bytes, r.offset, r.offset + r.length);
        })(),
        expected,
        stride,
      );
      // The stream is the IDAT payloads by construction: the ranges name exactly those bytes, in order.
      image = { ...flateImage({ decodeParms, data: Buffer.alloc(0) }), data: info.idat.map((r) => bytes.range(r.offset, r.length)) };
    }
    return {
      ...base,
      pieces: [{ image, row: 0 }],
      record: { sourceFile: 0, sourceFormat: 'image/png', handling: 'passed-through', check: 'stream-identity', compression: 'png-deflate', ...(notes.length ? { notes } : {}) },
    };
  }

  // Decoded: interlaced, alpha channel, or palette transparency. Samples keep their values.
  const zdata = readIdat(bytes, info.idat);
  const inflated = inflateBounded(zdata, Math.min(expected + 1, maxDecompressed(limits) + 1), 'PNG image data');
  if (inflated.length !== expected) throw corrupt(`The PNG image data inflates to ${inflated.length} bytes, ${expected} expected.`);
  const pixels = decodePixels(info, inflated);
  let color = pixels;
  let alpha: Buffer | undefined;
  let alphaDepth = info.depth;
  if (colorChannels !== channels) {
    const bps = info.depth / 8;
    const n = info.width * info.height;
    color = Buffer.alloc(n * colorChannels * bps);
    alpha = Buffer.alloc(n * bps);
    const px = channels * bps;
    const cb = colorChannels * bps;
    for (let i = 0; i < n; i++) {
      pixels.copy(color, i * cb, i * px, i * px + cb);
      pixels.copy(alpha, i * bps, i * px + cb, i * px + px);
    }
    notes.push('alpha channel kept as /SMask');
  } else if (alphaTable) {
    alpha = Buffer.alloc(info.width * info.height);
    const rb = rowBytes(info.width, info.depth);
    const m = (1 << info.depth) - 1;
    for (let y = 0, k = 0; y < info.height; y++) {
      for (let x = 0; x < info.width; x++, k++) {
        const bit = x * info.depth;
        const idx = (pixels[y * rb + (bit >> 3)]! >> (8 - info.depth - (bit & 7))) & m;
        alpha[k] = alphaTable[idx]!;
      }
    }
    alphaDepth = 8;
    notes.push('palette transparency kept as /SMask');
  }
  if (info.interlace) notes.push('Adam7 interlacing undone');
  const image: ImageSpec = {
    ...flateImage({ data: deflateChecked(color) }),
    ...(alpha ? { smask: { width: info.width, height: info.height, bitsPerComponent: alphaDepth, filter: 'FlateDecode' as const, data: deflateChecked(alpha) } } : {}),
  };
  return {
    ...base,
    pieces: [{ image, row: 0 }],
    record: { sourceFile: 0, sourceFormat: 'image/png', handling: 'lossless-converted', check: 'pixel-equality', compression: 'png-deflate', ...(notes.length ? { notes } : {}) },
  };
}

/** Counts the inflated bytes and checks the filter byte at the start of every row as the output goes by (nothing kept). */
class RowCheck {
  private seen = 0;
  constructor(private readonly expected: number, private readonly stride: number) {}

  take(out: Uint8Array, n: number): void {
    // Offsets k·stride in the whole stream are filter bytes.
    for (let at = Math.ceil(this.seen / this.stride) * this.stride; at < this.seen + n; at += this.stride) {
      if (out[at - this.seen]! > 4) throw corrupt(`The PNG uses an unknown row filter ${out[at - this.seen]}.`);
    }
    this.seen += n;
    if (this.seen > this.expected) throw corrupt(`The PNG image data inflates to more than the ${this.expected} bytes its header declares.`);
  }

  end(): void {
    if (this.seen !== this.expected) throw corrupt(`The PNG image data inflates to ${this.seen} bytes, ${this.expected} expected.`);
  }
}

const brokenData = (cause?: unknown) => corrupt('The PNG image data is corrupt or truncated.', cause);

/** Stream-inflate a PNG in memory without keeping the output: exact size and a valid filter byte at the start of every row. */
function checkInflatedRows(zdata: Buffer, expected: number, stride: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const inf = zlib.createInflate({ chunkSize: 256 * 1024 });
    const rows = new RowCheck(expected, stride);
    let failed = false;
    const fail = (e: Error) => {
      if (failed) return;
      failed = true;
      inf.destroy();
      reject(e);
    };
    inf.on('data', (chunk: Buffer) => {
      try {
        rows.take(chunk, chunk.length);
      } catch (e) {
        fail(e as Error);
      }
    });
    inf.on('error', (cause) => fail(brokenData(cause)));
    inf.on('end', () => {
      try {
        rows.end();
        if (!failed) resolve();
      } catch (e) {
        fail(e as Error);
      }
    });
    inf.end(zdata);
  });
}

/**
 * The same check for a spooled PNG, over its IDAT payloads as views of the file's window. pako's port
 * of zlib's inflate, driven directly, writes into one reused 64 KiB buffer: node's zlib streams
 * allocate a new buffer for each piece of output, and for a 40 MB PNG that garbage raised the host's
 * RSS by ~25 MB before V8 collected it (issue #17). pako is ~3× slower than node's zlib, so PNGs in
 * memory keep the check above; both ignore bytes after the end of the zlib stream, as zlib does, and
 * answer each fault with the same error (test/unit/normalise/spooled.test.ts).
 */
function checkInflatedRowsOfFile(zchunks: Iterable<Buffer>, expected: number, stride: number): void {
  const { Z_OK, Z_STREAM_END, Z_BUF_ERROR, Z_NO_FLUSH } = zlib.constants;
  const strm = new ZStream();
  inflateInit(strm);
  const out = new Uint8Array(64 * 1024);
  const rows = new RowCheck(expected, stride);
  let status = Z_OK;
  try {
    for (const chunk of zchunks) {
      strm.input = chunk;
      strm.next_in = 0;
      strm.avail_in = chunk.length;
      do {
        strm.output = out;
        strm.next_out = 0;
        strm.avail_out = out.length;
        status = inflate(strm, Z_NO_FLUSH);
        // Z_BUF_ERROR: no progress possible until more input comes.
        if (status !== Z_OK && status !== Z_STREAM_END && status !== Z_BUF_ERROR) throw brokenData(new Error(strm.msg));
        rows.take(out, strm.next_out);
      } while (status === Z_OK && (strm.avail_in > 0 || strm.avail_out === 0));
      if (status === Z_STREAM_END) break;
    }
  } finally {
    inflateEnd(strm);
  }
  if (status !== Z_STREAM_END) throw brokenData();
  rows.end();
}

function pngDpi(info: PngInfo): { x: number; y: number; source: 'png-phys' | 'default' } {
  const p = info.phys;
  if (p && p.unit === 1) {
    const x = p.x * 0.0254;
    const y = p.y * 0.0254;
    if (x >= 1 && y >= 1 && x <= 100000 && y <= 100000) return { x, y, source: 'png-phys' };
  }
  return { x: DEFAULT_DPI, y: DEFAULT_DPI, source: 'default' };
}

import sharp, { Metadata, OutputInfo } from 'sharp';
import { ArchiveError } from '../kernel/errors';
import { iccInfo } from './icc';
import { checkJpegKind, dctImage, DEFAULT_DPI, parseJpeg } from './jpeg';
import { ColorSpec, ImageSpec, PagePiece, PageSource } from './pdfa';
import { IfdEntry, TiffReader } from './tiff-ifd';
import { NormaliseLimits } from './types';
import { checkDecodedSize, checkPixels, corrupt, deflateChecked, inflateLenient, maxDecompressed, refuseZipTail, reverseBits } from './util';

const T = {
  NewSubfileType: 254, Width: 256, Height: 257, BitsPerSample: 258, Compression: 259, Photometric: 262, FillOrder: 266,
  StripOffsets: 273, Orientation: 274, SamplesPerPixel: 277, RowsPerStrip: 278, StripByteCounts: 279, XResolution: 282,
  YResolution: 283, PlanarConfig: 284, T4Options: 292, T6Options: 293, ResolutionUnit: 296, Predictor: 317, ColorMap: 320,
  TileWidth: 322, InkSet: 332, ExtraSamples: 338, SampleFormat: 339, JPEGTables: 347, ICC: 34675,
} as const;

const COMPRESSION_NAME: Record<number, string> = {
  1: 'tiff-uncompressed', 2: 'ccitt-rle', 3: 'ccitt-g3', 4: 'ccitt-g4', 5: 'tiff-lzw', 6: 'tiff-old-jpeg', 7: 'tiff-jpeg', 8: 'tiff-deflate', 32946: 'tiff-deflate', 32773: 'tiff-packbits',
};

interface Ifd {
  r: TiffReader;
  e: Map<number, IfdEntry>;
  num(tag: number, dflt?: number): number | undefined;
  nums(tag: number): number[];
}

function ifdAt(r: TiffReader, off: number): Ifd {
  const { entries, repeated } = r.readIfd(off);
  // libtiff takes the first of a repeated tag, other readers the last: a repeated StripOffsets or
  // Photometric would show one picture in one viewer and another in the next (and in the rendition).
  if (repeated.length) {
    throw new ArchiveError('corrupt_file', {
      detail: `A TIFF directory holds tag${repeated.length > 1 ? 's' : ''} ${[...new Set(repeated)].join(', ')} more than once; readers take different ones, so it could show different pictures.`,
      extensions: { reason: 'repeated_tiff_tag' },
    });
  }
  return {
    r,
    e: entries,
    num: (tag, dflt) => r.value(entries.get(tag)) ?? dflt,
    nums: (tag) => r.values(entries.get(tag)),
  };
}

const MAX_PASS_THROUGH_STRIPS = 256;

function unsupported(detail: string): ArchiveError {
  return new ArchiveError('unsupported_media_type', { detail });
}

/** The page IFDs of a TIFF, every header checked: reduced-resolution images (thumbnails) are skipped. */
function pageIfds(bytes: Buffer, limits: NormaliseLimits, pagesBefore: number): Ifd[] {
  const r = new TiffReader(bytes);
  // A TIFF has no end marker; a ZIP appended to it still announces itself at the end of the file.
  refuseZipTail(bytes, 'TIFF');
  const room = limits.maxPages - pagesBefore;
  const offsets = r.chain(Math.max(0, room) * 2 + 1, (n) => {
    throw new ArchiveError('too_many_pages', { detail: `The TIFF has more than ${n - 1} images; at most ${limits.maxPages} pages are accepted.` });
  });
  const all = offsets.map((o) => ifdAt(r, o));
  const ifds = all.filter((d, i) => i === 0 || !((d.num(T.NewSubfileType, 0)! & 1)));
  // A skipped image must be what it says, a reduced version of a page: libtiff (libvips, viewers built on
  // it) shows every directory as a page, so one as large as the page before it is a page the rendition left out.
  all.forEach((d, i) => {
    if (i === 0 || ifds.includes(d)) return;
    const page = all[i - 1]!;
    const [w, h, pw, ph] = [d.num(T.Width) ?? 0, d.num(T.Height) ?? 0, page.num(T.Width) ?? 0, page.num(T.Height) ?? 0];
    if (w >= pw || h >= ph) {
      throw new ArchiveError('corrupt_file', {
        detail: `TIFF image ${i + 1} is marked reduced-resolution (NewSubfileType 1) but is ${w}×${h}, not smaller than the ${pw}×${ph} image before it: viewers show it as a page, the rendition would leave it out.`,
        extensions: { reason: 'hidden_tiff_page' },
      });
    }
  });
  if (pagesBefore + ifds.length > limits.maxPages) {
    throw new ArchiveError('too_many_pages', { detail: `The document would have ${pagesBefore + ifds.length} pages; at most ${limits.maxPages} are accepted.` });
  }
  for (const d of ifds) checkPixels(d.num(T.Width) ?? 0, d.num(T.Height) ?? 0, limits, 'TIFF page');
  return ifds;
}

/**
 * Each page's size from its IFD alone, and whether its pixels must be decoded here: CCITT and JPEG
 * strips are passed through (CCITT is only scanned by libtiff, one bit a pixel); everything else is
 * decoded and re-compressed. For the pixel budget, before any page is decoded.
 */
export function tiffPageSizes(bytes: Buffer, limits: NormaliseLimits, pagesBefore: number): { width: number; height: number; decoded: boolean }[] {
  return pageIfds(bytes, limits, pagesBefore).map((d) => {
    const width = d.num(T.Width)!;
    const height = d.num(T.Height)!;
    const compression = d.num(T.Compression, 1)!;
    const stripCount = Math.ceil(height / Math.max(1, Math.min(d.num(T.RowsPerStrip, height)! || height, height)));
    const plain = stripCount <= MAX_PASS_THROUGH_STRIPS && !d.e.has(T.TileWidth);
    const passedThrough = plain && (compression === 3 || compression === 4 || (compression === 7 && d.num(T.PlanarConfig, 1) === 1));
    return { width, height, decoded: !passedThrough };
  });
}

/** All pages of a TIFF: reduced-resolution images (thumbnails) are skipped. */
export async function tiffPages(bytes: Buffer, limits: NormaliseLimits, pagesBefore: number): Promise<PageSource[]> {
  // Every page's header is checked before any page is decoded.
  const ifds = pageIfds(bytes, limits, pagesBefore);
  const out: PageSource[] = [];
  for (const [i, d] of ifds.entries()) out.push(await tiffPage(bytes, d, i, limits));
  return out;
}

function dpiOf(d: Ifd): { x: number; y: number; source: 'tiff' | 'default' } {
  const unit = d.num(T.ResolutionUnit, 2);
  const f = unit === 3 ? 2.54 : unit === 2 ? 1 : 0;
  const x = (d.num(T.XResolution) ?? NaN) * f;
  const y = (d.num(T.YResolution) ?? x / (f || 1)) * f;
  const ok = (v: number) => Number.isFinite(v) && v >= 1 && v <= 100000;
  if (ok(x) && ok(y)) return { x, y, source: 'tiff' };
  return { x: DEFAULT_DPI, y: DEFAULT_DPI, source: 'default' };
}

interface Strip { offset: number; length: number; row: number; rows: number }

function strips(bytes: Buffer, d: Ifd, width: number, height: number): Strip[] {
  const offs = d.nums(T.StripOffsets);
  const counts = d.nums(T.StripByteCounts);
  if (!offs.length) throw corrupt('The TIFF page has no strip offsets.');
  const rps = Math.min(d.num(T.RowsPerStrip, height)! || height, height);
  const n = Math.ceil(height / rps);
  if (offs.length < n || counts.length < n) throw corrupt(`The TIFF page has ${offs.length} strips; ${n} expected.`);
  const out: Strip[] = [];
  for (let i = 0; i < n; i++) {
    const offset = offs[i]!;
    const length = counts[i]!;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset + length > bytes.length) {
      throw corrupt('The TIFF is truncated: a strip lies outside the file.');
    }
    out.push({ offset, length, row: i * rps, rows: Math.min(rps, height - i * rps) });
  }
  void width;
  return out;
}

async function tiffPage(bytes: Buffer, d: Ifd, index: number, limits: NormaliseLimits): Promise<PageSource> {
  const width = d.num(T.Width)!;
  const height = d.num(T.Height)!;
  const compression = d.num(T.Compression, 1)!;
  const photometric = d.num(T.Photometric);
  const spp = d.num(T.SamplesPerPixel, 1)!;
  const bpsAll = d.nums(T.BitsPerSample);
  const bps = bpsAll[0] ?? 1;
  if (bpsAll.some((b) => b !== bps)) throw unsupported('TIFF pages with different bit depths per sample are not accepted.');
  const dpi = dpiOf(d);
  const o = d.num(T.Orientation, 1)!;
  const orientation = o >= 1 && o <= 8 ? o : 1;
  const base = { widthPx: width, heightPx: height, dpiX: dpi.x, dpiY: dpi.y, dpiSource: dpi.source, orientation };
  const compName = COMPRESSION_NAME[compression] ?? `tiff-compression-${compression}`;
  const tiled = d.e.has(T.TileWidth);
  const planar = d.num(T.PlanarConfig, 1)!;
  const fillOrder = d.num(T.FillOrder, 1)!;
  const notes: string[] = [];
  if (orientation !== 1) notes.push(`TIFF orientation ${orientation} applied with the placement matrix`);

  // Each passed-through strip becomes an image object: a page cut in thousands of strips is decoded instead.
  const stripCount = Math.ceil(height / Math.max(1, Math.min(d.num(T.RowsPerStrip, height)! || height, height)));
  const fewStrips = stripCount <= MAX_PASS_THROUGH_STRIPS;
  if (!fewStrips) notes.push(`${stripCount} strips: decoded rather than passed through as ${stripCount} images`);

  if (fewStrips && (compression === 3 || compression === 4) && !tiled && bps === 1 && spp === 1 && (photometric === 0 || photometric === 1)) {
    const t4 = d.num(T.T4Options, 0)!;
    const t6 = d.num(T.T6Options, 0)!;
    if ((compression === 3 && t4 & 2) || (compression === 4 && t6 & 2)) throw unsupported('CCITT TIFF pages using uncompressed mode are not accepted.');
    const pageStrips = strips(bytes, d, width, height);
    // A G4 page in several strips would cost an image object per strip: it is re-encoded as one
    // G4 strip when the decoded pixels prove the re-encode lossless; otherwise passed through.
    let fallback: string | undefined;
    if (compression === 4 && pageStrips.length > 1) {
      const one = await singleStripG4(bytes, index, width, height, limits);
      if ('image' in one) {
        notes.push(`${pageStrips.length} CCITT G4 strips re-encoded as one G4 strip by libtiff (libvips); decoded pixels equal the original's`);
        if (fillOrder === 2) notes.push('FillOrder 2 source: the re-encoded strip is FillOrder 1');
        return {
          ...base,
          pieces: [{ image: one.image, row: 0 }],
          record: { sourceFile: 0, sourceFormat: 'image/tiff', handling: 'lossless-converted', check: 'pixel-equality', compression: compName, notes },
        };
      }
      fallback = one.reason;
    }
    // CCITT: every strip passed through as its own /CCITTFaxDecode image.
    const pieces: PagePiece[] = [];
    for (const s of pageStrips) {
      const slice = bytes.subarray(s.offset, s.offset + s.length);
      const data = fillOrder === 2 ? reverseBits(slice) : slice;
      const parms = ccittParms(compression, t4, width, s.rows, photometric);
      const image: ImageSpec = { width, height: s.rows, bitsPerComponent: 1, colorSpace: { kind: 'device', name: 'DeviceGray' }, filter: 'CCITTFaxDecode', decodeParms: parms, data };
      // The check: each embedded stream is the strip's bytes (bit-reversed for FillOrder 2).
      const expect = fillOrder === 2 ? reverseBits(data) : data;
      if (!expect.equals(slice)) throw new Error('CCITT stream identity check failed');
      pieces.push({ image, row: s.row });
    }
    // Nothing short of decoding shows a damaged CCITT strip: libtiff (via libvips) decodes the page once.
    try {
      // A one-pixel column needs every row decoded, but no page-sized buffer is kept.
      await sharp(bytes, { page: index, failOn: 'error', limitInputPixels: limits.maxPixelsPerPage }).extract({ left: 0, top: 0, width: 1, height }).raw().toBuffer();
    } catch (cause) {
      throw corrupt(`The TIFF page ${index + 1} has corrupt ${compName === 'ccitt-g4' ? 'CCITT G4' : 'CCITT G3'} data.`, cause);
    }
    if (fillOrder === 2) notes.push('FillOrder 2: bits of every byte reversed (lossless)');
    if (fallback) notes.push(`not re-encoded as one G4 strip (${fallback})`);
    if (pieces.length > 1) notes.push(`${pieces.length} strips placed as ${pieces.length} images`);
    return {
      ...base,
      pieces,
      record: { sourceFile: 0, sourceFormat: 'image/tiff', handling: 'passed-through', check: 'stream-identity', compression: compName, ...(notes.length ? { notes } : {}) },
    };
  }

  if (fewStrips && compression === 7 && !tiled && planar === 1 && bps === 8) {
    const pieces = jpegStrips(bytes, d, width, height, photometric, spp);
    if (pieces) {
      if (pieces.length > 1) notes.push(`${pieces.length} JPEG strips placed as ${pieces.length} images`);
      notes.push(`each strip made a complete JPEG (${spp === 3 ? 'Adobe APP14 colour-transform marker, ' : ''}${d.e.has(T.JPEGTables) ? 'JPEGTables, ' : ''}then the strip's bytes unchanged)`);
      return {
        ...base,
        pieces,
        record: { sourceFile: 0, sourceFormat: 'image/tiff', handling: 'passed-through', check: 'stream-identity', compression: compName, ...(notes.length ? { notes } : {}) },
      };
    }
  }

  // Own decoder: the common compressions and colour models; the rest (YCbCr, tiles, planes…) go to libvips.
  const decodable = [1, 5, 8, 32946, 32773].includes(compression) && [0, 1, 2, 3, 5].includes(photometric ?? -1);
  if (decodable && !tiled && planar === 1) {
    return { ...base, ...decodeOwn(bytes, d, width, height, compression, photometric, spp, bps, limits, notes, compName) };
  }
  return { ...base, ...(await decodeWithSharp(bytes, index, width, height, limits, notes, compName, bps === 1 && spp === 1)) };
}

/** /CCITTFaxDecode parameters for a TIFF G3/G4 strip of `rows` rows. */
function ccittParms(compression: number, t4: number, width: number, rows: number, photometric: number | undefined): Record<string, number | boolean> {
  const parms: Record<string, number | boolean> = { K: compression === 4 ? -1 : t4 & 1 ? 1 : 0, Columns: width, Rows: rows };
  if (photometric === 1) parms.BlackIs1 = true;
  // TIFF "EOL padding": fill bits so each EOL ends, and each line begins, on a byte boundary.
  if (compression === 3 && t4 & 4) Object.assign(parms, { EndOfLine: true, EncodedByteAlign: true });
  return parms;
}

/**
 * A multi-strip G4 page re-encoded as one G4 strip: libtiff (via libvips) decodes the page,
 * encodes it again in one strip, and the new TIFF is decoded once more; only when those pixels
 * equal the source's byte for byte is the strip used, with the parameters the pass-through
 * path gives a G4 strip. Anything else (limits, a decoder or encoder error, a TIFF layout other
 * than expected, a pixel difference) is a reason, and the caller passes the strips through.
 */
async function singleStripG4(bytes: Buffer, page: number, width: number, height: number, limits: NormaliseLimits): Promise<{ image: ImageSpec } | { reason: string }> {
  // One byte a pixel, held twice (source and re-decoded): the decompression limit applies to each.
  if (width * height > maxDecompressed(limits)) return { reason: `${width}×${height} pixels exceed the decompression limit` };
  try {
    const src = await sharp(bytes, { page, failOn: 'error', limitInputPixels: limits.maxPixelsPerPage }).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    if (src.info.width !== width || src.info.height !== height || src.info.channels !== 1) return { reason: 'the page decodes to an unexpected size' };
    const tif = await sharp(src.data, { raw: { width, height, channels: 1 } })
      .toColourspace('b-w')
      .tiff({ compression: 'ccittfax4', bitdepth: 1, tileHeight: height })
      .toBuffer();
    const r = new TiffReader(tif);
    const d = ifdAt(r, r.firstIfd);
    const photometric = d.num(T.Photometric);
    const layout = d.num(T.Width) === width && d.num(T.Height) === height && d.num(T.Compression) === 4 && d.num(T.BitsPerSample, 1) === 1
      && d.num(T.SamplesPerPixel, 1) === 1 && d.num(T.FillOrder, 1) === 1 && !(d.num(T.T6Options, 0)! & 2) && !d.e.has(T.TileWidth)
      && (photometric === 0 || photometric === 1);
    const one = layout ? strips(tif, d, width, height) : [];
    if (one.length !== 1) return { reason: 'the re-encoded TIFF is not one G4 strip' };
    const data = Buffer.from(tif.subarray(one[0]!.offset, one[0]!.offset + one[0]!.length));
    // The check: the re-encoded TIFF, decoded again, has the source's pixels byte for byte.
    const back = await sharp(tif, { failOn: 'error', limitInputPixels: limits.maxPixelsPerPage }).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    if (back.info.width !== width || back.info.height !== height || back.info.channels !== 1 || !back.data.equals(src.data)) {
      return { reason: 'the re-encoded strip does not decode to the same pixels' };
    }
    const image: ImageSpec = {
      width, height, bitsPerComponent: 1, colorSpace: { kind: 'device', name: 'DeviceGray' }, filter: 'CCITTFaxDecode',
      decodeParms: ccittParms(4, 0, width, height, photometric), data,
    };
    return { image };
  } catch (cause) {
    return { reason: `libvips: ${cause instanceof Error ? cause.message.split('\n')[0] : String(cause)}` };
  }
}

/** JPEG-in-TIFF: each strip becomes a complete JPEG (JPEGTables + strip); its scan data unchanged. */
function jpegStrips(bytes: Buffer, d: Ifd, width: number, height: number, photometric: number | undefined, spp: number): PagePiece[] | undefined {
  if (!(photometric === 1 && spp === 1) && !((photometric === 2 || photometric === 6) && spp === 3) && !(photometric === 5 && spp === 4)) return undefined;
  const tablesEntry = d.e.get(T.JPEGTables);
  let tables: Buffer | undefined;
  if (tablesEntry) {
    tables = d.r.bytes(tablesEntry);
    if (tables.length < 4 || tables[0] !== 0xff || tables[1] !== 0xd8) throw corrupt('The TIFF JPEGTables field is invalid.');
    if (tables[tables.length - 2] === 0xff && tables[tables.length - 1] === 0xd9) tables = tables.subarray(0, tables.length - 2);
  }
  const pieces: PagePiece[] = [];
  for (const s of strips(bytes, d, width, height)) {
    const strip = bytes.subarray(s.offset, s.offset + s.length);
    if (strip.length < 4 || strip[0] !== 0xff || strip[1] !== 0xd8) throw corrupt('A TIFF JPEG strip does not start with SOI.');
    // RGB or YCbCr is stated with an Adobe APP14 marker: readers differ on how they guess it otherwise.
    const adobe = spp === 3 ? adobeMarker(photometric === 6 ? 1 : 0) : undefined;
    const head = tables ?? strip.subarray(0, 2);
    const data = adobe || tables ? Buffer.concat([head.subarray(0, 2), adobe ?? Buffer.alloc(0), head.subarray(2), strip.subarray(2)]) : strip;
    const info = parseJpeg(data);
    checkJpegKind(info, 'TIFF JPEG');
    if (info.width !== width || info.components !== spp || info.height < s.rows) return undefined;
    if (info.height !== s.rows) return undefined; // padded strips would need clipping; decode instead
    const image = dctImage(data, info, { adobeInvertedCmyk: false });
    // The check: the strip's bytes after SOI appear unchanged at the end of the stream.
    if (!image.data.subarray(image.data.length - (strip.length - 2)).equals(strip.subarray(2))) throw new Error('TIFF JPEG stream identity check failed');
    pieces.push({ image, row: s.row });
  }
  return pieces;
}

function adobeMarker(transform: number): Buffer {
  const m = Buffer.alloc(16);
  m.writeUInt16BE(0xffee, 0);
  m.writeUInt16BE(14, 2);
  m.write('Adobe', 4, 'latin1');
  m.writeUInt16BE(100, 9);
  m[15] = transform;
  return m;
}

function lzwDecode(src: Buffer, expected: number): Buffer {
  const out = Buffer.alloc(expected);
  if (src.length >= 2 && src[0] === 0 && src[1]! & 1) throw unsupported('Old-style (pre-TIFF 6) LZW is not accepted.');
  const prefix = new Int32Array(4096);
  const suffix = new Uint8Array(4096);
  const first = new Uint8Array(4096);
  const length = new Uint16Array(4096);
  for (let i = 0; i < 256; i++) {
    prefix[i] = -1;
    suffix[i] = i;
    first[i] = i;
    length[i] = 1;
  }
  let next = 258;
  let width = 9;
  let old = -1;
  let bitbuf = 0;
  let bitcnt = 0;
  let ip = 0;
  let op = 0;
  const emit = (code: number) => {
    const len = length[code]!;
    let end = op + len;
    let c = code;
    // Write the string backwards from its end, clipping what would overflow the strip.
    for (let k = end - 1; k >= op; k--) {
      if (k < expected) out[k] = suffix[c]!;
      c = prefix[c]!;
    }
    if (end > expected) end = expected;
    op = end;
  };
  while (op < expected) {
    while (bitcnt < width) {
      if (ip >= src.length) return finish();
      bitbuf = ((bitbuf & 0xffffff) << 8) | src[ip++]!;
      bitcnt += 8;
    }
    const code = (bitbuf >>> (bitcnt - width)) & ((1 << width) - 1);
    bitcnt -= width;
    if (code === 257) break;
    if (code === 256) {
      next = 258;
      width = 9;
      old = -1;
      continue;
    }
    if (old === -1) {
      if (code > 255) throw corrupt('The TIFF LZW data is corrupt.');
      emit(code);
      old = code;
      continue;
    }
    if (code < next) {
      emit(code);
      if (next < 4096) {
        prefix[next] = old;
        suffix[next] = first[code]!;
        first[next] = first[old]!;
        length[next] = length[old]! + 1;
        next++;
      }
    } else if (code === next && next < 4096) {
      prefix[next] = old;
      suffix[next] = first[old]!;
      first[next] = first[old]!;
      length[next] = length[old]! + 1;
      next++;
      emit(code);
    } else throw corrupt('The TIFF LZW data is corrupt.');
    old = code;
    if (next + 1 >= 1 << width && width < 12) width++;
  }
  return finish();
  function finish(): Buffer {
    if (op < expected) throw corrupt('The TIFF LZW strip is truncated.');
    return out;
  }
}

function packBitsDecode(src: Buffer, expected: number): Buffer {
  const out = Buffer.alloc(expected);
  let ip = 0;
  let op = 0;
  while (op < expected && ip < src.length) {
    const n = src.readInt8(ip++);
    if (n >= 0) {
      const end = Math.min(ip + n + 1, src.length);
      const take = Math.min(end - ip, expected - op);
      src.copy(out, op, ip, ip + take);
      op += take;
      ip = end;
    } else if (n !== -128) {
      if (ip >= src.length) break;
      const v = src[ip++]!;
      const count = Math.min(1 - n, expected - op);
      out.fill(v, op, op + count);
      op += count;
    }
  }
  if (op < expected) throw corrupt('The TIFF PackBits strip is truncated.');
  return out;
}

/** Uncompressed, LZW, Deflate and PackBits pages: decoded here, samples unchanged, re-compressed with Flate. */
function decodeOwn(
  bytes: Buffer, d: Ifd, width: number, height: number, compression: number, photometric: number | undefined,
  spp: number, bps: number, limits: NormaliseLimits, notes: string[], compName: string,
): Pick<PageSource, 'pieces' | 'record'> {
  const fmt = d.num(T.SampleFormat, 1)!;
  if (fmt !== 1) throw unsupported('TIFF pages with signed or floating-point samples are not accepted.');
  if (![1, 2, 4, 8, 16].includes(bps)) throw unsupported(`TIFF pages with ${bps}-bit samples are not accepted.`);
  let base: ColorSpec;
  let colorChannels: number;
  let decode: number[] | undefined;
  switch (photometric) {
    case 0: base = { kind: 'device', name: 'DeviceGray' }; colorChannels = 1; decode = [1, 0]; break;
    case 1: base = { kind: 'device', name: 'DeviceGray' }; colorChannels = 1; break;
    case 2: base = { kind: 'device', name: 'DeviceRGB' }; colorChannels = 3; break;
    case 3: base = { kind: 'device', name: 'DeviceRGB' }; colorChannels = 1; break;
    case 5:
      if (d.num(T.InkSet, 1) !== 1 || spp < 4) throw unsupported('TIFF separations other than CMYK are not accepted.');
      base = { kind: 'device', name: 'DeviceCMYK' }; colorChannels = 4; break;
    default:
      throw unsupported(`TIFF photometric interpretation ${photometric ?? '(missing)'} is not accepted.`);
  }
  if (spp < colorChannels) throw corrupt('The TIFF page has fewer samples per pixel than its colour model needs.');
  const iccEntry = d.e.get(T.ICC);
  if (iccEntry && photometric !== 3) {
    const icc = d.r.bytes(iccEntry);
    const ii = iccInfo(icc);
    if (ii && ii.n === colorChannels) {
      base = { kind: 'icc', profile: Buffer.from(icc), n: ii.n };
      notes.push('embedded ICC profile used as /ICCBased colour space');
    }
  }
  let colorSpace: ColorSpec = base;
  if (photometric === 3) {
    if (bps > 8) throw unsupported('16-bit palette TIFF pages are not accepted.');
    const n = 1 << bps;
    const map = d.nums(T.ColorMap);
    if (map.length < 3 * n) throw corrupt('The TIFF colour map is missing or short.');
    const eightBit = map.slice(0, 3 * n).every((v) => v < 256);
    const lookup = Buffer.alloc(3 * n);
    for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) lookup[3 * i + c] = eightBit ? map[c * n + i]! : map[c * n + i]! >> 8;
    colorSpace = { kind: 'indexed', base, hival: n - 1, lookup };
    notes.push('palette kept as /Indexed');
  }
  const extra = spp - colorChannels;
  const extraKinds = d.nums(T.ExtraSamples);
  const alphaKind = extra > 0 ? extraKinds[0] ?? 0 : undefined;
  const hasAlpha = alphaKind === 1 || alphaKind === 2;
  if (extra > 0 && bps < 8) throw unsupported('TIFF pages with extra samples below 8 bits are not accepted.');
  const rowBytes = Math.ceil((width * spp * bps) / 8);
  const total = rowBytes * height;
  checkDecodedSize(total, limits, 'TIFF page');
  const predictor = d.num(T.Predictor, 1)!;
  if (predictor !== 1 && !(predictor === 2 && bps >= 8)) throw unsupported(`TIFF predictor ${predictor} is not accepted for ${bps}-bit samples.`);
  const fillOrder = d.num(T.FillOrder, 1)!;

  const raw = Buffer.alloc(total);
  for (const s of strips(bytes, d, width, height)) {
    const need = s.rows * rowBytes;
    let src = bytes.subarray(s.offset, s.offset + s.length);
    if (fillOrder === 2) src = reverseBits(src);
    let dec: Buffer;
    switch (compression) {
      case 1:
        if (src.length < need) throw corrupt('The TIFF is truncated: an uncompressed strip is short.');
        dec = src.subarray(0, need);
        break;
      case 5: dec = lzwDecode(src, need); break;
      case 32773: dec = packBitsDecode(src, need); break;
      default: {
        const inf = inflateLenient(src, need, 'TIFF Deflate strip');
        if (inf.length < need) throw corrupt('The TIFF Deflate strip is truncated.');
        dec = inf.subarray(0, need);
      }
    }
    dec.copy(raw, s.row * rowBytes);
  }
  if (predictor === 2) {
    const step = spp;
    for (let y = 0; y < height; y++) {
      const o = y * rowBytes;
      if (bps === 8) {
        for (let i = step; i < width * spp; i++) raw[o + i] = (raw[o + i]! + raw[o + i - step]!) & 255;
      } else {
        for (let i = step; i < width * spp; i++) {
          const a = o + 2 * i;
          const b = o + 2 * (i - step);
          const v = d.r.little ? (raw.readUInt16LE(a) + raw.readUInt16LE(b)) & 0xffff : (raw.readUInt16BE(a) + raw.readUInt16BE(b)) & 0xffff;
          if (d.r.little) raw.writeUInt16LE(v, a);
          else raw.writeUInt16BE(v, a);
        }
      }
    }
  }
  if (bps === 16 && d.r.little) raw.swap16(); // PDF samples are big-endian
  let color = raw;
  let alpha: Buffer | undefined;
  if (extra > 0) {
    const B = bps / 8;
    const n = width * height;
    color = Buffer.alloc(n * colorChannels * B);
    if (hasAlpha) alpha = Buffer.alloc(n * B);
    for (let i = 0; i < n; i++) {
      raw.copy(color, i * colorChannels * B, i * spp * B, (i * spp + colorChannels) * B);
      if (alpha) raw.copy(alpha, i * B, (i * spp + colorChannels) * B, (i * spp + colorChannels + 1) * B);
    }
    if (hasAlpha) notes.push(`${alphaKind === 1 ? 'associated' : 'unassociated'} alpha kept as /SMask`);
    if (extra > (hasAlpha ? 1 : 0)) notes.push(`${extra - (hasAlpha ? 1 : 0)} unspecified extra sample(s) not carried into the rendition`);
  }
  if (photometric === 0) notes.push('WhiteIsZero: /Decode [1 0]');
  const image: ImageSpec = {
    width, height, bitsPerComponent: bps, colorSpace, filter: 'FlateDecode', data: deflateChecked(color),
    ...(decode ? { decode } : {}),
    ...(alpha ? { smask: { width, height, bitsPerComponent: bps, filter: 'FlateDecode' as const, data: deflateChecked(alpha) } } : {}),
  };
  return {
    pieces: [{ image, row: 0 }],
    record: { sourceFile: 0, sourceFormat: 'image/tiff', handling: 'lossless-converted', check: 'pixel-equality', compression: compName, ...(notes.length ? { notes } : {}) },
  };
}

/** Everything else (tiles, planar, JPEG strips that cannot be passed through…): libvips decodes the page. */
async function decodeWithSharp(bytes: Buffer, page: number, width: number, height: number, limits: NormaliseLimits, notes: string[], compName: string, bilevel: boolean): Promise<Pick<PageSource, 'pieces' | 'record'>> {
  let out: { data: Buffer; info: OutputInfo };
  let meta: Metadata;
  try {
    const img = sharp(bytes, { page, failOn: 'warning', limitInputPixels: limits.maxPixelsPerPage });
    meta = await img.metadata();
    if (meta.space && !['b-w', 'srgb', 'grey16', 'rgb16'].includes(meta.space)) {
      throw unsupported(`TIFF pages in colour space ${meta.space} stored as ${compName} are not accepted.`);
    }
    if ((meta.bitsPerSample ?? 8) > 8) throw unsupported(`16-bit TIFF pages stored as ${compName} are not accepted.`);
    checkDecodedSize(width * height * (meta.channels ?? 4), limits, 'TIFF page');
    // libvips would hand gray back as RGB unless told: keep the page's own colour model.
    out = await img.toColourspace((meta.channels ?? 3) <= 2 ? 'b-w' : 'srgb').raw().toBuffer({ resolveWithObject: true });
  } catch (cause) {
    if (cause instanceof ArchiveError) throw cause;
    throw corrupt(`The TIFF page ${page + 1} (${compName}) cannot be decoded.`, cause);
  }
  const { channels } = out.info;
  if (out.info.width !== width || out.info.height !== height) throw corrupt('The TIFF page decodes to a different size than it declares.');
  const colorChannels = channels === 1 || channels === 2 ? 1 : 3;
  const n = width * height;
  let color = out.data;
  let alpha: Buffer | undefined;
  if (channels === 2 || channels === 4) {
    color = Buffer.alloc(n * colorChannels);
    alpha = Buffer.alloc(n);
    for (let i = 0; i < n; i++) {
      out.data.copy(color, i * colorChannels, i * channels, i * channels + colorChannels);
      alpha[i] = out.data[i * channels + colorChannels]!;
    }
    notes.push('alpha kept as /SMask');
  }
  notes.push('decoded by libvips');
  let bpc = 8;
  if (bilevel && colorChannels === 1 && !alpha && color.every((v) => v === 0 || v === 255)) {
    // A bi-level page stays 1 bit a pixel: 0 → black, 255 → white, rows padded to bytes as PDF wants.
    const rb = Math.ceil(width / 8);
    const packed = Buffer.alloc(rb * height);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (color[y * width + x]) packed[y * rb + (x >> 3)] = packed[y * rb + (x >> 3)]! | (0x80 >> (x & 7));
    color = packed;
    bpc = 1;
  }
  const image: ImageSpec = {
    width, height, bitsPerComponent: bpc, colorSpace: { kind: 'device', name: colorChannels === 1 ? 'DeviceGray' : 'DeviceRGB' }, filter: 'FlateDecode', data: deflateChecked(color),
    ...(alpha ? { smask: { width, height, bitsPerComponent: 8, filter: 'FlateDecode' as const, data: deflateChecked(alpha) } } : {}),
  };
  return {
    pieces: [{ image, row: 0 }],
    record: { sourceFile: 0, sourceFormat: 'image/tiff', handling: 'lossless-converted', check: 'pixel-equality', compression: compName, notes },
  };
}

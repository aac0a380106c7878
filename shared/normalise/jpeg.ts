import { ArchiveError } from '../kernel/errors';
import { ByteSource, FileBytes } from './file-source';
import { iccInfo } from './icc';
import { ColorSpec, ImageSpec, PageSource } from './pdfa';
import { TiffReader } from './tiff-ifd';
import { NormaliseLimits } from './types';
import { checkPixels, corrupt, refuseZipTail, refuseZipTailOfFile, trailingData } from './util';

export const DEFAULT_DPI = 96;

export interface JpegInfo {
  width: number;
  height: number;
  components: number;
  precision: number;
  sof: number;
  componentIds: number[];
  adobe?: { transform: number };
  jfif?: { units: number; x: number; y: number };
  /** The first Exif segment: `orientation` as browsers read it (the first Orientation tag, a SHORT with one value). */
  exif?: { orientation?: number; orientationReadings?: number[]; xres?: number; yres?: number; unit?: number };
  icc?: Buffer;
  /** Offset just past EOI. */
  end: number;
}

const EMPTY = Buffer.alloc(0);

function isSof(m: number): boolean {
  return m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
}

/**
 * Walk the JPEG marker structure: frame header, APP segments we use, and every
 * scan's entropy-coded data up to EOI. A file without a complete scan and EOI
 * is corrupt (decoders only warn about truncation, we refuse it).
 * `headerOnly` stops at the first SOF (for pixel limits before anything else).
 */
export function parseJpeg(b: ByteSource, limits?: NormaliseLimits): JpegInfo {
  if (b.length < 4 || b.at(0) !== 0xff || b.at(1) !== 0xd8) throw corrupt('The JPEG does not start with an SOI marker.');
  let pos = 2;
  let info: Partial<JpegInfo> = {};
  const iccChunks: { seq: number; count: number; data: Buffer }[] = [];
  let scans = 0;
  let exifSegments = 0;
  /** Every orientation some reader could take from the file's Exif data (1 where none is readable). */
  const orientationReadings = new Set<number>();
  for (;;) {
    if (pos >= b.length) throw corrupt('The JPEG is truncated: it ends before its EOI marker.');
    if (b.at(pos) !== 0xff) throw corrupt(`The JPEG has garbage where a marker should be (offset ${pos}).`);
    while (pos < b.length && b.at(pos) === 0xff) pos++;
    if (pos >= b.length) throw corrupt('The JPEG is truncated: it ends before its EOI marker.');
    const m = b.at(pos)!;
    pos++;
    if (m === 0xd9) {
      if (info.width === undefined) throw corrupt('The JPEG has no frame header.');
      if (scans === 0) throw corrupt('The JPEG has no scan data.');
      break;
    }
    if (m === 0xd8 || (m >= 0xd0 && m <= 0xd7) || m === 0x01) continue;
    if (pos + 2 > b.length) throw corrupt('The JPEG is truncated inside a marker segment.');
    const len = b.readUInt16BE(pos);
    if (len < 2 || pos + len > b.length) throw corrupt('The JPEG is truncated inside a marker segment.');
    // Only the segments read below are taken (a copy when walking a file: comments and other APPn can be megabytes).
    const seg = isSof(m) || m === 0xe0 || m === 0xe1 || m === 0xe2 || m === 0xee ? b.subarray(pos + 2, pos + len) : EMPTY;
    pos += len;
    if (isSof(m)) {
      if (info.width !== undefined) throw corrupt('The JPEG has more than one frame header.');
      if (seg.length < 6) throw corrupt('The JPEG frame header is truncated.');
      const nc = seg[5]!;
      if (seg.length < 6 + 3 * nc) throw corrupt('The JPEG frame header is truncated.');
      info = {
        ...info,
        sof: m,
        precision: seg[0]!,
        height: seg.readUInt16BE(1),
        width: seg.readUInt16BE(3),
        components: nc,
        componentIds: Array.from({ length: nc }, (_, i) => seg[6 + 3 * i]!),
      };
      if (info.height === 0) throw new ArchiveError('unsupported_media_type', { detail: 'JPEGs whose height is set by a DNL marker are not accepted.' });
      if (limits) checkPixels(info.width!, info.height!, limits, 'JPEG');
    } else if (m === 0xe0 && seg.length >= 12 && seg.toString('latin1', 0, 5) === 'JFIF\0') {
      info.jfif = { units: seg[7]!, x: seg.readUInt16BE(8), y: seg.readUInt16BE(10) };
    } else if (m === 0xe1 && seg.length > 14 && seg.toString('latin1', 0, 6) === 'Exif\0\0') {
      // Browsers read the first Exif segment only (an unreadable one too: then the image is shown as is).
      const exif = readExif(seg.subarray(6));
      if (exifSegments++ === 0) info.exif = exif;
      for (const o of exif?.orientationReadings ?? [1]) orientationReadings.add(o);
    } else if (m === 0xe2 && seg.length > 14 && seg.toString('latin1', 0, 12) === 'ICC_PROFILE\0') {
      iccChunks.push({ seq: seg[12]!, count: seg[13]!, data: seg.subarray(14) });
    } else if (m === 0xee && seg.length >= 12 && seg.toString('latin1', 0, 5) === 'Adobe') {
      info.adobe = { transform: seg[11]! };
    } else if (m === 0xda) {
      if (info.width === undefined) throw corrupt('The JPEG has a scan before its frame header.');
      scans++;
      // Entropy-coded data: runs to the next marker that is not a stuffed 0xFF00 or a restart marker.
      let i = pos;
      for (;;) {
        const ff = b.indexOf(0xff, i);
        if (ff < 0 || ff + 1 >= b.length) throw corrupt('The JPEG is truncated: its scan data ends without an EOI marker.');
        const n = b.at(ff + 1)!;
        if (n === 0x00 || (n >= 0xd0 && n <= 0xd7) || n === 0xff) {
          i = n === 0xff ? ff + 1 : ff + 2;
          continue;
        }
        pos = ff;
        break;
      }
    }
  }
  if (orientationReadings.size > 1) {
    throw new ArchiveError('corrupt_file', {
      detail: `The JPEG's Exif data gives more than one orientation (${[...orientationReadings].sort().join(', ')}): in further Exif segments, in a repeated Orientation tag, or in one of a type or count readers disagree on, so viewers would turn the picture differently. Save it with one Exif orientation.`,
      extensions: { reason: 'ambiguous_orientation' },
    });
  }
  if (iccChunks.length) {
    // As libjpeg and browsers ask: every chunk names the same count, numbers 1…count once each. Browsers
    // ignore a profile that breaks this (or take the first of two), and we assembled it anyway.
    const count = iccChunks[0]!.count;
    const seqs = new Set(iccChunks.map((c) => c.seq));
    if (count === 0 || iccChunks.length !== count || seqs.size !== count || iccChunks.some((c) => c.count !== count || c.seq < 1 || c.seq > count)) {
      throw new ArchiveError('corrupt_file', {
        detail: `The JPEG's ICC profile segments are not numbered 1 to their count once each (${iccChunks.map((c) => `${c.seq}/${c.count}`).join(', ')}): viewers ignore such a profile or take part of it, so it could show different colours.`,
        extensions: { reason: 'ambiguous_icc_profile' },
      });
    }
    iccChunks.sort((a, z) => a.seq - z.seq);
    info.icc = Buffer.concat(iccChunks.map((c) => c.data));
  }
  info.end = pos;
  return info as JpegInfo;
}

function readExif(tiff: Buffer): JpegInfo['exif'] {
  try {
    const r = new TiffReader(tiff);
    const { entries } = r.readIfd(r.firstIfd);
    const out: NonNullable<JpegInfo['exif']> = {};
    // The Map keeps the last of repeated tags: the Orientation entries are read from the directory itself.
    const at = r.firstIfd;
    const n = r.u16(at);
    const readings: number[] = [];
    for (let i = 0; i < n; i++) {
      const e = at + 2 + 12 * i;
      if (r.u16(e) !== 0x0112) continue;
      const type = r.u16(e + 2);
      const count = r.u32(e + 4);
      const v = type === 3 ? r.u16(e + 8) : type === 4 ? r.u32(e + 8) : undefined;
      const valid = (x: number | undefined) => (x !== undefined && x >= 1 && x <= 8 ? x : 1);
      if (type === 3 && count === 1) {
        if (out.orientation === undefined) out.orientation = v;
        readings.push(valid(v));
      } else readings.push(1, valid(v)); // browsers ignore it, other readers take the value
    }
    out.orientationReadings = readings.length ? readings : [1];
    const x = r.value(entries.get(0x011a));
    const y = r.value(entries.get(0x011b));
    const u = r.value(entries.get(0x0128));
    if (x !== undefined) out.xres = x;
    if (y !== undefined) out.yres = y;
    if (u !== undefined) out.unit = u;
    return out;
  } catch {
    return undefined; // a broken Exif block does not make the image unusable
  }
}

function sane(d: number | undefined): d is number {
  return d !== undefined && Number.isFinite(d) && d >= 1 && d <= 100000;
}

export function jpegDpi(info: JpegInfo): { x: number; y: number; source: 'jfif' | 'exif' | 'default' } {
  const j = info.jfif;
  if (j && (j.units === 1 || j.units === 2)) {
    const f = j.units === 2 ? 2.54 : 1;
    if (sane(j.x * f) && sane(j.y * f)) return { x: j.x * f, y: j.y * f, source: 'jfif' };
  }
  const e = info.exif;
  if (e && e.unit !== 1) {
    const f = e.unit === 3 ? 2.54 : 1;
    const x = e.xres !== undefined ? e.xres * f : undefined;
    const y = e.yres !== undefined ? e.yres * f : x;
    if (sane(x) && sane(y)) return { x, y, source: 'exif' };
  }
  return { x: DEFAULT_DPI, y: DEFAULT_DPI, source: 'default' };
}

/** The image XObject for a complete JPEG, passed through as /DCTDecode. */
export function dctImage(data: Buffer, info: JpegInfo, opts: { adobeInvertedCmyk?: boolean; colorTransform?: number } = {}): ImageSpec<Buffer> {
  const name = info.components === 1 ? 'DeviceGray' : info.components === 3 ? 'DeviceRGB' : 'DeviceCMYK';
  let colorSpace: ColorSpec = { kind: 'device', name };
  if (info.icc) {
    const icc = iccInfo(info.icc);
    if (icc && icc.n === info.components) colorSpace = { kind: 'icc', profile: info.icc, n: icc.n };
  }
  const img: ImageSpec<Buffer> = { width: info.width, height: info.height, bitsPerComponent: 8, colorSpace, filter: 'DCTDecode', data };
  // Adobe (Photoshop) writes CMYK JPEGs inverted, and browsers (Chromium) and libvips read every CMYK JPEG
  // file so, APP14 marker or not: a file without one was drawn as a negative of what they show.
  if (info.components === 4 && (opts.adobeInvertedCmyk ?? true)) img.decode = [1, 0, 1, 0, 1, 0, 1, 0];
  if (opts.colorTransform !== undefined && !info.adobe) {
    const dflt = info.components === 3 ? 1 : 0;
    if (opts.colorTransform !== dflt) img.decodeParms = { ColorTransform: opts.colorTransform };
  } else if (info.components === 3 && !info.adobe && !info.jfif && info.componentIds.join() === '82,71,66') {
    img.decodeParms = { ColorTransform: 0 }; // components named R, G, B: stored without YCbCr transform
  }
  return img;
}

export function checkJpegKind(info: JpegInfo, what = 'JPEG'): void {
  if (![0xc0, 0xc1, 0xc2].includes(info.sof)) {
    const kind = info.sof === 0xc3 ? 'lossless' : info.sof >= 0xc9 ? 'arithmetic-coded' : 'hierarchical';
    throw new ArchiveError('unsupported_media_type', { detail: `${kind} ${what} files are not accepted (PDF's DCTDecode carries baseline and progressive JPEG only).` });
  }
  if (info.precision !== 8) throw new ArchiveError('unsupported_media_type', { detail: `${info.precision}-bit ${what} files are not accepted (PDF's DCTDecode carries 8-bit JPEG only).` });
  if (![1, 3, 4].includes(info.components)) throw new ArchiveError('unsupported_media_type', { detail: `${what} files with ${info.components} components are not accepted.` });
}

/**
 * A JPEG in memory, or a spooled one walked through its file: then the stream is passed through as
 * a range of that file (the same bytes, never read into memory at once).
 */
export function jpegPage(bytes: Buffer | FileBytes, limits: NormaliseLimits, walked?: JpegInfo): PageSource {
  // The pixel budget has walked the markers already (declaredPixels): that walk serves here too.
  const info = walked ?? parseJpeg(bytes, limits);
  checkJpegKind(info);
  // After EOI only the 0x00/0xFF padding some writers add is tolerated, and it stays out of the rendition.
  if (Buffer.isBuffer(bytes)) {
    if (bytes.subarray(info.end).some((x) => x !== 0x00 && x !== 0xff)) throw trailingData('JPEG', info.end, bytes.length, 'its EOI marker');
    refuseZipTail(bytes, 'JPEG');
  } else {
    for (let i = info.end; i < bytes.length; i++) {
      const x = bytes.at(i);
      if (x !== 0x00 && x !== 0xff) throw trailingData('JPEG', info.end, bytes.length, 'its EOI marker');
    }
    refuseZipTailOfFile(bytes, 'JPEG');
  }
  let image: ImageSpec;
  if (Buffer.isBuffer(bytes)) {
    const stream = bytes.subarray(0, info.end);
    const own = dctImage(stream, info);
    // The check: the stream we embed is the uploaded file up to EOI, byte for byte.
    if (!own.data.equals(stream)) throw new Error('JPEG stream identity check failed');
    image = own;
  } else {
    // The stream is the uploaded file up to EOI by construction: the range names exactly those bytes.
    image = { ...dctImage(Buffer.alloc(0), info), data: [bytes.range(0, info.end)] };
  }
  const dpi = jpegDpi(info);
  const rawOrientation = info.exif?.orientation;
  const orientation = rawOrientation !== undefined && rawOrientation >= 1 && rawOrientation <= 8 ? rawOrientation : 1;
  const notes: string[] = [];
  if (rawOrientation !== undefined && orientation !== rawOrientation) notes.push(`invalid EXIF orientation ${rawOrientation} treated as 1`);
  if (image.decode) notes.push(info.adobe ? 'Adobe CMYK: /Decode [1 0 1 0 1 0 1 0]' : 'CMYK without an Adobe marker read inverted, as browsers read it: /Decode [1 0 1 0 1 0 1 0]');
  if (image.colorSpace.kind === 'icc') notes.push('embedded ICC profile used as /ICCBased colour space');
  if (info.end < bytes.length) notes.push(`${bytes.length - info.end} bytes of padding after EOI left out of the stream`);
  return {
    widthPx: info.width,
    heightPx: info.height,
    dpiX: dpi.x,
    dpiY: dpi.y,
    dpiSource: dpi.source,
    orientation,
    pieces: [{ image, row: 0 }],
    record: {
      sourceFile: 0,
      sourceFormat: 'image/jpeg',
      handling: 'passed-through',
      check: 'stream-identity',
      compression: info.sof === 0xc2 ? 'jpeg-progressive' : 'jpeg-baseline',
      ...(notes.length ? { notes } : {}),
    },
  };
}

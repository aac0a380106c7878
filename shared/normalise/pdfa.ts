import { createHash } from 'crypto';
import * as zlib from 'zlib';
import { PDFContext, PDFDocument, PDFHexString, PDFName, PDFNumber, PDFObject, PDFRef, PDFString, PDFBool, PDFRawStream } from 'pdf-lib';
import { cmykProfile, iccInfo, isBuiltInProfile, srgbProfile } from './icc';
import { concatSegments, externalContents, FileRange, Segment } from './file-source';
import { compactPdfSegments } from './pdfwrite';
import { buildXmp } from './xmp';
import { num } from './util';
import type { PageRecord } from '../kernel/document';

/** The colour space of an image as the source format declares it. */
export type ColorSpec =
  | { kind: 'device'; name: 'DeviceGray' | 'DeviceRGB' | 'DeviceCMYK' }
  | { kind: 'icc'; profile: Buffer; n: 1 | 3 | 4 }
  | { kind: 'indexed'; base: ColorSpec; hival: number; lookup: Buffer };

export interface ImageSpec<D extends Buffer | FileRange[] = Buffer | FileRange[]> {
  width: number;
  height: number;
  bitsPerComponent: number;
  colorSpace: ColorSpec;
  filter: 'DCTDecode' | 'FlateDecode' | 'CCITTFaxDecode';
  decodeParms?: Record<string, number | boolean>;
  decode?: number[];
  /** The stream contents exactly as they go into the file (ranges of the upload's file, in order, when it was spooled). */
  data: D;
  /** Soft mask (alpha), DeviceGray. */
  smask?: Omit<ImageSpec<Buffer>, 'smask' | 'colorKeyMask' | 'colorSpace'>;
  /** Colour-key mask ranges (PNG tRNS for gray/RGB). */
  colorKeyMask?: number[];
}

/** A part of the page image: rows [row, row + image.height) of the page's pixel grid. */
export interface PagePiece {
  image: ImageSpec;
  row: number;
}

export interface PageSource {
  widthPx: number;
  heightPx: number;
  dpiX: number;
  dpiY: number;
  dpiSource: NonNullable<PageRecord['dpi']>['source'];
  /** EXIF orientation 1..8. */
  orientation: number;
  pieces: PagePiece[];
  record: Omit<PageRecord, 'page'>;
}

export interface DocInfo {
  documentId: string;
  createdAt: string;
  title?: string;
  /** Seed for the trailer /ID (content hash). */
  idSeed: Buffer;
}

export const PRODUCER = 'document-archive normaliser 2';
const MIN_PT = 3;
const MAX_PT = 14400;

/** Placement matrix mapping the unit square (image space) onto the page, honouring EXIF orientation. */
export function orientationMatrix(o: number, W: number, H: number): [number, number, number, number, number, number] {
  switch (o) {
    case 2: return [-W, 0, 0, H, W, 0];
    case 3: return [-W, 0, 0, -H, W, H];
    case 4: return [W, 0, 0, -H, 0, H];
    case 5: return [0, -H, -W, 0, W, H];
    case 6: return [0, -H, W, 0, 0, H];
    case 7: return [0, H, W, 0, 0, 0];
    case 8: return [0, H, -W, 0, W, 0];
    default: return [W, 0, 0, H, 0, 0];
  }
}

/** Page size in points from pixels and resolution, kept inside PDF/A-2's 3..14400 unit limits. */
export function pageSize(src: Pick<PageSource, 'widthPx' | 'heightPx' | 'dpiX' | 'dpiY'>): { w: number; h: number; scaled: boolean } {
  let w = (src.widthPx * 72) / src.dpiX;
  let h = (src.heightPx * 72) / src.dpiY;
  let scaled = false;
  const big = Math.max(w, h);
  if (big > MAX_PT) {
    w = (w * MAX_PT) / big;
    h = (h * MAX_PT) / big;
    scaled = true;
  }
  const small = Math.min(w, h);
  if (small < MIN_PT) {
    const f = Math.min(MIN_PT / small, MAX_PT / Math.max(w, h));
    w *= f;
    h *= f;
    scaled = true;
  }
  return { w: round4(w), h: round4(h), scaled };
}
function round4(n: number): number {
  return Math.round(n * 10000) / 10000;
}

const DEFLATED = new Map<string, Buffer>();
/** The built-in profiles are compressed once a process; uploaded ones are not cached. */
export function deflateCached(profile: Buffer): Buffer {
  const key = `${zlib.crc32(profile)}:${profile.length}`;
  let packed = DEFLATED.get(key);
  if (!packed) {
    packed = zlib.deflateSync(profile, { level: 9 });
    if (DEFLATED.size < 8 && (isBuiltInProfile(profile) || profile.length < 1000)) DEFLATED.set(key, packed);
  }
  return packed;
}

class Resources {
  private iccRefs = new Map<string, PDFRef>();
  constructor(private ctx: PDFContext, private cmyk: () => Promise<Buffer>) {}

  async iccRef(profile: Buffer, n: number): Promise<PDFRef> {
    const key = `${n}:${createHash('sha256').update(profile).digest('hex')}`;
    const found = this.iccRefs.get(key);
    if (found) return found;
    const stream = PDFRawStream.of(this.ctx.obj({ N: n, Filter: 'FlateDecode' }), deflateCached(profile));
    const ref = this.ctx.register(stream);
    this.iccRefs.set(key, ref);
    return ref;
  }

  /** Device colour spaces are kept when the sRGB OutputIntent covers them; CMYK gets an ICCBased space. */
  async colorSpace(cs: ColorSpec): Promise<PDFObject> {
    switch (cs.kind) {
      case 'device':
        if (cs.name === 'DeviceCMYK') return this.ctx.obj([PDFName.of('ICCBased'), await this.iccRef(await this.cmyk(), 4)]);
        return PDFName.of(cs.name);
      case 'icc':
        return this.ctx.obj([PDFName.of('ICCBased'), await this.iccRef(cs.profile, cs.n)]);
      case 'indexed':
        return this.ctx.obj([PDFName.of('Indexed'), await this.colorSpace(cs.base), PDFNumber.of(cs.hival), PDFHexString.of(cs.lookup.toString('hex'))]);
    }
  }
}

const PARAMS_CACHE = new WeakMap<PDFContext, Map<string, PDFRef>>();
/** DecodeParms dictionaries, shared by reference between images that have the same ones (strips of a page). */
function params(ctx: PDFContext, p: Record<string, number | boolean>): PDFRef {
  let cache = PARAMS_CACHE.get(ctx);
  if (!cache) PARAMS_CACHE.set(ctx, (cache = new Map<string, PDFRef>()));
  const key = JSON.stringify(p);
  const found = cache.get(key);
  if (found) return found;
  const d = ctx.obj({});
  for (const [k, v] of Object.entries(p)) d.set(PDFName.of(k), typeof v === 'boolean' ? (v ? PDFBool.True : PDFBool.False) : PDFNumber.of(v));
  const ref = ctx.register(d);
  cache.set(key, ref);
  return ref;
}

async function imageRef(ctx: PDFContext, res: Resources, img: ImageSpec): Promise<PDFRef> {
  const dict = ctx.obj({ Type: 'XObject', Subtype: 'Image', Width: img.width, Height: img.height, BitsPerComponent: img.bitsPerComponent });
  dict.set(PDFName.of('ColorSpace'), await res.colorSpace(img.colorSpace));
  dict.set(PDFName.of('Filter'), PDFName.of(img.filter));
  if (img.decodeParms) dict.set(PDFName.of('DecodeParms'), params(ctx, img.decodeParms));
  if (img.decode) dict.set(PDFName.of('Decode'), ctx.obj(img.decode));
  if (img.colorKeyMask) dict.set(PDFName.of('Mask'), ctx.obj(img.colorKeyMask));
  if (img.smask) {
    const s = img.smask;
    const sd = ctx.obj({ Type: 'XObject', Subtype: 'Image', Width: s.width, Height: s.height, BitsPerComponent: s.bitsPerComponent, ColorSpace: 'DeviceGray', Filter: s.filter });
    if (s.decodeParms) sd.set(PDFName.of('DecodeParms'), params(ctx, s.decodeParms));
    dict.set(PDFName.of('SMask'), ctx.register(PDFRawStream.of(sd, s.data)));
  }
  if (Buffer.isBuffer(img.data)) return ctx.register(PDFRawStream.of(dict, img.data));
  // Passed through from the upload's file: the writer copies the ranges in (pdfwrite.ts).
  const stream = PDFRawStream.of(dict, new Uint8Array(0));
  externalContents.set(stream, img.data);
  return ctx.register(stream);
}

/** Build the one PDF/A-2b rendition from page sources. */
export async function writeImagePdfA(pages: PageSource[], info: DocInfo): Promise<{ bytes: Buffer; records: PageRecord[] }> {
  const { segments, records } = await imagePdfASegments(pages, info);
  return { bytes: concatSegments(segments), records };
}

/** The rendition as the pieces it is written from: image streams of a spooled upload stay in its file. */
export async function imagePdfASegments(pages: PageSource[], info: DocInfo): Promise<{ segments: Segment[]; records: PageRecord[] }> {
  const pdf = await PDFDocument.create({ updateMetadata: false });
  const ctx = pdf.context;
  const res = new Resources(ctx, cmykProfile);
  const records: PageRecord[] = [];
  for (const [i, src] of pages.entries()) {
    const { w, h, scaled } = pageSize(src);
    const rotated = src.orientation >= 5 && src.orientation <= 8;
    const W = rotated ? h : w;
    const H = rotated ? w : h;
    const xobjects = ctx.obj({});
    let content = `q ${orientationMatrix(src.orientation, W, H).map(num).join(' ')} cm\n`;
    for (const [k, piece] of src.pieces.entries()) {
      const name = `Im${k}`;
      xobjects.set(PDFName.of(name), await imageRef(ctx, res, piece.image));
      const top = piece.row / src.heightPx;
      const frac = piece.image.height / src.heightPx;
      if (src.pieces.length === 1 && piece.row === 0 && piece.image.height === src.heightPx) content += `/${name} Do\n`;
      else content += `q 1 0 0 ${num(frac)} 0 ${num(1 - top - frac)} cm /${name} Do Q\n`;
    }
    content += 'Q\n';
    const page = pdf.addPage([W, H]);
    page.node.set(PDFName.of('Resources'), ctx.obj({ XObject: xobjects }));
    // A one-image page's content is a few dozen bytes: compressing it would only add a /Filter entry.
    page.node.set(PDFName.of('Contents'), ctx.register(content.length < 256 ? ctx.stream(content) : ctx.flateStream(content)));
    const notes = [...(src.record.notes ?? [])];
    if (scaled) notes.push('page size clamped to the PDF/A 3..14400 pt range');
    records.push({
      ...src.record,
      page: i + 1,
      widthPx: src.widthPx,
      heightPx: src.heightPx,
      widthPt: W,
      heightPt: H,
      dpi: { x: src.dpiX, y: src.dpiY, source: src.dpiSource },
      images: src.pieces.length,
      orientation: src.orientation,
      ...(notes.length ? { notes } : {}),
    });
  }
  const srgb = await srgbProfile();
  // An image tagged with the very sRGB profile of the OutputIntent shares its stream.
  await finishPdfA(pdf, info, { profile: srgb, n: 3, name: 'sRGB', ref: await res.iccRef(srgb, 3) });
  // Object and cross-reference streams (PDF 1.5, allowed by PDF/A-2) and compact syntax keep the
  // fixed overhead of a rendition small.
  await pdf.flush();
  return { segments: compactPdfSegments(ctx), records };
}

/** Seconds-precision UTC date, the form both Info (D:…Z) and XMP (…Z) carry. */
export function archiveDate(createdAt: string): Date {
  const d = new Date(createdAt);
  if (Number.isNaN(d.getTime())) throw new Error(`createdAt is not a date: ${createdAt}`);
  d.setUTCMilliseconds(0);
  return d;
}

/**
 * Everything PDF/A-2b asks of the document level: Info and XMP in step, an XMP
 * metadata stream (Flate-compressed, which PDF/A-2 allows) declaring part 2 conformance B, an OutputIntent
 * with an embedded profile, and a trailer /ID derived from the content.
 */
export async function finishPdfA(pdf: PDFDocument, info: DocInfo, intent: { profile: Buffer; n: number; name: string; ref?: PDFRef }): Promise<void> {
  const ctx = pdf.context;
  const date = archiveDate(info.createdAt);
  // Info: replaced as a whole so nothing in it can disagree with the XMP.
  const infoDict = ctx.obj({});
  const text = (v: string) => (/^[\x20-\x7e]*$/.test(v) && !/[()\\]/.test(v) ? PDFString.of(v) : PDFHexString.fromText(v));
  if (info.title !== undefined && info.title !== '') infoDict.set(PDFName.of('Title'), text(info.title));
  infoDict.set(PDFName.of('Producer'), text(PRODUCER));
  infoDict.set(PDFName.of('CreationDate'), PDFString.fromDate(date));
  infoDict.set(PDFName.of('ModDate'), PDFString.fromDate(date));
  ctx.trailerInfo.Info = ctx.register(infoDict);

  const xmp = buildXmp({ ...(info.title !== undefined ? { title: info.title } : {}), producer: PRODUCER, date });
  // Flate-compressed (fixed level, deterministic): PDF/A-1 forbade a filter on the metadata stream
  // (ISO 19005-1 6.7.2), PDF/A-2 has no such rule (6.6.2.1 in the veraPDF PDF/A-2b profile).
  const meta = PDFRawStream.of(ctx.obj({ Type: 'Metadata', Subtype: 'XML', Filter: 'FlateDecode' }), zlib.deflateSync(Buffer.from(xmp, 'utf8'), { level: 9 }));
  pdf.catalog.set(PDFName.of('Metadata'), ctx.register(meta));

  const icc = iccInfo(intent.profile);
  if (!icc || icc.n !== intent.n) throw new Error('OutputIntent profile does not match its component count');
  const profileRef = intent.ref ?? ctx.register(PDFRawStream.of(ctx.obj({ N: intent.n, Filter: 'FlateDecode' }), deflateCached(intent.profile)));
  const oi = ctx.obj({
    Type: 'OutputIntent',
    S: 'GTS_PDFA1',
    OutputConditionIdentifier: PDFString.of(intent.name === 'sRGB' ? 'sRGB IEC61966-2.1' : 'CMYK (libvips)'),
    DestOutputProfile: profileRef,
  });
  pdf.catalog.set(PDFName.of('OutputIntents'), ctx.obj([oi]));

  const id = PDFHexString.of(info.idSeed.subarray(0, 16).toString('hex'));
  ctx.trailerInfo.ID = ctx.obj([id, id]);
  ctx.trailerInfo.Encrypt = undefined;
}

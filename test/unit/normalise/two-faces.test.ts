import { execFileSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import sharp from 'sharp';
import * as zlib from 'zlib';
import { ArchiveError } from '../../../shared/kernel/errors';
import { normalise } from '../../../shared/normalise';
import { srgbProfile } from '../../../shared/normalise/icc';
import { gsRender, haveTool, input } from './helpers';
import { CATALOG, classicPdf, incrementalUpdate, PAGES, PdfObject } from '../../support/hostile-pdf';

/**
 * Two faces: an upload whose rendition would show a person something other than the original shows
 * in a common reader (a browser, an image viewer). What the browser shows was measured with headless
 * Chromium once (noted at each case); the tests compute it from the file's own chunks, as the PNG
 * specification says a viewer should, and compare the rendition as ghostscript draws it.
 */

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}
const u32s = (...v: number[]): Buffer => {
  const b = Buffer.alloc(4 * v.length);
  v.forEach((x, i) => b.writeUInt32BE(x, 4 * i));
  return b;
};

/** 64×32, four vertical bands; gray: 240, 128, 20, 255; RGB: red, green, blue, white. */
function png(colour: 'gray' | 'rgb', extra: [string, Buffer][]): Buffer {
  const w = 64;
  const h = 32;
  const ch = colour === 'gray' ? 1 : 3;
  const bands = colour === 'gray' ? [[240], [128], [20], [255]] : [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]];
  const row = Buffer.alloc(1 + w * ch);
  for (let x = 0; x < w; x++) row.set(bands[Math.floor(x / 16)]!, 1 + x * ch);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = colour === 'gray' ? 0 : 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...extra.map(([t, d]) => chunk(t, d)),
    chunk('IDAT', zlib.deflateSync(Buffer.concat(Array.from({ length: h }, () => row)))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const SRGB_CHRM = u32s(31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000);
/** Red and blue primaries swapped: Chromium shows the red band blue and the blue band red. */
const SWAPPED_CHRM = u32s(31270, 32900, 15000, 6000, 30000, 60000, 64000, 33000);

const srgbEncode = (l: number): number => Math.round(255 * (l <= 0.0031308 ? 12.92 * l : 1.055 * l ** (1 / 2.4) - 0.055));
/** What a colour-managed viewer shows for a gray sample under gAMA g (×100000), on an sRGB screen. */
const viewerShows = (v: number, g: number): number => srgbEncode((v / 255) ** (100000 / g));

async function refusal(bytes: Buffer): Promise<ArchiveError> {
  const err = await normalise(input([bytes])).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ArchiveError);
  return err as ArchiveError;
}

/** The four bands' middles as ghostscript draws page 1 (96 dpi: one pixel a sample), first channel or all. */
async function bandsDrawn(pdf: Buffer, gray: boolean): Promise<number[][] | undefined> {
  const shot = gsRender(pdf, 96, gray);
  if (!shot) return undefined;
  const { data, info } = await sharp(shot).raw().toBuffer({ resolveWithObject: true });
  return [8, 24, 40, 56].map((x) => [...data.subarray((16 * info.width + x) * info.channels, (16 * info.width + x) * info.channels + (gray ? 1 : 3))]);
}

describe('PNG gamma and chromaticities (gAMA, cHRM): viewers draw through them, the rendition as sRGB', () => {
  test('gAMA 0.01 without sRGB/iCCP → 415: a browser shows the 240 grey as black (Chromium: 8), the rendition would show it near white', async () => {
    expect(viewerShows(240, 1000)).toBeLessThan(10);
    const err = await refusal(png('gray', [['gAMA', u32s(1000)]]));
    expect(err.code).toBe('unsupported_media_type');
    expect(err.extensions).toMatchObject({ reason: 'png_colour_encoding' });
    expect(err.detail).toMatch(/gamma 0\.01 \(gAMA/);
  });

  test('gAMA 1.0 (linear) → 415: a browser lightens the 128 grey to 188, the 20 to 79', async () => {
    expect([viewerShows(128, 100000), viewerShows(20, 100000)]).toEqual([188, 79]); // Chromium: 188, 79
    expect((await refusal(png('gray', [['gAMA', u32s(100000)]]))).code).toBe('unsupported_media_type');
  });

  test('cHRM with red and blue swapped → 415 (Chromium shows red as blue), with or without gAMA', async () => {
    for (const extra of [[['gAMA', u32s(45455)], ['cHRM', SWAPPED_CHRM]], [['cHRM', SWAPPED_CHRM]]] as [string, Buffer][][]) {
      const err = await refusal(png('rgb', extra));
      expect(err.code).toBe('unsupported_media_type');
      expect(err.detail).toMatch(/chromaticities other than sRGB's/);
    }
  });

  test('gAMA 1/2.2 and sRGB chromaticities (as ImageMagick writes every PNG) are archived and drawn with their samples', async () => {
    for (const g of [45455, 45000, 46000]) {
      const r = await normalise(input([png('gray', [['gAMA', u32s(g)]])]));
      const drawn = await bandsDrawn(r.rendition, true);
      if (drawn) expect(drawn.flat()).toEqual([240, 128, 20, 255]); // Chromium: 240, 128, 20, 255 for 44000–46000
    }
    const rgb = await normalise(input([png('rgb', [['gAMA', u32s(45455)], ['cHRM', SRGB_CHRM]])]));
    const drawn = await bandsDrawn(rgb.rendition, false);
    // ghostscript's colour management draws sRGB green as 1/255/0: within 2 levels.
    const want = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]];
    if (drawn) drawn.forEach((px, i) => px.forEach((v, c) => expect(Math.abs(v - want[i]![c]!)).toBeLessThanOrEqual(2)));
  });

  test('an sRGB chunk overrides gAMA and cHRM, as in browsers (Chromium draws 240 with gAMA 0.01 beside sRGB): archived', async () => {
    const r = await normalise(input([png('gray', [['sRGB', Buffer.from([0])], ['gAMA', u32s(1000)], ['cHRM', SWAPPED_CHRM]])]));
    const drawn = await bandsDrawn(r.rendition, true);
    if (drawn) expect(drawn.flat()).toEqual([240, 128, 20, 255]);
  });
});

/** An Exif APP1 payload whose IFD0 holds `entries` ([tag, type, count, value]; big-endian). */
function exif(entries: [number, number, number, number][]): Buffer {
  const b = Buffer.alloc(10 + 12 * entries.length + 4);
  b.write('MM', 0, 'latin1');
  b.writeUInt16BE(42, 2);
  b.writeUInt32BE(8, 4);
  b.writeUInt16BE(entries.length, 8);
  entries.forEach(([tag, type, count, value], i) => {
    const o = 10 + 12 * i;
    b.writeUInt16BE(tag, o);
    b.writeUInt16BE(type, o + 2);
    b.writeUInt32BE(count, o + 4);
    if (type === 3) b.writeUInt16BE(value, o + 8);
    else b.writeUInt32BE(value, o + 8);
  });
  return Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), b]);
}
const app1 = (payload: Buffer): Buffer => Buffer.concat([Buffer.from([0xff, 0xe1, (payload.length + 2) >> 8, (payload.length + 2) & 0xff]), payload]);

/** 64×32 white with a black 16×16 square at the top left, the APP1 segments right after SOI. */
async function jpeg(...segments: Buffer[]): Promise<Buffer> {
  const raw = Buffer.alloc(64 * 32 * 3, 255);
  for (let y = 0; y < 16; y++) raw.fill(0, y * 64 * 3, (y * 64 + 16) * 3);
  const plain = await sharp(raw, { raw: { width: 64, height: 32, channels: 3 } }).jpeg({ quality: 95 }).toBuffer();
  return Buffer.concat([plain.subarray(0, 2), ...segments, plain.subarray(2)]);
}

describe('JPEG Exif orientation that readers take differently', () => {
  // Chromium reads the first Exif segment only, the first Orientation tag, and only a SHORT with one value.
  const BROKEN = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), Buffer.from('XX*\0\0\0\0\0garbage!', 'latin1')]);
  test.each([
    ['an unreadable Exif segment, then one saying 3 (Chromium: not turned; the rendition was turned 180°)', [app1(BROKEN), app1(exif([[0x112, 3, 1, 3]]))]],
    ['Orientation 3 then Orientation 1 in one directory (Chromium: turned 180°; the rendition was not)', [app1(exif([[0x112, 3, 1, 3], [0x112, 3, 1, 1]]))]],
    ['Orientation 3 as a LONG (Chromium: not turned; the rendition was turned)', [app1(exif([[0x112, 4, 1, 3]]))]],
    ['Orientation 3 as a SHORT with two values (Chromium: not turned; the rendition was turned)', [app1(exif([[0x112, 3, 2, 3]]))]],
    ['two Exif segments saying 1 and 3 (Chromium takes the first; other readers may not)', [app1(exif([[0x112, 3, 1, 1]])), app1(exif([[0x112, 3, 1, 3]]))]],
  ] as [string, Buffer[]][])('%s → 422 ambiguous_orientation', async (_, segments) => {
    const err = await refusal(await jpeg(...segments));
    expect(err.code).toBe('corrupt_file');
    expect(err.extensions).toMatchObject({ reason: 'ambiguous_orientation' });
    expect(err.detail).toMatch(/orientation \(1, 3\)/);
  });

  test('one Orientation 3, after a tag out of order (Chromium: turned 180°), is archived turned, the square at the bottom right', async () => {
    const r = await normalise(input([await jpeg(app1(exif([[0x11a, 5, 1, 0], [0x112, 3, 1, 3]])))]));
    const shot = gsRender(r.rendition, 96, true);
    if (!shot) return;
    const { data, info } = await sharp(shot).raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => data[(y * info.width + x) * info.channels]!;
    expect([at(4, 4), at(info.width - 4, info.height - 4)]).toEqual([255, expect.any(Number)]);
    expect(at(info.width - 4, info.height - 4)).toBeLessThan(40);
  });
});

/** A little-endian 16×16 8-bit gray TIFF, one strip; `entries` in order, the strips' data after the directory. */
function tiff(entries: (dataAt: number) => [number, number, number, number][], strips: Buffer[]): Buffer {
  const n = entries(0).length;
  const dataAt = 8 + 2 + 12 * n + 4;
  const head = Buffer.alloc(dataAt);
  head.write('II', 0, 'latin1');
  head.writeUInt16LE(42, 2);
  head.writeUInt32LE(8, 4);
  head.writeUInt16LE(n, 8);
  entries(dataAt).forEach(([tag, type, count, value], i) => {
    const o = 10 + 12 * i;
    head.writeUInt16LE(tag, o);
    head.writeUInt16LE(type, o + 2);
    head.writeUInt32LE(count, o + 4);
    if (type === 3) head.writeUInt16LE(value, o + 8);
    else head.writeUInt32LE(value, o + 8);
  });
  return Buffer.concat([head, ...strips]);
}

describe('TIFF tags repeated in one directory: libtiff takes the first, the rendition took the last', () => {
  const BLACK = Buffer.alloc(256, 0);
  const WHITE = Buffer.alloc(256, 255);
  const tags = (photometric: number[], offsets: (at: number) => number[]) => (at: number): [number, number, number, number][] => [
    [256, 3, 1, 16], [257, 3, 1, 16], [258, 3, 1, 8], [259, 3, 1, 1],
    ...photometric.map((p): [number, number, number, number] => [262, 3, 1, p]),
    ...offsets(at).map((o): [number, number, number, number] => [273, 4, 1, o]),
    [277, 3, 1, 1], [278, 3, 1, 16], [279, 4, 1, 256],
  ];
  test.each([
    ['StripOffsets twice: a black strip, then a white one (libtiff: black; the rendition was white)', tiff(tags([1], (at) => [at, at + 256]), [BLACK, WHITE]), '273'],
    ['Photometric BlackIsZero, then WhiteIsZero (libtiff: black; the rendition was a negative)', tiff(tags([1, 0], (at) => [at]), [BLACK]), '262'],
  ] as [string, Buffer, string][])('%s → 422 repeated_tiff_tag', async (_, bytes, tag) => {
    const shown = await sharp(bytes, { failOn: 'none' }).raw().toBuffer();
    expect(shown[0]).toBe(0); // what libtiff (through libvips) shows
    const err = await refusal(bytes);
    expect(err.code).toBe('corrupt_file');
    expect(err.extensions).toMatchObject({ reason: 'repeated_tiff_tag' });
    expect(err.detail).toContain(`tag ${tag} more than once`);
  });
});

/** libvips' sRGB profile with the red and blue colorants swapped: a viewer applying it shows red as blue. */
async function swappedProfile(): Promise<Buffer> {
  const icc = Buffer.from(await srgbProfile());
  const at = (sig: string): number => {
    for (let i = 0; i < icc.readUInt32BE(128); i++) if (icc.toString('latin1', 132 + 12 * i, 136 + 12 * i) === sig) return 132 + 12 * i;
    throw new Error(sig);
  };
  const r = at('rXYZ');
  const b = at('bXYZ');
  const [ro, bo] = [icc.readUInt32BE(r + 4), icc.readUInt32BE(b + 4)];
  icc.writeUInt32BE(bo, r + 4);
  icc.writeUInt32BE(ro, b + 4);
  icc.fill(0, 84, 100); // no profile ID
  return icc;
}

/** 64×32 red, green, blue and white bands as a 4:4:4 JPEG, the given segments right after SOI. */
async function bandsJpeg(...segments: Buffer[]): Promise<Buffer> {
  const raw = Buffer.alloc(64 * 32 * 3);
  for (let i = 0; i < 64 * 32; i++) raw.set([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]][Math.floor((i % 64) / 16)]!, 3 * i);
  const plain = await sharp(raw, { raw: { width: 64, height: 32, channels: 3 } }).jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer();
  return Buffer.concat([plain.subarray(0, 2), ...segments, plain.subarray(2)]);
}
const app2 = (seq: number, count: number, data: Buffer): Buffer => {
  const payload = Buffer.concat([Buffer.from('ICC_PROFILE\0', 'latin1'), Buffer.from([seq, count]), data]);
  return Buffer.concat([Buffer.from([0xff, 0xe2, (payload.length + 2) >> 8, (payload.length + 2) & 0xff]), payload]);
};

describe('an ICC profile some viewers apply and others ignore', () => {
  test('a JPEG profile in segments numbered as libjpeg asks (here in reverse order) is applied, as Chromium applies it: red drawn blue', async () => {
    const icc = await swappedProfile();
    const h = icc.length >> 1;
    const r = await normalise(input([await bandsJpeg(app2(2, 2, icc.subarray(h)), app2(1, 2, icc.subarray(0, h)))]));
    const drawn = await bandsDrawn(r.rendition, false);
    if (drawn) {
      expect(drawn[0]![2]).toBeGreaterThan(200); // the red band, through the profile (Chromium: 0/0/254)
      expect(drawn[0]![0]).toBeLessThan(30);
    }
  });

  test.each([
    ['one segment numbered 2 of 1', (icc: Buffer) => [app2(2, 1, icc)]],
    ['one segment numbered 0 of 1', (icc: Buffer) => [app2(0, 1, icc)]],
    ['two halves numbered 1 of 1 and 2 of 2', (icc: Buffer) => [app2(1, 1, icc.subarray(0, icc.length >> 1)), app2(2, 2, icc.subarray(icc.length >> 1))]],
    ['two halves numbered 1 of 3 and 3 of 3', (icc: Buffer) => [app2(1, 3, icc.subarray(0, icc.length >> 1)), app2(3, 3, icc.subarray(icc.length >> 1))]],
  ] as [string, (icc: Buffer) => Buffer[]][])('JPEG: %s → 422 ambiguous_icc_profile (Chromium ignores the profile, the rendition applied it: red drawn blue)', async (_, segments) => {
    const err = await refusal(await bandsJpeg(...segments(await swappedProfile())));
    expect(err.code).toBe('corrupt_file');
    expect(err.extensions).toMatchObject({ reason: 'ambiguous_icc_profile' });
  });

  test('JPEG: two whole profiles each numbered 1 of 1 → 422 (Chromium applies the first, the rendition joined both and applied neither)', async () => {
    const err = await refusal(await bandsJpeg(app2(1, 1, await swappedProfile()), app2(1, 1, Buffer.from(await srgbProfile()))));
    expect(err.extensions).toMatchObject({ reason: 'ambiguous_icc_profile' });
  });

  const iccp = (icc: Buffer): [string, Buffer] => ['iCCP', Buffer.concat([Buffer.from('x\0\0', 'latin1'), zlib.deflateSync(icc)])];
  test('PNG: two iCCP chunks → 422 misplaced_colour_chunk (Chromium applies the first, the rendition applied the last)', async () => {
    const err = await refusal(png('rgb', [iccp(await swappedProfile()), iccp(Buffer.from(await srgbProfile()))]));
    expect(err.code).toBe('corrupt_file');
    expect(err.extensions).toMatchObject({ reason: 'misplaced_colour_chunk' });
    expect(err.detail).toMatch(/a second iCCP/);
  });

  test('PNG: an iCCP chunk after the image data → 422 (Chromium ignores it, the rendition applied it)', async () => {
    const good = png('rgb', []);
    const iend = good.length - 12;
    const [type, data] = iccp(await swappedProfile());
    const bytes = Buffer.concat([good.subarray(0, iend), chunk(type, data), good.subarray(iend)]);
    const err = await refusal(bytes);
    expect(err.extensions).toMatchObject({ reason: 'misplaced_colour_chunk' });
    expect(err.detail).toMatch(/out-of-place iCCP/);
  });
});

/** A two-page PDF (page 1 says TOTAL 100, page 2 TOTAL 900) whose page tree says `/Count count`. */
function twoPagePdf(count: number): Buffer {
  const stream = (d: string) => `<< /Length ${d.length} >>\nstream\n${d}\nendstream`;
  const font = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>';
  const objs = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    `<< /Type /Pages /Kids [3 0 R 4 0 R] /Count ${count} >>`,
    `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 400 150] /Contents 5 0 R /Resources << /Font << /F1 ${font} >> >> >>`,
    `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 400 150] /Contents 6 0 R /Resources << /Font << /F1 ${font} >> >> >>`,
    stream('BT /F1 48 Tf 20 50 Td (TOTAL 100) Tj ET'),
    stream('BT /F1 48 Tf 20 50 Td (TOTAL 900) Tj ET'),
  ];
  let out = '%PDF-1.4\n';
  const offsets = objs.map((o, i) => {
    const at = out.length;
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
    return at;
  });
  const xref = out.length;
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

describe('a PDF page tree whose /Count is not the number of its pages', () => {
  test('two pages under /Count 1 → 422 page_count_mismatch (pdf.js, the web app\'s preview, showed one page; ghostscript and the record two)', async () => {
    const bytes = twoPagePdf(1);
    if (haveTool('gs', false)) expect(gsRender(bytes, 36, true, 2)).toBeDefined(); // ghostscript draws a page 2
    const err = await refusal(bytes);
    expect(err.code).toBe('corrupt_file');
    expect(err.extensions).toMatchObject({ reason: 'page_count_mismatch' });
  });

  test('the same two pages under /Count 2 are archived with two pages', async () => {
    expect((await normalise(input([twoPagePdf(2)]))).pageCount).toBe(2);
  });
});

/** A TIFF of two 8-bit gray images, page 1 black 16×16, the second white `size`×`size` marked NewSubfileType `sub`. */
function tiffWithSecondImage(size: number, sub: number): Buffer {
  const dir = (w: number, s: number, at: number, next: number): Buffer => {
    const entries: [number, number, number, number][] = [[254, 4, 1, s], [256, 3, 1, w], [257, 3, 1, w], [258, 3, 1, 8], [259, 3, 1, 1],
      [262, 3, 1, 1], [273, 4, 1, at], [277, 3, 1, 1], [278, 3, 1, w], [279, 4, 1, w * w]];
    const b = Buffer.alloc(2 + 12 * entries.length + 4);
    b.writeUInt16LE(entries.length, 0);
    entries.forEach(([tag, type, count, value], i) => {
      b.writeUInt16LE(tag, 2 + 12 * i);
      b.writeUInt16LE(type, 4 + 12 * i);
      b.writeUInt32LE(count, 6 + 12 * i);
      if (type === 3) b.writeUInt16LE(value, 10 + 12 * i);
      else b.writeUInt32LE(value, 10 + 12 * i);
    });
    b.writeUInt32LE(next, 2 + 12 * entries.length);
    return b;
  };
  const size1 = 2 + 12 * 10 + 4;
  const head = Buffer.from([0x49, 0x49, 42, 0, 8, 0, 0, 0]);
  const data1 = 8 + 2 * size1;
  return Buffer.concat([head, dir(16, 0, data1, 8 + size1), dir(size, sub, data1 + 256, 0), Buffer.alloc(256, 0), Buffer.alloc(size * size, 255)]);
}

describe('a TIFF image marked reduced-resolution that is a page', () => {
  test('a second image as large as page 1 marked NewSubfileType 1 → 422 hidden_tiff_page (libtiff shows it as page 2, the rendition left it out)', async () => {
    const bytes = tiffWithSecondImage(16, 1);
    expect((await sharp(bytes).metadata()).pages).toBe(2);
    const err = await refusal(bytes);
    expect(err.code).toBe('corrupt_file');
    expect(err.extensions).toMatchObject({ reason: 'hidden_tiff_page' });
  });

  test('a smaller reduced-resolution image (a thumbnail) is still left out: one page', async () => {
    expect((await normalise(input([tiffWithSecondImage(8, 1)]))).pageCount).toBe(1);
    expect((await normalise(input([tiffWithSecondImage(16, 0)]))).pageCount).toBe(2);
  });
});

describe('a CMYK JPEG without an Adobe APP14 marker', () => {
  test('is drawn as browsers and libvips draw it (inverted CMYK, as Photoshop writes it), not as their negative', async () => {
    const raw = Buffer.alloc(64 * 32 * 3, 255);
    for (let y = 0; y < 32; y++) raw.fill(0, y * 64 * 3, (y * 64 + 32) * 3); // left half black
    const withMarker = await sharp(raw, { raw: { width: 64, height: 32, channels: 3 } }).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer();
    // The same file without its APP14 (Adobe) and APP2 (ICC) segments.
    const parts = [withMarker.subarray(0, 2)];
    for (let pos = 2; ;) {
      const m = withMarker[pos + 1]!;
      if (m === 0xda) {
        parts.push(withMarker.subarray(pos));
        break;
      }
      const end = pos + 2 + withMarker.readUInt16BE(pos + 2);
      if (m !== 0xee && m !== 0xe2) parts.push(withMarker.subarray(pos, end));
      pos = end;
    }
    const bare = Buffer.concat(parts);
    // libvips (like Chromium, measured: 0/0/0 left, 255/255/255 right) shows the left half black.
    const shown = await sharp(bare).toColourspace('srgb').raw().toBuffer();
    expect([shown[0]! < 40, shown[3 * 50]! > 215]).toEqual([true, true]);
    const r = await normalise(input([bare]));
    const drawn = await bandsDrawn(r.rendition, true); // bands at x = 8, 24 (left half), 40, 56 (right half)
    if (drawn) {
      expect(drawn[0]![0]).toBeLessThan(60); // was 255-ish: the rendition drew the negative
      expect(drawn[3]![0]).toBeGreaterThan(200);
    }
  });
});

/** A page 400×150 pt whose content (object 4) is a black square; `left` at x 20–120, else at x 280–380. */
const SQUARE = (left: boolean): PdfObject => ({ num: 4, body: '<< >>', data: Buffer.from(`0 g ${left ? 20 : 280} 20 100 100 re f`, 'latin1') });
const SQUARE_PAGE: PdfObject[] = [CATALOG(), PAGES, { num: 3, body: '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 400 150] /Contents 4 0 R /Resources << >> >>' }];

/** Where ghostscript, following the file's cross-reference data, draws the square: 'left', 'right' or 'none'. */
async function squareDrawn(pdf: Buffer): Promise<'left' | 'right' | 'none' | undefined> {
  const shot = gsRender(pdf, 72, true);
  if (!shot) return undefined;
  const { data, info } = await sharp(shot).raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number) => data[(y * info.width + x) * info.channels]!;
  return at(70, 75) < 128 ? 'left' : at(330, 75) < 128 ? 'right' : 'none';
}

/** An incremental update of `pdf` appending `objects` whose cross-reference section lists none of them. */
function unlistedUpdate(pdf: Buffer, objects: PdfObject[]): Buffer {
  const text = pdf.toString('latin1');
  const prev = Number(/startxref\s+(\d+)\s+%%EOF\s*$/.exec(text)![1]);
  const parts = [pdf, ...objects.map((o) => Buffer.concat([Buffer.from(`${o.num} 0 obj\n${o.body.replace(/>>\s*$/, ` /Length ${o.data!.length} >>`)}\nstream\n`, 'latin1'), o.data!, Buffer.from('\nendstream\nendobj\n', 'latin1')]))];
  const at = parts.reduce((n, p) => n + p.length, 0);
  parts.push(Buffer.from(`xref\n0 0\ntrailer\n<< /Size 5 /Root 1 0 R /Prev ${prev} >>\nstartxref\n${at}\n%%EOF\n`, 'latin1'));
  return Buffer.concat(parts);
}

describe('a PDF object a reader takes from another revision than the rendition', () => {
  // pdf-lib (the rendition) keeps the last definition in file order; a reader takes the newest xref entry's.
  test.each([
    ['the xref names the first of two definitions of the page content (gs: square at the left; the rendition drew it at the right)',
      classicPdf([...SQUARE_PAGE, SQUARE(true), SQUARE(false)], { 4: 0 }), 'left', /another definition of object 4/],
    ['an appended update redefines the content but its xref section leaves it out: a reader takes it through /Prev (the rendition took the update\'s)',
      unlistedUpdate(classicPdf([...SQUARE_PAGE, SQUARE(true)]), [SQUARE(false)]), 'left', /another definition of object 4/],
    ['the xref marks the page content free (gs: an empty page, "dereference of free object 4"; the rendition drew the square)',
      Buffer.from(classicPdf([...SQUARE_PAGE, SQUARE(false)]).toString('latin1').replace(/(xref\n0 5\n(?:.{20}){4}).{20}/s, '$10000000000 00001 f \n'), 'latin1'), 'none', /marks object 4 free/],
  ] as [string, Buffer, string, RegExp][])('%s → 422 corrupt_file', async (_, pdf, shown, detail) => {
    const drawn = await squareDrawn(pdf);
    if (drawn) expect(drawn).toBe(shown);
    const err = await refusal(pdf);
    expect(err.code).toBe('corrupt_file');
    expect(err.detail).toMatch(detail);
  });

  test('an update that names its new content and frees an object nothing refers to any more is archived, drawn as readers draw it', async () => {
    const base = classicPdf([...SQUARE_PAGE, SQUARE(true), { num: 5, body: '<< >>', data: Buffer.from('q Q') }]);
    const updated = incrementalUpdate(base, [{ num: 3, body: SQUARE_PAGE[2]!.body.replace('4 0 R', '6 0 R') }]);
    // Object 6 (the square at the right) appended, object 4 freed: the old page's content, now unreferenced.
    const text = updated.toString('latin1');
    const prev = Number(/startxref\s+(\d+)\s+%%EOF\s*$/.exec(text)![1]);
    const six = Buffer.from(`6 0 obj\n<< /Length 24 >>\nstream\n0 g 280 20 100 100 re f\nendstream\nendobj\n`, 'latin1');
    const at = updated.length + six.length;
    const pdf = Buffer.concat([updated, six, Buffer.from(`xref\n4 1\n0000000000 00001 f \n6 1\n${String(updated.length).padStart(10, '0')} 00000 n \ntrailer\n<< /Size 7 /Root 1 0 R /Prev ${prev} >>\nstartxref\n${at}\n%%EOF\n`, 'latin1')]);
    expect((await squareDrawn(pdf)) ?? 'right').toBe('right');
    const r = await normalise(input([pdf]));
    expect(r.conversion.conformance).toBe('PDF/A-2b');
    expect((await squareDrawn(r.rendition)) ?? 'right').toBe('right');
  });
});

/** The square page with a Square annotation whose appearance paints white over the square, flags `flags`. */
function coveredSquarePdf(flags: string): Buffer {
  const page = { ...SQUARE_PAGE[2]!, body: SQUARE_PAGE[2]!.body.replace('/Resources << >>', '/Resources << >> /Annots [5 0 R]') };
  return classicPdf([SQUARE_PAGE[0]!, SQUARE_PAGE[1]!, page, SQUARE(true),
    { num: 5, body: `<< /Type /Annot /Subtype /Square /Rect [10 10 130 130] ${flags} /C [1 1 1] /IC [1 1 1] /AP << /N 6 0 R >> >>` },
    { num: 6, body: '<< /Type /XObject /Subtype /Form /BBox [0 0 120 120] >>', data: Buffer.from('1 g 0 0 120 120 re f', 'latin1') }]);
}

/** Whether ghostscript shows the square, drawing for the screen or (`printed`) for a printer, as it honours the print flag. */
function squareShown(pdf: Buffer, printed: boolean): boolean | undefined {
  if (!haveTool('gs', false)) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'faces-'));
  try {
    writeFileSync(join(dir, 'in.pdf'), pdf);
    const pgm = execFileSync('gs', ['-q', '-dNOPAUSE', '-dBATCH', '-dSAFER', '-sDEVICE=pgmraw', '-r72', `-dPrinted=${printed}`, '-sOutputFile=-', join(dir, 'in.pdf')]);
    const head = /^P5\s+(?:#[^\n]*\n\s*)*(\d+)\s+\d+\s+\d+\s/.exec(pgm.toString('latin1', 0, 200))!;
    return pgm[head[0].length + 75 * Number(head[1]) + 70]! < 128;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('an annotation drawn on screen but not in print', () => {
  test('white over the amount without the print flag: no PDF/A rendition (its print flag set, a printed rendition hid what a printed original shows)', async () => {
    const pdf = coveredSquarePdf('');
    const [screen, print] = [squareShown(pdf, false), squareShown(pdf, true)];
    if (screen !== undefined) expect([screen, print]).toEqual([false, true]); // the original: covered on screen, shown in print
    const r = await normalise(input([pdf]));
    expect(r.conversion.conformance).toBe('none');
    expect(r.conversion.conformanceReason).toMatch(/drawn on screen but not in print/);
    expect(r.rendition.equals(pdf)).toBe(true); // printed, it shows what the original shows
  });

  test('the same annotation with the print flag is archived as PDF/A-2b, covered on screen and in print alike', async () => {
    const r = await normalise(input([coveredSquarePdf('/F 4')]));
    expect(r.conversion.conformance).toBe('PDF/A-2b');
    const shown = [squareShown(r.rendition, false), squareShown(r.rendition, true)];
    if (shown[0] !== undefined) expect(shown).toEqual([false, false]);
  });
});

describe('TIFF Orientation 1–8 (5–8 transposed): the rendition turns the page as libvips, which reads the tag, does', () => {
  /** 32×16 white, a black 8×8 block at the top left and a grey 8×4 one at the bottom right, Orientation `o`. */
  const oriented = (o: number): Buffer => {
    const px = Buffer.alloc(32 * 16, 255);
    for (let y = 0; y < 8; y++) px.fill(0, y * 32, y * 32 + 8);
    for (let y = 12; y < 16; y++) px.fill(128, y * 32 + 24, y * 32 + 32);
    return tiff((at) => [[256, 3, 1, 32], [257, 3, 1, 16], [258, 3, 1, 8], [259, 3, 1, 1], [262, 3, 1, 1], [273, 4, 1, at], [274, 3, 1, o],
      [277, 3, 1, 1], [278, 3, 1, 16], [279, 4, 1, 512]], [px]);
  };
  test.each([1, 2, 3, 4, 5, 6, 7, 8])('Orientation %d', async (o) => {
    const bytes = oriented(o);
    const shown = await sharp(bytes).rotate().raw().toBuffer({ resolveWithObject: true }); // libvips autorotate: what a viewer honouring the tag shows
    expect([shown.info.width, shown.info.height]).toEqual(o >= 5 ? [16, 32] : [32, 16]);
    const r = await normalise(input([bytes]));
    expect(r.conversion.pages[0]).toMatchObject({ orientation: o });
    const shot = gsRender(r.rendition, 72, true);
    if (!shot) return;
    const drawn = await sharp(shot).resize(shown.info.width, shown.info.height, { fit: 'fill', kernel: 'nearest' }).raw().toBuffer({ resolveWithObject: true });
    const n = shown.info.width * shown.info.height;
    let diff = 0;
    for (let i = 0; i < n; i++) diff += Math.abs(drawn.data[i * drawn.info.channels]! - shown.data[i * shown.info.channels]!);
    expect(diff / n).toBeLessThan(8); // a wrong turn or mirror differs by ~50 or more
  });
});

describe('PDF page geometry and optional content are carried over as uploaded: every reader draws the rendition as the original', () => {
  // A CropBox hiding the right half and /Rotate 90, both inherited from the page tree, /UserUnit 2, and two
  // optional content groups (the left square's off in the default configuration, the right one's on).
  const pdf = classicPdf([
    CATALOG('/OCProperties << /OCGs [5 0 R 6 0 R] /D << /Name (Default) /BaseState /ON /OFF [5 0 R] /Order [5 0 R 6 0 R] >> >>'),
    { num: 2, body: '<< /Type /Pages /Kids [3 0 R] /Count 1 /Rotate 90 /CropBox [0 0 330 150] >>' },
    { num: 3, body: '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 400 150] /UserUnit 2 /Contents 4 0 R /Resources << /Properties << /a 5 0 R /b 6 0 R >> >> >>' },
    { num: 4, body: '<< >>', data: Buffer.from('/OC /a BDC 0 g 20 20 100 100 re f EMC /OC /b BDC 0.5 g 200 20 180 100 re f EMC', 'latin1') },
    { num: 5, body: '<< /Type /OCG /Name (a) /Usage << /Print << /PrintState /ON >> /View << /ViewState /OFF >> >> >>' },
    { num: 6, body: '<< /Type /OCG /Name (b) >>' },
  ]);
  test('the rendition (PDF/A-2b) draws as the original in ghostscript: for the screen and for print, its MediaBox and its CropBox', async () => {
    const r = await normalise(input([pdf]));
    expect(r.conversion.conformance).toBe('PDF/A-2b');
    for (const [printed, box] of [[false, '-dUseMediaBox'], [true, '-dUseMediaBox'], [false, '-dUseCropBox']] as [boolean, string][]) {
      const faces = [pdf, r.rendition].map((p) => {
        if (!haveTool('gs', false)) return undefined;
        const dir = mkdtempSync(join(tmpdir(), 'faces-'));
        try {
          writeFileSync(join(dir, 'in.pdf'), p);
          return execFileSync('gs', ['-q', '-dNOPAUSE', '-dBATCH', '-dSAFER', '-sDEVICE=pgmraw', '-r36', `-dPrinted=${printed}`, box, '-sOutputFile=-', join(dir, 'in.pdf')]);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
      if (faces[0]) {
        // UserUnit 2 at 36 dpi, turned; the MediaBox, or the CropBox as pdf.js draws it.
        expect(faces[0].toString('latin1', 0, 80)).toMatch(box === '-dUseCropBox' ? /\n150 330\s/ : /\n150 400\s/);
        expect(faces[1]!.equals(faces[0])).toBe(true);
      }
    }
  });
});

describe('JPEG: an XMP tiff:Orientation beside the Exif one', () => {
  const xmp = (o: number): Buffer => app1(Buffer.from(`http://ns.adobe.com/xap/1.0/\0<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="${o}"/></rdf:RDF></x:xmpmeta>`, 'latin1'));
  // Chromium and libvips read the Exif orientation only; the Metadata Working Group's rule has Exif win over XMP too.
  test.each([
    ['Exif 1, XMP 3: not turned', [app1(exif([[0x112, 3, 1, 1]])), xmp(3)], false],
    ['XMP 3 before Exif 1: not turned', [xmp(3), app1(exif([[0x112, 3, 1, 1]]))], false],
    ['Exif 3, XMP 1: turned 180°', [app1(exif([[0x112, 3, 1, 3]])), xmp(1)], true],
    ['XMP 3 and no Exif: not turned', [xmp(3)], false],
  ] as [string, Buffer[], boolean][])('%s, as libvips turns it', async (_, segments, turned) => {
    const bytes = await jpeg(...segments);
    const shown = await sharp(bytes).rotate().raw().toBuffer({ resolveWithObject: true });
    expect(shown.data[(4 * 64 + 4) * shown.info.channels]! < 40).toBe(!turned); // the black square at the top left
    const r = await normalise(input([bytes]));
    expect(r.conversion.pages[0]).toMatchObject({ orientation: turned ? 3 : 1 });
    const shot = gsRender(r.rendition, 96, true);
    if (!shot) return;
    const { data, info } = await sharp(shot).raw().toBuffer({ resolveWithObject: true });
    expect(data[(4 * info.width + 4) * info.channels]! < 40).toBe(!turned);
  });
});

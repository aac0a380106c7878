import { PDFBool, PDFDict, PDFName } from 'pdf-lib';
import sharp from 'sharp';
import { NormaliseResult } from '../../../shared/normalise';
import {
  corpus, decodeFlateImage, Decoded, g4Tiff, gsRender, LIMITS, pdfaProblems, qpdfCheck, renditionPages, run, tiffStrips,
} from './helpers';

/** Image uploads in the corpus: how each page must be carried, page count and page size in points. */
const JPEGS: Record<string, [number, number]> = {
  'img2pdf/normal.jpg': [115, 48], // JFIF 72 dpi
  'img2pdf/CMYK.jpg': [115, 48],
  'ocrmypdf/baiona_color.jpg': [480, 511.5], // no resolution: 96 dpi default
  'ocrmypdf/baiona_cmyk.jpg': [230.4, 245.52], // 200 dpi
  'derived/baiona-progressive.jpg': [480, 511.5],
  'derived/baiona-gray.jpg': [480, 511.5],
  'derived/baiona-exif-orientation-8.jpg': [511.5, 480], // shown rotated: width and height swap
};
const CCITT: Record<string, [number, number][]> = {
  'derived/linn-g4.tif': [[612, 792]],
  'derived/linn-g4-multistrip.tif': [[612, 792]],
  'derived/linn-g3.tif': [[918, 1188]], // 200 dpi
  'derived/two-pages-g4.tif': [[612, 792], [960, 687.36]],
};
/** Pages whose pixels are compared; `page` picks a TIFF page; 'cmyk-raw' compares with the uncompressed strip bytes. */
const PIXELS: Record<string, { sizes: [number, number][]; passedThrough?: boolean }> = {
  'img2pdf/normal.png': { sizes: [[114.9856, 47.994]], passedThrough: true },
  'img2pdf/gray.png': { sizes: [[114.9856, 47.994]], passedThrough: true },
  'img2pdf/mono.png': { sizes: [[114.9856, 47.994]], passedThrough: true },
  'ocrmypdf/baiona.png': { sizes: [[480, 511.5]], passedThrough: true },
  'ocrmypdf/baiona_gray.png': { sizes: [[480, 511.5]], passedThrough: true },
  'ocrmypdf/baiona_colormapped.png': { sizes: [[480, 511.5]], passedThrough: true },
  'ocrmypdf/baiona_alpha.png': { sizes: [[480, 511.5]] },
  'ocrmypdf/crom.png': { sizes: [[300, 37.5]], passedThrough: true },
  'ocrmypdf/linn.png': { sizes: [[1912.5, 2475]], passedThrough: true },
  'derived/baiona-16bit.png': { sizes: [[480, 511.5]], passedThrough: true },
  'derived/baiona-interlaced.png': { sizes: [[480, 511.5]] },
  'img2pdf/mono.tif': { sizes: [[115, 48]] },
  'img2pdf/CMYK.tif': { sizes: [[114.9856, 47.994]] },
  'derived/baiona-lzw.tif': { sizes: [[480, 511.5]] },
  'derived/baiona-packbits.tif': { sizes: [[480, 511.5]] },
  'derived/baiona-gray-uncompressed.tif': { sizes: [[480, 511.5]] },
  'derived/mixed-lzw-rgb-plus-g4.tif': { sizes: [[480, 511.5], [612, 792]] },
};

const results = new Map<string, NormaliseResult>();
async function result(f: string): Promise<NormaliseResult> {
  let r = results.get(f);
  if (!r) {
    r = await run(f);
    results.set(f, r);
  }
  return r;
}

function expectSizes(pages: { width: number; height: number; rotate: number }[], sizes: [number, number][]): void {
  expect(pages.length).toBe(sizes.length);
  pages.forEach((p, i) => {
    const swap = p.rotate % 180 !== 0;
    expect(swap ? p.height : p.width).toBeCloseTo(sizes[i]![0], 2);
    expect(swap ? p.width : p.height).toBeCloseTo(sizes[i]![1], 2);
  });
}

async function sharpDecode(bytes: Buffer, page: number, channels: number, depth: 8 | 16): Promise<{ data: Uint16Array; channels: number; alpha?: Uint16Array }> {
  let img = sharp(bytes, { page, limitInputPixels: false });
  const meta = await img.metadata();
  const hasAlpha = meta.hasAlpha ?? false;
  img = img.toColourspace(channels === 1 ? (depth === 16 ? 'grey16' : 'b-w') : depth === 16 ? 'rgb16' : 'srgb');
  const { data, info } = await img.raw(depth === 16 ? { depth: 'ushort' } : {}).toBuffer({ resolveWithObject: true });
  const all = depth === 16 ? new Uint16Array(data.buffer, data.byteOffset, data.length / 2) : new Uint16Array(data);
  const n = info.width * info.height;
  const color = new Uint16Array(n * channels);
  const alpha = hasAlpha ? new Uint16Array(n) : undefined;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < channels; c++) color[i * channels + c] = all[i * info.channels + c]!;
    if (alpha) alpha[i] = all[i * info.channels + info.channels - 1]!;
  }
  return { data: color, channels, ...(alpha ? { alpha } : {}) };
}

function firstDifference(a: Uint16Array, b: Uint16Array): number {
  if (a.length !== b.length) return -2;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

async function checkRendition(r: NormaliseResult): Promise<void> {
  expect(r.conversion.conformance).toBe('PDF/A-2b');
  expect(await pdfaProblems(r.rendition)).toEqual([]);
  const q = qpdfCheck(r.rendition);
  if (q) expect(q).toEqual({ ok: true, output: expect.stringContaining('No syntax or stream encoding errors') });
}

describe('JPEG: DCT data passed through byte for byte', () => {
  test.each(Object.keys(JPEGS))('%s', async (f) => {
    const r = await result(f);
    const { pages } = await renditionPages(r.rendition);
    expectSizes(pages, [JPEGS[f]!]);
    expect(pages[0]!.images).toHaveLength(1);
    const img = pages[0]!.images[0]!;
    expect(img.dict.get(PDFName.of('Filter'))?.toString()).toBe('/DCTDecode');
    expect(img.raw.equals(corpus(f))).toBe(true);
    expect(r.conversion.pages[0]).toMatchObject({ handling: 'passed-through', check: 'stream-identity', sourceFormat: 'image/jpeg' });
    await checkRendition(r);
  });

  test('Adobe CMYK JPEGs get /Decode [1 0 1 0 1 0 1 0]; colours not inverted', async () => {
    for (const f of ['img2pdf/CMYK.jpg', 'ocrmypdf/baiona_cmyk.jpg']) {
      const { pages } = await renditionPages((await result(f)).rendition);
      expect(pages[0]!.images[0]!.dict.get(PDFName.of('Decode'))?.toString()).toBe('[ 1 0 1 0 1 0 1 0 ]');
    }
    const png = gsRender((await result('ocrmypdf/baiona_cmyk.jpg')).rendition, 200, false);
    if (png) {
      const a = await sharp(png).removeAlpha().resize(32, 32, { fit: 'fill' }).raw().toBuffer();
      const b = await sharp(corpus('ocrmypdf/baiona_cmyk.jpg')).toColourspace('srgb').resize(32, 32, { fit: 'fill' }).raw().toBuffer();
      let diff = 0;
      for (let i = 0; i < a.length; i++) diff += Math.abs(a[i]! - b[i]!);
      expect(diff / a.length).toBeLessThan(8); // inverted would be ~100+
    }
  });

  test('EXIF orientation 8 is shown upright through the placement matrix', async () => {
    const r = await result('derived/baiona-exif-orientation-8.jpg');
    const { pages } = await renditionPages(r.rendition);
    expect(pages[0]!.content).toContain('0 480 -511.5 0 511.5 0 cm');
    const png = gsRender(r.rendition, 96, false);
    if (png) {
      const a = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const b = await sharp(corpus('derived/baiona-exif-orientation-8.jpg')).rotate().raw().toBuffer({ resolveWithObject: true });
      expect([a.info.width, a.info.height]).toEqual([b.info.width, b.info.height]);
      let diff = 0;
      for (let i = 0; i < a.data.length; i++) diff += Math.abs(a.data[i]! - b.data[i]!);
      expect(diff / a.data.length).toBeLessThan(1);
    }
  });
});

/** Multi-strip G4 pages: re-encoded as one G4 strip, proven by pixel equality (not stream identity). */
const REENCODED = new Set(['derived/linn-g4-multistrip.tif']);

describe('CCITT TIFF: single G3/G4 strips passed through byte for byte, multi-strip G4 re-encoded losslessly, black stays black', () => {
  test.each(Object.keys(CCITT))('%s', async (f) => {
    const r = await result(f);
    const { pdf, pages } = await renditionPages(r.rendition);
    expectSizes(pages, CCITT[f]!);
    const tiff = tiffStrips(corpus(f));
    for (const [i, p] of pages.entries()) {
      const strips = tiff[i]!.strips;
      for (const im of p.images) expect(im.dict.get(PDFName.of('Filter'))?.toString()).toBe('/CCITTFaxDecode');
      if (REENCODED.has(f)) {
        expect(strips.length).toBeGreaterThan(1);
        expect(p.images).toHaveLength(1);
        const im = p.images[0]!;
        const parms = pdf.context.lookup(im.dict.get(PDFName.of('DecodeParms'))) as PDFDict;
        const width = tiff[i]!.width;
        const height = tiff[i]!.height;
        expect(parms.get(PDFName.of('K'))?.toString()).toBe('-1');
        expect(parms.get(PDFName.of('Columns'))?.toString()).toBe(String(width));
        expect(parms.get(PDFName.of('Rows'))?.toString()).toBe(String(height));
        expect(im.dict.get(PDFName.of('Width'))?.toString()).toBe(String(width));
        expect(im.dict.get(PDFName.of('Height'))?.toString()).toBe(String(height));
        // The embedded stream, decoded by libtiff as the PDF declares it, has the original's pixels.
        const blackIs1 = parms.get(PDFName.of('BlackIs1')) === PDFBool.True;
        const a = await sharp(g4Tiff(width, height, im.raw, blackIs1), { failOn: 'error' }).toColourspace('b-w').raw().toBuffer();
        const b = await sharp(corpus(f), { page: i }).toColourspace('b-w').raw().toBuffer();
        expect(a.length).toBe(width * height);
        expect(a.equals(b)).toBe(true);
        expect(r.conversion.pages[i]).toMatchObject({
          handling: 'lossless-converted', check: 'pixel-equality', compression: 'ccitt-g4', images: 1,
          notes: expect.arrayContaining([expect.stringMatching(/^\d+ CCITT G4 strips re-encoded as one G4 strip/)]),
        });
      } else {
        expect(p.images.map((im, k) => im.raw.equals(strips[k]!))).toEqual(strips.map(() => true));
        expect(r.conversion.pages[i]).toMatchObject({ handling: 'passed-through', check: 'stream-identity', images: strips.length });
      }
    }
    // Rendered at the scan's own resolution, ghostscript's pixels equal libtiff's.
    for (let i = 0; i < pages.length; i++) {
      const dpi = f.includes('g3') ? 200 : 300;
      const png = gsRender(r.rendition, dpi, true, i + 1);
      if (!png) break;
      const a = await sharp(png).toColourspace('b-w').raw().toBuffer();
      const b = await sharp(corpus(f), { page: i }).toColourspace('b-w').raw().toBuffer();
      expect(a.length).toBe(b.length);
      expect(a.equals(b)).toBe(true);
    }
    await checkRendition(r);
  });

  test('multi-strip G4: the re-encode is deterministic; over the decompression limit the strips are passed through byte for byte', async () => {
    const f = 'derived/linn-g4-multistrip.tif';
    const again = await run(f);
    expect(again.rendition.equals((await result(f)).rendition)).toBe(true);
    const strips = tiffStrips(corpus(f))[0]!.strips;
    // 2550×3300 one-byte pixels would exceed a 4 MB ceiling: no decode for the re-encode, pass-through instead.
    const r = await run(f, { limits: { ...LIMITS, maxDecompressedBytes: 4_000_000 } });
    const { pages } = await renditionPages(r.rendition);
    expect(pages[0]!.images.map((im, k) => im.raw.equals(strips[k]!))).toEqual(strips.map(() => true));
    expect(r.conversion.pages[0]).toMatchObject({
      handling: 'passed-through', check: 'stream-identity', images: strips.length,
      notes: expect.arrayContaining([expect.stringMatching(/^not re-encoded as one G4 strip \(2550×3300 pixels exceed the decompression limit\)$/)]),
    });
    await checkRendition(r);
  });
});

describe('PNG and TIFF: decoded pixels of the rendition equal the original', () => {
  test.each(Object.keys(PIXELS))('%s', async (f) => {
    const spec = PIXELS[f]!;
    const r = await result(f);
    const { pdf, pages } = await renditionPages(r.rendition);
    expectSizes(pages, spec.sizes);
    const bytes = corpus(f);
    const tiff = f.endsWith('.tif') ? tiffStrips(bytes) : undefined;
    for (const [i, page] of pages.entries()) {
      if (tiff && (tiff[i]!.compression === 4 || tiff[i]!.compression === 3)) continue; // CCITT page, checked above
      expect(page.images).toHaveLength(1);
      const img = page.images[0]!;
      const dec: Decoded = decodeFlateImage(pdf, img);
      if (f === 'img2pdf/CMYK.tif') {
        // libvips colour-manages CMYK; the file is uncompressed, so its strip bytes are the truth.
        expect(Buffer.from(dec.data).equals(Buffer.concat(tiff![0]!.strips).subarray(0, dec.data.length))).toBe(true);
        continue;
      }
      const ref = await sharpDecode(bytes, i, dec.channels, dec.depth);
      expect(firstDifference(dec.data, ref.data)).toBe(-1);
      if (ref.alpha) {
        expect(img.smask).toBeDefined();
        const alpha = decodeFlateImage(pdf, img.smask!);
        expect(firstDifference(alpha.data, ref.alpha)).toBe(-1);
      } else expect(img.smask).toBeUndefined();
      const rec = r.conversion.pages[i]!;
      if (spec.passedThrough) expect(rec).toMatchObject({ handling: 'passed-through', check: 'stream-identity' });
      else expect(rec).toMatchObject({ handling: 'lossless-converted', check: 'pixel-equality' });
    }
    await checkRendition(r);
  });

  test('PNG pass-through: the stream is the IDAT payload with PNG predictors declared', async () => {
    const r = await result('ocrmypdf/baiona.png');
    const { pdf, pages } = await renditionPages(r.rendition);
    const img = pages[0]!.images[0]!;
    expect(pdf.context.lookup(img.dict.get(PDFName.of('DecodeParms')))?.toString()).toMatch(/\/Predictor 15[\s\S]*\/Colors 3[\s\S]*\/BitsPerComponent 8[\s\S]*\/Columns 640/);
    const png = corpus('ocrmypdf/baiona.png');
    expect(png.includes(img.raw.subarray(0, 1000))).toBe(true);
  });

  test('palette PNG stays /Indexed', async () => {
    const { pages } = await renditionPages((await result('ocrmypdf/baiona_colormapped.png')).rendition);
    expect(pages[0]!.images[0]!.dict.toString()).toContain('/Indexed');
  });

  test('JPEG-in-TIFF: each strip is passed through (pixels equal libtiff, strip bytes unchanged)', async () => {
    const f = 'derived/baiona-jpeg-in.tif';
    const r = await result(f);
    const { pages } = await renditionPages(r.rendition);
    expectSizes(pages, [[480, 511.5]]);
    const strips = tiffStrips(corpus(f))[0]!.strips;
    expect(pages[0]!.images).toHaveLength(strips.length);
    let row = 0;
    for (const [k, im] of pages[0]!.images.entries()) {
      expect(im.raw.subarray(im.raw.length - strips[k]!.length + 2).equals(strips[k]!.subarray(2))).toBe(true);
      const a = await sharp(im.raw).raw().toBuffer({ resolveWithObject: true });
      const b = await sharp(corpus(f)).extract({ left: 0, top: row, width: 640, height: a.info.height }).raw().toBuffer();
      expect(a.data.equals(b)).toBe(true);
      row += a.info.height;
    }
    expect(row).toBe(682);
    expect(r.conversion.pages[0]).toMatchObject({ handling: 'passed-through', check: 'stream-identity' });
    await checkRendition(r);
  });
});

import sharp, { Sharp } from 'sharp';
import { normalise } from '../../../shared/normalise';
import { decodeFlateImage, input, pdfaProblems, renditionPages } from './helpers';

/**
 * Synthetic images in the PNG and TIFF variants libvips writes (bit depths, alpha,
 * interlacing, palettes, TIFF compressions and predictors): the samples decoded
 * from the rendition equal libvips' decode of the upload.
 */
function pixels(w: number, h: number, channels: number, seed: number): Buffer {
  const b = Buffer.alloc(w * h * channels);
  let x = seed >>> 0;
  for (let i = 0; i < b.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    // smooth ramps plus noise, so predictors and palettes have something to do
    b[i] = ((i % (w * channels)) * 3 + (x >>> 28)) & 255;
  }
  return b;
}

type Make = (img: Sharp) => Sharp;
const CASES: [string, number, Make][] = [
  ['PNG RGB', 3, (i) => i.png()],
  ['PNG RGBA', 4, (i) => i.png()],
  ['PNG gray', 1, (i) => i.toColourspace('b-w').png()],
  ['PNG gray+alpha', 2, (i) => i.png()],
  ['PNG 16-bit RGB', 3, (i) => i.toColourspace('rgb16').png()],
  ['PNG 16-bit RGBA interlaced', 4, (i) => i.toColourspace('rgb16').png({ progressive: true })],
  ['PNG interlaced gray', 1, (i) => i.toColourspace('b-w').png({ progressive: true })],
  ['PNG palette 4 colours (2-bit)', 3, (i) => i.png({ palette: true, colours: 4, dither: 0 })],
  ['PNG palette 16 colours interlaced (4-bit)', 3, (i) => i.png({ palette: true, colours: 16, dither: 0, progressive: true })],
  ['PNG palette with transparency', 4, (i) => i.png({ palette: true, colours: 64, dither: 0 })],
  ['TIFF LZW RGB predictor', 3, (i) => i.tiff({ compression: 'lzw', predictor: 'horizontal' })],
  ['TIFF Deflate RGBA predictor', 4, (i) => i.tiff({ compression: 'deflate', predictor: 'horizontal' })],
  ['TIFF PackBits gray', 1, (i) => i.toColourspace('b-w').tiff({ compression: 'packbits' })],
  ['TIFF uncompressed gray+alpha', 2, (i) => i.tiff({ compression: 'none' })],
  ['TIFF 16-bit RGB LZW predictor', 3, (i) => i.toColourspace('rgb16').tiff({ compression: 'lzw', predictor: 'horizontal' })],
  ['TIFF 1-bit deflate', 1, (i) => i.toColourspace('b-w').tiff({ compression: 'deflate', bitdepth: 1, predictor: 'none' })],
  ['TIFF 2-bit uncompressed', 1, (i) => i.toColourspace('b-w').tiff({ compression: 'none', bitdepth: 2 })],
  ['TIFF 4-bit LZW', 1, (i) => i.toColourspace('b-w').tiff({ compression: 'lzw', bitdepth: 4, predictor: 'none' })],
];

describe('round trip of synthetic PNG and TIFF variants', () => {
  test.each(CASES)('%s', async (_name, channels, make) => {
    const w = 67;
    const h = 41;
    const file = await make(sharp(pixels(w, h, channels, w * h + channels), { raw: { width: w, height: h, channels: channels as 1 | 2 | 3 | 4 } })).toBuffer();
    const r = await normalise(input([file]));
    expect(await pdfaProblems(r.rendition)).toEqual([]);
    const { pdf, pages } = await renditionPages(r.rendition);
    const img = pages[0]!.images[0]!;
    const dec = decodeFlateImage(pdf, img);
    const meta = await sharp(file).metadata();
    const depth16 = dec.depth === 16;
    const space = dec.channels === 1 ? (depth16 ? 'grey16' : 'b-w') : depth16 ? 'rgb16' : 'srgb';
    const ref = await sharp(file).toColourspace(space).raw(depth16 ? { depth: 'ushort' } : {}).toBuffer({ resolveWithObject: true });
    const all = depth16 ? new Uint16Array(ref.data.buffer, ref.data.byteOffset, ref.data.length / 2) : new Uint16Array(ref.data);
    const n = w * h;
    const color = new Uint16Array(n * dec.channels);
    for (let i = 0; i < n; i++) for (let c = 0; c < dec.channels; c++) color[i * dec.channels + c] = all[i * ref.info.channels + c]!;
    expect(Buffer.from(dec.data.buffer).equals(Buffer.from(color.buffer))).toBe(true);
    if (meta.hasAlpha) {
      expect(img.smask).toBeDefined();
      const alpha = decodeFlateImage(pdf, img.smask!);
      const want = new Uint16Array(n);
      for (let i = 0; i < n; i++) want[i] = all[i * ref.info.channels + ref.info.channels - 1]!;
      expect(Buffer.from(alpha.data.buffer).equals(Buffer.from(want.buffer))).toBe(true);
    } else expect(img.smask).toBeUndefined();
    expect(r.conversion.pages[0]!.check).not.toBe('none');
  });
});

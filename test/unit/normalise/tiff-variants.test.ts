import sharp from 'sharp';
import { normalise } from '../../../shared/normalise';
import { corpus, decodeFlateImage, gsRender, input, pdfaProblems, qpdfCheck, renditionPages, run, tiffStrips } from './helpers';

/**
 * TIFF layouts scanners write, re-encoded from corpus files with libtiff's tiffcp:
 * each rendition, rendered by ghostscript at the scan's own resolution, has the
 * pixels libtiff decodes from the original (CCITT pages also keep their bytes).
 */
const VARIANTS: [string, 'passed-through' | 'lossless-converted'][] = [
  ['tiffcp/g4-fill2.tif', 'passed-through'],
  ['tiffcp/g3-2d.tif', 'passed-through'],
  ['tiffcp/g3-1d-nofill.tif', 'passed-through'],
  ['tiffcp/jpeg-ycbcr.tif', 'passed-through'],
  ['tiffcp/tiled-lzw.tif', 'lossless-converted'],
  ['tiffcp/planar-packbits.tif', 'lossless-converted'],
  ['tiffcp/big-endian-lzw.tif', 'lossless-converted'],
];

describe('TIFF layouts', () => {
  test('a G4 page cut in hundreds of strips is decoded, kept 1-bit, pixels equal', async () => {
    const { data, info } = await sharp(corpus('derived/linn-g4.tif')).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    const tif = await sharp(data, { raw: { width: info.width, height: info.height, channels: 1 } }).toColourspace('b-w').tiff({ compression: 'ccittfax4', bitdepth: 1, tileHeight: 8 }).toBuffer();
    expect(tiffStrips(tif)[0]!.strips.length).toBe(413);
    const r = await normalise(input([tif]));
    expect(r.conversion.pages[0]).toMatchObject({ handling: 'lossless-converted', check: 'pixel-equality', images: 1 });
    const { pdf, pages } = await renditionPages(r.rendition);
    const dec = decodeFlateImage(pdf, pages[0]!.images[0]!);
    expect(pages[0]!.images[0]!.dict.toString()).toContain('/BitsPerComponent 1');
    expect(Buffer.from(Uint8Array.from(dec.data)).equals(data)).toBe(true);
    expect(await pdfaProblems(r.rendition)).toEqual([]);
  });

  test.each(VARIANTS)('%s is %s and renders with the original pixels', async (f, handling) => {
    const r = await run(f);
    expect(r.conversion.pages[0]).toMatchObject({ handling });
    expect(await pdfaProblems(r.rendition)).toEqual([]);
    const q = qpdfCheck(r.rendition);
    if (q) expect(q.ok).toBe(true);
    const bytes = corpus(f);
    const bilevel = /g[34]/.test(f);
    if (bilevel) {
      const { pages } = await renditionPages(r.rendition);
      const strip = tiffStrips(bytes)[0]!.strips[0]!;
      const fill2 = f.includes('fill2');
      // FillOrder 2: the stream is the strip with each byte's bits reversed, nothing else.
      const reversed = Buffer.from(strip.map((b) => parseInt(b.toString(2).padStart(8, '0').split('').reverse().join(''), 2)));
      expect(pages[0]!.images[0]!.raw.equals(fill2 ? reversed : strip)).toBe(true);
    }
    const png = gsRender(r.rendition, r.conversion.pages[0]!.dpi!.x, bilevel);
    if (!png) return;
    const space = bilevel ? 'b-w' : 'srgb';
    const a = await sharp(png).removeAlpha().toColourspace(space).raw().toBuffer();
    const b = await sharp(bytes).toColourspace(space).raw().toBuffer();
    expect(a.length).toBe(b.length);
    expect(a.equals(b)).toBe(true);
  });
});

import sharp from 'sharp';
import { corpus, gsRender, pdfaProblems, qpdfCheck, renditionPages, run, tiffStrips } from './helpers';

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

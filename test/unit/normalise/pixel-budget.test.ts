/** Pixel budget per request: the sum over every page of every file, refused from headers before anything is decoded. */
import fc from 'fast-check';
import sharp from 'sharp';
import { normalise } from '../../../shared/normalise';
import { readdirSync } from 'fs';
import { loadConfig } from '../../../shared/config';
import { declaredPixels } from '../../../shared/normalise/budget';
import { corpus, CORPUS, input, LIMITS } from './helpers';
import { minimalLocalEnv } from '../../support/config-env';
import { pngChunk as chunk } from '../../support/png';

/** A PNG whose header declares width×height (interlaced when asked) and whose image data is garbage: decoding it can only fail. */
function declaredPng(width: number, height: number, interlace: boolean): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  ihdr[12] = interlace ? 1 : 0;
  return Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), chunk('IHDR', ihdr), chunk('IDAT', Buffer.from('not deflate data')), chunk('IEND', Buffer.alloc(0))]);
}

/** A real multi-page Deflate TIFF made by libvips from a "toilet roll" image: `pages` pages of width×height gray. */
async function deflateTiff(width: number, height: number, pages: number): Promise<Buffer> {
  const tall = Buffer.alloc(width * height * pages, 128);
  return sharp(tall, { raw: { width, height: height * pages, channels: 1, pageHeight: height } }).tiff({ compression: 'deflate' }).toBuffer();
}

describe('pixel budget per request', () => {
  it('refuses an interlaced PNG over the decoded budget from its header (the garbage data is never inflated)', async () => {
    const bomb = declaredPng(12247, 12247, true);
    const err = await normalise(input([bomb], { limits: { ...LIMITS, maxPixelsPerRequest: 1_000_000_000, maxDecodedPixelsPerRequest: 100_000_000 } })).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'pixel_budget_exceeded', extensions: { decodedPixels: 12247 * 12247, maxDecodedPixelsPerRequest: 100_000_000 } });
    expect((err as Error).message).toMatch(/149,?989,?009 pixels/);
  });

  it('counts pages across files, not per page: each file fits, together they do not', async () => {
    // Four 5000×5000 headers (25 MP each, within the per-page limit): 100 MP in all.
    const files = [1, 2, 3, 4].map(() => declaredPng(5000, 5000, false));
    await expect(normalise(input(files, { limits: { ...LIMITS, maxPixelsPerRequest: 80_000_000 } }))).rejects.toMatchObject({
      code: 'pixel_budget_exceeded',
      extensions: { totalPixels: 100_000_000, maxPixelsPerRequest: 80_000_000 },
    });
  });

  it('refuses a multi-page Deflate TIFF whose pages sum above the budget, before decoding any page', async () => {
    const tiff = await deflateTiff(400, 300, 6);
    const limits = { ...LIMITS, maxPixelsPerRequest: 10_000_000, maxDecodedPixelsPerRequest: 5 * 400 * 300 };
    await expect(normalise(input([tiff], { limits }))).rejects.toMatchObject({ code: 'pixel_budget_exceeded', extensions: { decodedPixels: 6 * 400 * 300 } });
    // One page fewer fits.
    const five = await deflateTiff(400, 300, 5);
    await expect(normalise(input([five], { limits }))).resolves.toMatchObject({ pageCount: 5 });
  });

  it('property: a request is refused exactly when its declared pixels exceed the budget', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ w: fc.integer({ min: 1, max: 4000 }), h: fc.integer({ min: 1, max: 4000 }) }), { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 40_000_000 }), async (dims, budget) => {
        const total = dims.reduce((n, d) => n + d.w * d.h, 0);
        const err = await normalise(input(dims.map((d) => declaredPng(d.w, d.h, false)), { limits: { ...LIMITS, maxPixelsPerRequest: budget } })).catch((e: { code?: string }) => e);
        // Within budget the garbage image data is reached and refused as corrupt: the budget never hides that.
        expect((err as { code?: string }).code).toBe(total > budget ? 'pixel_budget_exceeded' : 'corrupt_file');
      }),
      { numRuns: 40 },
    );
  });

  it('the default budgets accept every corpus image and a 100-page fine-mode fax', () => {
    const config = loadConfig(minimalLocalEnv);
    const limits = { ...LIMITS, maxPixelsPerRequest: config.ARCHIVE_MAX_PIXELS_PER_REQUEST, maxDecodedPixelsPerRequest: config.ARCHIVE_MAX_DECODED_PIXELS_PER_REQUEST };
    const images = readdirSync(CORPUS, { recursive: true, encoding: 'utf8' }).filter((f) => /\.(jpe?g|png|tiff?)$/i.test(f) && !f.startsWith('bad'));
    expect(images.length).toBeGreaterThan(10);
    for (const f of images) {
      const mediaType = /\.png$/i.test(f) ? 'image/png' : /\.tiff?$/i.test(f) ? 'image/tiff' : 'image/jpeg';
      let declared;
      try {
        declared = declaredPixels([{ bytes: corpus(f), mediaType }], limits);
      } catch {
        continue; // refused for another reason (the refusal tests say which)
      }
      expect({ f, ...declared, over: declared.totalPixels > limits.maxPixelsPerRequest || declared.decodedPixels > limits.maxDecodedPixelsPerRequest }).toMatchObject({ f, over: false });
    }
    // Fine-mode G4 fax, A4: 1728×2292 pixels a page, passed through (not decoded).
    expect(100 * 1728 * 2292).toBeLessThanOrEqual(limits.maxPixelsPerRequest);
  });
});

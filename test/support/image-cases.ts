import sharp, { Sharp } from 'sharp';
import { mulberry32 } from './prng';

/**
 * Seeded random scans for the conformance run (`npm run conformance`) and the property tests:
 * sizes, bit depths, colour types, EXIF orientations, CMYK with and without an embedded
 * profile, interlacing, palettes, TIFF compressions and multi-page TIFFs — the variety a
 * rendition must survive. Same seed, same files.
 */
export interface ImageCase {
  name: string;
  /** One upload: usually one file, sometimes several images that make one document. */
  files: Buffer[];
}

/** A small, fast, seedable PRNG (mulberry32). */
export const prng = mulberry32;

type Rand = () => number;
const int = (r: Rand, min: number, max: number) => min + Math.floor(r() * (max - min + 1));
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

/** Ramps plus noise, so predictors, palettes and JPEG have something to do. */
function pixels(r: Rand, w: number, h: number, channels: number): Buffer {
  const b = Buffer.alloc(w * h * channels);
  const noise = int(r, 0, 64);
  const slope = int(r, 1, 5);
  for (let i = 0; i < b.length; i++) b[i] = (((i % (w * channels)) * slope + Math.floor(r() * noise)) & 255);
  return b;
}

function raw(r: Rand, w: number, h: number, channels: 1 | 2 | 3 | 4): Sharp {
  return sharp(pixels(r, w, h, channels), { raw: { width: w, height: h, channels } });
}

type Maker = (r: Rand, w: number, h: number) => Promise<Buffer>;

/** Each maker is one kind of scan; the name says which. */
const MAKERS: [string, Maker][] = [
  ['jpeg baseline rgb', (r, w, h) => raw(r, w, h, 3).jpeg({ quality: int(r, 40, 95) }).toBuffer()],
  ['jpeg progressive rgb', (r, w, h) => raw(r, w, h, 3).jpeg({ progressive: true }).toBuffer()],
  ['jpeg gray', (r, w, h) => raw(r, w, h, 1).toColourspace('b-w').jpeg().toBuffer()],
  ['jpeg 4:4:4', (r, w, h) => raw(r, w, h, 3).jpeg({ chromaSubsampling: '4:4:4' }).toBuffer()],
  ['jpeg cmyk without profile', (r, w, h) => raw(r, w, h, 3).toColourspace('cmyk').jpeg().toBuffer()],
  ['jpeg cmyk with profile', (r, w, h) => raw(r, w, h, 3).toColourspace('cmyk').withIccProfile('cmyk').jpeg().toBuffer()],
  ['jpeg rgb with sRGB profile', (r, w, h) => raw(r, w, h, 3).withIccProfile('srgb').jpeg().toBuffer()],
  ['jpeg exif orientation', (r, w, h) => raw(r, w, h, 3).withMetadata({ orientation: int(r, 1, 8) }).jpeg().toBuffer()],
  ['png rgb', (r, w, h) => raw(r, w, h, 3).png({ compressionLevel: int(r, 0, 9) }).toBuffer()],
  ['png rgba', (r, w, h) => raw(r, w, h, 4).png().toBuffer()],
  ['png gray', (r, w, h) => raw(r, w, h, 1).toColourspace('b-w').png().toBuffer()],
  ['png gray+alpha', (r, w, h) => raw(r, w, h, 2).png().toBuffer()],
  ['png 16-bit rgb', (r, w, h) => raw(r, w, h, 3).toColourspace('rgb16').png().toBuffer()],
  ['png 16-bit gray', (r, w, h) => raw(r, w, h, 1).toColourspace('grey16').png().toBuffer()],
  ['png interlaced', (r, w, h) => raw(r, w, h, pick(r, [1, 3, 4] as const)).png({ progressive: true }).toBuffer()],
  ['png palette', (r, w, h) => raw(r, w, h, 3).png({ palette: true, colours: pick(r, [2, 4, 16, 256]), dither: 0 }).toBuffer()],
  ['png palette with transparency', (r, w, h) => raw(r, w, h, 4).png({ palette: true, colours: 64, dither: 0 }).toBuffer()],
  ['png with sRGB profile', (r, w, h) => raw(r, w, h, 3).withIccProfile('srgb').png().toBuffer()],
  ['tiff lzw rgb', (r, w, h) => raw(r, w, h, 3).tiff({ compression: 'lzw', predictor: pick(r, ['none', 'horizontal'] as const) }).toBuffer()],
  ['tiff deflate rgba', (r, w, h) => raw(r, w, h, 4).tiff({ compression: 'deflate', predictor: 'horizontal' }).toBuffer()],
  ['tiff packbits gray', (r, w, h) => raw(r, w, h, 1).toColourspace('b-w').tiff({ compression: 'packbits' }).toBuffer()],
  ['tiff uncompressed cmyk', (r, w, h) => raw(r, w, h, 3).toColourspace('cmyk').tiff({ compression: 'none' }).toBuffer()],
  ['tiff jpeg', (r, w, h) => raw(r, w, h, 3).tiff({ compression: 'jpeg' }).toBuffer()],
  ['tiff 16-bit rgb', (r, w, h) => raw(r, w, h, 3).toColourspace('rgb16').tiff({ compression: 'lzw' }).toBuffer()],
  ['tiff low bit depth gray', (r, w, h) => raw(r, w, h, 1).toColourspace('b-w').tiff({ compression: 'deflate', predictor: 'none', bitdepth: pick(r, [1, 2, 4] as const) }).toBuffer()],
  ['tiff ccitt g4', (r, w, h) => raw(r, w, h, 1).toColourspace('b-w').tiff({ compression: 'ccittfax4', bitdepth: 1 }).toBuffer()],
  ['tiff multi-page g4', async (r, w, h) => multiPage(r, w, h, (img) => img.toColourspace('b-w').tiff({ compression: 'ccittfax4', bitdepth: 1 }))],
  ['tiff multi-page lzw', async (r, w, h) => multiPage(r, w, h, (img) => img.tiff({ compression: 'lzw' }))],
];

async function multiPage(r: Rand, w: number, h: number, encode: (img: Sharp) => Sharp): Promise<Buffer> {
  const pages = await Promise.all(Array.from({ length: int(r, 2, 4) }, () => raw(r, w, h, 3).png().toBuffer()));
  return encode(sharp(pages, { join: { animated: true } })).toBuffer();
}

/** `count` cases from `seed`: every kind appears, then random kinds; a few uploads of several images. */
export async function imageCases(count: number, seed: number): Promise<ImageCase[]> {
  const r = prng(seed);
  const cases: ImageCase[] = [];
  for (let i = 0; i < count; i++) {
    const [kind, make] = i < MAKERS.length ? MAKERS[i]! : pick(r, MAKERS);
    const w = pick(r, [1, 2, 7, int(r, 8, 120), int(r, 120, 480)]);
    const h = pick(r, [1, 3, int(r, 8, 120), int(r, 120, 480)]);
    const files = [await make(r, w, h)];
    // Now and then several images in one upload (one document, one page each).
    if (i % 17 === 16) files.push(await pick(r, MAKERS.filter(([n]) => !n.startsWith('tiff multi')))[1](r, w, h));
    cases.push({ name: `${String(i).padStart(3, '0')} ${kind} ${w}x${h}${files.length > 1 ? ` +${files.length - 1} file` : ''}`, files });
  }
  return cases;
}

import sharp from 'sharp';

/**
 * ICC profiles for OutputIntents and ICCBased colour spaces. They come from the
 * libvips that sharp bundles (sRGB: 480 B, v4.2; CMYK: ~960 KB printer profile),
 * read once per process. Same sharp build → same bytes → deterministic output.
 */
let srgb: Promise<Buffer> | undefined;
let cmyk: Promise<Buffer> | undefined;

async function profileOf(space: 'srgb' | 'cmyk'): Promise<Buffer> {
  let img = sharp({ create: { width: 1, height: 1, channels: 3, background: '#ffffff' } });
  if (space === 'cmyk') img = img.toColourspace('cmyk');
  const out = await img.withIccProfile(space).tiff().toBuffer();
  const icc = (await sharp(out).metadata()).icc;
  if (!icc || !iccInfo(icc)) throw new Error(`sharp gave no usable ${space} ICC profile`);
  return icc;
}

export function srgbProfile(): Promise<Buffer> {
  return (srgb ??= profileOf('srgb'));
}
export function cmykProfile(): Promise<Buffer> {
  return (cmyk ??= profileOf('cmyk'));
}

export interface IccInfo {
  n: 1 | 3 | 4;
  space: string;
  deviceClass: string;
  version: number;
}

/** Minimal ICC header validation: size, 'acsp' signature, a colour space PDF can use. */
export function iccInfo(icc: Buffer): IccInfo | undefined {
  if (icc.length < 132) return undefined;
  if (icc.readUInt32BE(0) !== icc.length) return undefined;
  if (icc.toString('latin1', 36, 40) !== 'acsp') return undefined;
  const major = icc[8]!;
  if (major < 2 || major > 4) return undefined;
  const deviceClass = icc.toString('latin1', 12, 16);
  if (!['scnr', 'mntr', 'prtr', 'spac'].includes(deviceClass)) return undefined;
  const space = icc.toString('latin1', 16, 20);
  const n = space === 'GRAY' ? 1 : space === 'RGB ' ? 3 : space === 'CMYK' ? 4 : undefined;
  if (!n) return undefined;
  const tagCount = icc.readUInt32BE(128);
  if (132 + tagCount * 12 > icc.length) return undefined;
  return { n, space, deviceClass, version: major + icc[9]! / 256 };
}

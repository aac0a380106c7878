import sharp from 'sharp';
import { buildCmykProfile } from './icc-cmyk';

/**
 * ICC profiles for OutputIntents and ICCBased colour spaces, made once per process.
 * sRGB: the libvips one that sharp bundles (480 B, v4.2; same sharp build → same bytes).
 * CMYK: generated in code (icc-cmyk.ts, ~21 KB, v2.4 printer profile of the naive
 * DeviceCMYK conversion) instead of libvips' ~960 KB profile; always the same bytes.
 */
let srgb: Promise<Buffer> | undefined;
let cmyk: Promise<Buffer> | undefined;
const BUILT_IN = new Set<Buffer>();

function builtIn(icc: Buffer, what: string): Buffer {
  if (!iccInfo(icc)) throw new Error(`no usable ${what} ICC profile`);
  BUILT_IN.add(icc);
  return icc;
}

async function srgbOfSharp(): Promise<Buffer> {
  const out = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#ffffff' } }).withIccProfile('srgb').tiff().toBuffer();
  const icc = (await sharp(out).metadata()).icc;
  if (!icc) throw new Error('sharp gave no sRGB ICC profile');
  return builtIn(icc, 'sRGB');
}

export function srgbProfile(): Promise<Buffer> {
  return (srgb ??= srgbOfSharp());
}
export function cmykProfile(): Promise<Buffer> {
  return (cmyk ??= Promise.resolve().then(() => builtIn(buildCmykProfile(), 'CMYK')));
}
/** True for the very buffers srgbProfile() and cmykProfile() gave (their compressed forms may be cached). */
export function isBuiltInProfile(icc: Buffer): boolean {
  return BUILT_IN.has(icc);
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

/**
 * A compact CMYK output profile built here, in code (ICC.1:2001-04, version 2.4).
 *
 * Why: libvips' CMYK printer profile is ~960 KB (~413 KB Flate) and would be embedded in every
 * rendition with CMYK content that brings no profile of its own; third-party profiles cannot be
 * copied for licence reasons. This one is ~21 KB (~16 KB Flate).
 *
 * Colour model: the "naive" conversion a viewer applies to DeviceCMYK when no profile is given,
 *   R = (1−C)(1−K), G = (1−M)(1−K), B = (1−Y)(1−K)   (sRGB-encoded values)
 * then sRGB → linear → XYZ (D65) → Bradford → XYZ (D50) → CIELAB (D50). The inverse (B2A) goes
 * CIELAB → XYZ D50 → Bradford → linear sRGB → clip → sRGB encoding, K = 1 − max(R, G, B),
 * C = (1 − R − K)/(1 − K) … (K = 1, C = M = Y = 0 for black).
 *
 * Tags: desc, cprt, wtpt (D50), A2B0 (lut16 CMYK→Lab, 7⁴ grid), B2A0 (lut16 Lab→CMYK, 9³ grid),
 * gamt (lut16 Lab→1, everything in gamut); A2B1/A2B2 and B2A1/B2A2 share A2B0's and B2A0's data.
 * The lut16 Lab PCS uses the ICC v2 legacy encoding: L* = 100 at 0xFF00, a*, b* = 0 at 0x8000,
 * one unit = 0x100. Pure arithmetic on fixed inputs: the same bytes every run.
 */

/** Grid points per channel. */
const A2B_GRID = 7;
const B2A_GRID = 9;

export const CMYK_PROFILE_DESCRIPTION = 'document-archive CMYK (naive, generated)';
const COPYRIGHT = 'No copyright, use freely';

// ---------- colour arithmetic ----------

type Vec3 = [number, number, number];
type Mat3 = [Vec3, Vec3, Vec3];

/** PCS illuminant (ICC D50) and sRGB's white (IEC 61966-2-1 primaries, D65). */
const D50: Vec3 = [0.9642, 1.0, 0.8249];
const SRGB_TO_XYZ_D65: Mat3 = [
  [0.4124, 0.3576, 0.1805],
  [0.2126, 0.7152, 0.0722],
  [0.0193, 0.1192, 0.9505],
];
const BRADFORD: Mat3 = [
  [0.8951, 0.2664, -0.1614],
  [-0.7502, 1.7135, 0.0367],
  [0.0389, -0.0685, 1.0296],
];

function mul(m: Mat3, v: Vec3): Vec3 {
  return [
    m[0][0] * v[0] + m[0][1] * v[1] + m[0][2] * v[2],
    m[1][0] * v[0] + m[1][1] * v[1] + m[1][2] * v[2],
    m[2][0] * v[0] + m[2][1] * v[1] + m[2][2] * v[2],
  ];
}
function mulM(a: Mat3, b: Mat3): Mat3 {
  const c0 = mul(a, [b[0][0], b[1][0], b[2][0]]);
  const c1 = mul(a, [b[0][1], b[1][1], b[2][1]]);
  const c2 = mul(a, [b[0][2], b[1][2], b[2][2]]);
  return [
    [c0[0], c1[0], c2[0]],
    [c0[1], c1[1], c2[1]],
    [c0[2], c1[2], c2[2]],
  ];
}
function inv(m: Mat3): Mat3 {
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const A = e * i - f * h, B = -(d * i - f * g), C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return [
    [A / det, -(b * i - c * h) / det, (b * f - c * e) / det],
    [B / det, (a * i - c * g) / det, -(a * f - c * d) / det],
    [C / det, -(a * h - b * g) / det, (a * e - b * d) / det],
  ];
}

/** Linear sRGB → XYZ D50: sRGB's matrix, then Bradford from sRGB's own white (row sums) to D50. */
const RGB_TO_D50: Mat3 = (() => {
  const d65 = mul(SRGB_TO_XYZ_D65, [1, 1, 1]);
  const src = mul(BRADFORD, d65);
  const dst = mul(BRADFORD, D50);
  const scale: Mat3 = [[dst[0] / src[0], 0, 0], [0, dst[1] / src[1], 0], [0, 0, dst[2] / src[2]]];
  return mulM(mulM(inv(BRADFORD), mulM(scale, BRADFORD)), SRGB_TO_XYZ_D65);
})();
const D50_TO_RGB = inv(RGB_TO_D50);

const toLinear = (v: number): number => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
const toSrgb = (v: number): number => (v <= 0.0031308 ? v * 12.92 : 1.055 * v ** (1 / 2.4) - 0.055);

const EPS = 216 / 24389;
const KAPPA = 24389 / 27;
const labF = (t: number): number => (t > EPS ? Math.cbrt(t) : (KAPPA * t + 16) / 116);
const labFInv = (f: number): number => (f ** 3 > EPS ? f ** 3 : (116 * f - 16) / KAPPA);

function xyzToLab(xyz: Vec3): Vec3 {
  const fx = labF(xyz[0] / D50[0]), fy = labF(xyz[1] / D50[1]), fz = labF(xyz[2] / D50[2]);
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}
function labToXyz(lab: Vec3): Vec3 {
  const fy = (lab[0] + 16) / 116;
  const fx = fy + lab[1] / 500, fz = fy - lab[2] / 200;
  return [labFInv(fx) * D50[0], labFInv(fy) * D50[1], labFInv(fz) * D50[2]];
}

/** CMYK (0..1) → sRGB-encoded RGB (0..1), the naive DeviceCMYK conversion. */
export function naiveCmykToSrgb(c: number, m: number, y: number, k: number): Vec3 {
  return [(1 - c) * (1 - k), (1 - m) * (1 - k), (1 - y) * (1 - k)];
}
/** CMYK (0..1) → CIELAB (D50) through the naive conversion and sRGB. */
export function naiveCmykToLab(c: number, m: number, y: number, k: number): Vec3 {
  const rgb = naiveCmykToSrgb(c, m, y, k);
  return xyzToLab(mul(RGB_TO_D50, [toLinear(rgb[0]), toLinear(rgb[1]), toLinear(rgb[2])]));
}
/** CIELAB (D50) → CMYK (0..1): to sRGB, clipped, then K = 1 − max(R, G, B). */
export function naiveLabToCmyk(lab: Vec3): [number, number, number, number] {
  const lin = mul(D50_TO_RGB, labToXyz(lab));
  const [r, g, b] = lin.map((v) => toSrgb(Math.min(1, Math.max(0, v)))) as Vec3;
  const k = 1 - Math.max(r, g, b);
  // Near black the C, M, Y ratios are noise (and invisible under K): plain black.
  if (k > 1 - 1e-4) return [0, 0, 0, 1];
  return [(1 - r - k) / (1 - k), (1 - g - k) / (1 - k), (1 - b - k) / (1 - k), k];
}

// ---------- ICC encoding ----------

const u16 = (v: number): number => Math.min(0xffff, Math.max(0, Math.round(v)));
/** ICC v2 (legacy 16-bit) Lab encoding used by lut16Type: L* 100 → 0xFF00, a*, b* 0 → 0x8000. */
export const encodeLab16 = (lab: Vec3): Vec3 => [u16(lab[0] * 652.8), u16((lab[1] + 128) * 256), u16((lab[2] + 128) * 256)];
export const decodeLab16 = (v: Vec3): Vec3 => [v[0] / 652.8, v[1] / 256 - 128, v[2] / 256 - 128];

const s15f16 = (v: number): number => Math.round(v * 65536);

function padded(b: Buffer): Buffer {
  return b.length % 4 === 0 ? b : Buffer.concat([b, Buffer.alloc(4 - (b.length % 4))]);
}

function textDescription(text: string): Buffer {
  const ascii = Buffer.from(`${text}\0`, 'latin1');
  const b = Buffer.alloc(12 + ascii.length + 4 + 4 + 2 + 1 + 67);
  b.write('desc', 0, 'latin1');
  b.writeUInt32BE(ascii.length, 8);
  ascii.copy(b, 12);
  // Unicode language/count, ScriptCode code/count and its 67 bytes: all zero (none given).
  return b;
}
function textType(text: string): Buffer {
  return Buffer.concat([Buffer.from('text\0\0\0\0', 'latin1'), Buffer.from(`${text}\0`, 'latin1')]);
}
function xyzType(xyz: Vec3): Buffer {
  const b = Buffer.alloc(20);
  b.write('XYZ ', 0, 'latin1');
  xyz.forEach((v, i) => b.writeInt32BE(s15f16(v), 8 + i * 4));
  return b;
}

/**
 * lut16Type ('mft2') with identity matrix and identity 2-entry input/output tables; `clut` gives
 * the output values (0..65535) for a grid point, indices in file order (first input varies slowest).
 */
function lut16(inputs: number, outputs: number, grid: number, clut: (idx: number[]) => number[]): Buffer {
  const points = grid ** inputs;
  const b = Buffer.alloc(52 + inputs * 2 * 2 + points * outputs * 2 + outputs * 2 * 2);
  b.write('mft2', 0, 'latin1');
  b[8] = inputs;
  b[9] = outputs;
  b[10] = grid;
  for (let i = 0; i < 3; i++) b.writeInt32BE(0x10000, 12 + i * 16); // identity e00, e11, e22
  b.writeUInt16BE(2, 48);
  b.writeUInt16BE(2, 50);
  let o = 52;
  for (let i = 0; i < inputs; i++, o += 4) b.writeUInt16BE(0xffff, o + 2);
  const idx = new Array<number>(inputs).fill(0);
  for (let p = 0; p < points; p++) {
    let rest = p;
    for (let i = inputs - 1; i >= 0; i--) {
      idx[i] = rest % grid;
      rest = Math.floor(rest / grid);
    }
    const vals = clut(idx);
    if (vals.length !== outputs) throw new Error('lut16: wrong number of outputs');
    for (const v of vals) {
      b.writeUInt16BE(u16(v), o);
      o += 2;
    }
  }
  for (let i = 0; i < outputs; i++, o += 4) b.writeUInt16BE(0xffff, o + 2);
  return b;
}

function a2b(): Buffer {
  const n = A2B_GRID - 1;
  return lut16(4, 3, A2B_GRID, ([c, m, y, k]) => encodeLab16(naiveCmykToLab(c! / n, m! / n, y! / n, k! / n)));
}
function b2a(): Buffer {
  const n = B2A_GRID - 1;
  return lut16(3, 4, B2A_GRID, ([l, a, b]) => {
    const lab = decodeLab16([(l! * 0xffff) / n, (a! * 0xffff) / n, (b! * 0xffff) / n]);
    return naiveLabToCmyk(lab).map((v) => v * 0xffff);
  });
}
function gamut(): Buffer {
  return lut16(3, 1, 2, () => [0]);
}

/** Builds the profile (a fresh buffer each call; callers cache it). */
export function buildCmykProfile(): Buffer {
  const data: Array<{ sigs: string[]; body: Buffer }> = [
    { sigs: ['desc'], body: textDescription(CMYK_PROFILE_DESCRIPTION) },
    { sigs: ['cprt'], body: textType(COPYRIGHT) },
    { sigs: ['wtpt'], body: xyzType(D50) },
    { sigs: ['A2B0', 'A2B1', 'A2B2'], body: a2b() },
    { sigs: ['B2A0', 'B2A1', 'B2A2'], body: b2a() },
    { sigs: ['gamt'], body: gamut() },
  ];
  const tagCount = data.reduce((s, d) => s + d.sigs.length, 0);
  const table = Buffer.alloc(4 + tagCount * 12);
  table.writeUInt32BE(tagCount, 0);
  let offset = 128 + table.length;
  let t = 4;
  const bodies: Buffer[] = [];
  for (const d of data) {
    for (const sig of d.sigs) {
      table.write(sig, t, 'latin1');
      table.writeUInt32BE(offset, t + 4);
      table.writeUInt32BE(d.body.length, t + 8);
      t += 12;
    }
    const p = padded(d.body);
    bodies.push(p);
    offset += p.length;
  }

  const h = Buffer.alloc(128);
  h.writeUInt32BE(offset, 0); // profile size
  h.writeUInt32BE(0x02400000, 8); // version 2.4
  h.write('prtr', 12, 'latin1');
  h.write('CMYK', 16, 'latin1');
  h.write('Lab ', 20, 'latin1');
  // Creation date: fixed (2026-01-01 00:00:00) so the bytes never change.
  [2026, 1, 1, 0, 0, 0].forEach((v, i) => h.writeUInt16BE(v, 24 + i * 2));
  h.write('acsp', 36, 'latin1');
  h.writeUInt32BE(0, 64); // rendering intent: perceptual
  D50.forEach((v, i) => h.writeInt32BE(s15f16(v), 68 + i * 4));
  // Platform, flags, manufacturer, model, attributes, creator, profile ID and reserved bytes: zero.
  return Buffer.concat([h, table, ...bodies]);
}

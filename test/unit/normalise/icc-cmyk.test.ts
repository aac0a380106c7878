import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as zlib from 'zlib';
import { PDFArray, PDFName, PDFRawStream, PDFRef } from 'pdf-lib';
import sharp from 'sharp';
import { cmykProfile, iccInfo } from '../../../shared/normalise/icc';
import {
  buildCmykProfile, CMYK_PROFILE_DESCRIPTION, decodeLab16, encodeLab16, naiveCmykToLab, naiveCmykToSrgb, naiveLabToCmyk,
} from '../../../shared/normalise/icc-cmyk';
import { pdfaProblems, qpdfCheck, renditionPages, run, tiffStrips } from './helpers';

const icc = buildCmykProfile();

interface Tag { sig: string; offset: number; size: number }
function tagTable(p: Buffer): Tag[] {
  const n = p.readUInt32BE(128);
  return Array.from({ length: n }, (_, i) => {
    const o = 132 + i * 12;
    return { sig: p.toString('latin1', o, o + 4), offset: p.readUInt32BE(o + 4), size: p.readUInt32BE(o + 8) };
  });
}
function tag(sig: string): Buffer {
  const t = tagTable(icc).find((x) => x.sig === sig);
  if (!t) throw new Error(`no ${sig}`);
  return icc.subarray(t.offset, t.offset + t.size);
}

/** An uncompressed 8-bit CMYK TIFF (one strip) carrying `profile` (tag 34675), little-endian. */
function cmykTiff(width: number, height: number, px: Buffer, profile: Buffer): Buffer {
  const bpsOff = 8 + px.length;
  const iccOff = bpsOff + 8;
  const ifdOff = iccOff + profile.length + (profile.length % 2);
  const tags: [number, number, number, number][] = [
    [256, 4, 1, width], [257, 4, 1, height], [258, 3, 4, bpsOff], [259, 3, 1, 1], [262, 3, 1, 5], [273, 4, 1, 8],
    [277, 3, 1, 4], [278, 4, 1, height], [279, 4, 1, px.length], [284, 3, 1, 1], [332, 3, 1, 1], [34675, 7, profile.length, iccOff],
  ];
  const ifd = Buffer.alloc(2 + tags.length * 12 + 4);
  ifd.writeUInt16LE(tags.length, 0);
  tags.forEach(([t, type, count, value], i) => {
    const o = 2 + i * 12;
    ifd.writeUInt16LE(t, o);
    ifd.writeUInt16LE(type, o + 2);
    ifd.writeUInt32LE(count, o + 4);
    if (type === 3 && count === 1) ifd.writeUInt16LE(value, o + 8);
    else ifd.writeUInt32LE(value, o + 8);
  });
  const head = Buffer.from([0x49, 0x49, 42, 0, 0, 0, 0, 0]);
  head.writeUInt32LE(ifdOff, 4);
  const bps = Buffer.from([8, 0, 8, 0, 8, 0, 8, 0]);
  return Buffer.concat([head, px, bps, profile, Buffer.alloc(profile.length % 2), ifd]);
}

describe('generated CMYK profile: structure', () => {
  test('header: v2.4 prtr CMYK→Lab, perceptual, D50, size, acsp, zero profile ID', () => {
    expect(icc.readUInt32BE(0)).toBe(icc.length);
    expect(icc.length % 4).toBe(0);
    expect(icc.length).toBeLessThanOrEqual(40 * 1024);
    expect(icc.readUInt32BE(8)).toBe(0x02400000);
    expect(icc.toString('latin1', 12, 24)).toBe('prtrCMYKLab ');
    expect(icc.toString('latin1', 36, 40)).toBe('acsp');
    expect(icc.readUInt32BE(64)).toBe(0);
    expect([icc.readInt32BE(68), icc.readInt32BE(72), icc.readInt32BE(76)]).toEqual([0xf6d6, 0x10000, 0xd32d]);
    expect(icc.subarray(84, 100).equals(Buffer.alloc(16))).toBe(true);
    expect(iccInfo(icc)).toMatchObject({ n: 4, space: 'CMYK', deviceClass: 'prtr' });
    expect(Math.floor(iccInfo(icc)!.version)).toBe(2);
  });

  test('tag table: required tags, aligned, in bounds, output-profile intents share the LUTs', () => {
    const tags = tagTable(icc);
    const sigs = tags.map((t) => t.sig);
    expect(new Set(sigs).size).toBe(sigs.length);
    for (const s of ['desc', 'cprt', 'wtpt', 'A2B0', 'A2B1', 'A2B2', 'B2A0', 'B2A1', 'B2A2', 'gamt']) expect(sigs).toContain(s);
    const tableEnd = 132 + tags.length * 12;
    for (const t of tags) {
      expect(t.offset % 4).toBe(0);
      expect(t.offset).toBeGreaterThanOrEqual(tableEnd);
      expect(t.offset + t.size).toBeLessThanOrEqual(icc.length);
      expect(icc.readUInt32BE(t.offset + 4)).toBe(0); // reserved
    }
    const entry = (s: string) => tags.find((t) => t.sig === s)!;
    for (const s of ['A2B1', 'A2B2']) expect(entry(s)).toEqual({ ...entry('A2B0'), sig: s });
    for (const s of ['B2A1', 'B2A2']) expect(entry(s)).toEqual({ ...entry('B2A0'), sig: s });
    // Distinct data do not overlap.
    const distinct = [...new Map(tags.map((t) => [t.offset, t])).values()].sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < distinct.length; i++) expect(distinct[i]!.offset).toBeGreaterThanOrEqual(distinct[i - 1]!.offset + distinct[i - 1]!.size);
  });

  test('tag types: desc, text, XYZ D50 and lut16 tables of consistent size', () => {
    const desc = tag('desc');
    expect(desc.toString('latin1', 0, 4)).toBe('desc');
    const n = desc.readUInt32BE(8);
    expect(desc.toString('latin1', 12, 12 + n)).toBe(`${CMYK_PROFILE_DESCRIPTION}\0`);
    expect(desc.length).toBe(12 + n + 4 + 4 + 2 + 1 + 67);
    const cprt = tag('cprt');
    expect(cprt.toString('latin1', 0, 4)).toBe('text');
    expect(cprt[cprt.length - 1]).toBe(0);
    const wtpt = tag('wtpt');
    expect(wtpt.toString('latin1', 0, 4)).toBe('XYZ ');
    expect([wtpt.readInt32BE(8), wtpt.readInt32BE(12), wtpt.readInt32BE(16)]).toEqual([0xf6d6, 0x10000, 0xd32d]);
    for (const [sig, inputs, outputs, minGrid, maxGrid] of [['A2B0', 4, 3, 5, 9], ['B2A0', 3, 4, 9, 17], ['gamt', 3, 1, 2, 2]] as const) {
      const t = tag(sig);
      expect(t.toString('latin1', 0, 4)).toBe('mft2');
      expect([t[8], t[9]]).toEqual([inputs, outputs]);
      const grid = t[10]!;
      expect(grid).toBeGreaterThanOrEqual(minGrid);
      expect(grid).toBeLessThanOrEqual(maxGrid);
      const inEntries = t.readUInt16BE(48), outEntries = t.readUInt16BE(50);
      expect(t.length).toBe(52 + inputs * inEntries * 2 + grid ** inputs * outputs * 2 + outputs * outEntries * 2);
    }
  });

  test('ICC v2 legacy 16-bit Lab encoding', () => {
    expect(encodeLab16([100, 0, 0])).toEqual([0xff00, 0x8000, 0x8000]);
    expect(encodeLab16([0, -128, 127 + 255 / 256])).toEqual([0, 0, 0xffff]);
    expect(decodeLab16([0xff00, 0x8000, 0x8000])).toEqual([100, 0, 0]);
    // A2B0's first grid point is CMYK 0,0,0,0 (white); K varies fastest, so point grid−1 is 0,0,0,1 (black).
    const a2b = tag('A2B0');
    const clut = 52 + 4 * 2 * a2b.readUInt16BE(48);
    const point = (i: number) => [0, 1, 2].map((j) => a2b.readUInt16BE(clut + (i * 3 + j) * 2));
    expect(point(0)).toEqual([0xff00, 0x8000, 0x8000]);
    expect(point(a2b[10]! - 1)).toEqual([0, 0x8000, 0x8000]);
    // gamt says "in gamut" everywhere.
    const gamt = tag('gamt');
    const g = 52 + 3 * 2 * gamt.readUInt16BE(48);
    for (let i = 0; i < 8; i++) expect(gamt.readUInt16BE(g + i * 2)).toBe(0);
  });

  test('deterministic and cached', async () => {
    expect(buildCmykProfile().equals(icc)).toBe(true);
    const a = await cmykProfile();
    expect(a.equals(icc)).toBe(true);
    expect(await cmykProfile()).toBe(a);
  });

  test('the colour model: naive DeviceCMYK and its inverse', () => {
    const round = (v: number[]) => v.map((x) => Math.round(x * 1000) / 1000);
    expect(round(naiveCmykToLab(0, 0, 0, 0))).toEqual([100, 0, 0]);
    expect(round(naiveCmykToLab(0, 0, 0, 1))).toEqual([0, 0, 0]);
    expect(naiveCmykToSrgb(1, 0, 0, 0.5)).toEqual([0, 0.5, 0.5]);
    const samples: [number, number, number, number][] = [[0, 0, 0, 0.5], [1, 0, 0, 0], [0, 0.6, 1, 0.2], [0.3, 0.2, 0, 0]];
    for (const [c, m, y, k] of samples) {
      expect(round(naiveLabToCmyk(naiveCmykToLab(c, m, y, k)))).toEqual(round([c, m, y, k]));
    }
    expect(naiveLabToCmyk([0, 0, 0])).toEqual([0, 0, 0, 1]);
  });
});

describe('generated CMYK profile: lcms (through sharp) uses it the right way round', () => {
  test('CMYK → sRGB through A2B0: primaries, white, black, grey, and the naive conversion overall', async () => {
    const patches = [[0, 0, 0, 0], [0, 0, 0, 255], [255, 0, 0, 0], [0, 255, 0, 0], [0, 0, 255, 0], [0, 0, 0, 128]];
    const n = 64 * 64;
    const px = Buffer.alloc(n * 4);
    let s = 12345;
    for (let i = 0; i < px.length; i++) px[i] = (s = (s * 1103515245 + 12345) & 0x7fffffff) >> 23;
    patches.forEach((p, i) => px.set(p, i * 4));
    const rgb = await sharp(cmykTiff(64, 64, px, icc)).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    expect(rgb.info.channels).toBe(3);
    const at = (i: number) => [...rgb.data.subarray(i * 3, i * 3 + 3)];
    const [white, black, cyan, magenta, yellow, grey] = patches.map((_, i) => at(i));
    for (const v of white!) expect(v).toBeGreaterThanOrEqual(250);
    for (const v of black!) expect(v).toBeLessThanOrEqual(5);
    expect(cyan![0]).toBeLessThanOrEqual(10);
    expect(Math.min(cyan![1]!, cyan![2]!)).toBeGreaterThanOrEqual(240); // libvips' press profile gives ~160/~220
    expect(magenta![1]).toBeLessThanOrEqual(10);
    expect(Math.min(magenta![0]!, magenta![2]!)).toBeGreaterThanOrEqual(240);
    expect(yellow![2]).toBeLessThanOrEqual(10);
    expect(Math.min(yellow![0]!, yellow![1]!)).toBeGreaterThanOrEqual(240);
    for (const v of grey!) expect(Math.abs(v - 127)).toBeLessThanOrEqual(4);
    let sum = 0, max = 0;
    for (let i = 0; i < n; i++) {
      const want = naiveCmykToSrgb(px[i * 4]! / 255, px[i * 4 + 1]! / 255, px[i * 4 + 2]! / 255, px[i * 4 + 3]! / 255);
      for (let j = 0; j < 3; j++) {
        const d = Math.abs(rgb.data[i * 3 + j]! - want[j]! * 255);
        sum += d;
        max = Math.max(max, d);
      }
    }
    expect(sum / n / 3).toBeLessThan(2); // grid interpolation: ~1.1 of 255 on average
    expect(max).toBeLessThan(20);
  });

  test('sRGB → CMYK through B2A0: white is no ink, black is K only, grey is K only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icc-'));
    try {
      const file = join(dir, 'naive.icc');
      writeFileSync(file, icc);
      const rgb = Buffer.from([255, 255, 255, 0, 0, 0, 128, 128, 128, 255, 0, 0]);
      const tif = await sharp(rgb, { raw: { width: 4, height: 1, channels: 3 } }).withIccProfile(file).tiff({ compression: 'none' }).toBuffer();
      const page = tiffStrips(tif)[0]!;
      expect(page.photometric).toBe(5);
      const c = [...Buffer.concat(page.strips)];
      expect(c.slice(0, 4)).toEqual([0, 0, 0, 0]);
      expect(c.slice(4, 8)).toEqual([0, 0, 0, 255]);
      expect(c.slice(8, 11).every((v) => v <= 3)).toBe(true);
      expect(Math.abs(c[11]! - 127)).toBeLessThanOrEqual(4);
      // Red: no cyan, much magenta and yellow.
      expect(c[12]).toBeLessThanOrEqual(5);
      expect(Math.min(c[13]!, c[14]!)).toBeGreaterThanOrEqual(200);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('CMYK renditions carry the generated profile', () => {
  test.each(['img2pdf/CMYK.jpg', 'ocrmypdf/baiona_cmyk.jpg', 'img2pdf/CMYK.tif'])('%s', async (f) => {
    const r = await run(f);
    const { pdf, pages } = await renditionPages(r.rendition);
    const cs = pages[0]!.images[0]!.dict.get(PDFName.of('ColorSpace'));
    const arr = (cs instanceof PDFRef ? pdf.context.lookup(cs) : cs) as PDFArray;
    expect(arr.get(0)).toBe(PDFName.of('ICCBased'));
    const stream = pdf.context.lookup(arr.get(1)) as PDFRawStream;
    expect(zlib.inflateSync(Buffer.from(stream.contents)).equals(icc)).toBe(true);
    expect(stream.contents.length).toBeLessThan(20_000);
    expect(await pdfaProblems(r.rendition)).toEqual([]);
    const q = qpdfCheck(r.rendition);
    if (q) expect(q.ok).toBe(true);
  });
});

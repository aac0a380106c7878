import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import sharp from 'sharp';
import { normalise, normaliseToFile } from '../../../shared/normalise';
import { FileBytes } from '../../../shared/normalise/file-source';
import type { NormaliseInput } from '../../../shared/normalise/types';
import type { SpooledFile } from '../../../shared/ports';
import { paddedJpeg } from '../../support/large-jpeg';
import { grayPngFromRows, PNG_SIGNATURE, pngChunk, pngChunks, restructuredPng } from '../../support/png';
import { prng } from '../../support/image-cases';
import { corpus, input } from './helpers';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let dir: string;
let n = 0;
beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spooled-normalise-'))));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function spool(bytes: Buffer): SpooledFile {
  const file = path.join(dir, `upload-${n++}`);
  fs.writeFileSync(file, bytes);
  return { path: file, size: bytes.length, sha256: sha(bytes) };
}

/** The same upload with the files marked `spool` given as spooled files instead of bytes. */
function spooledInput(files: Buffer[], spool_: boolean[]): NormaliseInput {
  const base = input(files);
  return { ...base, files: files.map((bytes, i) => (spool_[i] ? { spooled: spool(bytes) } : { bytes })) };
}

/**
 * A JPEG/ZIP polyglot with nothing after EOI: after 2 MiB of padding, a comment segment holds a ZIP
 * entry, its central directory and end record, whose own comment is the rest of the JPEG.
 */
function zipInComment(jpeg: Buffer): Buffer {
  const name = Buffer.from('x.txt');
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(name.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(name.length, 28);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(1, 8);
  eocd.writeUInt16LE(1, 10);
  eocd.writeUInt32LE(central.length + name.length, 12);
  eocd.writeUInt32LE(local.length + name.length, 16);
  eocd.writeUInt16LE(jpeg.length - 2, 20);
  const zip = Buffer.concat([local, name, central, name, eocd]);
  const com = Buffer.alloc(4);
  com.writeUInt16BE(0xfffe, 0);
  com.writeUInt16BE(zip.length + 2, 2);
  const padded = paddedJpeg(jpeg, 'z', 2 << 20);
  return Buffer.concat([padded.subarray(0, padded.length - jpeg.length + 2), com, zip, jpeg.subarray(2)]);
}

/** The in-memory and the spooled path answer alike: the same rendition (its SHA-256), or the same refusal (`code`, or accepted when null). */
async function sameOutcomeBothWays(bytes: Buffer, code: string | null): Promise<void> {
  const inMemory = await outcome(normalise(input([bytes])).then((r) => sha(r.rendition)));
  if (code) expect(inMemory).toMatchObject({ code });
  else expect(inMemory).toEqual(expect.any(String));
  const target = path.join(dir, `rendition-${n++}`);
  const spooled = await outcome(normaliseToFile(spooledInput([bytes], [true]), target).then((r) => r.rendition.sha256));
  expect(spooled).toEqual(inMemory);
}

async function outcome(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (r) => r,
    (e: { code?: string; detail?: string; extensions?: unknown }) => ({ code: e.code, detail: e.detail, extensions: e.extensions }),
  );
}

describe('a spooled upload converts to the same rendition, byte for byte, written to a file', () => {
  const jpeg = corpus('ocrmypdf/baiona_color.jpg');
  // Padding puts the frame header, the scan and EOI on both sides of the reader's 1 MiB window edges.
  const cases: [string, Buffer[]][] = [
    ['a JPEG', [corpus('img2pdf/normal.jpg')]],
    ['a CMYK JPEG', [corpus('img2pdf/CMYK.jpg')]],
    ['a 3 MiB JPEG, its scan across a window edge', [paddedJpeg(jpeg, 'a', (1 << 20) - 2000)]],
    ['a 5 MiB JPEG', [paddedJpeg(jpeg, 'b', 5 * (1 << 20))]],
    ['a small PNG', [corpus('img2pdf/normal.png')]],
    ['a TIFF (read in whole)', [corpus('img2pdf/mono.tif')]],
    ['a JPEG and a PNG', [paddedJpeg(jpeg, 'c', 2 << 20), corpus('img2pdf/gray.png')]],
  ];
  it.each(cases)('%s', async (_, files) => {
    const expected = (await normalise(input(files))).rendition;
    // In memory with each file's SHA-256 as the upload parser took it (not hashed again): the same bytes, /ID included.
    expect((await normalise({ ...input(files), files: files.map((bytes) => ({ bytes, sha256: sha(bytes) })) })).rendition.equals(expected)).toBe(true);
    for (const which of [files.map(() => true), files.map((_, i) => i === 0)]) {
      const target = path.join(dir, `rendition-${n++}`);
      const r = await normaliseToFile(spooledInput(files, which), target);
      expect(r.rendition).toEqual({ path: target, size: expected.length, sha256: sha(expected) });
      expect(fs.readFileSync(target).equals(expected)).toBe(true);
      // And in memory from spooled input: the same bytes again.
      expect((await normalise(spooledInput(files, which))).rendition.equals(expected)).toBe(true);
    }
  });

  it('the PDF in the file carries the JPEG exactly once, as the upload up to EOI', async () => {
    const big = paddedJpeg(jpeg, 'd', 3 << 20);
    const target = path.join(dir, `rendition-${n++}`);
    await normaliseToFile(spooledInput([big], [true]), target);
    const pdf = fs.readFileSync(target);
    expect(pdf.indexOf(big)).toBeGreaterThan(0);
    expect(pdf.length).toBeLessThan(big.length + 16 * 1024);
  });
});

describe('a spooled upload is refused exactly as the same bytes in memory', () => {
  const jpeg = corpus('ocrmypdf/baiona_color.jpg');
  const zip = Buffer.from('504b0506000000000000000000000000000000000000', 'hex');
  const cases: [string, Buffer, string | null][] = [
    ['a truncated JPEG', corpus('bad/truncated.jpg'), 'corrupt_file'],
    ['a large truncated JPEG', paddedJpeg(jpeg, 'e', 2 << 20).subarray(0, (2 << 20) + 50_000), 'corrupt_file'],
    ['data after EOI', Buffer.concat([paddedJpeg(jpeg, 'f', 2 << 20), Buffer.from('hello')]), 'trailing_data'],
    ['a ZIP after EOI', Buffer.concat([paddedJpeg(jpeg, 'g', 2 << 20), zip]), 'trailing_data'],
    ['padding after EOI (accepted)', Buffer.concat([paddedJpeg(jpeg, 'h', 1 << 20), Buffer.alloc(100, 0)]), null],
    ['JPEG headers only', paddedJpeg(jpeg, 'i', 2 << 20).subarray(0, (2 << 20) + 200), 'corrupt_file'],
    ['not an image', Buffer.alloc(3 << 20, 0x41), 'unsupported_media_type'],
    ['a truncated PNG', corpus('bad/truncated.png'), 'corrupt_file'],
    ['a ZIP hidden in a comment, its end record\'s comment running to EOI', zipInComment(corpus('img2pdf/normal.jpg')), 'trailing_data'],
  ];
  it.each(cases)('%s', (_, bytes, code) => sameOutcomeBothWays(bytes, code));
});

/** Seeded noise: what a scan's compressor cannot shrink, so the PNG is about as large as its pixels. */
function noise(bytes: number, seed: number): Buffer {
  const r = prng(seed);
  const b = Buffer.alloc(Math.ceil(bytes / 4) * 4);
  for (let i = 0; i < b.length; i += 4) b.writeUInt32LE(Math.floor(r() * 2 ** 32), i);
  return b.subarray(0, bytes);
}
const noisePng = (width: number, height: number, channels: 1 | 3, seed: number) =>
  sharp(noise(width * height * channels, seed), { raw: { width, height, channels } }).png({ compressionLevel: 1 }).toBuffer();
/** Rows of 8-bit gray noise, each with filter byte `filter(y)`. */
function grayRows(width: number, height: number, filter: (y: number) => number, seed = 7): Buffer {
  const rows = noise((width + 1) * height, seed);
  for (let y = 0; y < height; y++) rows[y * (width + 1)] = filter(y);
  return rows;
}

describe('a spooled PNG converts to the same rendition, byte for byte, its image data never read in whole', () => {
  const cases: [string, () => Promise<Buffer>][] = [
    ['RGB 8-bit noise, 3 MiB in 8 KiB IDAT chunks', () => noisePng(1024, 1024, 3, 1)],
    ['RGB 8-bit, its IDAT chunks of 30 KB after 1 MB of padding, across window edges', async () => restructuredPng(corpus('ocrmypdf/baiona.png'), { idatSize: 30_000, padding: (1 << 20) - 50_000 })],
    ['16-bit gray', () => sharp(noise(700 * 800 * 2, 2), { raw: { width: 700, height: 800, channels: 1 } }).toColourspace('grey16').png({ compressionLevel: 1 }).toBuffer()],
    ['16-bit RGB, 8 IDAT chunks', async () => corpus('derived/baiona-16bit.png')],
    ['a palette without tRNS', async () => restructuredPng(corpus('ocrmypdf/baiona_colormapped.png'), { idatSize: 4096, padding: 1 << 20 })],
    ['a 1-bit palette', async () => corpus('ocrmypdf/linn.png')],
    ['an ICC profile', () => sharp(noise(900 * 900 * 3, 3), { raw: { width: 900, height: 900, channels: 3 } }).withIccProfile('srgb').png({ compressionLevel: 1 }).toBuffer()],
    ['one IDAT chunk of 2.4 MB', async () => restructuredPng(await noisePng(900, 900, 3, 4), { idatSize: 1 << 30 })],
    ['a tRNS colour key (kept as /Mask, passed through)', async () => {
      const png = await noisePng(600, 600, 3, 5);
      const chunks = pngChunks(png);
      const at = chunks.findIndex((c) => c.type === 'IDAT');
      const key = pngChunk('tRNS', Buffer.from([0, 1, 0, 2, 0, 3]));
      return Buffer.concat([PNG_SIGNATURE, ...chunks.slice(0, at).map((c) => pngChunk(c.type, c.data)), key, ...chunks.slice(at).map((c) => pngChunk(c.type, c.data))]);
    }],
  ];
  afterEach(() => jest.restoreAllMocks());

  it.each(cases)('%s', async (_, make) => {
    const png = await make();
    const expected = (await normalise(input([png]))).rendition;
    // Nothing larger than a chunk header, a small chunk or the ZIP search is copied out of the file, and the file is never read whole.
    const subarray = jest.spyOn(FileBytes.prototype, 'subarray');
    const readAll = jest.spyOn(FileBytes.prototype, 'readAll');
    const target = path.join(dir, `rendition-${n++}`);
    const r = await normaliseToFile(spooledInput([png], [true]), target);
    expect(r.conversion.pages[0]).toMatchObject({ handling: 'passed-through', check: 'stream-identity' });
    expect(r.rendition).toEqual({ path: target, size: expected.length, sha256: sha(expected) });
    expect(fs.readFileSync(target).equals(expected)).toBe(true);
    expect(readAll).not.toHaveBeenCalled();
    // The type sniffer's head (64 KiB, from 0) aside, the largest is the ZIP end-record search over the last 64 KiB + 22 bytes (refuseZipTailOfFile).
    const taken = subarray.mock.calls.filter(([start]) => start !== 0).map(([start, end]) => end - start);
    expect(Math.max(0, ...taken)).toBeLessThanOrEqual(0xffff + 22);
    jest.restoreAllMocks();
    // And in memory from the spooled file: the same bytes again.
    expect((await normalise(spooledInput([png], [true]))).rendition.equals(expected)).toBe(true);
  });

  it.each([
    ['an alpha channel', async () => corpus('ocrmypdf/baiona_alpha.png')],
    ['Adam7 interlacing', async () => corpus('derived/baiona-interlaced.png')],
    ['palette transparency', () => sharp(noise(300 * 200 * 4, 6), { raw: { width: 300, height: 200, channels: 4 } }).png({ palette: true, colours: 16 }).toBuffer()],
  ])('decoded, read in: %s', async (_, make) => {
    const png = await make();
    const expected = (await normalise(input([png]))).rendition;
    const target = path.join(dir, `rendition-${n++}`);
    const r = await normaliseToFile(spooledInput([png], [true]), target);
    expect(r.conversion.pages[0]).toMatchObject({ handling: 'lossless-converted' });
    expect(fs.readFileSync(target).equals(expected)).toBe(true);
  });

  it('the PDF in the file carries the IDAT payloads once, in order', async () => {
    const png = await noisePng(1024, 1024, 3, 8);
    const target = path.join(dir, `rendition-${n++}`);
    await normaliseToFile(spooledInput([png], [true]), target);
    const pdf = fs.readFileSync(target);
    const data = Buffer.concat(pngChunks(png).filter((c) => c.type === 'IDAT').map((c) => c.data));
    expect(pdf.indexOf(data)).toBeGreaterThan(0);
    expect(pdf.length).toBeLessThan(data.length + 16 * 1024);
  });
});

/** In memory the inflate check runs on node's zlib, spooled on pako's port of it (png.ts): the table holds them to one answer. */
describe('a spooled PNG is refused exactly as the same bytes in memory', () => {
  const W = 2000;
  const H = 1100;
  /** 2.2 MB of image data in 8 KiB chunks: the chunk walk and the inflate both cross window edges. */
  const good = grayPngFromRows(W, H, grayRows(W, H, (y) => y % 5));
  const chunks = pngChunks(good);
  const rebuild = (cs: { type: string; data: Buffer }[]) => Buffer.concat([PNG_SIGNATURE, ...cs.map((c) => pngChunk(c.type, c.data))]);
  const firstIdat = chunks.findIndex((c) => c.type === 'IDAT');
  const late = chunks.length - 20;
  /** The byte offset of chunk `i` in `good`. */
  const offsetOf = (i: number) => 8 + chunks.slice(0, i).reduce((n, c) => n + 12 + c.data.length, 0);
  const zip = (() => {
    // A ZIP in a private chunk just before IEND, its end record's comment running over the chunk's CRC and the IEND chunk.
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(0x06054b50, 0);
    eocd.writeUInt16LE(16, 20);
    return rebuild([...chunks.slice(0, -1), { type: 'zipP', data: Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(26), eocd]) }, chunks[chunks.length - 1]!]);
  })();
  const apng = rebuild([chunks[0]!, { type: 'tEXt', data: Buffer.alloc(100_000, 0x41) }, { type: 'acTL', data: Buffer.alloc(8) }, ...chunks.slice(1)]);
  const flipped = Buffer.from(good);
  flipped[offsetOf(late) + 100] = flipped[offsetOf(late) + 100]! ^ 0xff;
  const deflated = zlib.deflateSync(grayRows(W, H, () => 1), { level: 1 });
  const withZ = (z: Buffer) => rebuild([chunks[0]!, { type: 'IDAT', data: z }, chunks[chunks.length - 1]!]);
  const badZ = Buffer.from(deflated);
  badZ[1_500_000] = badZ[1_500_000]! ^ 0x55;

  const cases: [string, Buffer, string | null][] = [
    ['accepted as it is', good, null],
    ['a corrupt CRC in an IDAT chunk past the first MiB', flipped, 'corrupt_file'],
    ['a corrupt CRC (corpus)', corpus('bad/bad-crc.png'), 'corrupt_file'],
    ['cut short inside an IDAT chunk', good.subarray(0, offsetOf(late) + 5000), 'corrupt_file'],
    ['cut short inside a chunk header', good.subarray(0, offsetOf(late) + 6), 'corrupt_file'],
    ['no IEND', good.subarray(0, offsetOf(chunks.length - 1)), 'corrupt_file'],
    ['truncated (corpus)', corpus('bad/truncated.png'), 'corrupt_file'],
    ['IDAT chunks not consecutive', rebuild([...chunks.slice(0, late), { type: 'tEXt', data: Buffer.from('a\0b') }, ...chunks.slice(late)]), 'corrupt_file'],
    ['data after IEND', Buffer.concat([good, Buffer.from('<script>alert(1)</script>')]), 'trailing_data'],
    ['a ZIP in a chunk, its comment spanning IEND', zip, 'trailing_data'],
    ['an APNG whose acTL comes after 100 KB of text', apng, 'unsupported_media_type'],
    ['a bad filter byte in the last row', grayPngFromRows(W, H, grayRows(W, H, (y) => (y === H - 1 ? 7 : 0))), 'corrupt_file'],
    ['inflates to a row too few', grayPngFromRows(W, H, grayRows(W, H - 1, () => 0)), 'corrupt_file'],
    ['inflates to a row too many', grayPngFromRows(W, H, grayRows(W, H + 1, () => 0)), 'corrupt_file'],
    ['corrupt compressed data', withZ(badZ), 'corrupt_file'],
    ['compressed data with a preset dictionary', withZ(zlib.deflateSync(grayRows(W, H, () => 1), { level: 1, dictionary: Buffer.from('dictionary') })), 'corrupt_file'],
    ['raw deflate data without the zlib header', withZ(zlib.deflateRawSync(grayRows(W, H, () => 1), { level: 1 })), 'corrupt_file'],
    ['compressed data cut short', withZ(deflated.subarray(0, deflated.length - 1000)), 'corrupt_file'],
    ['2 MB after the end of the compressed data (ignored, as zlib does)', withZ(Buffer.concat([deflated, Buffer.alloc(2 << 20, 0x33)])), null],
    ['a chunk before IHDR', rebuild([{ type: 'tEXt', data: Buffer.from('a\0b') }, ...chunks]), 'corrupt_file'],
  ];
  it('the cases are as large as meant', () => {
    expect(good.length).toBeGreaterThan(2 << 20);
    expect(firstIdat).toBe(1);
  });
  it.each(cases)('%s', (_, bytes, code) => sameOutcomeBothWays(bytes, code));
});

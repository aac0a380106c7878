import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { normalise, normaliseToFile } from '../../../shared/normalise';
import type { NormaliseInput } from '../../../shared/normalise/types';
import type { SpooledFile } from '../../../shared/ports';
import { paddedJpeg } from '../../support/large-jpeg';
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
    ['a PNG (read in whole)', [corpus('img2pdf/normal.png')]],
    ['a TIFF (read in whole)', [corpus('img2pdf/mono.tif')]],
    ['a JPEG and a PNG', [paddedJpeg(jpeg, 'c', 2 << 20), corpus('img2pdf/gray.png')]],
  ];
  it.each(cases)('%s', async (_, files) => {
    const expected = (await normalise(input(files))).rendition;
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
  it.each(cases)('%s', async (_, bytes, code) => {
    const inMemory = await outcome(normalise(input([bytes])).then((r) => sha(r.rendition)));
    if (code) expect(inMemory).toMatchObject({ code });
    else expect(inMemory).toEqual(expect.any(String));
    const target = path.join(dir, `rendition-${n++}`);
    const spooled = await outcome(normaliseToFile(spooledInput([bytes], [true]), target).then((r) => r.rendition.sha256));
    expect(spooled).toEqual(inMemory);
  });
});

import * as zlib from 'zlib';
import { ArchiveError, ErrorCode } from '../../../shared/kernel/errors';
import { statusOf } from '../../../shared/http/problem';
import { corpus, input, run } from './helpers';
import { normalise } from '../../../shared/normalise';
import { pngChunk as chunk } from '../../support/png';

/** Each hostile or unsupported corpus file and the refusal it must get (see the corpus README). */
const REFUSED: [string, ErrorCode, number][] = [
  ['bad/truncated.jpg', 'corrupt_file', 422],
  ['bad/huge-dimensions.jpg', 'too_many_pixels', 422],
  ['bad/truncated.png', 'corrupt_file', 422],
  ['bad/bad-crc.png', 'corrupt_file', 422],
  ['bad/huge-dimensions.tif', 'too_many_pixels', 422],
  ['bad/encrypted-user-password.pdf', 'encrypted_pdf', 422],
  ['bad/encrypted-owner-only.pdf', 'encrypted_pdf', 422],
  ['bad/launch-action.pdf', 'active_content', 422],
  ['bad/page-open-javascript.pdf', 'active_content', 422],
  ['bad/embedded-file.pdf', 'embedded_file', 422],
  ['bad/script.svg.png', 'unsupported_media_type', 415],
  ['bad/elf-binary.tif', 'unsupported_media_type', 415],
  ['bad/empty.pdf', 'empty_body', 400],
  ['img2pdf/animation.gif', 'unsupported_media_type', 415],
  ['img2pdf/mono.jb2', 'unsupported_media_type', 415],
  ['ocrmypdf/livecycle.pdf', 'xfa_form', 422],
  ['ocrmypdf/invalid.pdf', 'corrupt_file', 422],
  ['ocrmypdf/hugemono.pdf', 'too_many_pixels', 422],
];

describe('refusals', () => {
  test.each(REFUSED)('%s → %s (%d)', async (f, code, status) => {
    const err = await run(f).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ArchiveError);
    expect(err).toMatchObject({ code });
    expect(statusOf((err as ArchiveError).code)).toBe(status);
    expect((err as ArchiveError).detail).toEqual(expect.any(String));
  });

  test('decompression bombs are refused from headers: nothing is decoded', async () => {
    // 200000² TIFF in 138 bytes and a 65000² JPEG: refused before any pixel is touched.
    for (const f of ['bad/huge-dimensions.tif', 'bad/huge-dimensions.jpg']) {
      await expect(run(f, { limits: { maxPixelsPerPage: 150_000_000, maxPages: 10 } })).rejects.toMatchObject({ code: 'too_many_pixels' });
    }
  });

  test('the decompressed-bytes limit applies to image data', async () => {
    await expect(run('derived/baiona-lzw.tif', { limits: { maxPixelsPerPage: 1e8, maxPages: 10, maxDecompressedBytes: 100_000 } })).rejects.toMatchObject({ code: 'decompressed_too_large' });
    await expect(run('ocrmypdf/baiona.png', { limits: { maxPixelsPerPage: 1e8, maxPages: 10, maxDecompressedBytes: 100_000 } })).rejects.toMatchObject({ code: 'decompressed_too_large' });
  });

  test('a PNG bomb (8000² zeros in a few KB) is refused from its header under the decompressed-bytes limit', async () => {
    const ihdr = Buffer.from([0, 0, 0x1f, 0x40, 0, 0, 0x1f, 0x40, 8, 0, 0, 0, 0]);
    const idat = zlib.deflateSync(Buffer.alloc(8001 * 8000), { level: 9 });
    const png = Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
    expect(png.length).toBeLessThan(200_000);
    await expect(normalise(input([png], { limits: { maxPixelsPerPage: 1e8, maxPages: 1, maxDecompressedBytes: 16e6 } }))).rejects.toMatchObject({ code: 'decompressed_too_large' });
  });

  test('a PNG whose rows use an unknown filter type is refused, though every CRC is right', async () => {
    const raw = Buffer.alloc((1 + 10) * 10);
    raw[5 * 11] = 9; // row 5: filter type 9
    const png = Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), chunk('IHDR', Buffer.from([0, 0, 0, 10, 0, 0, 0, 10, 8, 0, 0, 0, 0])), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
    await expect(normalise(input([png]))).rejects.toMatchObject({ code: 'corrupt_file', detail: expect.stringMatching(/row filter 9/) });
    raw[5 * 11] = 4;
    const ok = Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), chunk('IHDR', Buffer.from([0, 0, 0, 10, 0, 0, 0, 10, 8, 0, 0, 0, 0])), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
    expect((await normalise(input([ok]))).pageCount).toBe(1);
  });

  test('a G4 TIFF whose strip data is damaged is refused (the data is decoded once to check it)', async () => {
    const tif = Buffer.from(corpus('derived/linn-g4.tif'));
    for (let i = 0; i < 20; i++) tif[30000 + i] = tif[30000 + i]! ^ 0x5a;
    await expect(normalise(input([tif]))).rejects.toMatchObject({ code: 'corrupt_file', detail: expect.stringMatching(/CCITT G4/) });
  });

  test('a PDF object-stream bomb is refused before the PDF parser inflates it', async () => {
    const bomb = zlib.deflateSync(Buffer.alloc(40e6, 0x20), { level: 9 });
    const pdf = Buffer.concat([
      Buffer.from(`%PDF-1.7\n1 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length ${bomb.length} >>\nstream\n`, 'latin1'),
      bomb,
      Buffer.from('\nendstream\nendobj\ntrailer\n<< /Root 2 0 R >>\n%%EOF\n', 'latin1'),
    ]);
    await expect(normalise(input([pdf], { limits: { maxPixelsPerPage: 1e8, maxPages: 10, maxDecompressedBytes: 8e6 } }))).rejects.toMatchObject({ code: 'decompressed_too_large' });
  });

  test('page limits count across several uploaded files', async () => {
    await expect(run(['derived/two-pages-g4.tif', 'derived/mixed-lzw-rgb-plus-g4.tif'], { limits: { maxPixelsPerPage: 1e8, maxPages: 3 } })).rejects.toMatchObject({ code: 'too_many_pages' });
  });

  test('no files is an empty body', async () => {
    await expect(normalise(input([]))).rejects.toMatchObject({ code: 'empty_body' });
  });

  test('a JPEG cut anywhere is refused as corrupt', async () => {
    const jpg = corpus('ocrmypdf/baiona_color.jpg');
    for (const cut of [3, 200, 5000, 100000, jpg.length - 1]) {
      await expect(normalise(input([jpg.subarray(0, cut)]))).rejects.toBeInstanceOf(ArchiveError);
    }
  });
});

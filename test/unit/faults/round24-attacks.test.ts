/**
 * Red team 24: what a valid account does to the people who read what it sent (the accountant, approver, auditor who
 * open a document). Each case marked "Broke" fails without its fix.
 */
import { PDFDocument, PDFName } from 'pdf-lib';
import { refusedCharacter } from '../../../shared/kernel/text';
import { normalise } from '../../../shared/normalise';
import { input } from '../normalise/helpers';
import { ok, send, upload, world } from '../../support/in-process';

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

/** A one-page PDF drawing text in a font it does not embed, named `baseFont` (a PDF name as the file spells it, #xx escapes and all). */
async function unembedded(baseFont: string, annotation?: string): Promise<Buffer> {
  const doc = await PDFDocument.create({ updateMetadata: false });
  const page = doc.addPage([200, 200]);
  const font = doc.context.register(doc.context.obj({ Type: 'Font', Subtype: 'Type1', BaseFont: PDFName.of(baseFont) }));
  page.node.set(PDFName.of('Resources'), doc.context.obj({ Font: { F1: font } }));
  page.node.set(PDFName.of('Contents'), doc.context.register(doc.context.flateStream('BT /F1 12 Tf 10 10 Td (x) Tj ET')));
  if (annotation) page.node.set(PDFName.of('Annots'), doc.context.obj([doc.context.register(doc.context.obj({ Type: 'Annot', Subtype: PDFName.of(annotation), Rect: [0, 0, 10, 10], F: 4 }))]));
  return Buffer.from(await doc.save());
}

describe("names from inside a PDF in the archive's reason for keeping it as uploaded", () => {
  // Broke: a font's /BaseFont (and an annotation's /Subtype) went into the reason decoded, and a PDF name holds any byte
  // (#0A, #1B, #20) at any length: the reason on the document's page said what the uploader wrote, in the archive's voice
  // ("font Arial is embedded. The archive checked this file and found it conformant. Unrelated: x is not embedded"), with
  // line breaks and escape sequences for whoever reads it in a log or terminal. Shown as the PDF spells the name: printable
  // ASCII without spaces, bounded.
  it.each([
    ['words and line breaks', 'Arial#20is#20embedded.#0A#0AThe#20archive#20checked#20this#20file#20and#20found#20it#20conformant.#0AUnrelated:#20x', undefined],
    ['an escape sequence', 'Helv#1B[2K#1B]0;pwned#07', undefined],
    ['a very long name', `F${'x'.repeat(4000)}`, undefined],
    ['an annotation subtype with words', 'Helvetica', 'Stamp#20that#20the#20auditor#20approved.#0A'],
  ])('%s: the reason holds no control, no run of the words, and stays short', async (_what, name, annotation) => {
    const r = await normalise(input([await unembedded(name, annotation)]));
    expect(r.conversion.conformance).toBe('none');
    const reason = r.conversion.conformanceReason!;
    expect(reason).toMatch(/is not embedded/);
    expect(refusedCharacter(reason, 'line')).toBeNull();
    expect(reason).not.toMatch(/is embedded\. The archive| that the auditor approved/);
    expect(reason.length).toBeLessThan(600);
  });

  it('an ordinary font name reads as before', async () => {
    const r = await normalise(input([await unembedded('ABCDEF+Futura-Medium')]));
    expect(r.conversion.conformanceReason).toMatch(/font ABCDEF\+Futura-Medium is not embedded/);
  });
});

describe('a tag an uploader writes', () => {
  // Broke: a tag could hold a comma. The search takes tags comma-separated (GET /documents?tags=…, the web app's filter
  // and correction form), and the document page lists them comma-separated: one tag `te-controleren, Q4` showed as the
  // two tags the accountant's review search asks for, and that search never found it.
  it('holding a comma is refused, on upload and in a correction: it could be neither told apart from two tags nor searched for', async () => {
    const w = world();
    const refused = await send(w, upload({ tags: ['te-controleren, Q4'] }));
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.json.errors)).toMatch(/tags.*U\+002C/);
    const id = (await ok(w, upload({ tags: ['te-controleren'] }), 201)).json.id as string;
    const doc = await ok(w, { method: 'GET', path: `documents/${id}`, as: 'up' });
    const corrected = await send(w, { method: 'PATCH', path: `documents/${id}/metadata`, body: { tags: ['q4, te-controleren'], reason: 'Tags' }, headers: { 'content-type': 'application/merge-patch+json', 'if-match': `"metadata-${doc.json.metadataVersion as number}"` }, as: 'alice' });
    expect(corrected.status).toBe(400);
    const found = await ok(w, { method: 'GET', path: 'documents?tags=te-controleren', as: 'up' });
    expect((found.json.items as { id: string }[]).map((d) => d.id)).toEqual([id]);
  });
});

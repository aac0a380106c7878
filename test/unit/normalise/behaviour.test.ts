import { PDFDocument, PDFName, PDFRawStream, PDFRef } from 'pdf-lib';
import sharp from 'sharp';
import * as zlib from 'zlib';
import { normalise } from '../../../shared/normalise';
import { orientationMatrix } from '../../../shared/normalise/pdfa';
import { buildXmp, readPdfaId } from '../../../shared/normalise/xmp';
import { corpus, gsRender, input, pdfaProblems, renditionPages, renditionXmp, run, xmpProperties } from './helpers';

/** A small asymmetric test image: a red block top-left, blue bottom-right, on white. */
async function asymmetricJpeg(orientation: number): Promise<Buffer> {
  const w = 48;
  const h = 32;
  const px = Buffer.alloc(w * h * 3, 255);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const o = (y * w + x) * 3;
    if (x < 16 && y < 12) px.set([220, 20, 20], o);
    if (x >= 36 && y >= 20) px.set([20, 20, 220], o);
  }
  return sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 95 }).withMetadata({ orientation, density: 72 }).toBuffer();
}

function setExifOrientation(jpg: Buffer, value: number): Buffer {
  const out = Buffer.from(jpg);
  const exif = out.indexOf('Exif\0\0', 0, 'latin1');
  const base = exif + 6;
  const le = out.toString('latin1', base, base + 2) === 'II';
  const u16 = (o: number) => (le ? out.readUInt16LE(o) : out.readUInt16BE(o));
  const ifd = base + (le ? out.readUInt32LE(base + 4) : out.readUInt32BE(base + 4));
  for (let i = 0; i < u16(ifd); i++) {
    const e = ifd + 2 + 12 * i;
    if (u16(e) === 0x0112) {
      if (le) out.writeUInt16LE(value, e + 8);
      else out.writeUInt16BE(value, e + 8);
      return out;
    }
  }
  throw new Error('no orientation tag');
}

describe('EXIF orientation', () => {
  test.each([1, 2, 3, 4, 5, 6, 7, 8])('orientation %d is shown as a viewer shows it, DCT bytes untouched', async (o) => {
    const jpg = await asymmetricJpeg(o);
    const r = await normalise(input([jpg]));
    expect(r.conversion.pages[0]).toMatchObject({ orientation: o, handling: 'passed-through' });
    const { pages } = await renditionPages(r.rendition);
    expect(pages[0]!.images[0]!.raw.equals(jpg)).toBe(true);
    const rotated = o >= 5;
    expect([pages[0]!.width, pages[0]!.height]).toEqual(rotated ? [32, 48] : [48, 32]);
    const png = gsRender(r.rendition, 72, false);
    if (png) {
      const a = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const b = await sharp(jpg).rotate().raw().toBuffer({ resolveWithObject: true });
      expect([a.info.width, a.info.height]).toEqual([b.info.width, b.info.height]);
      let diff = 0;
      for (let i = 0; i < a.data.length; i++) diff += Math.abs(a.data[i]! - b.data[i]!);
      expect(diff / a.data.length).toBeLessThan(3); // a wrong orientation differs by ~40+
    }
  });

  test('the invalid orientation 0 is treated as 1 and recorded', async () => {
    const jpg = setExifOrientation(await asymmetricJpeg(6), 0);
    const r = await normalise(input([jpg]));
    expect(r.conversion.pages[0]).toMatchObject({ orientation: 1, notes: expect.arrayContaining(['invalid EXIF orientation 0 treated as 1']) });
  });

  test('placement matrices map the unit square onto the page for all eight orientations', () => {
    for (let o = 1; o <= 8; o++) {
      const [a, b, c, d, e, f] = orientationMatrix(o, 30, 20);
      const corners = [[0, 0], [1, 0], [0, 1], [1, 1]].map(([x, y]) => [a * x! + c * y! + e, b * x! + d * y! + f]);
      expect(corners.map(([x, y]) => `${x},${y}`).sort()).toEqual(['0,0', '0,20', '30,0', '30,20']);
    }
  });
});

describe('documents from several files', () => {
  test('several images become one document, in upload order', async () => {
    const r = await run(['img2pdf/normal.jpg', 'derived/two-pages-g4.tif', 'img2pdf/gray.png']);
    expect(r.pageCount).toBe(4);
    expect(r.originals.map((o) => o.extension)).toEqual(['jpg', 'tif', 'png']);
    expect(r.conversion.pages.map((p) => [p.page, p.sourceFile, p.sourceFormat])).toEqual([
      [1, 0, 'image/jpeg'], [2, 1, 'image/tiff'], [3, 1, 'image/tiff'], [4, 2, 'image/png'],
    ]);
    const { pages } = await renditionPages(r.rendition);
    expect(pages[0]!.images[0]!.raw.equals(corpus('img2pdf/normal.jpg'))).toBe(true);
    expect(await pdfaProblems(r.rendition)).toEqual([]);
  });
});

describe('determinism and metadata', () => {
  test('same input and (documentId, createdAt, title) give the same bytes', async () => {
    const files = ['img2pdf/CMYK.jpg', 'ocrmypdf/baiona_alpha.png', 'derived/mixed-lzw-rgb-plus-g4.tif'];
    const a = await run(files);
    const b = await run(files);
    expect(a.rendition.equals(b.rendition)).toBe(true);
    const c = await run(files, { createdAt: '2026-03-04T05:06:08.000Z' });
    expect(c.rendition.equals(a.rendition)).toBe(false);
    const p1 = await run('ocrmypdf/c02-22.pdf');
    const p2 = await run('ocrmypdf/c02-22.pdf');
    expect(p1.rendition.equals(p2.rendition)).toBe(true);
  });

  test('Info and XMP carry the title, the dates from createdAt and the producer', async () => {
    const r = await run('img2pdf/normal.jpg', { title: 'Rechnung <Nr. 7> & "Müller"' });
    const { pdf } = await renditionPages(r.rendition);
    expect(pdf.getCreationDate()?.toISOString()).toBe('2026-03-04T05:06:07.000Z');
    expect(pdf.getModificationDate()?.toISOString()).toBe('2026-03-04T05:06:07.000Z');
    expect(pdf.getTitle()).toBe('Rechnung <Nr. 7> & "Müller"');
    expect(pdf.getProducer()).toMatch(/document-archive/);
    const xmp = await renditionXmp(r.rendition);
    expect(xmp).toContain('xmp:CreateDate="2026-03-04T05:06:07Z"');
    expect(xmp).toContain('<rdf:li xml:lang="x-default">Rechnung &lt;Nr. 7&gt; &amp; &quot;Müller&quot;</rdf:li>');
    expect(Object.fromEntries(xmpProperties(xmp).props)).toEqual({
      'pdfaid:part': '2', 'pdfaid:conformance': 'B', 'dc:title': 'Rechnung <Nr. 7> & "Müller"', 'pdf:Producer': pdf.getProducer(),
      'xmp:CreateDate': '2026-03-04T05:06:07Z', 'xmp:ModifyDate': '2026-03-04T05:06:07Z',
    });
    expect(await pdfaProblems(r.rendition)).toEqual([]);
    const untitled = await normalise({ ...input([corpus('img2pdf/normal.jpg')]), title: undefined });
    expect(await pdfaProblems(untitled.rendition)).toEqual([]);
    expect(xmpProperties(await renditionXmp(untitled.rendition)).props.has('dc:title')).toBe(false);
  });

  test('the XMP packet is compact, Flate-compressed (allowed in PDF/A-2, not in PDF/A-1) and well-formed', async () => {
    const r = await run('img2pdf/normal.jpg', { title: 'Tab\there, line\nbreak' });
    const { pdf } = await renditionPages(r.rendition);
    const meta = pdf.context.lookup(pdf.catalog.get(PDFName.of('Metadata'))) as PDFRawStream;
    expect(meta.dict.get(PDFName.of('Filter'))).toBe(PDFName.of('FlateDecode'));
    const xmp = await renditionXmp(r.rendition);
    expect(xmp.startsWith('<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta ')).toBe(true);
    expect(xmp.endsWith('</x:xmpmeta><?xpacket end="r"?>')).toBe(true);
    expect(xmp).not.toMatch(/>\s+</);
    expect(xmpProperties(xmp).props.get('dc:title')).toBe('Tab\there, line\nbreak');
    expect(pdf.getTitle()).toBe('Tab\there, line\nbreak');
    expect(await pdfaProblems(r.rendition)).toEqual([]);
    // Attribute values keep tabs and line breaks as character references (parsers would turn raw ones into spaces).
    const tool = buildXmp({ producer: 'p\tq\nr "s" <t>', creatorTool: 'a & b', date: new Date('2026-01-02T03:04:05Z') });
    expect(Object.fromEntries(xmpProperties(tool).props)).toEqual({
      'pdfaid:part': '2', 'pdfaid:conformance': 'B', 'xmp:CreateDate': '2026-01-02T03:04:05Z', 'xmp:ModifyDate': '2026-01-02T03:04:05Z',
      'xmp:CreatorTool': 'a & b', 'pdf:Producer': 'p\tq\nr "s" <t>',
    });
  });

  test('the structural check inflates the XMP and still compares it with Info', async () => {
    const r = await run('img2pdf/normal.jpg');
    const pdf = await PDFDocument.load(r.rendition, { updateMetadata: false });
    const meta = pdf.context.lookup(pdf.catalog.get(PDFName.of('Metadata'))) as PDFRawStream;
    const xmp = zlib.inflateSync(Buffer.from(meta.contents)).toString('utf8');
    const swap = async (text: string): Promise<string[]> => {
      const copy = await PDFDocument.load(r.rendition, { updateMetadata: false });
      const ref = copy.catalog.get(PDFName.of('Metadata')) as PDFRef;
      copy.context.assign(ref, PDFRawStream.of(copy.context.obj({ Type: 'Metadata', Subtype: 'XML', Filter: 'FlateDecode' }), zlib.deflateSync(Buffer.from(text, 'utf8'))));
      return pdfaProblems(Buffer.from(await copy.save({ useObjectStreams: false })));
    };
    expect(await swap(xmp)).toEqual([]);
    expect(await swap(xmp.replace('xmp:ModifyDate="2026-03-04T05:06:07Z"', 'xmp:ModifyDate="2026-03-04T05:06:08Z"'))).toEqual([expect.stringContaining('Info /ModDate')]);
    expect(await swap(xmp.replace('pdfaid:part="2"', 'pdfaid:part="1"'))).toEqual(['pdfaid:part is not 2']);
    expect(await swap(xmp.replace('</rdf:RDF>', ''))).toEqual([expect.stringContaining('XMP is not well-formed'), 'pdfaid:part is not 2', 'pdfaid:conformance is not B', expect.stringContaining('differ'), expect.stringContaining('differ'), expect.stringContaining('differ'), expect.stringContaining('differ')]);
    expect(await swap(xmp.replace('begin="\uFEFF"', 'begin="\uFEFF" bytes="1234"'))).toEqual([expect.stringContaining('XMP packet header')]);
  });

  test('uploaded XMP is read without resolving entities', () => {
    expect(readPdfaId('<x:xmpmeta xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"><pdfaid:part>1</pdfaid:part><pdfaid:conformance>A</pdfaid:conformance></x:xmpmeta>')).toEqual({ part: '1', conformance: 'A' });
    expect(readPdfaId('<rdf:Description xmlns:a="http://www.aiim.org/pdfa/ns/id/" a:part="3" a:conformance="U"/>')).toEqual({ part: '3', conformance: 'U' });
    expect(() => readPdfaId('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"><pdfaid:part>&e;</pdfaid:part></x>')).toThrow();
    expect(readPdfaId('<x/>')).toBeUndefined();
  });
});

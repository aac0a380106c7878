import sharp from 'sharp';
import { normalise } from '../../../shared/normalise';
import { orientationMatrix } from '../../../shared/normalise/pdfa';
import { readPdfaId } from '../../../shared/normalise/xmp';
import { corpus, gsRender, input, pdfaProblems, renditionPages, run } from './helpers';

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
    const text = r.rendition.toString('latin1');
    expect(text).toContain('<xmp:CreateDate>2026-03-04T05:06:07Z</xmp:CreateDate>');
    const xmp = r.rendition.toString('utf8');
    expect(xmp).toContain('<rdf:li xml:lang="x-default">Rechnung &lt;Nr. 7&gt; &amp; &quot;Müller&quot;</rdf:li>');
    expect(await pdfaProblems(r.rendition)).toEqual([]);
    const untitled = await normalise({ ...input([corpus('img2pdf/normal.jpg')]), title: undefined });
    expect(await pdfaProblems(untitled.rendition)).toEqual([]);
  });

  test('uploaded XMP is read without resolving entities', () => {
    expect(readPdfaId('<x:xmpmeta xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"><pdfaid:part>1</pdfaid:part><pdfaid:conformance>A</pdfaid:conformance></x:xmpmeta>')).toEqual({ part: '1', conformance: 'A' });
    expect(readPdfaId('<rdf:Description xmlns:a="http://www.aiim.org/pdfa/ns/id/" a:part="3" a:conformance="U"/>')).toEqual({ part: '3', conformance: 'U' });
    expect(() => readPdfaId('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"><pdfaid:part>&e;</pdfaid:part></x>')).toThrow();
    expect(readPdfaId('<x/>')).toBeUndefined();
  });
});

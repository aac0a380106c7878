/**
 * Hand-made hostile PDFs for the normaliser's refusals: a classic PDF (xref table) from objects in
 * file order, where an object number may be defined twice and the xref may point at either definition.
 */
import * as zlib from 'zlib';

export interface PdfObject {
  num: number;
  /** The object's dictionary (or any object); `/Length` is added for a stream. */
  body: string;
  data?: Buffer;
}

/** Where the xref points instead: `at[num]` an absolute offset for `num`, `shift` added to every other in-use offset. */
export interface XrefOffsets {
  at?: Record<number, number>;
  shift?: number;
}

/** `xrefTo[num]`: which definition (0-based, in file order) of `num` the xref names; default the last. */
export function classicPdf(objects: PdfObject[], xrefTo: Record<number, number> = {}, offsets: XrefOffsets = {}): Buffer {
  const parts: Buffer[] = [Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let at = parts[0]!.length;
  const defined = new Map<number, number[]>();
  for (const o of objects) {
    defined.set(o.num, [...(defined.get(o.num) ?? []), at]);
    const part = o.data
      ? Buffer.concat([Buffer.from(`${o.num} 0 obj\n${o.body.replace(/>>\s*$/, ` /Length ${o.data.length} >>`)}\nstream\n`, 'latin1'), o.data, Buffer.from('\nendstream\nendobj\n', 'latin1')])
      : Buffer.from(`${o.num} 0 obj\n${o.body}\nendobj\n`, 'latin1');
    parts.push(part);
    at += part.length;
  }
  const size = Math.max(...defined.keys()) + 1;
  let xref = `xref\n0 ${size}\n0000000000 65535 f \n`;
  for (let n = 1; n < size; n++) {
    const defs = defined.get(n);
    const offset = offsets.at?.[n] ?? (defs ? defs[xrefTo[n] ?? defs.length - 1]! + (offsets.shift ?? 0) : undefined);
    xref += offset !== undefined ? `${String(offset).padStart(10, '0')} 00000 n \n` : '0000000000 65535 f \n';
  }
  parts.push(Buffer.from(`${xref}trailer\n<< /Size ${size} /Root 1 0 R >>\nstartxref\n${at}\n%%EOF\n`, 'latin1'));
  return Buffer.concat(parts);
}

export const CATALOG = (extra = ''): PdfObject => ({ num: 1, body: `<< /Type /Catalog /Pages 2 0 R ${extra} >>` });
export const PAGES: PdfObject = { num: 2, body: '<< /Type /Pages /Kids [3 0 R] /Count 1 >>' };
export const PAGE: PdfObject = { num: 3, body: '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Resources << >> >>' };

/**
 * A catalog with a JavaScript OpenAction, then the same object number defined again, harmless, later in
 * the file: pdf-lib keeps the later one, the xref (which qpdf and viewers follow) names the first.
 */
export function shadowedJavaScriptPdf(): Buffer {
  return classicPdf([CATALOG('/OpenAction << /S /JavaScript /JS (app.alert\\(1\\)) >>'), PAGES, PAGE, CATALOG()], { 1: 0 });
}

/**
 * An incremental update: `objects` appended after `pdf`, with a cross-reference section naming only them
 * and `/Prev` pointing at the section before.
 */
export function incrementalUpdate(pdf: Buffer, objects: PdfObject[]): Buffer {
  const text = pdf.toString('latin1');
  const prev = Number(/startxref\s+(\d+)\s+%%EOF\s*$/.exec(text)![1]);
  const root = /\/Root (\d+ \d+ R)/.exec(text)![1];
  let at = pdf.length;
  const parts: Buffer[] = [pdf];
  let xref = 'xref\n';
  for (const o of objects) {
    const part = Buffer.from(`${o.num} 0 obj\n${o.body}\nendobj\n`, 'latin1');
    xref += `${o.num} 1\n${String(at).padStart(10, '0')} 00000 n \n`;
    parts.push(part);
    at += part.length;
  }
  const size = Math.max(Number(/\/Size (\d+)/.exec(text)![1]), ...objects.map((o) => o.num + 1));
  parts.push(Buffer.from(`${xref}trailer\n<< /Size ${size} /Root ${root} /Prev ${prev} >>\nstartxref\n${at}\n%%EOF\n`, 'latin1'));
  return Buffer.concat(parts);
}

const HIDDEN_CATALOG = '1 0 obj\n<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (app.alert\\(1\\)) >> >>\nendobj\n';

/**
 * A harmless catalog, and a complete `1 0 obj` catalog with a JavaScript OpenAction written as the data of
 * an unfiltered stream (object 4): pdf-lib takes it for stream data, the xref points object 1 at it, so
 * qpdf and viewers read the JavaScript catalog. With `update`, an incremental update follows whose
 * section leaves object 1 out: the entry into the stream is reachable only through `/Prev`.
 */
export function xrefIntoStreamPdf(update = false): Buffer {
  const objects = [CATALOG(), PAGES, PAGE, { num: 4, body: '<< >>', data: Buffer.from(HIDDEN_CATALOG, 'latin1') }];
  const hidden = classicPdf(objects).indexOf(HIDDEN_CATALOG, 0, 'latin1');
  const pdf = classicPdf(objects, {}, { at: { 1: hidden } });
  return update ? incrementalUpdate(pdf, [{ num: 3, body: PAGE.body.replace('200 200', '300 300') }]) : pdf;
}

/** `RunLength` data decoding to `size` spaces: 2 bytes a 128-byte run. */
export function runLengthOfSpaces(size: number): Buffer {
  const runs = Math.ceil(size / 128);
  const out = Buffer.alloc(runs * 2 + 1);
  for (let i = 0; i < runs; i++) out.writeUInt16BE(0x8120, i * 2);
  out[runs * 2] = 0x80; // EOD
  return out;
}

/** An object stream (with a page tree around it) whose data is `data` under `filter`. */
export function objectStreamPdf(filter: string, data: Buffer, dictExtra = ''): Buffer {
  return classicPdf([CATALOG(), PAGES, PAGE, { num: 4, body: `<< /Type /ObjStm /N 1 /First 4 /Filter ${filter} ${dictExtra} >>`, data }]);
}

/** Two Flate layers around `size` spaces: a few hundred bytes that a single inflate sees as a few hundred KB. */
export function doubleFlateOfSpaces(size: number): Buffer {
  return zlib.deflateSync(zlib.deflateSync(Buffer.alloc(size, 0x20), { level: 9 }), { level: 9 });
}

import * as zlib from 'zlib';
import { concatSegments, externalContents, FileRange, Segment } from './file-source';
import { PDFArray, PDFBool, PDFContext, PDFDict, PDFHexString, PDFName, PDFNull, PDFNumber, PDFObject, PDFRef, PDFStream, PDFString } from 'pdf-lib';

/**
 * A compact serialiser for the renditions this module builds (image pages, not uploaded PDFs):
 * the same objects pdf-lib would write, with PDF syntax's own delimiters instead of the line
 * break pdf-lib puts after every dictionary entry, every non-stream object in one Flate object
 * stream (level 9) and a Flate cross-reference stream with the narrowest field widths. Only
 * white space differs from pdf-lib's output; what PDF/A-2 asks of the file structure is kept:
 * header with a binary comment, `obj`/`endobj` on their own lines, an EOL after `stream` and
 * before `endstream`, /Length exact, the trailer (Root, Info, ID) in the cross-reference stream.
 */
export function writeCompactPdf(ctx: PDFContext): Buffer {
  return concatSegments(compactPdfSegments(ctx));
}

/**
 * The same file as the pieces it is made of, not joined: a stream whose contents live in the
 * upload's file (externalContents) is file ranges here, copied in only when the file is written.
 */
export function compactPdfSegments(ctx: PDFContext): Segment[] {
  const chunks: Segment[] = [];
  let at = 0;
  const put = (b: Segment) => {
    chunks.push(b);
    at += b.length;
  };
  put(Buffer.from('%PDF-1.7\n%\x81\x81\x81\x81\n', 'latin1'));

  const objects = ctx.enumerateIndirectObjects();
  const streams: [PDFRef, PDFStream][] = [];
  const packed: [PDFRef, PDFObject][] = [];
  for (const [ref, obj] of objects) {
    if (ref.generationNumber !== 0) throw new Error('compact writer: only generation 0 objects are written');
    if (obj instanceof PDFStream) streams.push([ref, obj]);
    else packed.push([ref, obj]);
  }
  let next = ctx.largestObjectNumber + 1;
  const objStmNumber = packed.length ? next++ : 0;
  const xrefNumber = next++;
  const size = next;

  /** Per object number: [type, field 2, field 3] of its cross-reference entry. */
  const entries: [number, number, number][] = Array.from({ length: size }, () => [0, 0, 0]);
  entries[0] = [0, 0, 65535];
  const writeStream = (num: number, dict: PDFDict, data: Uint8Array | FileRange[]) => {
    const length = data instanceof Uint8Array ? data.length : data.reduce((n, r) => n + r.length, 0);
    dict.set(PDFName.of('Length'), PDFNumber.of(length));
    entries[num] = [1, at, 0];
    put(Buffer.from(`${num} 0 obj\n${serialise(dict)}\nstream\n`, 'latin1'));
    if (data instanceof Uint8Array) put(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    else for (const r of data) put(r);
    put(Buffer.from('\nendstream\nendobj\n', 'latin1'));
  };
  for (const [ref, s] of streams) writeStream(ref.objectNumber, s.dict, externalContents.get(s) ?? s.getContents());

  if (packed.length) {
    const offsets: string[] = [];
    let body = '';
    for (const [i, [ref, obj]] of packed.entries()) {
      if (i) body += '\n';
      offsets.push(`${ref.objectNumber} ${body.length}`);
      body += serialise(obj);
      entries[ref.objectNumber] = [2, objStmNumber, i];
    }
    const head = `${offsets.join(' ')}\n`;
    const data = zlib.deflateSync(Buffer.from(head + body, 'latin1'), { level: 9 });
    writeStream(objStmNumber, ctx.obj({ Type: 'ObjStm', N: packed.length, First: head.length, Filter: 'FlateDecode' }), data);
  }

  const xrefOffset = at;
  entries[xrefNumber] = [1, xrefOffset, 0];
  const bytesFor = (n: number) => (n < 0x100 ? 1 : n < 0x10000 ? 2 : n < 0x1000000 ? 3 : 4);
  const w2 = bytesFor(Math.max(...entries.map((e) => e[1])));
  const w3 = bytesFor(Math.max(...entries.map((e) => e[2])));
  const table = Buffer.alloc(size * (1 + w2 + w3));
  entries.forEach(([t, f2, f3], i) => {
    const o = i * (1 + w2 + w3);
    table[o] = t;
    table.writeUIntBE(f2, o + 1, w2);
    table.writeUIntBE(f3, o + 1 + w2, w3);
  });
  const xref = ctx.obj({ Type: 'XRef', Size: size, W: [1, w2, w3], Filter: 'FlateDecode' });
  const t = ctx.trailerInfo;
  if (t.Encrypt) throw new Error('compact writer: encryption is not written');
  if (!t.Root) throw new Error('compact writer: no catalog');
  xref.set(PDFName.of('Root'), t.Root);
  if (t.Info) xref.set(PDFName.of('Info'), t.Info);
  if (t.ID) xref.set(PDFName.of('ID'), t.ID);
  writeStream(xrefNumber, xref, zlib.deflateSync(table, { level: 9 }));
  put(Buffer.from(`startxref\n${xrefOffset}\n%%EOF\n`, 'latin1'));
  return chunks;
}

/** One object in PDF syntax: tokens separated by a space only where no delimiter separates them. */
export function serialise(o: PDFObject): string {
  let out: string;
  if (o instanceof PDFDict) {
    out = '<<';
    for (const [k, v] of o.entries()) out = join(join(out, k.toString()), serialise(v));
    out += '>>';
  } else if (o instanceof PDFArray) {
    out = '[';
    for (const v of o.asArray()) out = join(out, serialise(v));
    out += ']';
  } else if (o instanceof PDFName || o instanceof PDFNumber || o instanceof PDFRef || o instanceof PDFString || o instanceof PDFHexString || o instanceof PDFBool || o === PDFNull) {
    out = o.toString();
  } else {
    throw new Error(`compact writer: cannot write ${o.constructor.name}`);
  }
  // Strings are written byte for byte, as pdf-lib writes them; anything beyond one byte is a bug.
  if (/[^\x00-\xff]/.test(out)) throw new Error('compact writer: a character does not fit in one byte');
  return out;
}

const ENDS_TOKEN = /[\])>[(</{}]$/;
const STARTS_TOKEN = /^[[(</\])>{}]/;
function join(a: string, b: string): string {
  if (a === '' || ENDS_TOKEN.test(a) || STARTS_TOKEN.test(b)) return a + b;
  return `${a} ${b}`;
}

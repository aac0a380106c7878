import { PDFArray, PDFContext, PDFDict, PDFName, PDFNumber, PDFObject, PDFRef, PDFStream } from 'pdf-lib';
import ByteStream from 'pdf-lib/cjs/core/parser/ByteStream';
import PDFObjectParser from 'pdf-lib/cjs/core/parser/PDFObjectParser';
import { unfilter } from './png';

/**
 * pdf-lib reads a PDF front to back and takes the object definitions it meets; a viewer (or qpdf)
 * follows the cross-reference sections from `startxref` and reads what is at the offsets they give.
 * Where those differ, the original the archive keeps shows a viewer objects the checks never saw:
 * a catalog with JavaScript written inside another object's stream data, say. This reads the sections
 * as such a reader does and compares every entry with what the parse found.
 */

/** One entry: type 1 `field` is a byte offset, type 2 `field` the number of the object stream holding it. */
export interface XrefEntry {
  num: number;
  gen: number;
  type: 0 | 1 | 2;
  field: number;
}

/** What pdf-lib's parse of the file met, by the byte offset of each definition's `n g obj`. */
export interface ParsedDefinitions {
  /** Offset of each definition's header → `"num gen"`. */
  at: Map<number, string>;
  /** Offsets of the object streams whose objects it unpacked. */
  objectStreams: Set<number>;
  /** Offsets of the cross-reference streams it read, with their entries and dictionary. */
  xrefStreams: Map<number, { entries: XrefEntry[]; dict: PDFDict }>;
  /**
   * `"num gen"` → where the definition pdf-lib kept (the last in file order) was parsed: its own header's
   * offset, or the header of the object stream it was unpacked from.
   */
  kept: Map<string, number>;
}

/** Where a reader following the cross-reference data would read something the parse did not check. */
export interface Misdirection {
  detail: string;
  /** The object a reader finds there, for the active-content checks. */
  object?: PDFObject;
}

/** More sections than any producer writes (incremental updates); each is read at most once. */
const MAX_SECTIONS = 1024;
const INT_DIGITS = 10;

const WS = new Uint8Array(256);
for (const c of [0x00, 0x09, 0x0a, 0x0c, 0x0d, 0x20]) WS[c] = 1;
const DELIM = new Uint8Array(256);
for (const c of '()<>[]{}/%') DELIM[c.charCodeAt(0)] = 1;

class Refusal extends Error {
  constructor(readonly misdirection: Misdirection) {
    super(misdirection.detail);
  }
}

class Reader {
  /** Bytes a reader's whitespace and comment skipping may cover in all: keeps a million entries into padding linear. */
  private skipLeft: number;
  /** Bytes of sections and trailers read in all. */
  private workLeft: number;

  constructor(private readonly bytes: Uint8Array, private readonly ctx: PDFContext) {
    this.skipLeft = bytes.length + 65536;
    this.workLeft = 4 * bytes.length + 65536;
  }

  private spend(n: number): void {
    this.workLeft -= n;
    if (this.workLeft < 0) throw new Refusal({ detail: 'The PDF cross-reference sections overlap or repeat beyond what a reader would accept.' });
  }

  skipWhitespace(pos: number): number {
    const b = this.bytes;
    while (pos < b.length && WS[b[pos]!]) pos++;
    return pos;
  }

  /** Whitespace and comments, as a reader's tokenizer skips them before a token. */
  skip(pos: number): number {
    const b = this.bytes;
    const start = pos;
    for (;;) {
      pos = this.skipWhitespace(pos);
      if (b[pos] !== 0x25) break;
      while (pos < b.length && b[pos] !== 0x0a && b[pos] !== 0x0d) pos++;
    }
    this.skipLeft -= pos - start;
    if (this.skipLeft < 0) throw new Refusal({ detail: 'The PDF cross-reference entries point into more padding than a file of its size holds.' });
    return pos;
  }

  private ends(pos: number): boolean {
    return pos >= this.bytes.length || WS[this.bytes[pos]!] === 1 || DELIM[this.bytes[pos]!] === 1;
  }

  /** An unsigned integer token at `pos`: [value, end], or undefined. */
  int(pos: number): [number, number] | undefined {
    const b = this.bytes;
    let end = pos;
    let v = 0;
    while (end < b.length && end - pos <= INT_DIGITS && b[end]! >= 0x30 && b[end]! <= 0x39) v = v * 10 + b[end++]! - 0x30;
    return end > pos && end - pos <= INT_DIGITS && this.ends(end) ? [v, end] : undefined;
  }

  keyword(pos: number, word: string): boolean {
    for (let i = 0; i < word.length; i++) if (this.bytes[pos + i] !== word.charCodeAt(i)) return false;
    return this.ends(pos + word.length);
  }

  /** The `n g obj` a reader finds at `offset`: its number, generation, where its header and its body start. */
  header(offset: number): { num: number; gen: number; at: number; body: number } | undefined {
    const at = this.skip(offset);
    const n = this.int(at);
    const g = n && this.int(this.skip(n[1]));
    if (!n || !g) return undefined;
    const obj = this.skip(g[1]);
    return this.keyword(obj, 'obj') ? { num: n[0], gen: g[0], at, body: obj + 3 } : undefined;
  }

  object(pos: number): PDFObject {
    const stream = ByteStream.of(this.bytes);
    stream.moveTo(pos);
    const object = PDFObjectParser.forByteStream(stream, this.ctx).parseObject();
    this.spend(stream.offset() - pos);
    return object;
  }

  /** A classic `xref` table at `pos` (just after the keyword): its entries and trailer, as far as they read. */
  table(pos: number): { entries: XrefEntry[]; trailer?: PDFDict } {
    const entries: XrefEntry[] = [];
    const start = pos;
    for (;;) {
      pos = this.skip(pos);
      if (this.keyword(pos, 'trailer')) {
        this.spend(pos - start);
        let trailer: PDFObject | undefined;
        try {
          trailer = this.object(this.skip(pos + 7));
        } catch {
          trailer = undefined; // a reader rebuilds the table from the file; nothing more to follow here
        }
        return { entries, trailer: trailer instanceof PDFDict ? trailer : undefined };
      }
      const first = this.int(pos);
      const count = first && this.int(this.skip(first[1]));
      if (!first || !count) break;
      pos = count[1];
      for (let i = 0; i < count[0]; i++) {
        const field = this.int(this.skip(pos));
        const gen = field && this.int(this.skip(field[1]));
        const kind = gen ? this.skip(gen[1]) : -1;
        if (!field || !gen || (this.bytes[kind] !== 0x6e && this.bytes[kind] !== 0x66)) {
          this.spend(pos - start);
          return { entries };
        }
        entries.push({ num: first[0] + i, gen: gen[0], type: this.bytes[kind] === 0x6e ? 1 : 0, field: field[0] });
        pos = kind + 1;
      }
    }
    this.spend(pos - start);
    return { entries };
  }
}

const N = (s: string) => PDFName.of(s);

/**
 * A cross-reference stream's decoded data with its `/Predictor` undone (PNG 10–15, TIFF 2; 8-bit
 * components, as the spec's cross-reference streams are); undefined for a predictor readers do not apply.
 */
export function unpredict(data: Uint8Array, dict: PDFDict): Uint8Array | undefined {
  const all = dict.lookup(N('DecodeParms'));
  const parms = all instanceof PDFDict ? all : all instanceof PDFArray ? all.asArray().map((p) => dict.context.lookup(p)).find((p): p is PDFDict => p instanceof PDFDict && p.has(N('Predictor'))) : undefined;
  const num = (key: string, dflt: number): number => {
    const v = parms?.lookup(N(key));
    return v instanceof PDFNumber ? v.asNumber() : dflt;
  };
  const predictor = num('Predictor', 1);
  if (predictor === 1) return data;
  const colors = num('Colors', 1);
  const columns = num('Columns', 1);
  if (num('BitsPerComponent', 8) !== 8 || !Number.isInteger(colors) || colors < 1 || colors > 32 || !Number.isInteger(columns) || columns < 1 || columns > 1 << 20) return undefined;
  const bpp = colors;
  const row = colors * columns;
  if (predictor === 2) {
    const out = Uint8Array.from(data);
    for (let r = 0; r + row <= out.length; r += row) for (let i = bpp; i < row; i++) out[r + i] = (out[r + i]! + out[r + i - bpp]!) & 0xff;
    return out;
  }
  if (predictor < 10 || predictor > 15) return undefined;
  const rows = Math.floor(data.length / (row + 1));
  try {
    return unfilter(Buffer.from(data.buffer, data.byteOffset, data.byteLength), 0, rows, bpp, row);
  } catch {
    return undefined; // a row filter no reader applies
  }
}

const offsetIn = (d: PDFDict | undefined, key: string): number | undefined => {
  const v = d?.get(N(key));
  return v instanceof PDFNumber && Number.isSafeInteger(v.asNumber()) && v.asNumber() > 0 ? v.asNumber() : undefined;
};

/** The last `startxref` of the file: the one a reader starts from. */
function lastStartxref(bytes: Uint8Array, r: Reader): number | undefined {
  const tail = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = tail.lastIndexOf('startxref', undefined, 'latin1');
  if (at < 0) return undefined;
  return r.int(r.skip(at + 9))?.[0];
}

/**
 * The cross-reference sections a reader follows, newest first: from `startxref` along `/Prev` (and a
 * hybrid file's `/XRefStm`). Where a reader would find no section it rebuilds the table by scanning the
 * file, as pdf-lib does, so the walk ends there. A cross-reference stream must be one pdf-lib read.
 */
function sections(bytes: Uint8Array, parsed: ParsedDefinitions, r: Reader): { entries: XrefEntry[]; trailer?: PDFDict }[] {
  const out: { entries: XrefEntry[]; trailer?: PDFDict }[] = [];
  const seen = new Set<number>();
  const queue: number[] = [];
  const start = lastStartxref(bytes, r);
  if (start !== undefined) queue.push(start);
  while (queue.length) {
    const offset = queue.shift()!;
    if (seen.has(offset) || offset >= bytes.length) continue;
    seen.add(offset);
    if (seen.size > MAX_SECTIONS) throw new Refusal({ detail: `The PDF has more than ${MAX_SECTIONS} cross-reference sections.` });
    const at = r.skipWhitespace(offset);
    let section: { entries: XrefEntry[]; trailer?: PDFDict };
    if (r.keyword(at, 'xref')) section = r.table(at + 4);
    else {
      const head = r.header(offset);
      if (!head) continue;
      const stream = parsed.xrefStreams.get(head.at);
      if (!stream) {
        if (parsed.at.get(head.at) === `${head.num} ${head.gen}`) continue; // an ordinary object: a reader finds no section here
        throw new Refusal({ detail: `The PDF's cross-reference data points at a cross-reference stream (object ${head.num}) at byte ${head.at} that is not where the file defines one.` });
      }
      section = { entries: stream.entries, trailer: stream.dict };
    }
    out.push(section);
    const stm = offsetIn(section.trailer, 'XRefStm');
    const prev = offsetIn(section.trailer, 'Prev');
    if (stm !== undefined) queue.push(stm);
    if (prev !== undefined) queue.push(prev);
  }
  return out;
}

/**
 * Every in-use entry of every section must name a definition pdf-lib parsed, at the offset it parsed it
 * (after the whitespace and comments a reader skips there): a reader landing anywhere else (in a stream's
 * data, a string, a comment) would read an object the checks never saw. An entry whose offset holds no
 * `n g obj` of its object (offsets a few bytes off, as some producers write them) sends a reader to
 * rebuild the table by scanning the file, as pdf-lib did, so it is let be. An entry in an object stream
 * must name a stream pdf-lib unpacked. The trailer's `/Root` must be the catalog pdf-lib took.
 */
export function checkCrossReferences(bytes: Uint8Array, ctx: PDFContext, parsed: ParsedDefinitions): Misdirection | undefined {
  const r = new Reader(bytes, ctx);
  try {
    const found = sections(bytes, parsed, r);
    const root = found[0]?.trailer?.get(N('Root'));
    const ours = ctx.trailerInfo.Root;
    if (root instanceof PDFRef && !(ours instanceof PDFRef && ours.objectNumber === root.objectNumber && ours.generationNumber === root.generationNumber)) {
      return { detail: `The PDF's trailer names object ${root.objectNumber} as its catalog, not the one the file's objects define.` };
    }
    const newest = new Map<number, XrefEntry>();
    const headers = new Map<number, ReturnType<Reader['header']>>();
    const headerAt = (offset: number) => {
      if (!headers.has(offset)) headers.set(offset, r.header(offset));
      return headers.get(offset);
    };
    for (const { entries } of found) {
      for (const e of entries) {
        if (!newest.has(e.num)) newest.set(e.num, e);
        if (e.type !== 1 || e.field === 0 || e.field >= bytes.length) continue;
        const head = headerAt(e.field);
        if (!head || head.num !== e.num || head.gen !== e.gen) continue;
        if (parsed.at.get(head.at) === `${e.num} ${e.gen}`) continue;
        let object: PDFObject | undefined;
        try {
          object = r.object(r.skip(head.body));
        } catch {
          object = undefined;
        }
        return { detail: `The PDF's cross-reference data points object ${e.num} at byte ${head.at}, where the file does not define it (inside another object's data, for instance).`, object };
      }
    }
    for (const e of newest.values()) {
      if (e.type !== 2) continue;
      const holder = newest.get(e.field);
      if (!holder || holder.type !== 1) continue;
      const head = headerAt(holder.field);
      if (!head || head.num !== holder.num || head.gen !== holder.gen) continue;
      if (!parsed.objectStreams.has(head.at)) {
        return { detail: `The PDF's cross-reference data puts object ${e.num} in object ${e.field}, which the file does not define as an object stream.` };
      }
    }
    // A hybrid file's table marks free the objects its /XRefStm puts in object streams (for older readers).
    const compressed = new Set(found.flatMap(({ entries }) => entries.filter((e) => e.type === 2).map((e) => e.num)));
    return otherRevision(ctx, parsed, newest, compressed, headerAt);
  } catch (err) {
    if (err instanceof Refusal) return err.misdirection;
    throw err;
  }
}

/**
 * A reader takes each object from the newest cross-reference entry for it; pdf-lib, and so the
 * rendition, from the last definition in file order. Where the newest entry names another definition
 * the parse also met (an earlier one, or one in an object stream where a direct one came later), or
 * marks free an object the kept objects still refer to, a viewer draws another revision of the page
 * than the rendition does: a square at the left in every reader, at the right in the rendition.
 */
function otherRevision(
  ctx: PDFContext, parsed: ParsedDefinitions, newest: Map<number, XrefEntry>, compressed: Set<number>,
  headerAt: (offset: number) => { num: number; gen: number; at: number } | undefined,
): Misdirection | undefined {
  const other = (num: number, at: number): Misdirection => ({
    detail: `The PDF's cross-reference data names another definition of object ${num} (at byte ${at}) than the one the file defines last: a reader would show that one, the rendition the last, so they could show different content.`,
  });
  const freed: number[] = [];
  for (const e of newest.values()) {
    if (e.type === 0) {
      if (e.num > 0 && !compressed.has(e.num)) freed.push(e.num);
      continue;
    }
    let at: number | undefined;
    let key = `${e.num} ${e.gen}`;
    if (e.type === 1) {
      if (e.field === 0) continue;
      const head = headerAt(e.field);
      if (!head || head.num !== e.num || head.gen !== e.gen || parsed.at.get(head.at) !== key) continue; // a reader rebuilds the table, as pdf-lib did
      at = head.at;
    } else {
      const holder = newest.get(e.field);
      const head = holder?.type === 1 ? headerAt(holder.field) : undefined;
      if (!holder || !head || head.num !== holder.num || head.gen !== holder.gen || !parsed.objectStreams.has(head.at)) continue;
      at = head.at;
      key = `${e.num} 0`;
    }
    const kept = parsed.kept.get(key);
    if (kept !== undefined && kept !== at) return other(e.num, at);
  }
  if (!freed.length) return undefined;
  // Defined directly: an object only in an object stream no section indexes is found by a reader's
  // repair, as pdf-lib found it (a table listing only direct objects leaves such objects free).
  const direct = new Set([...parsed.kept].filter(([, at]) => !parsed.objectStreams.has(at)).map(([k]) => Number(k.split(' ')[0])));
  const defined = new Set(freed.filter((n) => direct.has(n)));
  if (!defined.size) return undefined;
  const used = referencedNumbers(ctx, defined);
  const hit = [...defined].find((n) => used.has(n));
  return hit === undefined ? undefined : {
    detail: `The PDF's cross-reference data marks object ${hit} free while the file defines it and its pages refer to it: a reader would take it for null (a page drawn empty), the rendition would draw it.`,
  };
}

/** Which of `numbers` a kept object (or the trailer) refers to. */
function referencedNumbers(ctx: PDFContext, numbers: Set<number>): Set<number> {
  const used = new Set<number>();
  const walk = (o: PDFObject | undefined, self: number, depth: number): void => {
    if (!o || depth > 64) return;
    if (o instanceof PDFRef) {
      if (o.objectNumber !== self && numbers.has(o.objectNumber)) used.add(o.objectNumber);
      return;
    }
    if (o instanceof PDFArray) for (const x of o.asArray()) walk(x, self, depth + 1);
    else if (o instanceof PDFDict) for (const [, v] of o.entries()) walk(v, self, depth + 1);
    else if (o instanceof PDFStream) walk(o.dict, self, depth + 1);
  };
  for (const [ref, obj] of ctx.enumerateIndirectObjects()) walk(obj, ref.objectNumber, 0);
  walk(ctx.trailerInfo.Root, -1, 0);
  walk(ctx.trailerInfo.Info, -1, 0);
  return used;
}

import { AsyncLocalStorage } from 'node:async_hooks';
import * as zlib from 'zlib';
import { decodePDFRawStream, PDFArray, PDFContext, PDFDict, PDFDocument, PDFName, PDFObject, PDFRawStream, PDFRef } from 'pdf-lib';
import ByteStream from 'pdf-lib/cjs/core/parser/ByteStream';
import PDFObjectStreamParser from 'pdf-lib/cjs/core/parser/PDFObjectStreamParser';
import PDFParser from 'pdf-lib/cjs/core/parser/PDFParser';
import PDFXRefStreamParser from 'pdf-lib/cjs/core/parser/PDFXRefStreamParser';
import { ArchiveError } from '../kernel/errors';
import { checkCrossReferences, Misdirection, ParsedDefinitions, unpredict, XrefEntry } from './pdf-xref';
import { corrupt, DEFAULT_MAX_DECOMPRESSED_BYTES } from './util';

/**
 * What one upload's parse has seen: the bytes its object and cross-reference streams may still
 * decompress to, the first refusal, and the objects a later definition with the same number replaced.
 */
interface Parse {
  left: number;
  refusal?: ArchiveError;
  shadowed: PDFObject[];
  definitions: ParsedDefinitions;
  /** Header offset of the definition being parsed, and how many object streams were unpacked so far. */
  at: number;
  unpacked: number;
}

const newParse = (left: number): Parse => ({ left, shadowed: [], definitions: { at: new Map(), objectStreams: new Set(), xrefStreams: new Map(), kept: new Map() }, at: -1, unpacked: 0 });

const parsing = new AsyncLocalStorage<Parse>();

/** Refuses the upload from inside pdf-lib: it turns the throw into a parse failure, so the parse keeps the refusal the caller reports. */
function refuse(parse: Parse | undefined, err: ArchiveError): never {
  if (parse) parse.refusal ??= err;
  throw err;
}

/**
 * pdf-lib decodes object and cross-reference streams while it parses, whole, through whatever filter
 * chain they name (two Flate layers, RunLength, LZW: each multiplies), with no limit; any stream it
 * takes for one, whatever a text scan of the file would make of it (/Type given by reference, a comment,
 * a long dictionary). Its one place for that is ByteStream.fromPDFRawStream: here every step of the chain
 * is bounded. Flate by zlib's own output limit (one deflate block can be gigabytes, so never pdf-lib's
 * decoder); the other filters in small pieces through pdf-lib's decoders, whose blocks are small.
 */
ByteStream.fromPDFRawStream = (raw: PDFRawStream): ByteStream => ByteStream.of(decodeBounded(raw, parsing.getStore() ?? newParse(DEFAULT_MAX_DECOMPRESSED_BYTES)));

/**
 * A file may define an object number twice (an incremental update does, legitimately). pdf-lib keeps the
 * last definition in file order; a reader following the cross-reference table may take the other one.
 * Both are the original's, so both are kept for the active-content checks.
 */
const assign: (this: PDFContext, ref: PDFRef, object: PDFObject) => void = PDFContext.prototype.assign; // eslint-disable-line @typescript-eslint/unbound-method -- called with its context below
PDFContext.prototype.assign = function (this: PDFContext, ref: PDFRef, object: PDFObject): void {
  const parse = parsing.getStore();
  const earlier = parse ? this.lookup(ref) : undefined;
  if (earlier && earlier !== object) parse!.shadowed.push(earlier);
  // The definition pdf-lib keeps: its own header's offset, or the header of the object stream it came from.
  if (parse) parse.definitions.kept.set(`${ref.objectNumber} ${ref.generationNumber}`, parse.at);
  assign.call(this, ref, object);
};

/** pdf-lib's parser, as far as the hooks below reach into it. */
interface ParserInternals {
  bytes: ByteStream;
  skipWhitespaceAndComments(): void;
  parseIndirectObject(): Promise<PDFRef>;
}

/**
 * Where each definition's `n g obj` starts, and which were object streams pdf-lib unpacked: what the
 * cross-reference check compares a reader's offsets with.
 */
const parserProto = PDFParser.prototype as unknown as ParserInternals;
const parseIndirectObject = parserProto.parseIndirectObject; // eslint-disable-line @typescript-eslint/unbound-method -- called with its context below
parserProto.parseIndirectObject = async function (this: ParserInternals): Promise<PDFRef> {
  const parse = parsing.getStore();
  if (!parse) return parseIndirectObject.call(this);
  this.skipWhitespaceAndComments(); // pdf-lib skips the same before the header; the offset is the header's
  const at = this.bytes.offset();
  const unpacked = parse.unpacked;
  parse.at = at;
  const ref = await parseIndirectObject.call(this);
  parse.definitions.at.set(at, `${ref.objectNumber} ${ref.generationNumber}`);
  if (parse.unpacked > unpacked) parse.definitions.objectStreams.add(at);
  return ref;
};

const objStmProto = PDFObjectStreamParser.prototype as unknown as { parseIntoContext(): Promise<void> };
const parseObjectStream = objStmProto.parseIntoContext; // eslint-disable-line @typescript-eslint/unbound-method -- called with its context below
objStmProto.parseIntoContext = async function (this: unknown): Promise<void> {
  await parseObjectStream.call(this);
  const parse = parsing.getStore();
  if (parse) parse.unpacked++;
};

interface XRefStreamInternals {
  dict: PDFDict;
  bytes: { bytes: Uint8Array };
  subsections: { firstObjectNumber: number; length: number }[];
  byteWidths: number[];
}

/**
 * pdf-lib's own reading of a cross-reference stream's entries, bounded: it loops over the entries that
 * `/Index` or `/Size` claim, whatever the data holds (`/Index [0 300000000]` over three bytes of data ran
 * the process out of memory), and it ignores `/Predictor`, so the entries it read from the usual PNG-
 * predicted streams were noise. Here the predictor is undone, and no more entries are taken than the
 * data holds (a reader does not either). pdf-lib does nothing with the entries; the cross-reference
 * check does.
 */
(PDFXRefStreamParser.prototype as unknown as { parseEntries(): unknown[] }).parseEntries = function (this: XRefStreamInternals) {
  const parse = parsing.getStore();
  const fail = (detail: string): never => refuse(parse, corrupt(detail));
  const [tw, ow, gw] = this.byteWidths.map((w) => Math.max(0, w)) as [number, number, number];
  const width = tw + ow + gw;
  const count = this.subsections.reduce((sum, s) => sum + s.length, 0);
  const valid = [tw, ow, gw].every((w) => Number.isInteger(w) && w <= 8) && this.subsections.every((s) => Number.isSafeInteger(s.firstObjectNumber) && s.firstObjectNumber >= 0 && Number.isSafeInteger(s.length) && s.length >= 0);
  const data = unpredict(this.bytes.bytes, this.dict) ?? fail('The PDF has a cross-reference stream with a predictor that cannot be read.');
  if (!valid || width === 0 || count * width > data.length) fail('The PDF has a cross-reference stream that claims more entries than its data holds.');
  let at = 0;
  const field = (w: number): number => {
    let v = 0;
    for (let i = 0; i < w; i++) v = v * 256 + data[at++]!;
    return v;
  };
  const entries: { ref: PDFRef; offset: number; deleted: boolean; inObjectStream: boolean }[] = [];
  const ours: XrefEntry[] = [];
  for (const { firstObjectNumber, length } of this.subsections) {
    for (let i = 0; i < length; i++) {
      const type = tw === 0 ? 1 : field(tw);
      const value = field(ow);
      const gen = field(gw);
      const num = firstObjectNumber + i;
      entries.push({ ref: PDFRef.of(num, gen), offset: value, deleted: type === 0, inObjectStream: type === 2 });
      if (type === 0 || type === 1 || type === 2) ours.push({ num, gen, type, field: value });
    }
  }
  if (parse) parse.definitions.xrefStreams.set(parse.at, { entries: ours, dict: this.dict });
  return entries;
};

const CHUNK = 64 * 1024;
const N = (s: string) => PDFName.of(s);

function tooLarge(max: number): ArchiveError {
  return new ArchiveError('decompressed_too_large', { detail: `The PDF object streams decompress to more than ${max} bytes; at most that is accepted.` });
}

function decodeBounded(raw: PDFRawStream, parse: Parse): Uint8Array {
  const max = parse.left;
  const filter = raw.dict.lookup(N('Filter'));
  const parms = raw.dict.lookup(N('DecodeParms'));
  const steps: [PDFName, PDFObject | undefined][] =
    filter instanceof PDFName ? [[filter, parms]]
      : filter instanceof PDFArray ? filter.asArray().map((_, i) => [filter.lookup(i, PDFName), parms instanceof PDFArray ? parms.lookupMaybe(i, PDFDict) : undefined])
        : [];
  if (filter && steps.length === 0) return decodePDFRawStream(raw).decode(); // pdf-lib's own error for a malformed /Filter
  let data: Uint8Array = raw.contents;
  for (const [name, parm] of steps) {
    if (name === N('FlateDecode')) {
      try {
        data = zlib.inflateSync(data, { maxOutputLength: Math.max(1, parse.left), finishFlush: zlib.constants.Z_SYNC_FLUSH });
      } catch (cause) {
        if (cause instanceof RangeError || (cause as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') refuse(parse, tooLarge(max));
        throw cause;
      }
      continue;
    }
    const dict = PDFDict.withContext(raw.dict.context);
    dict.set(N('Filter'), name);
    if (parm) dict.set(N('DecodeParms'), parm);
    const stream = decodePDFRawStream(PDFRawStream.of(dict, data));
    let size = 0;
    for (let got = stream.getBytes(CHUNK).length; got > 0; got = stream.getBytes(CHUNK).length) {
      size += got;
      if (size > parse.left) refuse(parse, tooLarge(max));
    }
    data = stream.decode(); // all read already: the bytes counted above
  }
  parse.left -= data.length;
  if (parse.left < 0) refuse(parse, tooLarge(max));
  return data;
}

export interface LoadedPdf {
  pdf: PDFDocument;
  /** Objects whose number a later definition in the file took over: not in `pdf`, still in the original. */
  shadowed: PDFObject[];
  /** Where the file's cross-reference data leads a reader to something this parse did not check. */
  misdirected?: Misdirection;
}

/**
 * PDFDocument.load with its object and cross-reference streams decompressing to at most `maxDecompressed`
 * bytes in all (`decompressed_too_large` past it), the objects it replaced while parsing, and where the
 * file's cross-reference data would lead a reader to bytes the parse did not take for that object.
 */
export async function loadPdf(bytes: Uint8Array, maxDecompressed: number): Promise<LoadedPdf> {
  const parse = newParse(maxDecompressed);
  try {
    const pdf = await parsing.run(parse, () => PDFDocument.load(bytes, { updateMetadata: false, throwOnInvalidObject: true }));
    if (parse.refusal) throw parse.refusal;
    const misdirected = checkCrossReferences(bytes, pdf.context, parse.definitions);
    return { pdf, shadowed: parse.shadowed, misdirected };
  } catch (err) {
    throw parse.refusal ?? err;
  }
}

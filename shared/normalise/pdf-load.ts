import { AsyncLocalStorage } from 'node:async_hooks';
import * as zlib from 'zlib';
import { decodePDFRawStream, PDFArray, PDFContext, PDFDict, PDFDocument, PDFName, PDFObject, PDFRawStream, PDFRef } from 'pdf-lib';
import ByteStream from 'pdf-lib/cjs/core/parser/ByteStream';
import { ArchiveError } from '../kernel/errors';
import { DEFAULT_MAX_DECOMPRESSED_BYTES } from './util';

/**
 * What one upload's parse has seen: the bytes its object and cross-reference streams may still
 * decompress to, the first refusal, and the objects a later definition with the same number replaced.
 */
interface Parse {
  left: number;
  refusal?: ArchiveError;
  shadowed: PDFObject[];
}

const parsing = new AsyncLocalStorage<Parse>();

/**
 * pdf-lib decodes object and cross-reference streams while it parses, whole, through whatever filter
 * chain they name (two Flate layers, RunLength, LZW: each multiplies), with no limit; any stream it
 * takes for one, whatever a text scan of the file would make of it (/Type given by reference, a comment,
 * a long dictionary). Its one place for that is ByteStream.fromPDFRawStream: here every step of the chain
 * is bounded. Flate by zlib's own output limit (one deflate block can be gigabytes, so never pdf-lib's
 * decoder); the other filters in small pieces through pdf-lib's decoders, whose blocks are small.
 */
ByteStream.fromPDFRawStream = (raw: PDFRawStream): ByteStream => ByteStream.of(decodeBounded(raw, parsing.getStore() ?? { left: DEFAULT_MAX_DECOMPRESSED_BYTES, shadowed: [] }));

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
  assign.call(this, ref, object);
};

const CHUNK = 64 * 1024;
const N = (s: string) => PDFName.of(s);

function tooLarge(max: number): ArchiveError {
  return new ArchiveError('decompressed_too_large', { detail: `The PDF object streams decompress to more than ${max} bytes; at most that is accepted.` });
}

function decodeBounded(raw: PDFRawStream, parse: Parse): Uint8Array {
  const refuse = (err: ArchiveError): never => {
    parse.refusal ??= err;
    throw err; // pdf-lib turns it into a parse failure; the refusal is what the caller reports
  };
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
        if (cause instanceof RangeError || (cause as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') refuse(tooLarge(max));
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
      if (size > parse.left) refuse(tooLarge(max));
    }
    data = stream.decode(); // all read already: the bytes counted above
  }
  parse.left -= data.length;
  if (parse.left < 0) refuse(tooLarge(max));
  return data;
}

export interface LoadedPdf {
  pdf: PDFDocument;
  /** Objects whose number a later definition in the file took over: not in `pdf`, still in the original. */
  shadowed: PDFObject[];
}

/**
 * PDFDocument.load with its object and cross-reference streams decompressing to at most `maxDecompressed`
 * bytes in all (`decompressed_too_large` past it), and the objects it replaced while parsing.
 */
export async function loadPdf(bytes: Uint8Array, maxDecompressed: number): Promise<LoadedPdf> {
  const parse: Parse = { left: maxDecompressed, shadowed: [] };
  try {
    const pdf = await parsing.run(parse, () => PDFDocument.load(bytes, { updateMetadata: false, throwOnInvalidObject: true }));
    if (parse.refusal) throw parse.refusal;
    return { pdf, shadowed: parse.shadowed };
  } catch (err) {
    throw parse.refusal ?? err;
  }
}

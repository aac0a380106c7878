import { ArchiveError } from '../kernel/errors';
import type { SpooledFile } from '../ports';
import { checkPixelBudget, declaredPixels, HeaderWalks, inMemory } from './budget';
import { concatSegments, FileBytes, Segment, writeSegments } from './file-source';
import { sniff } from './sniff';
import { jpegPage } from './jpeg';
import { pngPage, pngSniffLength } from './png';
import { tiffPages } from './tiff';
import { normalisePdf } from './pdfin';
import { imagePdfASegments, PageSource } from './pdfa';
import { NormaliseInput, NormaliseResult, NormalisedFile } from './types';
import { sha256 as sha256Hex } from '../ids';
import { corrupt, sha256 } from './util';

export * from './types';
export { sniff } from './sniff';

export const NORMALISER = 'document-archive/pdfa-2';

/** Turn anything a parser throws on hostile bytes into a 4xx; ArchiveErrors pass unchanged. */
async function guarded<T>(what: string, fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (cause) {
    if (cause instanceof ArchiveError) throw cause;
    throw corrupt(`The ${what} cannot be read.`, cause);
  }
}

/** The single entry point: uploaded files in, one rendition PDF and its conversion record out. */
export async function normalise(input: NormaliseInput): Promise<NormaliseResult> {
  const { segments, ...rest } = await convert(input);
  return { ...rest, rendition: concatSegments(segments) };
}

/**
 * The same rendition, byte for byte, written to `renditionPath` (created; hashed as written) instead
 * of returned: for spooled uploads, whose passed-through image data is copied from their file in chunks.
 */
export async function normaliseToFile(input: NormaliseInput, renditionPath: string): Promise<NormaliseResult<SpooledFile>> {
  const { segments, ...rest } = await convert(input);
  return { ...rest, rendition: await writeSegments(segments, renditionPath) };
}

/** Head of a spooled file the type is sniffed from (file-type reads far less; a JPEG is told by its first 3 bytes). */
const SNIFF_HEAD = 64 * 1024;

/**
 * A spooled JPEG or PNG stays in its file, walked through a window (a PNG that must be decoded reads
 * its image data in, pngPage); any other spooled file is read in (its parsers want the whole buffer),
 * and sniffed again from all its bytes, as an in-memory upload is.
 */
async function openSource(file: NormaliseInput['files'][number]): Promise<{ bytes: Buffer | FileBytes; type: NormalisedFile }> {
  if (file.bytes) return { bytes: file.bytes, type: await sniff(file.bytes) };
  const f = new FileBytes(file.spooled);
  try {
    const type = await sniff(f.subarray(0, SNIFF_HEAD));
    if (type.mediaType === 'image/jpeg') return { bytes: f, type };
    // A PNG head must reach the chunk the sniffer stops at (an acTL after large chunks makes it an APNG).
    if (type.mediaType === 'image/png') return { bytes: f, type: await sniff(f.subarray(0, Math.max(SNIFF_HEAD, pngSniffLength(f)))) };
    const bytes = f.readAll();
    f.close();
    return { bytes, type: await sniff(bytes) };
  } catch (err) {
    f.close();
    throw err;
  }
}

type Converted = Omit<NormaliseResult, 'rendition'> & { segments: Segment[] };

async function convert(input: NormaliseInput): Promise<Converted> {
  if (input.files.length === 0) throw new ArchiveError('empty_body', { detail: 'No file was uploaded.' });
  const opened: { bytes: Buffer | FileBytes; type: NormalisedFile }[] = [];
  try {
    for (const file of input.files) opened.push(await openSource(file));
    return await convertOpened(input, opened);
  } finally {
    for (const o of opened) if (o.bytes instanceof FileBytes) o.bytes.close();
  }
}

async function convertOpened(input: NormaliseInput, opened: { bytes: Buffer | FileBytes; type: NormalisedFile }[]): Promise<Converted> {
  const originals: NormalisedFile[] = opened.map((o) => o.type);
  // Each file's plain SHA-256, as the upload parser took it while the bytes arrived (a spooled file's
  // is its spool's): not hashed again here. The /ID is the same wherever the bytes were.
  const digests = input.files.map((f) => Buffer.from(f.spooled ? f.spooled.sha256 : (f.sha256 ?? sha256Hex(f.bytes)), 'hex'));
  const idSeed = sha256(NORMALISER, input.documentId, input.createdAt, input.title ?? '', ...digests);
  const info = { documentId: input.documentId, createdAt: input.createdAt, ...(input.title !== undefined ? { title: input.title } : {}), idSeed };

  if (originals.some((o) => o.mediaType === 'application/pdf')) {
    if (originals.length > 1) throw new ArchiveError('bad_request', { detail: 'A PDF must be uploaded on its own, not together with other files.' });
    const r = await guarded('PDF', () => normalisePdf(inMemory(opened[0]!.bytes), input.limits, info));
    return {
      segments: [r.bytes],
      pageCount: r.pageCount,
      originals,
      conversion: { normaliser: NORMALISER, pageCount: r.pageCount, pages: r.pages, ...r.conversion },
    };
  }

  // The whole request's pixels are counted from headers before any file is decoded.
  const walks: HeaderWalks = { jpeg: new Map(), png: new Map() };
  checkPixelBudget(
    await guarded(originals.length > 1 ? 'image files' : `${originals[0]!.extension.toUpperCase()} file`, () =>
      declaredPixels(originals.map((o, i) => ({ bytes: opened[i]!.bytes, mediaType: o.mediaType })), input.limits, walks)),
    input.limits,
  );
  const sources: PageSource[] = [];
  for (const [index, file] of originals.entries()) {
    const bytes = opened[index]!.bytes;
    const what = `${file.extension.toUpperCase()} file${originals.length > 1 ? ` #${index + 1}` : ''}`;
    let pages: PageSource[];
    switch (file.mediaType) {
      case 'image/jpeg': pages = [await guarded(what, () => jpegPage(bytes, input.limits, walks.jpeg.get(bytes)))]; break;
      case 'image/png': pages = [await guarded(what, () => pngPage(bytes, input.limits, walks.png.get(bytes)))]; break;
      case 'image/tiff': pages = await guarded(what, () => tiffPages(inMemory(bytes), input.limits, sources.length)); break;
      default: throw new ArchiveError('unsupported_media_type');
    }
    if (sources.length + pages.length > input.limits.maxPages) {
      throw new ArchiveError('too_many_pages', { detail: `The upload has more than ${input.limits.maxPages} pages; at most ${input.limits.maxPages} are accepted.` });
    }
    for (const p of pages) sources.push({ ...p, record: { ...p.record, sourceFile: index } });
  }
  const { segments, records } = await imagePdfASegments(sources, info);
  return {
    segments,
    pageCount: records.length,
    originals,
    conversion: { normaliser: NORMALISER, pageCount: records.length, pages: records, conformance: 'PDF/A-2b', outputIntent: 'sRGB' },
  };
}

import { ArchiveError } from '../kernel/errors';
import { checkPixelBudget, declaredPixels } from './budget';
import { sniff } from './sniff';
import { jpegPage } from './jpeg';
import { pngPage } from './png';
import { tiffPages } from './tiff';
import { normalisePdf } from './pdfin';
import { PageSource, writeImagePdfA } from './pdfa';
import { NormaliseInput, NormaliseResult, NormalisedFile } from './types';
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
  if (input.files.length === 0) throw new ArchiveError('empty_body', { detail: 'No file was uploaded.' });
  const originals: NormalisedFile[] = [];
  for (const file of input.files) originals.push(await sniff(file.bytes));
  const idSeed = sha256(NORMALISER, input.documentId, input.createdAt, input.title ?? '', ...input.files.map((f) => sha256(f.bytes)));
  const info = { documentId: input.documentId, createdAt: input.createdAt, ...(input.title !== undefined ? { title: input.title } : {}), idSeed };

  if (originals.some((o) => o.mediaType === 'application/pdf')) {
    if (originals.length > 1) throw new ArchiveError('bad_request', { detail: 'A PDF must be uploaded on its own, not together with other files.' });
    const r = await guarded('PDF', () => normalisePdf(input.files[0]!.bytes, input.limits, info));
    return {
      rendition: r.bytes,
      pageCount: r.pageCount,
      originals,
      conversion: { normaliser: NORMALISER, pageCount: r.pageCount, pages: r.pages, ...r.conversion },
    };
  }

  // The whole request's pixels are counted from headers before any file is decoded.
  checkPixelBudget(
    await guarded(originals.length > 1 ? 'image files' : `${originals[0]!.extension.toUpperCase()} file`, () =>
      declaredPixels(originals.map((o, i) => ({ bytes: input.files[i]!.bytes, mediaType: o.mediaType })), input.limits)),
    input.limits,
  );
  const sources: PageSource[] = [];
  for (const [index, file] of originals.entries()) {
    const bytes = input.files[index]!.bytes;
    const what = `${file.extension.toUpperCase()} file${originals.length > 1 ? ` #${index + 1}` : ''}`;
    let pages: PageSource[];
    switch (file.mediaType) {
      case 'image/jpeg': pages = [await guarded(what, () => jpegPage(bytes, input.limits))]; break;
      case 'image/png': pages = [await guarded(what, () => pngPage(bytes, input.limits))]; break;
      case 'image/tiff': pages = await guarded(what, () => tiffPages(bytes, input.limits, sources.length)); break;
      default: throw new ArchiveError('unsupported_media_type');
    }
    if (sources.length + pages.length > input.limits.maxPages) {
      throw new ArchiveError('too_many_pages', { detail: `The upload has more than ${input.limits.maxPages} pages; at most ${input.limits.maxPages} are accepted.` });
    }
    for (const p of pages) sources.push({ ...p, record: { ...p.record, sourceFile: index } });
  }
  const { bytes, records } = await writeImagePdfA(sources, info);
  return {
    rendition: bytes,
    pageCount: records.length,
    originals,
    conversion: { normaliser: NORMALISER, pageCount: records.length, pages: records, conformance: 'PDF/A-2b', outputIntent: 'sRGB' },
  };
}

import { ArchiveError } from '../http/errors';
import { sniff } from './sniff';
import { plainRendition, validatePdf } from './plain';
import { NormaliseInput, NormaliseResult } from './types';

export * from './types';
export { sniff } from './sniff';

const NORMALISER = 'document-archive/plain-1';

/** The single entry point: uploaded files in, one rendition PDF and its conversion record out. */
export async function normalise(input: NormaliseInput): Promise<NormaliseResult> {
  if (input.files.length === 0) throw new ArchiveError('empty_body', { detail: 'No file was uploaded.' });
  const originals = [];
  for (const file of input.files) originals.push(await sniff(file.bytes));

  if (originals.some((o) => o.mediaType === 'application/pdf')) {
    if (originals.length > 1) throw new ArchiveError('bad_request', { detail: 'A PDF must be uploaded on its own, not together with other files.' });
    const pageCount = await validatePdf(input.files[0]!.bytes, input.limits);
    return {
      rendition: input.files[0]!.bytes,
      pageCount,
      originals,
      conversion: {
        normaliser: NORMALISER,
        pageCount,
        pages: Array.from({ length: pageCount }, (_, i) => ({ page: i + 1, sourceFile: 0, sourceFormat: 'application/pdf', handling: 'kept' as const, check: 'stream-identity' as const })),
        conformance: 'none',
        conformanceReason: 'The uploaded PDF is kept as its own rendition after validation.',
      },
    };
  }
  const { bytes, pages } = await plainRendition(input, originals);
  return {
    rendition: bytes,
    pageCount: pages.length,
    originals,
    conversion: { normaliser: NORMALISER, pageCount: pages.length, pages, conformance: 'none', conformanceReason: 'Interim rendition; not PDF/A.' },
  };
}

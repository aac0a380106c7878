import sharp, { Metadata } from 'sharp';
import { PDFDocument } from 'pdf-lib';
import { ArchiveError } from '../http/errors';
import { NormaliseInput, NormalisedFile, PageRecord } from './types';

/**
 * Interim rendition for the archive spine: images placed on pages with pdf-lib,
 * PDFs validated and kept. The lossless PDF/A writer replaces this module.
 */
const DEFAULT_DPI = 150;

export async function inspectImage(bytes: Buffer, file: NormalisedFile, limits: NormaliseInput['limits']): Promise<number> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (cause) {
    throw new ArchiveError('corrupt_file', { detail: `The ${file.extension.toUpperCase()} file cannot be read.`, cause });
  }
  const pages = meta.pages ?? 1;
  if (pages > limits.maxPages) throw new ArchiveError('too_many_pages', { detail: `The file has ${pages} pages; at most ${limits.maxPages} are accepted.` });
  const pixels = (meta.width ?? 0) * (meta.height ?? 0);
  if (pixels > limits.maxPixelsPerPage) {
    throw new ArchiveError('too_many_pixels', {
      detail: `The image declares ${meta.width}×${meta.height} pixels; at most ${limits.maxPixelsPerPage} pixels a page are accepted.`,
    });
  }
  return pages;
}

async function decodePage(bytes: Buffer, page: number, limits: NormaliseInput['limits']) {
  try {
    const image = sharp(bytes, { page, failOn: 'truncated', limitInputPixels: limits.maxPixelsPerPage });
    const meta = await image.metadata();
    const png = await image.png().toBuffer();
    return { png, width: meta.width ?? 1, height: meta.height ?? 1, dpi: meta.density ?? DEFAULT_DPI };
  } catch (cause) {
    if (cause instanceof Error && /pixel limit/.test(cause.message)) throw new ArchiveError('too_many_pixels', { cause });
    throw new ArchiveError('corrupt_file', { detail: 'The image data is corrupt or truncated.', cause });
  }
}

export async function plainRendition(input: NormaliseInput, files: NormalisedFile[]): Promise<{ bytes: Buffer; pages: PageRecord[] }> {
  const pdf = await PDFDocument.create();
  const pages: PageRecord[] = [];
  for (const [index, file] of files.entries()) {
    const bytes = input.files[index]!.bytes;
    const pageCount = await inspectImage(bytes, file, input.limits);
    if (pages.length + pageCount > input.limits.maxPages) throw new ArchiveError('too_many_pages');
    for (let p = 0; p < pageCount; p++) {
      const decoded = await decodePage(bytes, p, input.limits);
      const image = await pdf.embedPng(decoded.png);
      const w = (decoded.width * 72) / decoded.dpi;
      const h = (decoded.height * 72) / decoded.dpi;
      pdf.addPage([w, h]).drawImage(image, { x: 0, y: 0, width: w, height: h });
      pages.push({ page: pages.length + 1, sourceFile: index, sourceFormat: file.mediaType, handling: 'lossless-converted', check: 'none', widthPx: decoded.width, heightPx: decoded.height });
    }
  }
  const fixed = new Date(input.createdAt);
  pdf.setCreationDate(fixed);
  pdf.setModificationDate(fixed);
  pdf.setProducer('document-archive');
  pdf.setCreator('document-archive');
  if (input.title) pdf.setTitle(input.title);
  return { bytes: Buffer.from(await pdf.save({ useObjectStreams: false })), pages };
}

/** A PDF is kept as its own rendition once it parses and is not encrypted. */
export async function validatePdf(bytes: Buffer, limits: NormaliseInput['limits']): Promise<number> {
  let pdf: PDFDocument;
  try {
    pdf = await PDFDocument.load(bytes, { updateMetadata: false, throwOnInvalidObject: true });
  } catch (cause) {
    if (cause instanceof Error && /encrypted/i.test(cause.message)) throw new ArchiveError('encrypted_pdf', { detail: 'The PDF is encrypted; upload it without encryption.', cause });
    throw new ArchiveError('corrupt_file', { detail: 'The PDF cannot be parsed.', cause });
  }
  const count = pdf.getPageCount();
  if (count === 0) throw new ArchiveError('corrupt_file', { detail: 'The PDF has no pages.' });
  if (count > limits.maxPages) throw new ArchiveError('too_many_pages', { detail: `The PDF has ${count} pages; at most ${limits.maxPages} are accepted.` });
  return count;
}

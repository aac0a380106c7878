import { ArchiveError } from '../kernel/errors';
import { FileBytes } from './file-source';
import { JpegInfo, parseJpeg } from './jpeg';
import { parsePng, PngInfo } from './png';
import { tiffPageSizes } from './tiff';
import { AcceptedMediaType, NormaliseLimits } from './types';

export interface DeclaredPixels {
  pages: number;
  /** Every page's width × height, as the headers declare them. */
  totalPixels: number;
  /** Of those, the pixels this normaliser must decode and re-compress (the CPU- and memory-heavy ones). */
  decodedPixels: number;
}

/** Each JPEG's marker walk and each PNG's chunk walk, by file: taken once, for the budget and the page source. */
export interface HeaderWalks {
  jpeg: Map<Buffer | FileBytes, JpegInfo>;
  png: Map<Buffer | FileBytes, PngInfo>;
}

/**
 * What the images of one request declare, from headers only (marker, chunk and IFD walks; nothing
 * inflated or decoded). Per-page limits are checked on the way, as each format's reader does. Each
 * JPEG's and PNG's walk is left in `walks`, if given, for its page source to use (a JPEG's walk runs
 * over all its scan data, ~0.25 ms for 660 KB: not twice).
 */
export function declaredPixels(
  files: { bytes: Buffer | FileBytes; mediaType: AcceptedMediaType }[],
  limits: NormaliseLimits,
  walks?: HeaderWalks,
): DeclaredPixels {
  const sum: DeclaredPixels = { pages: 0, totalPixels: 0, decodedPixels: 0 };
  const add = (width: number, height: number, decoded: boolean) => {
    sum.pages += 1;
    sum.totalPixels += width * height;
    if (decoded) sum.decodedPixels += width * height;
  };
  for (const { bytes, mediaType } of files) {
    switch (mediaType) {
      case 'image/jpeg': {
        // The DCT stream is carried as is: never decoded.
        const info = parseJpeg(bytes, limits);
        walks?.jpeg.set(bytes, info);
        add(info.width, info.height, false);
        break;
      }
      case 'image/png': {
        // Plain IDAT data is carried as is (inflated once to check it); Adam7 and alpha are decoded.
        const info = parsePng(bytes, limits);
        walks?.png.set(bytes, info);
        add(info.width, info.height, info.interlace !== 0 || info.colorType === 4 || info.colorType === 6 || (info.colorType === 3 && info.trns !== undefined));
        break;
      }
      case 'image/tiff':
        for (const p of tiffPageSizes(inMemory(bytes), limits, sum.pages)) add(p.width, p.height, p.decoded);
        break;
      default:
        break; // PDFs: images are kept as they are; the per-image limit applies (pdfin.ts)
    }
  }
  return sum;
}

/** Refuse a request whose declared pixels exceed either budget, naming the budget and the total. */
export function checkPixelBudget(declared: DeclaredPixels, limits: NormaliseLimits): void {
  const fmt = (n: number) => n.toLocaleString('en-US');
  const { maxPixelsPerRequest: total, maxDecodedPixelsPerRequest: decoded } = limits;
  if (total !== undefined && declared.totalPixels > total) {
    throw new ArchiveError('pixel_budget_exceeded', {
      detail: `The upload declares ${fmt(declared.totalPixels)} pixels on ${declared.pages} page(s); at most ${fmt(total)} pixels are accepted per request.`,
      extensions: { totalPixels: declared.totalPixels, maxPixelsPerRequest: total, pages: declared.pages },
    });
  }
  if (decoded !== undefined && declared.decodedPixels > decoded) {
    throw new ArchiveError('pixel_budget_exceeded', {
      detail: `The upload declares ${fmt(declared.decodedPixels)} pixels that must be decoded (interlaced or transparent PNG, LZW/Deflate/PackBits/uncompressed TIFF); at most ${fmt(decoded)} such pixels are accepted per request.`,
      extensions: { decodedPixels: declared.decodedPixels, maxDecodedPixelsPerRequest: decoded, totalPixels: declared.totalPixels, pages: declared.pages },
    });
  }
}

/** Only JPEGs and PNGs are walked through their file; any other spooled format is read in first (normalise()). */
export function inMemory(bytes: Buffer | FileBytes): Buffer {
  if (Buffer.isBuffer(bytes)) return bytes;
  throw new Error('only a JPEG or a PNG is read from its spooled file');
}

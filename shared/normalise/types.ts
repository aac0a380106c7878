/** Public shapes of the normaliser: what goes in, what comes out, and the conversion record. */
export const ACCEPTED_MEDIA_TYPES = ['image/jpeg', 'image/png', 'image/tiff', 'application/pdf'] as const;
export type AcceptedMediaType = (typeof ACCEPTED_MEDIA_TYPES)[number];

export const EXTENSION_OF: Record<AcceptedMediaType, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/tiff': 'tif',
  'application/pdf': 'pdf',
};

export interface SourceFile {
  bytes: Buffer;
  /** As the client named it; informational only, never trusted for the type. */
  fileName?: string;
}

export interface NormaliseLimits {
  maxPixelsPerPage: number;
  maxPages: number;
  /** Ceiling on bytes any single decompression may produce; default 512 MiB. */
  maxDecompressedBytes?: number;
  /** Pixels of all pages of all files of one request, from their headers; unlimited when absent. */
  maxPixelsPerRequest?: number;
  /** Of those, the pixels decoded and re-compressed here (interlaced/alpha PNG, LZW/Deflate/… TIFF); unlimited when absent. */
  maxDecodedPixelsPerRequest?: number;
}

export interface NormaliseInput {
  files: SourceFile[];
  /** Used for the rendition's Info/XMP and deterministic dates. */
  documentId: string;
  createdAt: string;
  title?: string;
  limits: NormaliseLimits;
}

export interface PageRecord {
  page: number;
  /** 0-based index of the uploaded file the page came from. */
  sourceFile: number;
  sourceFormat: string;
  handling: 'passed-through' | 'lossless-converted' | 'kept';
  check: 'stream-identity' | 'pixel-equality' | 'none';
  widthPx?: number;
  heightPx?: number;
  /** Page size in PDF points (after orientation). */
  widthPt?: number;
  heightPt?: number;
  /** Resolution used for the page size and where it came from. */
  dpi?: { x: number; y: number; source: 'jfif' | 'exif' | 'png-phys' | 'tiff' | 'default' };
  /** Source compression, e.g. 'jpeg-baseline', 'ccitt-g4', 'png-deflate', 'tiff-lzw'. */
  compression?: string;
  /** Number of image XObjects that make up the page (several for multi-strip TIFF pages). */
  images?: number;
  /** EXIF orientation applied with a placement matrix (1 = none). */
  orientation?: number;
  /** Anything else done to the data, e.g. 'fill-order-2 bits reversed', 'alpha kept as /SMask'. */
  notes?: string[];
}

export interface ConversionRecord {
  normaliser: string;
  pageCount: number;
  pages: PageRecord[];
  conformance: 'PDF/A-2b' | 'none';
  conformanceReason?: string;
  /** What an uploaded PDF declares in its XMP (e.g. 'PDF/A-1B'); not a claim made by the archive. */
  declaredConformance?: string;
  /** The PDF/A OutputIntent profile used, when a rendition was made. */
  outputIntent?: 'sRGB' | 'CMYK';
}

export interface NormalisedFile {
  mediaType: AcceptedMediaType;
  extension: string;
}

export interface NormaliseResult {
  rendition: Buffer;
  pageCount: number;
  /** The sniffed type of each uploaded file, in upload order. */
  originals: NormalisedFile[];
  conversion: ConversionRecord;
}

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
}

export interface ConversionRecord {
  normaliser: string;
  pageCount: number;
  pages: PageRecord[];
  conformance: 'PDF/A-2b' | 'none';
  conformanceReason?: string;
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

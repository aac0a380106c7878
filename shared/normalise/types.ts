/** Public shapes of the normaliser: what goes in, what comes out, and the conversion record. */
import type { ConversionRecord } from '../kernel/document';
import type { SpooledFile } from '../ports';
export const ACCEPTED_MEDIA_TYPES = ['image/jpeg', 'image/png', 'image/tiff', 'application/pdf'] as const;
export type AcceptedMediaType = (typeof ACCEPTED_MEDIA_TYPES)[number];

export const EXTENSION_OF: Record<AcceptedMediaType, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/tiff': 'tif',
  'application/pdf': 'pdf',
};

/** One uploaded file: its bytes, or (a large upload) the temporary file they were spooled to. */
export type SourceFile = {
  /** As the client named it; informational only, never trusted for the type. */
  fileName?: string;
} & (
  | {
      bytes: Buffer;
      /** SHA-256 (hex) of `bytes` when the caller already took it (the upload parser hashes as it receives); else hashed here. */
      sha256?: string;
      spooled?: undefined;
    }
  | { bytes?: undefined; spooled: SpooledFile }
);

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

export interface NormalisedFile {
  mediaType: AcceptedMediaType;
  extension: string;
}

export interface NormaliseResult<R = Buffer> {
  /** In memory; or, from `normaliseToFile`, the file it was written to (with its size and SHA-256). */
  rendition: R;
  pageCount: number;
  /** The sniffed type of each uploaded file, in upload order. */
  originals: NormalisedFile[];
  conversion: ConversionRecord;
}

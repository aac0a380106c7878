/**
 * Where the archive keeps its blobs: one container per tenant for documents, one per tenant
 * for export ZIPs, and inside the document container one folder per document. The only
 * place these names are spelled; adapters, ingest, disposal and fixity all ask here.
 */
export const DOCUMENTS_CONTAINER_PREFIX = 'tenant-';
export const EXPORTS_CONTAINER_PREFIX = 'exports-';

export const blobLayout = {
  documentsContainer: (tenantId: string): string => `${DOCUMENTS_CONTAINER_PREFIX}${tenantId}`,
  exportsContainer: (tenantId: string): string => `${EXPORTS_CONTAINER_PREFIX}${tenantId}`,
  /** Every blob of a document starts with this prefix. */
  folder: (documentId: string): string => `${documentId}/`,
  manifest: (documentId: string): string => `${documentId}/manifest.json`,
  rendition: (documentId: string): string => `${documentId}/rendition.pdf`,
  /** One upload: `original.<ext>`; several: `original-001.<ext>`, … in upload order. */
  original: (documentId: string, index: number, count: number, extension: string): string =>
    count === 1 ? `${documentId}/original.${extension}` : `${documentId}/original-${String(index + 1).padStart(3, '0')}.${extension}`,
  /** A metadata correction as the catalog accepted it (version 2 is the first), kept beside the manifest: the catalog can be rebuilt with it. */
  correction: (documentId: string, version: number): string => `${documentId}/correction-${String(version).padStart(3, '0')}.json`,
  /** The version a correction blob's name gives, or null for any other blob. */
  correctionVersion: (blobName: string): number | null => {
    const m = /\/correction-(\d{3})\.json$/.exec(blobName);
    return m ? Number(m[1]) : null;
  },
  isManifest: (blobName: string): boolean => blobName.endsWith('/manifest.json'),
  /** A blob directly in the document's folder: its files are flat, so no further `/` and no `.` or `..` segment. */
  inFolder: (documentId: string, blobName: string): boolean => blobName.startsWith(`${documentId}/`) && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(blobName.slice(documentId.length + 1)),
} as const;

package archive.validator;

import java.util.Optional;

/**
 * The blobs the validator touches, one document's: its rendition (read) and its veraPDF report (created once).
 * A blob that does not exist is an answer here, not a failure: the document was disposed of, and its request is
 * dropped. Every other failure (storage 5xx, refused access) throws, so the message is delivered again.
 */
interface RenditionStore {
  /** The rendition's bytes; empty when it does not exist (404). */
  Optional<byte[]> rendition(String tenantId, String documentId);

  /** Whether the rendition still exists; asked after veraPDF ran, before a report is written beside it. */
  boolean renditionExists(String tenantId, String documentId);

  /**
   * Stores the report create-only and returns the report that is stored: this one, or the one an earlier delivery
   * stored (that one is the evidence then). Empty when the document's blobs are gone (404).
   */
  Optional<byte[]> storeReport(String tenantId, String documentId, byte[] report);
}

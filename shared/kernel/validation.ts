/** What the archive records about a rendition's independent PDF/A check (issue #14). */

export const PDFA_2B = 'PDF/A-2B';

/** A request on the `rendition-validation` queue: which rendition, by the hash the catalog holds. */
export interface ValidationRequest {
  tenantId: string;
  documentId: string;
  renditionSha256: string;
}

/**
 * The outcome on the catalog item (the manifest is immutable, so the conversion record in the
 * catalog carries it). `pending` until the worker has stored a report.
 */
export type ValidationRecord =
  | { status: 'pending'; requestedAt?: string }
  | {
      status: 'passed' | 'failed';
      validator: { name: string; version: string };
      profile: string;
      passed: boolean;
      /** ISO 19005-2 rule ids (`clause-testNumber`, as veraPDF names them) that failed. */
      failedRules: string[];
      validatedAt: string;
      renditionSha256: string;
      /** The stored machine-readable report (`<documentId>/validation.json`, create-only, WORM). */
      report: { blobName: string; sha256: string; size: number };
    };

export interface ValidatorResult {
  passed: boolean;
  failedRules: string[];
  /** The validator's machine-readable report for this one rendition, as stored. */
  report: Buffer;
}

export interface ValidatorBatch {
  validator: { name: string; version: string };
  profile: string;
  /** One per rendition, in the order given. */
  results: ValidatorResult[];
}

export type StoredReportOutcome = Omit<ValidatorBatch, 'results'> & { passed: boolean; failedRules: string[] };

/** The port the worker validates through (locally veraPDF in one JVM per batch). */
export interface RenditionValidator {
  readonly name: string;
  validate(renditions: { name: string; bytes: Buffer }[]): Promise<ValidatorBatch>;
  /** The outcome a report stored earlier states (a re-delivered message after the report was written). */
  readReport(report: Buffer): StoredReportOutcome;
}

export function validationReportName(documentId: string): string {
  return `${documentId}/validation.json`;
}

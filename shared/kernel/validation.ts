/** What the archive records about a rendition's independent PDF/A check (issue #14). */

export const PDFA_2B = 'PDF/A-2B';

/** A request on the `rendition-validation` queue: which rendition, by the hash the catalog holds. */
export interface ValidationRequest {
  tenantId: string;
  documentId: string;
  renditionSha256: string;
}

/**
 * Requests per queue message at most. One message carries the requests of the uploads of a short
 * while (`{"requests":[…]}`), so ingest sends no message of its own; 32 requests are ~6 KB, far
 * below a Storage queue message's 64 KB.
 */
export const VALIDATION_REQUESTS_PER_MESSAGE = 32;

/** A queue message's text: the requests it carries (the Java validator reads the same shape). */
export function validationMessageText(requests: readonly ValidationRequest[]): string {
  return JSON.stringify({ requests });
}

/**
 * The requests of one queue message, or null when any of it is malformed (the message is then
 * poisoned whole). A message of one bare request, as sent before requests were gathered, is read too.
 */
export function parseValidationMessage(text: string): ValidationRequest[] | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const list: unknown[] = 'requests' in parsed ? (Array.isArray(parsed.requests) ? parsed.requests : []) : [parsed];
  if (list.length === 0 || list.length > VALIDATION_REQUESTS_PER_MESSAGE) return null;
  const requests: ValidationRequest[] = [];
  for (const item of list) {
    const v = (typeof item === 'object' && item !== null ? item : {}) as Partial<Record<keyof ValidationRequest, unknown>>;
    if (typeof v.tenantId !== 'string' || typeof v.documentId !== 'string' || typeof v.renditionSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(v.renditionSha256)) return null;
    requests.push({ tenantId: v.tenantId, documentId: v.documentId, renditionSha256: v.renditionSha256 });
  }
  return requests;
}

/**
 * The outcome on the catalog item (the manifest is immutable, so the conversion record in the
 * catalog carries it). `pending` until the worker has stored a report.
 */
export type ValidationRecord =
  | {
      status: 'pending';
      /** When the maintenance pass last asked again. */
      requestedAt?: string;
      /** How often the maintenance pass asked again. */
      requests?: number;
      /** When it stopped asking (every request failed, e.g. poisoned each time): an operator looks at the document. */
      gaveUpAt?: string;
    }
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

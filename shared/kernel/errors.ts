/**
 * The archive's one error type. Use cases throw `ArchiveError(code, …)`; the HTTP
 * layer (shared/http/problem.ts) maps the code to a status and an RFC 9457
 * problem+json body. Every code the archive can answer with is listed here, with
 * its title; nothing here knows about HTTP.
 */

export const ERROR_TITLES = {
  bad_request: 'Bad request',
  empty_body: 'The upload is empty',
  malformed_multipart: 'The multipart body is malformed',
  invalid_metadata: 'The document metadata is invalid',
  invalid_query: 'The query parameters are invalid',
  unauthenticated: 'A valid credential is required',
  forbidden: 'The credential does not allow this',
  segregation_of_duties: 'Segregation of duties forbids this',
  support_access_not_granted: 'The tenant has not granted support access',
  document_not_found: 'No such document',
  validation_pending: 'The rendition has not been validated yet',
  export_not_found: 'No such export',
  export_not_ready: 'The export is not finished',
  export_expired: 'The export has expired',
  export_too_large: 'The search matches more documents than one export holds',
  too_many_exports: 'The tenant has as many exports running as it may; wait for one to finish',
  too_many_uploads: "The tenant's large uploads in progress hold as much of the instance's temporary storage as it may; retry shortly",
  too_many_verifications: 'As many months of the audit log are being verified as may be at once; wait for one to finish',
  export_fixity_mismatch: 'An archived file does not match its checksum; the export was stopped',
  export_incomplete: 'The export would have left out documents its search matches; it was stopped',
  export_stalled: 'The export\'s worker stopped before finishing as many times as it may; it was stopped',
  export_not_sealed: 'The export job is not as the archive sealed it; it is not run or handed out',
  file_damaged: 'The stored file is not the file archived; it is not sent',
  api_key_not_found: 'No such API key',
  rights_set_not_found: 'No such rights set',
  rights_assignment_not_found: 'No such rights assignment',
  support_grant_not_found: 'No such support-access grant',
  sod_policy_proposal_not_found: 'No such proposed change of the segregation-of-duties policy',
  sod_policy_proposal_closed: 'The proposed change is no longer pending',
  sod_policy_changed: 'The segregation-of-duties policy changed since the proposal was made',
  retention_policy_proposal_not_found: 'No such proposed change of the retention policy',
  retention_policy_proposal_closed: 'The proposed change is no longer pending',
  retention_policy_changed: 'The retention policy changed since the proposal was made',
  proposer_rights_ended: 'The proposer no longer holds the right to propose this change',
  proposal_not_sealed: 'The proposal is not as the archive sealed it; propose it again',
  conflicting_rights_held: 'Existing rights would hold a pair the policy declares conflicting',
  route_not_found: 'No such route',
  method_not_allowed: 'Method not allowed',
  precondition_failed: 'The resource changed since it was read',
  precondition_required: 'This change needs an If-Match header naming the version it applies to',
  duplicate_document: 'This original is already archived',
  rights_set_in_use: 'The rights set is still assigned',
  rights_set_reserved: 'Built-in rights sets cannot be changed',
  tenant_limit_reached: 'The tenant has as many of these as it may have',
  audit_contention: 'The audit log is busy; retry',
  payload_too_large: 'The upload is too large',
  header_fields_too_large: 'The request line or header fields are too large',
  too_many_refusals: 'Too many refused requests from this principal; wait and retry',
  unsupported_media_type: 'The file type is not accepted',
  range_not_satisfiable: 'The requested range cannot be served',
  range_too_large: 'More bytes than one answer carries; ask for them in smaller ranges',
  corrupt_file: 'The file is corrupt or truncated',
  encrypted_pdf: 'Encrypted PDFs cannot be archived',
  active_content: 'The PDF carries active or embedded content',
  too_many_pixels: 'The image is larger than the archive accepts',
  pixel_budget_exceeded: 'The upload has more pixels than one request may convert',
  normalisation_timeout: 'Converting the upload took longer than the archive allows',
  normalisation_memory: 'Converting the upload needed more memory than the archive allows',
  too_many_pages: 'The document has more pages than the archive accepts',
  decompressed_too_large: 'The file decompresses to more data than the archive accepts',
  embedded_file: 'The PDF carries embedded files',
  xfa_form: 'The PDF is an XFA form',
  trailing_data: 'The file carries data after its end',
  digest_mismatch: 'The body does not match the digest sent with it',
  idempotency_key_reused: 'The Idempotency-Key was used for a different request',
  idempotency_in_flight: 'A request with this Idempotency-Key is still in progress; retry later',
  invalid_retention_policy: 'The retention policy is not valid',
  retention_ended: "The document's retention has already ended",
  retention_below_legal_floor: 'A retention class may not be shorter than the legal floor',
  retention_shortening_refused: 'Retention can be extended, never shortened',
  too_many_corrections: 'The document has been corrected as often as the archive keeps corrections of one document',
  too_many_holds: 'The document has carried as many legal holds as the archive keeps on one document',
  document_record_full: "The document's catalog record holds as much history as the archive keeps for one document",
  four_eyes_required: 'Four-eyes rule: another principal must do this',
  hold_not_found: 'No such legal hold on this document',
  hold_already_released: 'The legal hold is already released',
  hold_placement_unwitnessed: "The audit log holds no entry of the legal hold's placement; it is not released",
  document_disposed: 'The document was disposed of after its retention ended',
  worm_unavailable: 'Immutable storage is not available; nothing was archived',
  dependency_unavailable: 'A storage dependency is unavailable',
  internal: 'Internal error',
} as const;

export type ErrorCode = keyof typeof ERROR_TITLES;
export const ERROR_CODES = Object.keys(ERROR_TITLES) as ErrorCode[];

export interface ArchiveErrorOptions {
  /** Safe, client-facing explanation of what is wrong. */
  detail?: string;
  /** Extra problem members (RFC 9457 extensions), safe to show the client. */
  extensions?: Record<string, unknown>;
  /** Developer-only context; logged, never sent. */
  cause?: unknown;
  /** When a retry can succeed (busy, rate-limited): the seconds to wait. */
  retryAfterSeconds?: number;
}

export class ArchiveError extends Error {
  readonly code: ErrorCode;
  readonly detail: string | undefined;
  readonly extensions: Record<string, unknown>;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, options: ArchiveErrorOptions = {}) {
    super(options.detail ?? ERROR_TITLES[code], { cause: options.cause });
    this.name = 'ArchiveError';
    this.code = code;
    this.detail = options.detail;
    this.extensions = options.extensions ?? {};
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** Normalise anything thrown into an ArchiveError; unknown errors become `internal` (detail hidden). */
export function toArchiveError(err: unknown): ArchiveError {
  if (err instanceof ArchiveError) return err;
  return new ArchiveError('internal', { cause: err });
}

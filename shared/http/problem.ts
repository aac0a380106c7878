import { ArchiveError, ERROR_TITLES, type ErrorCode } from '../kernel/errors';

/**
 * The one code → HTTP status table. `satisfies` makes it exhaustive: a code added to
 * the kernel without a status here, or a status for a code that does not exist, fails the build.
 */
export const ERROR_STATUS = {
  bad_request: 400,
  empty_body: 400,
  malformed_multipart: 400,
  invalid_metadata: 400,
  invalid_query: 400,
  unauthenticated: 401,
  forbidden: 403,
  segregation_of_duties: 403,
  support_access_not_granted: 403,
  document_not_found: 404,
  validation_pending: 404,
  export_not_found: 404,
  export_not_ready: 409,
  export_expired: 410,
  export_too_large: 422,
  too_many_exports: 429,
  too_many_uploads: 429,
  too_many_verifications: 429,
  export_fixity_mismatch: 500,
  export_incomplete: 500,
  export_stalled: 500,
  export_not_sealed: 409,
  file_damaged: 500,
  api_key_not_found: 404,
  rights_set_not_found: 404,
  rights_assignment_not_found: 404,
  support_grant_not_found: 404,
  sod_policy_proposal_not_found: 404,
  sod_policy_proposal_closed: 409,
  sod_policy_changed: 409,
  retention_policy_proposal_not_found: 404,
  retention_policy_proposal_closed: 409,
  proposer_rights_ended: 409,
  proposal_not_sealed: 409,
  retention_policy_changed: 409,
  conflicting_rights_held: 409,
  route_not_found: 404,
  method_not_allowed: 405,
  precondition_failed: 412,
  precondition_required: 428,
  duplicate_document: 409,
  rights_set_in_use: 409,
  rights_set_reserved: 409,
  tenant_limit_reached: 409,
  audit_contention: 503,
  payload_too_large: 413,
  header_fields_too_large: 431,
  too_many_refusals: 429,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  // Not 416 (no range is unsatisfiable; clients take 416 as "nothing left"), not 413 (about the request's content): shared/http/download.ts.
  range_too_large: 422,
  corrupt_file: 422,
  encrypted_pdf: 422,
  active_content: 422,
  too_many_pixels: 422,
  pixel_budget_exceeded: 422,
  normalisation_timeout: 422,
  normalisation_memory: 422,
  too_many_pages: 422,
  decompressed_too_large: 422,
  embedded_file: 422,
  xfa_form: 422,
  trailing_data: 422,
  digest_mismatch: 400,
  idempotency_key_reused: 422,
  idempotency_in_flight: 409,
  invalid_retention_policy: 422,
  retention_ended: 422,
  retention_below_legal_floor: 422,
  retention_shortening_refused: 422,
  too_many_corrections: 409,
  too_many_holds: 409,
  document_record_full: 409,
  four_eyes_required: 403,
  hold_not_found: 404,
  hold_already_released: 409,
  hold_placement_unwitnessed: 409,
  document_disposed: 410,
  worm_unavailable: 503,
  dependency_unavailable: 503,
  internal: 500,
} as const satisfies Record<ErrorCode, number>;

export function statusOf(code: ErrorCode): number {
  return ERROR_STATUS[code];
}

/** Headers an error's answer carries: the challenge on 401, the methods on 405, the size on 416, the wait when a retry can succeed. */
export function headersOf(err: ArchiveError): Record<string, string> {
  const headers: Record<string, string> = {};
  if (err.code === 'unauthenticated') headers['WWW-Authenticate'] = 'Bearer realm="archive", ApiKey realm="archive"';
  if (err.code === 'range_not_satisfiable' && typeof err.extensions.size === 'number') headers['Content-Range'] = `bytes */${err.extensions.size}`;
  if (err.code === 'method_not_allowed' && Array.isArray(err.extensions.allow)) headers.Allow = err.extensions.allow.join(', ');
  if (err.retryAfterSeconds !== undefined) headers['Retry-After'] = String(err.retryAfterSeconds);
  return headers;
}

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  code: ErrorCode;
  requestId: string;
  [extension: string]: unknown;
}

export function problemOf(err: ArchiveError, requestId: string, instance?: string): ProblemDetails {
  return {
    ...err.extensions,
    type: `https://archive.example/problems/${err.code.replace(/_/g, '-')}`,
    title: ERROR_TITLES[err.code],
    status: statusOf(err.code),
    ...(err.code === 'internal' ? { detail: `Unexpected error; quote request id ${requestId}` } : err.detail ? { detail: err.detail } : {}),
    ...(instance ? { instance } : {}),
    code: err.code,
    requestId,
  };
}

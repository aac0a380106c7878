/**
 * The API's refusals and failures as the web app handles them: problem+json (RFC 9457) read off a failed
 * answer into a ProblemError, with the wait its Retry-After asks for. Kept apart from api.ts (which
 * re-exports it) so it needs no browser: the unit tests run it in Node.
 */
import type { components } from '../../cli/api/openapi-types';
import { retryAtOf } from './lib/retry-after';

export type Problem = components['schemas']['Problem'] & {
  errors?: { path: string; message: string }[];
  rule?: string;
  permission?: string;
  /** segregation_of_duties: the declared pair one principal would hold (conflicting-permissions). */
  conflict?: string[];
  /** segregation_of_duties: the permissions beyond the caller's own (rights-ceiling). */
  permissions?: string[];
  /** duplicate_document, idempotency_key_reused: the document already archived. */
  documentId?: string;
  /** retention_shortening_refused: the retain-until in force. */
  retainUntil?: string;
  /** conflicting_rights_held: the rights sets that would hold a declared pair, and who holds them. */
  holders?: { rightsSet: string; subjects: string[]; apiKeys: string[]; caller: boolean; conflict: [string, string] }[];
};

/**
 * A refusal or failure the API explained with problem+json (or a plain HTTP status when it could not).
 * `retryAt`: when its Retry-After lets the same request go again (ms since the epoch), if it named one.
 */
export class ProblemError extends Error {
  constructor(
    readonly problem: Problem,
    readonly retryAt?: number,
  ) {
    super(problem.detail ?? problem.title);
  }
}

/** problem+json from a failed answer; a body that is not one becomes a problem with the status only. */
export async function problemOf(response: Response, body?: unknown): Promise<Problem> {
  let data = body;
  if (data === undefined) {
    try {
      data = await response.clone().json();
    } catch {
      data = undefined;
    }
  }
  if (data && typeof data === 'object' && 'code' in data && 'status' in data) return data as Problem;
  return { type: 'about:blank', title: response.statusText, status: response.status, code: response.status >= 500 ? 'internal' : 'bad_request', requestId: response.headers.get('x-request-id') ?? '' };
}

/** The ProblemError of a failed answer: its problem+json and the wait its Retry-After asks for (429, 503, 409 in flight). */
export async function refusalOf(response: Response, body?: unknown): Promise<ProblemError> {
  return new ProblemError(await problemOf(response, body), retryAtOf(response.headers.get('Retry-After'), Date.now()));
}

/** The data of a typed call, or a ProblemError carrying the API's explanation. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok || data === undefined) throw await refusalOf(response, error);
  return data;
}

/**
 * The data of a typed call with the ETag naming the version it shows (a policy a person edits): a save sends the
 * ETag of what the edit started from as If-Match, so one made on an older version is refused, not written over a
 * newer one.
 */
export async function unwrapVersioned<T extends object>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T & { etag: string | null }> {
  const { data, error, response } = await call;
  if (!response.ok || data === undefined) throw await refusalOf(response, error);
  return { ...data, etag: response.headers.get('ETag') };
}

/** 412: what a save was made on was changed by someone else meanwhile; nothing was stored. */
export const changedMeanwhile = (err: unknown): boolean => err instanceof ProblemError && err.problem.code === 'precondition_failed';

/** A call answered without a body (204): resolves when it succeeded, else a ProblemError. */
export async function unwrapEmpty(call: Promise<{ error?: unknown; response: Response }>): Promise<void> {
  const { error, response } = await call;
  if (!response.ok) throw await refusalOf(response, error);
}

/**
 * The typed API client: openapi-fetch over the types generated from the archive's OpenAPI description
 * (cli/api/openapi-types.ts, type-only), with the bearer token added to every call. A 401 means the
 * session ended: sign in again and come back to the same screen.
 */
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from '../../cli/api/openapi-types';
import { activeAuthenticator, currentSession, setSession } from './auth/session';

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
export type ArchiveDocument = paths['/documents/{id}']['get']['responses'][200]['content']['application/json'];
export type DocumentQuery = NonNullable<paths['/documents']['get']['parameters']['query']>;
export type ArchiveExport = paths['/exports/{id}']['get']['responses'][200]['content']['application/json'];
export type AuditEntry = paths['/audit']['get']['responses'][200]['content']['application/json']['items'][number];

/** A refusal or failure the API explained with problem+json (or a plain HTTP status when it could not). */
export class ProblemError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title);
  }
}

let apiBase = '/api';

async function bearer(): Promise<string | null> {
  let session = currentSession();
  if (session && session.expiresAt - Date.now() < 60_000) {
    session = await activeAuthenticator().renew(session);
    if (session) setSession(session);
  }
  return session?.accessToken ?? null;
}

async function signInAgain(): Promise<void> {
  setSession(null);
  await activeAuthenticator().signIn(window.location.pathname + window.location.search);
}

const auth: Middleware = {
  async onRequest({ request }) {
    const token = await bearer();
    if (token) request.headers.set('Authorization', `Bearer ${token}`);
    return request;
  },
  async onResponse({ response }) {
    if (response.status === 401) await signInAgain();
    return response;
  },
};

function clientFor(baseUrl: string) {
  const created = createClient<paths>({ baseUrl });
  created.use(auth);
  return created;
}

let client = clientFor(apiBase);

/** Called once with web-config.json's apiBase, before the first call. */
export function setApiBase(base: string): void {
  apiBase = base.replace(/\/$/, '');
  client = clientFor(apiBase);
}

export const api = () => client;

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

/** The data of a typed call, or a ProblemError carrying the API's explanation. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok || data === undefined) throw new ProblemError(await problemOf(response, error));
  return data;
}

/** A raw call through the same bearer and 401 handling, for streamed downloads. */
export async function apiFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const token = await bearer();
  if (token) headers.set('Authorization', `Bearer ${token}`);
  const response = await fetch(`${apiBase}${path}`, { ...init, headers });
  if (response.status === 401) await signInAgain();
  if (!response.ok) throw new ProblemError(await problemOf(response));
  return response;
}

/** A call answered without a body (204): resolves when it succeeded, else a ProblemError. */
export async function unwrapEmpty(call: Promise<{ error?: unknown; response: Response }>): Promise<void> {
  const { error, response } = await call;
  if (!response.ok) throw new ProblemError(await problemOf(response, error));
}

/**
 * The typed API client: openapi-fetch over the types generated from the archive's OpenAPI description
 * (cli/api/openapi-types.ts, type-only), with the bearer token added to every call. A 401 means the
 * session ended: sign in again and come back to the same screen.
 */
import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from '../../cli/api/openapi-types';
import { activeAuthenticator, currentSession, setSession } from './auth/session';
import { refusalOf } from './problem';

export { changedMeanwhile, ProblemError, problemOf, refusalOf, unwrap, unwrapEmpty, unwrapVersioned, type Problem } from './problem';

export type ArchiveDocument = paths['/documents/{id}']['get']['responses'][200]['content']['application/json'];
export type DocumentQuery = NonNullable<paths['/documents']['get']['parameters']['query']>;
export type ArchiveExport = paths['/exports/{id}']['get']['responses'][200]['content']['application/json'];
export type AuditEntry = paths['/audit']['get']['responses'][200]['content']['application/json']['items'][number];

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

/** A raw call through the same bearer and 401 handling, for streamed downloads. */
export async function apiFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const token = await bearer();
  if (token) headers.set('Authorization', `Bearer ${token}`);
  const response = await fetch(`${apiBase}${path}`, { ...init, headers });
  if (response.status === 401) await signInAgain();
  if (!response.ok) throw await refusalOf(response);
  return response;
}

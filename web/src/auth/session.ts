/**
 * Who is signed in, kept in memory only: a reload signs in again (no token ever reaches localStorage or
 * sessionStorage; only the PKCE verifier and state cross the redirect, see local-oidc.ts).
 */
import type { AuthConfig } from '../config';

export interface Person {
  tenant: string;
  subject: string;
  name: string | null;
  rightsSet: string | null;
}

export interface Session {
  accessToken: string;
  expiresAt: number;
  person: Person;
}

export interface Authenticator {
  /** Finishes a redirect that came back with a code; null when this page load is not one. */
  completeRedirect(): Promise<Session | null>;
  /** Sends the browser to the sign-in page; `returnTo` is where to land afterwards. */
  signIn(returnTo: string): Promise<void>;
  /** A fresh token when the provider can give one without a redirect (Entra's silent renewal). */
  renew(session: Session): Promise<Session | null>;
  signOut(): Promise<void>;
}

let current: Session | null = null;
let authenticator: Authenticator | null = null;

export function currentSession(): Session | null {
  return current;
}

export function setSession(session: Session | null): void {
  current = session;
}

export async function authenticatorFor(config: AuthConfig): Promise<Authenticator> {
  if (!authenticator) {
    // Each provider's code is its own chunk: MSAL (large) only loads for Entra.
    authenticator = config.kind === 'entra'
      ? (await import('./entra')).entraAuthenticator(config)
      : (await import('./local-oidc')).localOidcAuthenticator(config);
  }
  return authenticator;
}

export function activeAuthenticator(): Authenticator {
  if (!authenticator) throw new Error('authenticator not initialised');
  return authenticator;
}

/** The claims of a JWT, read for display only (the API verifies the token; the browser need not). */
export function jwtClaims(token: string): Record<string, unknown> {
  const part = token.split('.')[1];
  if (!part) return {};
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(json, (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  } catch {
    return {};
  }
}

export function personFrom(accessToken: string, idClaims: Record<string, unknown> = {}): Person {
  const c = { ...idClaims, ...jwtClaims(accessToken) };
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  return {
    tenant: text(c.archive_tenant) ?? text(c.tid) ?? '',
    subject: text(c.sub) ?? '',
    name: text(idClaims.name) ?? text(idClaims.preferred_username) ?? text(c.name),
    rightsSet: text(c.archive_rights),
  };
}

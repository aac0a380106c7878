/**
 * Authorization code + PKCE (S256) with oauth4webapi against the issuer's discovery document.
 * The verifier, state and nonce cross the redirect in sessionStorage and are removed as soon as the
 * code comes back; the tokens themselves live in memory only.
 */
import * as oauth from 'oauth4webapi';
import type { AuthConfig } from '../config';
import { returnPath } from '../lib/return-path';
import { personFrom, type Authenticator, type Session } from './session';

const PENDING = 'archive.pkce';

interface Pending {
  verifier: string;
  state: string;
  nonce: string;
  returnTo: string;
}

type LocalConfig = Extract<AuthConfig, { kind: 'local-oidc' }>;

export function localOidcAuthenticator(config: LocalConfig): Authenticator {
  const issuer = new URL(config.issuer);
  const client: oauth.Client = { client_id: config.clientId };
  // The local issuer speaks plain HTTP on loopback; anything else must be HTTPS.
  const loopback = issuer.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(issuer.hostname);
  const options = loopback ? { [oauth.allowInsecureRequests]: true } : {};
  const redirectUri = `${window.location.origin}/`;
  let server: oauth.AuthorizationServer | null = null;

  async function discover(): Promise<oauth.AuthorizationServer> {
    server ??= await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...options }));
    return server;
  }

  return {
    async completeRedirect(): Promise<Session | null> {
      const url = new URL(window.location.href);
      const raw = sessionStorage.getItem(PENDING);
      if (!raw || (!url.searchParams.has('code') && !url.searchParams.has('error'))) return null;
      sessionStorage.removeItem(PENDING);
      const pending = JSON.parse(raw) as Pending;
      const as = await discover();
      const params = oauth.validateAuthResponse(as, client, url, pending.state);
      const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, redirectUri, pending.verifier, options);
      const result = await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: pending.nonce, requireIdToken: true });
      const idClaims = (oauth.getValidatedIdTokenClaims(result) ?? {}) as Record<string, unknown>;
      // The code and state leave the address bar (and history) at once.
      window.history.replaceState(null, '', returnPath(pending.returnTo, window.location.origin));
      return {
        accessToken: result.access_token,
        expiresAt: Date.now() + (result.expires_in ?? 3600) * 1000,
        person: personFrom(result.access_token, idClaims),
      };
    },

    async signIn(returnTo: string): Promise<void> {
      const as = await discover();
      if (!as.authorization_endpoint) throw new Error('the issuer has no authorization endpoint');
      const pending: Pending = { verifier: oauth.generateRandomCodeVerifier(), state: oauth.generateRandomState(), nonce: oauth.generateRandomNonce(), returnTo };
      sessionStorage.setItem(PENDING, JSON.stringify(pending));
      const url = new URL(as.authorization_endpoint);
      url.search = new URLSearchParams({
        client_id: config.clientId,
        redirect_uri: redirectUri,
        response_type: 'code',
        scope: config.scope,
        state: pending.state,
        nonce: pending.nonce,
        code_challenge: await oauth.calculatePKCECodeChallenge(pending.verifier),
        code_challenge_method: 'S256',
      }).toString();
      window.location.assign(url.toString());
    },

    async renew(): Promise<Session | null> {
      return null;
    },

    async signOut(): Promise<void> {
      sessionStorage.removeItem(PENDING);
    },
  };
}

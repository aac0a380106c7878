/**
 * Entra ID through MSAL for the browser, imported on demand (its own chunk). The token cache is kept
 * in memory; MSAL keeps only its short-lived redirect request state in sessionStorage.
 */
import type { AuthConfig } from '../config';
import { returnPath } from '../lib/return-path';
import { personFrom, type Authenticator, type Session } from './session';

type EntraConfig = Extract<AuthConfig, { kind: 'entra' }>;

export function entraAuthenticator(config: EntraConfig): Authenticator {
  const scopes = config.scope.split(/\s+/).filter(Boolean);
  const msal = import('@azure/msal-browser').then(async ({ PublicClientApplication }) => {
    const app = new PublicClientApplication({
      auth: { clientId: config.clientId, authority: config.authority, redirectUri: `${window.location.origin}/` },
      cache: { cacheLocation: 'memoryStorage' },
    });
    await app.initialize();
    return app;
  });

  const toSession = (r: { accessToken: string; expiresOn: Date | null; idTokenClaims: object }): Session => ({
    accessToken: r.accessToken,
    expiresAt: r.expiresOn ? r.expiresOn.getTime() : Date.now() + 3600_000,
    person: personFrom(r.accessToken, r.idTokenClaims as Record<string, unknown>),
  });

  return {
    async completeRedirect(): Promise<Session | null> {
      const app = await msal;
      const result = await app.handleRedirectPromise();
      if (!result) return null;
      app.setActiveAccount(result.account);
      window.history.replaceState(null, '', returnPath(typeof result.state === 'string' ? result.state : '/', window.location.origin));
      return toSession(result);
    },
    async signIn(returnTo: string): Promise<void> {
      const app = await msal;
      await app.loginRedirect({ scopes, state: returnTo });
    },
    async renew(): Promise<Session | null> {
      const app = await msal;
      const account = app.getActiveAccount();
      if (!account) return null;
      try {
        return toSession(await app.acquireTokenSilent({ scopes, account }));
      } catch {
        return null;
      }
    },
    async signOut(): Promise<void> {
      const app = await msal;
      await app.logoutRedirect({ postLogoutRedirectUri: `${window.location.origin}/` });
    },
  };
}

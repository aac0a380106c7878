import { loadConfig, webSignInOf } from '../../../shared/config';
import { minimalLocalEnv } from '../../support/config-env';

const azure = {
  ...minimalLocalEnv,
  STORAGE_CONNECTION_STRING: undefined,
  COSMOS_KEY: undefined,
  STORAGE_ACCOUNT_URL: 'https://archive.blob.core.windows.net',
  COSMOS_ENDPOINT: 'https://archive.documents.azure.com:443/',
  AUTH_ISSUER: 'https://login.microsoftonline.com/0000-tenant/v2.0',
  AUTH_JWKS_URI: 'https://login.microsoftonline.com/0000-tenant/discovery/v2.0/keys',
  KEY_VAULT_URL: 'https://archive-kv.vault.azure.net',
  STORAGE_ACCOUNT_RESOURCE_ID: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/archive',
  WEBSITE_SITE_NAME: 'archive-prod',
  ARCHIVE_FUNCTIONS_ROLE: 'api',
};
const entra = { ARCHIVE_WEB_AUTHORITY: 'https://login.microsoftonline.com/0000-tenant', ARCHIVE_WEB_CLIENT_ID: 'spa-client-id', ARCHIVE_WEB_SCOPE: 'api://archive-api/archive.access' };

describe('the web app sign-in settings (ARCHIVE_WEB_*)', () => {
  it('locally: the local issuer, client archive-web, scopes openid archive', () => {
    expect(webSignInOf(loadConfig(minimalLocalEnv))).toEqual({ kind: 'local-oidc', issuer: minimalLocalEnv.AUTH_ISSUER, clientId: 'archive-web', scope: 'openid archive' });
  });

  it('in Azure: Entra ID when the client id is set, off without it, never the local issuer', () => {
    expect(webSignInOf(loadConfig({ ...azure, ...entra }))).toEqual({ kind: 'entra', authority: entra.ARCHIVE_WEB_AUTHORITY, clientId: 'spa-client-id', scope: entra.ARCHIVE_WEB_SCOPE });
    expect(webSignInOf(loadConfig(azure))).toBeNull();
    expect(() => loadConfig({ ...azure, ARCHIVE_WEB_AUTH: 'local-oidc' })).toThrow(/ARCHIVE_WEB_AUTH: 'local-oidc' is refused when running in Azure/);
  });

  it('lists every Entra setting that is missing, and refuses a plain-http authority', () => {
    expect(() => loadConfig({ ...azure, ARCHIVE_WEB_AUTH: 'entra' })).toThrow(/ARCHIVE_WEB_AUTHORITY.*\n.*ARCHIVE_WEB_CLIENT_ID.*\n.*ARCHIVE_WEB_SCOPE/);
    expect(() => loadConfig({ ...azure, ...entra, ARCHIVE_WEB_AUTHORITY: 'http://login.example' })).toThrow(/ARCHIVE_WEB_AUTHORITY/);
  });

  it("refuses an API audience that is the web app's client id: the web app's id tokens would then act as access tokens", () => {
    expect(() => loadConfig({ ...azure, ...entra, AUTH_AUDIENCE: entra.ARCHIVE_WEB_CLIENT_ID })).toThrow(/AUTH_AUDIENCE: must not be the web app's client id/);
    expect(() => loadConfig({ ...minimalLocalEnv, AUTH_AUDIENCE: 'archive-web' })).toThrow(/AUTH_AUDIENCE: must not be the web app's client id/);
    expect(loadConfig({ ...azure, ...entra }).AUTH_AUDIENCE).toBe(minimalLocalEnv.AUTH_AUDIENCE);
  });
});

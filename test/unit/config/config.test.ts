import { ConfigError, loadConfig } from '../../../shared/config';
import { minimalLocalEnv } from '../../support/config-env';

const base = minimalLocalEnv;

describe('loadConfig', () => {
  it('applies the defaults: WORM enforced, 50 MB uploads, North Europe only', () => {
    const c = loadConfig(base);
    expect(c).toMatchObject({ runtime: 'local', ARCHIVE_WORM: 'enforce', ARCHIVE_MAX_UPLOAD_BYTES: 52428800, ARCHIVE_ALLOWED_REGIONS: ['northeurope'], COSMOS_DATABASE: 'archive' });
  });

  it('lists every bad or missing setting in one message', () => {
    try {
      loadConfig({ COSMOS_ENDPOINT: 'not a url', ARCHIVE_WORM: 'maybe', ARCHIVE_MAX_UPLOAD_BYTES: '-1' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as ConfigError).message;
      for (const name of ['COSMOS_ENDPOINT', 'AUTH_ISSUER', 'AUTH_AUDIENCE', 'AUTH_JWKS_URI', 'ARCHIVE_WORM', 'ARCHIVE_MAX_UPLOAD_BYTES', 'STORAGE_ACCOUNT_URL']) expect(msg).toContain(name);
    }
  });

  it('refuses emulator WORM, connection strings and keys when running in Azure', () => {
    expect(() => loadConfig({ ...base, WEBSITE_SITE_NAME: 'archive-prod', ARCHIVE_WORM: 'emulator' })).toThrow(/ARCHIVE_WORM.*refused when running in Azure/s);
    const err = (() => {
      try {
        loadConfig({ ...base, WEBSITE_SITE_NAME: 'archive-prod' });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(err.problems.join('\n')).toMatch(/STORAGE_CONNECTION_STRING: not allowed in Azure/);
    expect(err.problems.join('\n')).toMatch(/COSMOS_KEY: not allowed in Azure/);
    expect(err.problems.join('\n')).toMatch(/KEY_VAULT_URL: required in Azure/);
  });

  it('accepts managed-identity settings in Azure', () => {
    const c = loadConfig({ ...base, STORAGE_CONNECTION_STRING: undefined, COSMOS_KEY: undefined, STORAGE_ACCOUNT_URL: 'https://archive.blob.core.windows.net', COSMOS_ENDPOINT: 'https://archive.documents.azure.com:443/', AUTH_ISSUER: 'https://login.microsoftonline.com/t/v2.0', AUTH_JWKS_URI: 'https://login.microsoftonline.com/t/discovery/v2.0/keys', KEY_VAULT_URL: 'https://archive-kv.vault.azure.net', STORAGE_ACCOUNT_RESOURCE_ID: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/archive', WEBSITE_SITE_NAME: 'archive-prod', ARCHIVE_FUNCTIONS_ROLE: 'api' });
    expect(c.runtime).toBe('azure');
  });

  it('takes the audit chain key from Key Vault in Azure, never from the environment, and checks its form locally', () => {
    const azure = { ...base, STORAGE_CONNECTION_STRING: undefined, COSMOS_KEY: undefined, STORAGE_ACCOUNT_URL: 'https://archive.blob.core.windows.net', COSMOS_ENDPOINT: 'https://archive.documents.azure.com:443/', AUTH_ISSUER: 'https://login.microsoftonline.com/t/v2.0', AUTH_JWKS_URI: 'https://login.microsoftonline.com/t/discovery/v2.0/keys', KEY_VAULT_URL: 'https://archive-kv.vault.azure.net', STORAGE_ACCOUNT_RESOURCE_ID: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/archive', WEBSITE_SITE_NAME: 'archive-prod', ARCHIVE_FUNCTIONS_ROLE: 'api' };
    expect(loadConfig(azure).AUDIT_CHAIN_KEY_SECRET_NAME).toBe('audit-chain-key');
    expect(() => loadConfig({ ...azure, AUDIT_CHAIN_KEY: 'ab'.repeat(32) })).toThrow(/AUDIT_CHAIN_KEY: not allowed in Azure/);
    expect(loadConfig({ ...base, AUDIT_CHAIN_KEY: 'ab'.repeat(32) }).AUDIT_CHAIN_KEY).toBe('ab'.repeat(32));
    expect(() => loadConfig({ ...base, AUDIT_CHAIN_KEY: 'ab'.repeat(16) })).toThrow(/AUDIT_CHAIN_KEY: must be at least 32 bytes/);
    expect(() => loadConfig({ ...base, AUDIT_CHAIN_KEYED_SINCE: '2026-13' })).toThrow(/AUDIT_CHAIN_KEYED_SINCE/);
  });
});


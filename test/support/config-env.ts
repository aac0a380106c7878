/** The smallest environment the config loader accepts for a local run (unit tests of config and wiring). */
export const minimalLocalEnv = {
  STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
  COSMOS_ENDPOINT: 'http://127.0.0.1:8081',
  COSMOS_KEY: 'k',
  AUTH_ISSUER: 'http://127.0.0.1:7072',
  AUTH_AUDIENCE: 'api://document-archive',
  AUTH_JWKS_URI: 'http://127.0.0.1:7072/jwks',
};

/** The smallest environment the config loader accepts in Azure (WEBSITE_SITE_NAME set): the account the region guard checks, Key Vault, Entra ID. */
export const minimalAzureEnv = {
  ...minimalLocalEnv,
  STORAGE_CONNECTION_STRING: undefined,
  COSMOS_KEY: undefined,
  STORAGE_ACCOUNT_URL: 'https://archive.blob.core.windows.net/',
  STORAGE_QUEUE_URL: 'https://archive.queue.core.windows.net/',
  COSMOS_ENDPOINT: 'https://archive.documents.azure.com:443/',
  KEY_VAULT_URL: 'https://archive-kv.vault.azure.net/',
  STORAGE_ACCOUNT_RESOURCE_ID: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/archive',
  AUTH_ISSUER: 'https://login.microsoftonline.com/0000-tenant/v2.0',
  AUTH_JWKS_URI: 'https://login.microsoftonline.com/0000-tenant/discovery/v2.0/keys',
  WEBSITE_SITE_NAME: 'archive-prod',
  ARCHIVE_FUNCTIONS_ROLE: 'api',
};

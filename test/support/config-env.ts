/** The smallest environment the config loader accepts for a local run (unit tests of config and wiring). */
export const minimalLocalEnv = {
  STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
  COSMOS_ENDPOINT: 'http://127.0.0.1:8081',
  COSMOS_KEY: 'k',
  AUTH_ISSUER: 'http://127.0.0.1:7072',
  AUTH_AUDIENCE: 'api://document-archive',
  AUTH_JWKS_URI: 'http://127.0.0.1:7072/jwks',
};

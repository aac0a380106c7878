/**
 * In Azure every store is reached over HTTPS at a real Azure address, and the blob and queue
 * endpoints are those of the account the region guard checks (STORAGE_ACCOUNT_RESOURCE_ID):
 * otherwise the guard would vouch for one account while documents go to another, or to an emulator.
 */
import { loadConfig } from '../../../shared/config';
import { minimalAzureEnv, minimalLocalEnv } from '../../support/config-env';

const azure = minimalAzureEnv;

describe('in Azure, the stores are reached over HTTPS, at the account the region guard checks', () => {
  it('accepts the endpoints the Bicep template sets', () => {
    expect(loadConfig(azure).runtime).toBe('azure');
    expect(loadConfig({ ...azure, STORAGE_ACCOUNT_URL: 'https://ARCHIVE.blob.core.windows.net', STORAGE_QUEUE_URL: undefined }).runtime).toBe('azure');
  });

  it.each([
    ['blob storage over plain http', { STORAGE_ACCOUNT_URL: 'http://archive.blob.core.windows.net/' }, /STORAGE_ACCOUNT_URL/],
    ['the blob emulator', { STORAGE_ACCOUNT_URL: 'http://127.0.0.1:10000/devstoreaccount1' }, /STORAGE_ACCOUNT_URL/],
    ['another storage account than the region guard checks', { STORAGE_ACCOUNT_URL: 'https://elsewhere.blob.core.windows.net/' }, /STORAGE_ACCOUNT_URL: .*archive/],
    ['a queue of another account', { STORAGE_QUEUE_URL: 'https://elsewhere.queue.core.windows.net/' }, /STORAGE_QUEUE_URL/],
    ['the queue emulator', { STORAGE_QUEUE_URL: 'http://127.0.0.1:10001/devstoreaccount1' }, /STORAGE_QUEUE_URL/],
    ['Cosmos over plain http', { COSMOS_ENDPOINT: 'http://archive.documents.azure.com/' }, /COSMOS_ENDPOINT/],
    ['the local Cosmos server', { COSMOS_ENDPOINT: 'https://localhost:8081/' }, /COSMOS_ENDPOINT/],
    ['Key Vault over plain http', { KEY_VAULT_URL: 'http://archive-kv.vault.azure.net/' }, /KEY_VAULT_URL/],
    // The managed identity's tokens go wherever these point: only to the Azure services themselves.
    ['a blob host that only starts like the account', { STORAGE_ACCOUNT_URL: 'https://archive.blob.core.windows.net.example.com/' }, /STORAGE_ACCOUNT_URL/],
    ['a queue host outside Azure', { STORAGE_QUEUE_URL: 'https://archive.queue.example.com/' }, /STORAGE_QUEUE_URL/],
    ['a Cosmos endpoint outside Azure', { COSMOS_ENDPOINT: 'https://cosmos.example.com/' }, /COSMOS_ENDPOINT/],
    ['a Key Vault outside Azure', { KEY_VAULT_URL: 'https://vault.example.com/' }, /KEY_VAULT_URL/],
  ])('refuses %s', (_what, env, message) => {
    expect(() => loadConfig({ ...azure, ...env })).toThrow(message);
  });

  it('leaves local endpoints alone locally', () => {
    expect(loadConfig({ ...minimalLocalEnv, STORAGE_CONNECTION_STRING: undefined, STORAGE_ACCOUNT_URL: 'http://127.0.0.1:10000/devstoreaccount1' }).runtime).toBe('local');
  });
});

describe('ARCHIVE_ALLOWED_REGIONS can narrow the EU regions, never leave the EU', () => {
  it('accepts EU regions, whatever the spelling', () => {
    expect(loadConfig({ ...azure, ARCHIVE_ALLOWED_REGIONS: 'North Europe, westeurope' }).ARCHIVE_ALLOWED_REGIONS).toEqual(['North Europe', 'westeurope']);
  });

  it.each(['eastus', 'northeurope,uksouth', 'switzerlandnorth'])('refuses %s', (regions) => {
    expect(() => loadConfig({ ...azure, ARCHIVE_ALLOWED_REGIONS: regions })).toThrow(/ARCHIVE_ALLOWED_REGIONS: .*not an EU region/);
    expect(() => loadConfig({ ...minimalLocalEnv, ARCHIVE_ALLOWED_REGIONS: regions })).toThrow(/ARCHIVE_ALLOWED_REGIONS/);
  });
});

describe('in Azure the archive authenticates with its managed identity only', () => {
  it.each([
    ['a service principal secret', { AZURE_TENANT_ID: 't', AZURE_CLIENT_ID: 'c', AZURE_CLIENT_SECRET: 's' }, /AZURE_CLIENT_SECRET/],
    ['a service principal certificate', { AZURE_TENANT_ID: 't', AZURE_CLIENT_ID: 'c', AZURE_CLIENT_CERTIFICATE_PATH: '/cert.pem' }, /AZURE_CLIENT_CERTIFICATE_PATH/],
    ['a user name and password', { AZURE_USERNAME: 'u', AZURE_PASSWORD: 'p' }, /AZURE_PASSWORD/],
  ])('refuses %s in the settings', (_what, env, message) => {
    expect(() => loadConfig({ ...azure, ...env })).toThrow(message);
  });

  it('accepts the client id of a user-assigned identity', () => {
    expect(loadConfig({ ...azure, AZURE_CLIENT_ID: 'c' }).runtime).toBe('azure');
  });
});

describe('outside Azure Functions (WEBSITE_SITE_NAME unset) the archive runs against the local emulators only', () => {
  // Such a run has no region guard and allows emulator WORM and the development pepper and chain key:
  // pointed at real stores it would be production without any of the checks above.
  it('accepts the emulators at loopback addresses', () => {
    expect(loadConfig(minimalLocalEnv).runtime).toBe('local');
    const azurite = 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;';
    expect(loadConfig({ ...minimalLocalEnv, STORAGE_CONNECTION_STRING: azurite, COSMOS_ENDPOINT: 'http://localhost:8081' }).runtime).toBe('local');
  });

  it.each([
    ['a real storage account by connection string', { STORAGE_CONNECTION_STRING: 'DefaultEndpointsProtocol=https;AccountName=archive;AccountKey=a2V5;EndpointSuffix=core.windows.net' }, /STORAGE_CONNECTION_STRING/],
    ['a connection string with a remote blob endpoint', { STORAGE_CONNECTION_STRING: 'AccountName=archive;AccountKey=a2V5;BlobEndpoint=https://archive.blob.core.windows.net/' }, /STORAGE_CONNECTION_STRING/],
    ['a real storage account by URL', { STORAGE_CONNECTION_STRING: undefined, STORAGE_ACCOUNT_URL: 'https://archive.blob.core.windows.net/' }, /STORAGE_ACCOUNT_URL/],
    ['a real Cosmos account', { COSMOS_ENDPOINT: 'https://archive.documents.azure.com:443/' }, /COSMOS_ENDPOINT/],
  ])('refuses %s', (_what, env, message) => {
    expect(() => loadConfig({ ...minimalLocalEnv, ...env })).toThrow(message);
  });
});

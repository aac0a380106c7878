/**
 * "Fail closed", attacked with settings that look right and are not, and with checks that could be trusted too long:
 * production must refuse to archive rather than archive without the protection it promises, and a run outside Azure
 * Functions (no region guard, emulator WORM allowed, development secrets) must reach the emulators and nothing else.
 */
import { RestError } from '@azure/storage-blob';
import { BlobArchive } from '../../../shared/adapters/azure/blobs';
import { assertAccountWorm, assertAllowedRegions, azureRegionSource, RegionGuardError, type RegionSource, WormGuardError } from '../../../shared/adapters/azure/region-guard';
import { assertUsableSecrets, CURRENT_VERSION_TTL_MS, KeyVaultSecretSource } from '../../../shared/adapters/azure/secrets';
import { buildDeps } from '../../../shared/app';
import { loadConfig } from '../../../shared/config';
import { minimalAzureEnv, minimalLocalEnv } from '../../support/config-env';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const realAccount = `DefaultEndpointsProtocol=https;AccountName=archive;AccountKey=${AZURITE_KEY};EndpointSuffix=core.windows.net`;
const azurite = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${AZURITE_KEY};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;`;

describe('outside Azure Functions a connection string is judged as the storage SDK reads it', () => {
  it('accepts the development shortcut and Azurite with both endpoints at loopback addresses', () => {
    expect(loadConfig({ ...minimalLocalEnv, STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true;' }).runtime).toBe('local');
    expect(loadConfig({ ...minimalLocalEnv, STORAGE_CONNECTION_STRING: azurite }).runtime).toBe('local');
  });

  // Each of these was taken for Azurite while the SDK went to https://archive.blob.core.windows.net (and its queue).
  it.each([
    ['the shortcut after a real account (the SDK reads it only at the start)', `${realAccount};UseDevelopmentStorage=true`],
    ['the shortcut in lower case (the SDK reads names case-sensitively)', `usedevelopmentstorage=true;${realAccount}`],
    ['a real endpoint first, a loopback one second (the SDK takes the first)', `${realAccount};BlobEndpoint=https://archive.blob.core.windows.net/;QueueEndpoint=https://archive.queue.core.windows.net/;BlobEndpoint=http://127.0.0.1:10000/x;QueueEndpoint=http://127.0.0.1:10001/x`],
    ['a real endpoint under a name in other case', `${realAccount};blobendpoint=http://127.0.0.1:10000/x;BlobEndpoint=https://archive.blob.core.windows.net/;QueueEndpoint=http://127.0.0.1:10001/x`],
    ['a loopback blob endpoint, the queue left to EndpointSuffix (the SDK derives archive.queue.core.windows.net)', `${realAccount};BlobEndpoint=http://127.0.0.1:10000/x`],
    ['the shortcut through a remote proxy', 'UseDevelopmentStorage=true;DevelopmentStorageProxyUri=http://proxy.example.com'],
    ['a host that only starts like a loopback address', 'DefaultEndpointsProtocol=http;AccountName=a;AccountKey=a2V5;BlobEndpoint=http://127.archive.example.com/;QueueEndpoint=http://127.0.0.1:10001/a'],
  ])('refuses %s', (_what, connectionString) => {
    expect(() => loadConfig({ ...minimalLocalEnv, STORAGE_CONNECTION_STRING: connectionString })).toThrow(/STORAGE_CONNECTION_STRING: outside Azure Functions/);
  });

  it('refuses a store URL at a name that only starts like a loopback address or ends in .localhost', () => {
    for (const url of ['http://127.archive.example.com/devstoreaccount1', 'http://archive.localhost/devstoreaccount1']) {
      expect(() => loadConfig({ ...minimalLocalEnv, STORAGE_CONNECTION_STRING: undefined, STORAGE_ACCOUNT_URL: url })).toThrow(/STORAGE_ACCOUNT_URL: outside Azure Functions/);
    }
  });

  it('start-up refuses, before any request, clients the SDK built for anything but an emulator (whatever the loader let through)', async () => {
    const config = { ...loadConfig(minimalLocalEnv), STORAGE_CONNECTION_STRING: `${realAccount};UseDevelopmentStorage=true` };
    await expect(buildDeps(config, { log: quiet })).rejects.toThrow(/Blob storage: the storage SDK reads the settings as https:\/\/archive\.blob\.core\.windows\.net/);
  });
});

describe('mode values and numbers that look right and are not', () => {
  it.each([['Emulator'], [' emulator'], ['emulator '], ['EMULATOR'], ['']])('ARCHIVE_WORM=%j is refused, never read as emulator or as a default, in Azure and locally', (value) => {
    expect(() => loadConfig({ ...minimalAzureEnv, ARCHIVE_WORM: value })).toThrow(/ARCHIVE_WORM/);
    expect(() => loadConfig({ ...minimalLocalEnv, ARCHIVE_WORM: value })).toThrow(/ARCHIVE_WORM/);
  });

  it.each([['unlocked'], ['Unlocked '], ['LOCKED'], ['']])('ARCHIVE_WORM_POLICY_MODE=%j is refused in Azure', (value) => {
    expect(() => loadConfig({ ...minimalAzureEnv, ARCHIVE_WORM_POLICY_MODE: value })).toThrow(/ARCHIVE_WORM_POLICY_MODE/);
  });

  it('an empty WEBSITE_SITE_NAME is a local run, which reaches no Azure store', () => {
    expect(() => loadConfig({ ...minimalAzureEnv, WEBSITE_SITE_NAME: '' })).toThrow(/STORAGE_ACCOUNT_URL: outside Azure Functions/);
  });

  it('empty secrets and endpoints are refused, never taken as absent', () => {
    expect(() => loadConfig({ ...minimalAzureEnv, STORAGE_CONNECTION_STRING: '' })).toThrow(/STORAGE_CONNECTION_STRING/);
    expect(() => loadConfig({ ...minimalAzureEnv, COSMOS_KEY: '' })).toThrow(/COSMOS_KEY/);
    expect(() => loadConfig({ ...minimalAzureEnv, KEY_VAULT_URL: '' })).toThrow(/KEY_VAULT_URL/);
    expect(() => loadConfig({ ...minimalAzureEnv, STORAGE_ACCOUNT_RESOURCE_ID: '' })).toThrow(/STORAGE_ACCOUNT_RESOURCE_ID/);
    expect(() => loadConfig({ ...minimalLocalEnv, API_KEY_PEPPER: '' })).toThrow(/API_KEY_PEPPER/);
    expect(() => loadConfig({ ...minimalAzureEnv, ARCHIVE_ALLOWED_REGIONS: ' , ' })).toThrow(/ARCHIVE_ALLOWED_REGIONS/);
  });

  // A number read '' as 0: a settings cache of no lifetime, an orphan grace of none (an upload still running listed as
  // orphaned), a spool threshold of nothing, where the README promises the default.
  it.each([['ARCHIVE_ORPHAN_GRACE_MINUTES'], ['ARCHIVE_TENANT_SETTINGS_CACHE_SECONDS'], ['ARCHIVE_UPLOAD_SPOOL_BYTES'], ['AUTH_CLOCK_TOLERANCE_SECONDS'], ['AUTH_TENANT_CLAIM']])('a blank %s is refused with its name, never read as 0 or as the default', (name) => {
    for (const value of ['', '  ']) {
      expect(() => loadConfig({ ...minimalAzureEnv, [name]: value })).toThrow(new RegExp(`${name}: is empty; unset it to take the default`));
      expect(() => loadConfig({ ...minimalLocalEnv, [name]: value })).toThrow(new RegExp(`${name}: is empty`));
    }
    expect(() => loadConfig({ ...minimalAzureEnv, [name]: undefined })).not.toThrow();
  });
});

describe('the start-up guards read Azure strictly, and an error is never a pass', () => {
  const regions = (over: Partial<RegionSource>): RegionSource => ({ storageRegion: async () => 'northeurope', cosmosRegions: async () => ['North Europe'], storageVersionLevelWorm: async () => true, ...over });

  it('takes the region whatever its spelling, and only the region', async () => {
    for (const spelling of ['NORTHEUROPE', 'northeurope ', 'North  Europe']) await expect(assertAllowedRegions(regions({ storageRegion: async () => spelling }), ['northeurope'])).resolves.toBeUndefined();
    for (const near of ['northeurope2', 'north europe west', '']) await expect(assertAllowedRegions(regions({ storageRegion: async () => near }), ['northeurope'])).rejects.toThrow(RegionGuardError);
  });

  it('a 503 while reading the account\'s WORM is a refusal, not a pass', async () => {
    await expect(assertAccountWorm(regions({ storageVersionLevelWorm: async () => { throw new RestError('Service Unavailable', { statusCode: 503 }); } }))).rejects.toThrow(WormGuardError);
  });

  it.each([
    ['a 503 from ARM', { status: 503, body: {} }],
    ['an answer without a location', { status: 200, body: { properties: { immutableStorageWithVersioning: { enabled: true } } } }],
    ['WORM as the string "true"', { status: 200, body: { location: 'northeurope', properties: { immutableStorageWithVersioning: { enabled: 'true' } } } }],
  ])('ARM answering %s stops start-up', async (_what, arm) => {
    const credential = { getToken: async () => ({ token: 't', expiresOnTimestamp: Date.now() + 60_000 }) };
    const cosmos = { getDatabaseAccount: async () => ({ resource: { writableLocations: [{ name: 'North Europe' }], readableLocations: [] } }) };
    const fetchSpy = jest.spyOn(globalThis, 'fetch').mockImplementation(async () => new Response(JSON.stringify(arm.body), { status: arm.status }));
    try {
      const source = azureRegionSource(minimalAzureEnv.STORAGE_ACCOUNT_RESOURCE_ID, credential, cosmos as never);
      const outcome = await Promise.all([assertAllowedRegions(source, ['northeurope']).then(() => 'passed', () => 'refused'), assertAccountWorm(source).then(() => 'passed', () => 'refused')]);
      expect(outcome).toContain('refused');
    } finally {
      fetchSpy.mockRestore();
    }
  });
});

describe('a tenant container\'s WORM is remembered only once it was seen', () => {
  /** A container whose properties answer as told, one answer per call. */
  const archiveWith = (answers: (Error | { isImmutableStorageWithVersioningEnabled?: boolean })[]) => {
    const container = {
      createIfNotExists: async () => ({}),
      getProperties: async () => {
        const next = answers.shift()!;
        if (next instanceof Error) throw next;
        return next;
      },
    };
    return new BlobArchive({ getContainerClient: () => container } as never, 'enforce');
  };

  it('a 503 while reading it is an error, and the next upload reads it again (a container without WORM is then refused)', async () => {
    const archive = archiveWith([new RestError('Service Unavailable', { statusCode: 503 }), {}, { isImmutableStorageWithVersioningEnabled: true }]);
    await expect(archive.prepareTenant('acme')).rejects.toThrow(/Service Unavailable/);
    await expect(archive.prepareTenant('acme')).rejects.toMatchObject({ code: 'worm_unavailable' });
    await expect(archive.prepareTenant('acme')).resolves.toBeUndefined();
  });
});

describe('the pepper is checked when it is rotated, not only at start-up', () => {
  /** Key Vault's versions of the pepper, newest last, as getSecret answers them. */
  const vault = { versions: [] as { version: string; value: string }[] };
  const getSecret = async (name: string, opts: { version?: string } = {}) => {
    const found = opts.version ? vault.versions.find((v) => v.version === opts.version) : vault.versions.at(-1);
    if (!found) throw Object.assign(new Error(`SecretNotFound: ${name}`), { statusCode: 404 });
    return { name, value: found.value, properties: { name, version: found.version } };
  };

  it('a new current version too short to be a pepper is refused, never used to hash a key, and the old versions still verify', async () => {
    let nowMs = Date.parse('2026-03-01T09:00:00Z');
    const source = new KeyVaultSecretSource(minimalAzureEnv.KEY_VAULT_URL, {} as never, () => nowMs);
    (source as unknown as { client: { getSecret: typeof getSecret } }).client = { getSecret };
    vault.versions.push({ version: 'v1', value: 'p'.repeat(48) });
    await expect(assertUsableSecrets({ get: (n) => (n === 'api-key-pepper' ? source.get(n) : Promise.resolve('ab'.repeat(32))), versioned: (n, v) => source.versioned(n, v) }, { pepper: 'api-key-pepper', chainKey: 'audit-chain-key' })).resolves.toBeUndefined();
    expect(await source.versioned('api-key-pepper')).toEqual({ value: 'p'.repeat(48), version: 'v1' });
    // An operator "rotates" it to a placeholder; the instance looks the current version up again after its TTL.
    vault.versions.push({ version: 'v2', value: 'changeme' });
    nowMs += CURRENT_VERSION_TTL_MS + 1;
    await expect(source.versioned('api-key-pepper')).rejects.toThrow(/api-key-pepper.*at least 32 characters/);
    expect(await source.versioned('api-key-pepper', 'v1')).toEqual({ value: 'p'.repeat(48), version: 'v1' });
    // Put right in the vault, it is taken at the next lookup (a refusal is not kept).
    vault.versions.push({ version: 'v3', value: 'q'.repeat(48) });
    expect(await source.versioned('api-key-pepper')).toEqual({ value: 'q'.repeat(48), version: 'v3' });
  });
});

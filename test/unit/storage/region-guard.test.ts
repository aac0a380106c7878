import { assertAccountWorm, assertAllowedRegions, azureRegionSource, RegionGuardError, RegionSource, WormGuardError } from '../../../shared/adapters/azure/region-guard';
import { minimalAzureEnv } from '../../support/config-env';

const source = (storage: string | Error, cosmos: string[] | Error): RegionSource => ({
  storageRegion: async () => { if (storage instanceof Error) throw storage; return storage; },
  cosmosRegions: async () => { if (cosmos instanceof Error) throw cosmos; return cosmos; },
  storageVersionLevelWorm: async () => true,
});

describe('region guard', () => {
  it('lets North Europe through, whatever the spelling', async () => {
    await expect(assertAllowedRegions(source('northeurope', ['North Europe']), ['northeurope'])).resolves.toBeUndefined();
  });

  it('refuses storage or a Cosmos replica outside the allowed regions, naming each', async () => {
    const err = await assertAllowedRegions(source('westeurope', ['North Europe', 'East US']), ['northeurope']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegionGuardError);
    expect((err as RegionGuardError).problems).toEqual([
      'Blob storage is in westeurope; allowed: northeurope',
      'Cosmos DB has a replica in East US; allowed: northeurope',
    ]);
  });

  it('fails closed when a region cannot be read', async () => {
    const err = await assertAllowedRegions(source(new Error('ARM answered 403'), []), ['northeurope']).catch((e: unknown) => e);
    expect((err as RegionGuardError).problems).toEqual(['Blob storage: its region cannot be read (ARM answered 403)', 'Cosmos DB reports no region']);
  });
});

describe('start-up in Azure', () => {
  const azure = minimalAzureEnv;

  it('buildDeps refuses to build the archive when a store is outside the allowed regions', async () => {
    const { buildDeps } = await import('../../../shared/app');
    const { loadConfig } = await import('../../../shared/config');
    const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
    await expect(buildDeps(loadConfig(azure), { log: quiet, regions: source('westeurope', ['North Europe']) })).rejects.toThrow(RegionGuardError);
  });

  it('buildDeps refuses to build the archive when the account has no version-level WORM', async () => {
    const { buildDeps } = await import('../../../shared/app');
    const { loadConfig } = await import('../../../shared/config');
    const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
    await expect(buildDeps(loadConfig(azure), { log: quiet, regions: { ...source('northeurope', ['North Europe']), storageVersionLevelWorm: async () => false } })).rejects.toThrow(WormGuardError);
  });

  it('the config loader requires the storage account resource id in Azure', async () => {
    const { loadConfig } = await import('../../../shared/config');
    expect(() => loadConfig({ ...azure, STORAGE_ACCOUNT_RESOURCE_ID: undefined })).toThrow(/STORAGE_ACCOUNT_RESOURCE_ID: required in Azure/);
  });
});

describe('geo-redundant storage', () => {
  const credential = { getToken: async () => ({ token: 't', expiresOnTimestamp: Date.now() + 60_000 }) };
  const cosmos = { getDatabaseAccount: async () => ({ resource: { writableLocations: [{ name: 'North Europe' }], readableLocations: [{ name: 'North Europe' }] } }) };
  const resourceId = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/archive';
  const withArm = async (body: unknown, allowed: string[]) => {
    const fetchSpy = jest.spyOn(globalThis, 'fetch').mockResolvedValue(new Response(JSON.stringify(body), { status: 200 }));
    try {
      return await assertAllowedRegions(azureRegionSource(resourceId, credential as never, cosmos as never), allowed).catch((e: unknown) => e);
    } finally {
      fetchSpy.mockRestore();
    }
  };

  it('refuses an account whose geo-replica lies outside the allowed regions', async () => {
    const err = await withArm({ location: 'northeurope', properties: { primaryLocation: 'northeurope', secondaryLocation: 'westeurope' } }, ['northeurope']);
    expect(err).toBeInstanceOf(RegionGuardError);
    expect((err as RegionGuardError).problems).toEqual(['Blob storage keeps a geo-replica in westeurope; allowed: northeurope']);
  });

  it('accepts it when the replica region is allowed too, and a zone-redundant account without one', async () => {
    expect(await withArm({ location: 'northeurope', properties: { secondaryLocation: 'westeurope' } }, ['northeurope', 'westeurope'])).toBeUndefined();
    expect(await withArm({ location: 'northeurope', properties: { primaryLocation: 'northeurope' } }, ['northeurope'])).toBeUndefined();
  });
});

describe('WORM on the archive account, checked at start-up in Azure', () => {
  const credential = { getToken: async () => ({ token: 't', expiresOnTimestamp: Date.now() + 60_000 }) };
  const cosmos = { getDatabaseAccount: async () => ({ resource: { writableLocations: [{ name: 'North Europe' }], readableLocations: [] } }) };
  const resourceId = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/archive';
  const check = async (properties: unknown) => {
    const fetchSpy = jest.spyOn(globalThis, 'fetch').mockResolvedValue(new Response(JSON.stringify({ location: 'northeurope', properties }), { status: 200 }));
    try {
      return await assertAccountWorm(azureRegionSource(resourceId, credential as never, cosmos as never)).catch((e: unknown) => e);
    } finally {
      fetchSpy.mockRestore();
    }
  };

  it('accepts an account with version-level immutability', async () => {
    expect(await check({ immutableStorageWithVersioning: { enabled: true } })).toBeUndefined();
  });

  it.each([
    ['without version-level immutability', {}],
    ['with it switched off', { immutableStorageWithVersioning: { enabled: false } }],
  ])('refuses an account %s', async (_what, properties) => {
    const err = await check(properties);
    expect(err).toBeInstanceOf(WormGuardError);
    expect((err as Error).message).toMatch(/version-level immutability/);
  });
});

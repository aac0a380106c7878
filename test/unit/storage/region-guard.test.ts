import { assertAllowedRegions, RegionGuardError, RegionSource } from '../../../shared/storage/region-guard';

const source = (storage: string | Error, cosmos: string[] | Error): RegionSource => ({
  storageRegion: async () => { if (storage instanceof Error) throw storage; return storage; },
  cosmosRegions: async () => { if (cosmos instanceof Error) throw cosmos; return cosmos; },
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

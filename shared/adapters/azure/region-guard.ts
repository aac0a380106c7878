import type { CosmosClient } from '@azure/cosmos';
import type { TokenCredential } from '@azure/identity';

/** Where the stores really are, as Azure reports it. Tests hand in a fake. */
export interface RegionSource {
  storageRegion(): Promise<string>;
  /** Where a geo-redundant account (GRS, GZRS) keeps its asynchronous copy; null without one. Absent: none. */
  storageReplicaRegion?(): Promise<string | null>;
  cosmosRegions(): Promise<string[]>;
  /** Whether the archive account has version-level immutability (WORM) enabled, which its containers inherit. */
  storageVersionLevelWorm(): Promise<boolean>;
}

export class WormGuardError extends Error {
  constructor(readonly problem: string) {
    super(`Refusing to start: the archive cannot keep documents immutable: ${problem}`);
    this.name = 'WormGuardError';
  }
}

/**
 * Fail closed before anything is served: the archive account must have version-level immutability,
 * or every tenant container it creates would lack WORM (each upload would then be refused, one by one).
 */
export async function assertAccountWorm(source: RegionSource): Promise<void> {
  let enabled: boolean;
  try {
    enabled = await source.storageVersionLevelWorm();
  } catch (err) {
    throw new WormGuardError(`the archive account's version-level immutability cannot be read (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!enabled) throw new WormGuardError('version-level immutability (immutableStorageWithVersioning) is not enabled on the archive storage account');
}

export class RegionGuardError extends Error {
  constructor(readonly problems: string[]) {
    super(`Refusing to start: data would leave the allowed regions:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'RegionGuardError';
  }
}

/** "North Europe" and "northeurope" are the same region. */
export function normaliseRegion(name: string): string {
  return name.replace(/\s+/g, '').toLowerCase();
}

/** Fail closed: any store outside the allowed regions, or a region that cannot be read, stops the archive. */
export async function assertAllowedRegions(source: RegionSource, allowed: string[]): Promise<void> {
  const ok = new Set(allowed.map(normaliseRegion));
  const problems: string[] = [];
  const read = async <T>(what: string, f: () => Promise<T>): Promise<T | null> => {
    try {
      return await f();
    } catch (err) {
      problems.push(`${what}: its region cannot be read (${err instanceof Error ? err.message : String(err)})`);
      return null;
    }
  };
  const storage = await read('Blob storage', () => source.storageRegion());
  if (storage !== null && !ok.has(normaliseRegion(storage))) problems.push(`Blob storage is in ${storage}; allowed: ${allowed.join(', ')}`);
  // A geo-replica is a full copy of every document: it must lie in an allowed region as well.
  const replica = source.storageReplicaRegion ? await read('Blob storage geo-replica', () => source.storageReplicaRegion!()) : null;
  if (replica && !ok.has(normaliseRegion(replica))) problems.push(`Blob storage keeps a geo-replica in ${replica}; allowed: ${allowed.join(', ')}`);
  const cosmos = await read('Cosmos DB', () => source.cosmosRegions());
  if (cosmos !== null) {
    if (cosmos.length === 0) problems.push('Cosmos DB reports no region');
    for (const region of cosmos) if (!ok.has(normaliseRegion(region))) problems.push(`Cosmos DB has a replica in ${region}; allowed: ${allowed.join(', ')}`);
  }
  if (problems.length > 0) throw new RegionGuardError(problems);
}

/** In Azure: the storage account's location from ARM (Reader role), Cosmos's from its account metadata. */
export function azureRegionSource(storageAccountResourceId: string, credential: TokenCredential, cosmos: CosmosClient): RegionSource {
  type Account = { location: string; properties?: { secondaryLocation?: string; immutableStorageWithVersioning?: { enabled?: boolean } } };
  let account: Promise<Account> | undefined;
  const storageAccount = () =>
    (account ??= (async () => {
      const token = await credential.getToken('https://management.azure.com/.default');
      if (!token) throw new Error('no management token');
      const res = await fetch(`https://management.azure.com${storageAccountResourceId}?api-version=2023-05-01`, { headers: { Authorization: `Bearer ${token.token}` } });
      if (!res.ok) throw new Error(`ARM answered ${res.status}`);
      return (await res.json()) as Account;
    })());
  return {
    async storageRegion() {
      return (await storageAccount()).location;
    },
    async storageReplicaRegion() {
      return (await storageAccount()).properties?.secondaryLocation || null;
    },
    async storageVersionLevelWorm() {
      return (await storageAccount()).properties?.immutableStorageWithVersioning?.enabled === true;
    },
    async cosmosRegions() {
      const { resource } = await cosmos.getDatabaseAccount();
      if (!resource) throw new Error('no account metadata');
      return [...resource.writableLocations, ...resource.readableLocations].map((l) => l.name);
    },
  };
}

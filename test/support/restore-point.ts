import type { InMemoryDeps } from './in-memory';

/**
 * The tenant records as they are now, the retention policy among them (one container in Cosmos DB, retention-store.ts;
 * a store of its own in memory): what a point-in-time restore of Cosmos DB to this point gives back. The blobs (WORM)
 * stay as they are. Call the answer to restore.
 */
export function restorePoint(deps: InMemoryDeps): () => void {
  const saved = structuredClone([...deps.tenantRecords.records]);
  const policies = structuredClone([...deps.retention.policies.policies]);
  return () => {
    deps.tenantRecords.records.clear();
    for (const [k, v] of structuredClone(saved)) deps.tenantRecords.records.set(k, v);
    deps.retention.policies.policies.clear();
    for (const [k, v] of structuredClone(policies)) deps.retention.policies.policies.set(k, v);
  };
}

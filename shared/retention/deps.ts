import type { BlobServiceClient } from '@azure/storage-blob';
import type { Container } from '@azure/cosmos';
import type { CosmosContainers } from '../adapters/azure/cosmos';
import { OrphanRecords } from '../adapters/azure/orphan-records';
import { RetentionCatalog, RetentionPolicies, TimerState } from '../adapters/azure/retention-store';
import { BlobDisposer } from './dispose';

/** What retention use cases and timers need beyond the document spine. */
export interface RetentionDeps {
  catalog: RetentionCatalog;
  policies: RetentionPolicies;
  timers: TimerState;
  /** The one holder of blob deletion (shared/retention/dispose.ts). */
  disposer: BlobDisposer;
  /** Document folders with blobs but no catalog item and no manifest, listed for operators. */
  orphans: OrphanRecords;
  /** Read-only lookups in the audit log (idempotent disposal entries). */
  audit: Container;
}

export function buildRetentionDeps(service: BlobServiceClient, cosmos: CosmosContainers): RetentionDeps {
  return {
    catalog: new RetentionCatalog(cosmos.documents),
    policies: new RetentionPolicies(cosmos.tenants),
    timers: new TimerState(cosmos.tenants),
    disposer: new BlobDisposer(service),
    orphans: new OrphanRecords(cosmos.tenants),
    audit: cosmos.audit,
  };
}

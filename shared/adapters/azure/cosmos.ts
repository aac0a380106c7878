import { Container, CosmosClient, Database } from '@azure/cosmos';
import type { JSONObject, OperationInput, QueryIterator, SqlQuerySpec } from '@azure/cosmos';
import { invalidPageToken } from '../../kernel/page-token';
import type { AuditOutboxItem } from '../../kernel/audit';
import type { ChainKeyring } from '../../kernel/audit-chain';
import { sealedOutboxItem } from '../../kernel/audit-outbox-seal';
import type { TenantRecordWrite } from '../../ports';
import type { IndexingPolicy } from '@azure/cosmos';
import type { TokenCredential } from '@azure/identity';
import documentsIndexingPolicy from '../../../infra/cosmos-documents-indexing-policy.json';
import tenantsIndexingPolicy from '../../../infra/cosmos-tenants-indexing-policy.json';
import auditIndexingPolicy from '../../../infra/cosmos-audit-indexing-policy.json';

export interface CosmosContainers {
  database: Database;
  documents: Container;
  audit: Container;
  tenants: Container;
}

/** Database `archive` and its three containers, with their partition keys. */
export const CONTAINER_SPECS = {
  /** Same indexing policy as infra/ deploys: the local server refuses ORDER BY without its composite index, like Cosmos. */
  documents: { partitionKey: '/tenantId', indexingPolicy: documentsIndexingPolicy as IndexingPolicy },
  /** `<tenantId>:<yyyy-mm>`: keeps a busy tenant's log under the logical-partition cap. Listed newest first by time, then chain order. */
  audit: { partitionKey: '/partition', indexingPolicy: auditIndexingPolicy as IndexingPolicy },
  tenants: { partitionKey: '/tenantId', indexingPolicy: tenantsIndexingPolicy as IndexingPolicy },
} as const;

/**
 * The first page of a query that has items, or none when the query is over. Cosmos may answer a
 * page with no items and more to come (its time or request units ran out before a match, or a
 * partition range held none): a walk or a maintenance pass that took it as "nothing there" would
 * stop at the same empty page on every run and never reach what lies behind it.
 * `next` reads the page after `continuationToken` (none: the first).
 */
export async function firstItems<T>(next: (continuationToken?: string) => Promise<{ items: T[]; continuationToken: string | null }>): Promise<T[]> {
  let token: string | undefined;
  for (;;) {
    const page = await next(token);
    if (page.items.length > 0 || !page.continuationToken) return page.items;
    token = page.continuationToken;
  }
}

/** firstItems over one query's iterator, which carries its own continuation (cross-partition queries). */
export function firstItemsOf<T>(iterator: QueryIterator<T>): Promise<T[]> {
  return firstItems(async () => {
    const page = await iterator.fetchNext();
    return { items: page.resources, continuationToken: iterator.hasMoreResults() ? 'more' : null };
  });
}

export function cosmosClient(endpoint: string, auth: { key: string } | { credential: TokenCredential }): CosmosClient {
  return new CosmosClient({
    endpoint,
    ...('key' in auth ? { key: auth.key } : { aadCredentials: auth.credential }),
    connectionPolicy: { enableEndpointDiscovery: !('key' in auth) },
  });
}

/**
 * Locally the containers are created on start; in Azure they come from infra/ (data-plane
 * roles cannot create them), so there we only open them.
 */
export async function openContainers(client: CosmosClient, databaseId: string, create: boolean): Promise<CosmosContainers> {
  const database = client.database(databaseId);
  if (create) {
    await tolerateConflict(() => client.databases.createIfNotExists({ id: databaseId }));
    for (const [id, spec] of Object.entries(CONTAINER_SPECS)) {
      await tolerateConflict(() => database.containers.createIfNotExists({ id, partitionKey: { paths: [spec.partitionKey] }, ...('indexingPolicy' in spec ? { indexingPolicy: spec.indexingPolicy } : {}) }));
    }
  }
  return {
    database,
    documents: database.container('documents'),
    audit: database.container('audit'),
    tenants: database.container('tenants'),
  };
}

/** Two hosts starting at once may both try to create: the loser's 409 means it exists. */
async function tolerateConflict(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (err) {
    if (!isCosmosStatus(err, 409)) throw err;
  }
}

export function isCosmosStatus(err: unknown, status: number): boolean {
  return typeof err === 'object' && err !== null && ((err as { code?: unknown }).code === status || (err as { statusCode?: unknown }).statusCode === status);
}

/**
 * Whether an item could have this id. The SDK refuses an empty id or one with `/`, `\` or `#`
 * before asking the store, with an error rather than a 404: an id from a path (`/exports/a%23b`)
 * was a 500 where the answer is "no such item".
 */
export const isItemId = (id: string): boolean => id.trim() !== '' && id.length <= 255 && !/[/\\#]/.test(id);

/**
 * A point read in a tenant's partition: the item (without system properties) and its etag, or
 * null when it is missing or is not that tenant's item of that type (an id never reaches
 * another tenant's record, or another kind of record), or no item can have the id.
 */
export async function readTenantItem<T extends { tenantId: string; type: string }>(container: Container, tenantId: string, id: string, type: T['type']): Promise<{ item: T; etag: string } | null> {
  if (!isItemId(id)) return null;
  try {
    const res = await container.item(id, tenantId).read<T>();
    const r = res.resource;
    if (!r || r.tenantId !== tenantId || r.type !== type) return null;
    return { item: withoutSystemProperties(r), etag: res.etag };
  } catch (err) {
    if (isCosmosStatus(err, 404)) return null;
    throw err;
  }
}

/** Drop Cosmos system properties (_rid, _etag, …) so manifests and answers stay clean. */
export function withoutSystemProperties<T extends object>(item: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) if (!k.startsWith('_')) out[k] = v;
  return out as T;
}

/** Deletes one item; false when it was not there (404), which is no error. */
export async function deleteItem(container: Container, partition: string, id: string): Promise<boolean> {
  try {
    await container.item(id, partition).delete();
    return true;
  } catch (err) {
    if (isCosmosStatus(err, 404)) return false;
    throw err;
  }
}

/** A change's audit outbox item and the chain keyring it is sealed with where it is stored. */
export interface OutboxWrite {
  item: AuditOutboxItem;
  keys: ChainKeyring;
}

/** `outbox` to write with the keyring (none: none). */
export const outboxWrite = (item: AuditOutboxItem | undefined, keys: ChainKeyring): OutboxWrite | undefined => (item ? { item, keys } : undefined);

/**
 * Writes, and the change's audit outbox item if given, in one transactional batch in the same partition: all
 * or none. The writes' statuses when the batch was stored, or when a write gave one of `refusals`
 * (its own answer: taken, changed, gone), with which nothing is stored; any other outcome throws.
 */
export async function conditionalBatch(container: Container, partition: string, writes: readonly OperationInput[], refusals: readonly number[], outbox?: OutboxWrite): Promise<{ statuses: number[]; etags: (string | undefined)[] }> {
  if (outbox && outbox.item.tenantId !== partition) throw new Error('the audit outbox item belongs to another tenant');
  // Stored sealed: the sealing timer keys only a sealed item's entries as they are (audit-outbox-seal.ts).
  const sealed = outbox ? await sealedOutboxItem(outbox.item, outbox.keys) : undefined;
  const operations = sealed ? [...writes, { operationType: 'Create', partitionKey: partition, resourceBody: sealed as unknown as JSONObject } as const] : [...writes];
  const res = await container.items.batch(operations, partition);
  const results = res.result ?? [];
  const statuses = results.map((r) => r.statusCode);
  const refused = statuses.slice(0, writes.length).some((s) => refusals.includes(s));
  if (refused || (results.length === operations.length && statuses.every((s) => s >= 200 && s < 300))) {
    return { statuses: statuses.slice(0, writes.length), etags: results.slice(0, writes.length).map((r) => r.eTag) };
  }
  throw Object.assign(new Error(`transactional batch failed: ${statuses.join(',') || res.code}`), { code: statuses.find((s) => s >= 300 && s !== 424) ?? res.code });
}

/** `conditionalBatch` with the change's audit outbox item: the writes and the item, both or neither. */
export function batchWithOutbox(container: Container, partition: string, writes: OperationInput[], outbox: OutboxWrite, refusals: readonly number[]): Promise<{ statuses: number[]; etags: (string | undefined)[] }> {
  return conditionalBatch(container, partition, writes, refusals, outbox);
}

/**
 * One page of a query within one partition (the archive's paged lists). A continuation token the store cannot
 * use (another query's, edited, garbage) is the caller's mistake: 400 invalid_query, not a 500.
 */
export async function queryPage<T>(container: Container, query: SqlQuerySpec, page: { partitionKey: string; limit: number; continuationToken?: string | undefined }): Promise<{ resources: T[]; continuationToken: string | null }> {
  try {
    const res = await container.items.query<T>(query, { partitionKey: page.partitionKey, maxItemCount: page.limit, continuationToken: page.continuationToken }).fetchNext();
    return { resources: res.resources, continuationToken: res.continuationToken ?? null };
  } catch (err) {
    if (page.continuationToken && (isCosmosStatus(err, 400) || err instanceof SyntaxError)) throw invalidPageToken('not valid for this query; start again from the first page');
    throw err;
  }
}

/** One write of a batch as the store's operation, in the tenant's partition. */
export function recordOperation(tenantId: string, w: TenantRecordWrite): OperationInput {
  if (w.op === 'delete') return { operationType: 'Delete', partitionKey: tenantId, id: w.id, ...(w.ifMatch !== undefined ? { ifMatch: w.ifMatch } : {}) };
  if (w.record.tenantId !== tenantId) throw new Error('a record of the batch belongs to another tenant');
  const resourceBody = w.record as unknown as JSONObject;
  if (w.op === 'create') return { operationType: 'Create', partitionKey: tenantId, resourceBody };
  if (w.op === 'upsert') return { operationType: 'Upsert', partitionKey: tenantId, resourceBody };
  return { operationType: 'Replace', partitionKey: tenantId, id: w.record.id, ifMatch: w.ifMatch, resourceBody };
}

/** The id of the record a write of a batch touches (which the instance's cache forgets). */
export const recordWriteId = (w: TenantRecordWrite): string => (w.op === 'delete' ? w.id : w.record.id);

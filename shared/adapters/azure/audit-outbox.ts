import type { Container, OperationInput } from '@azure/cosmos';
import type { AuditOutboxItem, AuditTakeOverClaim } from '../../kernel/audit';
import type { AuditOutboxPort, Versioned } from '../../ports';
import { deleteItem, firstItemsOf, isCosmosStatus } from './cosmos';

/** Deletes per transactional batch (Cosmos DB's limit). */
const DELETES_PER_BATCH = 100;

/**
 * The audit outbox's items, beside the change they were written with (same container, same
 * partition): in `documents` for the catalog's changes, in `tenants` for the tenant records'.
 */
export class AuditOutboxItems implements AuditOutboxPort {
  constructor(
    private readonly container: Container,
    private readonly tenants: Container,
  ) {}

  /**
   * Per tenant, one transactional batch of deletes in `documents`, where nearly all items are; if
   * one of them is not there (the batch fails whole), one delete each, in `tenants` when not found.
   */
  async remove(items: readonly Pick<AuditOutboxItem, 'tenantId' | 'id'>[]): Promise<void> {
    const byTenant = new Map<string, string[]>();
    for (const { tenantId, id } of items) byTenant.set(tenantId, [...(byTenant.get(tenantId) ?? []), id]);
    for (const [tenantId, ids] of byTenant) {
      for (let i = 0; i < ids.length; i += DELETES_PER_BATCH) {
        const chunk = ids.slice(i, i + DELETES_PER_BATCH);
        if (chunk.length > 1) {
          const operations: OperationInput[] = chunk.map((id) => ({ operationType: 'Delete', partitionKey: tenantId, id }));
          const res = await this.container.items.batch(operations, tenantId);
          if (res.result?.length === chunk.length && res.result.every((r) => r.statusCode >= 200 && r.statusCode < 300)) continue;
        }
        for (const id of chunk) {
          if (!(await deleteItem(this.container, tenantId, id))) await deleteItem(this.tenants, tenantId, id);
        }
      }
    }
  }

  /** With when Cosmos DB stored each (`_ts`), which the seal's key version is judged by (archive-seal.ts "superseded key"). */
  async unsafeWrittenBefore(before: string, max: number): Promise<(Versioned<AuditOutboxItem> & { storedAt: string | null })[]> {
    const query = { query: 'SELECT * FROM c WHERE c.type = "audit-outbox" AND c.at < @before ORDER BY c.at', parameters: [{ name: '@before', value: before }] };
    const found = await Promise.all([this.container, this.tenants].map(async (c) => firstItemsOf(c.items.query<AuditOutboxItem & { _etag: string; _ts?: number }>(query, { maxItemCount: max }))));
    return found
      .flat()
      .sort((a, b) => a.at.localeCompare(b.at))
      .slice(0, max)
      .map(({ id, tenantId, type, at, entries, claim, seal, _etag, _ts }) => ({ item: { id, tenantId, type, at, entries, ...(claim ? { claim } : {}), ...(seal ? { seal } : {}) }, etag: _etag, storedAt: typeof _ts === 'number' && Number.isFinite(_ts) ? new Date(_ts * 1000).toISOString() : null }));
  }

  /** A replace over the listed etag, in `documents` or else in `tenants` (an etag is never another item's). */
  async claim({ item, etag }: Versioned<AuditOutboxItem>, claim: AuditTakeOverClaim): Promise<boolean> {
    for (const container of [this.container, this.tenants]) {
      try {
        await container.item(item.id, item.tenantId).replace({ ...item, claim }, { accessCondition: { type: 'IfMatch', condition: etag } });
        return true;
      } catch (err) {
        if (isCosmosStatus(err, 412)) return false;
        if (!isCosmosStatus(err, 404)) throw err;
      }
    }
    return false;
  }
}

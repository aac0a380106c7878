import type { Container, OperationInput } from '@azure/cosmos';
import type { AuditOutboxItem } from '../../kernel/audit';
import type { AuditOutboxPort } from '../../ports';
import { isCosmosStatus } from './cosmos';

/** Deletes per transactional batch (Cosmos DB's limit). */
const DELETES_PER_BATCH = 100;

/** The audit outbox's items, in the `documents` container beside the change they were written with (same partition). */
export class AuditOutboxItems implements AuditOutboxPort {
  constructor(private readonly container: Container) {}

  /** Per tenant, one transactional batch of deletes; if one of them is gone already (the batch fails whole), one delete each. */
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
          await this.container.item(id, tenantId).delete().catch((err: unknown) => {
            if (!isCosmosStatus(err, 404)) throw err;
          });
        }
      }
    }
  }

  async unsafeWrittenBefore(before: string, max: number): Promise<AuditOutboxItem[]> {
    const { resources } = await this.container.items
      .query<AuditOutboxItem>({ query: 'SELECT * FROM c WHERE c.type = "audit-outbox" AND c.at < @before ORDER BY c.at', parameters: [{ name: '@before', value: before }] }, { maxItemCount: max })
      .fetchNext();
    return resources.slice(0, max).map(({ id, tenantId, type, at, entries }) => ({ id, tenantId, type, at, entries }));
  }
}

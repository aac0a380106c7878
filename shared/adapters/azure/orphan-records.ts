import type { Container } from '@azure/cosmos';
import type { ChainKeyring } from '../../kernel/audit-chain';
import { orphanRecordId, type OrphanedBlobsRecord, type OrphanRecordsPort } from '../../ports';
import type { AuditOutboxItem } from '../../kernel/audit';
import { TenantRecords } from './tenant-records';
import { withoutSystemProperties } from './cosmos';

/** A record still listed: never resolved, or reopened (a reopening writes the record without `resolvedAt`). */
const UNRESOLVED = '(NOT IS_DEFINED(c.resolvedAt) OR IS_NULL(c.resolvedAt))';

export class OrphanRecords implements OrphanRecordsPort {
  private readonly records: TenantRecords;
  constructor(
    private readonly container: Container,
    /** Seals the audit outbox items it stores (cosmos.ts conditionalBatch). */
    keys: ChainKeyring,
  ) {
    this.records = new TenantRecords(container, keys);
  }

  async get(tenantId: string, documentId: string) {
    return this.records.get<OrphanedBlobsRecord>(tenantId, orphanRecordId(documentId), 'orphaned-blobs');
  }

  async create(record: OrphanedBlobsRecord, outbox?: AuditOutboxItem): Promise<'created' | 'exists'> {
    return this.records.create(record, outbox);
  }

  async replace(record: OrphanedBlobsRecord, etag: string, outbox?: AuditOutboxItem): Promise<'replaced' | 'conflict'> {
    return this.records.replace(record, etag, outbox);
  }

  async markAudited(record: OrphanedBlobsRecord, etag: string): Promise<void> {
    await this.records.replace({ ...record, audited: true }, etag);
  }

  async list(tenantId: string): Promise<OrphanedBlobsRecord[]> {
    return this.records.list<OrphanedBlobsRecord>(tenantId, 'orphaned-blobs');
  }

  async unresolvedAfter(tenantId: string, after: string, limit: number): Promise<OrphanedBlobsRecord[]> {
    const { resources } = await this.container.items
      .query<OrphanedBlobsRecord>(
        {
          query: `SELECT TOP @n * FROM c WHERE c.tenantId = @t AND c.type = "orphaned-blobs" AND c.id > @after AND ${UNRESOLVED} ORDER BY c.id`,
          parameters: [{ name: '@t', value: tenantId }, { name: '@after', value: after }, { name: '@n', value: limit }],
        },
        { partitionKey: tenantId },
      )
      .fetchAll();
    return resources.map(withoutSystemProperties);
  }

  /** Cross-tenant, for /health/ready: how many orphaned folders are listed and not resolved (no tenant data). */
  async unsafeCount(): Promise<number> {
    const { resources } = await this.container.items.query<number>(`SELECT VALUE COUNT(1) FROM c WHERE c.type = "orphaned-blobs" AND ${UNRESOLVED}`).fetchAll();
    return resources.reduce((a, b) => a + b, 0);
  }
}

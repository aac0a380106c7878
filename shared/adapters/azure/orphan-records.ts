import type { Container } from '@azure/cosmos';
import { orphanRecordId, type OrphanedBlobsRecord, type OrphanRecordsPort } from '../../ports';
import type { AuditOutboxItem } from '../../kernel/audit';
import { TenantRecords } from './tenant-records';

export class OrphanRecords implements OrphanRecordsPort {
  private readonly records: TenantRecords;
  constructor(private readonly container: Container) {
    this.records = new TenantRecords(container);
  }

  async get(tenantId: string, documentId: string) {
    return this.records.get<OrphanedBlobsRecord>(tenantId, orphanRecordId(documentId), 'orphaned-blobs');
  }

  async create(record: OrphanedBlobsRecord, outbox?: AuditOutboxItem): Promise<'created' | 'exists'> {
    return this.records.create(record, outbox);
  }

  async markAudited(record: OrphanedBlobsRecord, etag: string): Promise<void> {
    await this.records.replace({ ...record, audited: true }, etag);
  }

  async list(tenantId: string): Promise<OrphanedBlobsRecord[]> {
    return this.records.list<OrphanedBlobsRecord>(tenantId, 'orphaned-blobs');
  }

  /** Cross-tenant, for /health/ready: how many orphaned folders are listed (no tenant data). */
  async unsafeCount(): Promise<number> {
    const { resources } = await this.container.items.query<number>('SELECT VALUE COUNT(1) FROM c WHERE c.type = "orphaned-blobs"').fetchAll();
    return resources.reduce((a, b) => a + b, 0);
  }
}

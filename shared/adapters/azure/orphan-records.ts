import type { Container } from '@azure/cosmos';
import { TenantRecord, TenantRecords } from './tenant-records';

/**
 * A document folder that holds blobs but has neither a catalog item nor a manifest (a crash
 * between the blob writes and the manifest): its metadata is lost, so it is never turned into
 * a document; it is listed for an operator. Kept in the tenant's partition of `tenants`.
 */
export interface OrphanedBlobsRecord extends TenantRecord {
  type: 'orphaned-blobs';
  documentId: string;
  folder: string;
  blobs: { name: string; size: number; lastModified: string }[];
  firstSeen: string;
  /** Set once its audit entry is written; until then every run tries again. */
  audited: boolean;
}

export class OrphanRecords {
  private readonly records: TenantRecords;
  constructor(private readonly container: Container) {
    this.records = new TenantRecords(container);
  }

  static id(documentId: string): string {
    return `orphaned-blobs:${documentId}`;
  }

  async get(tenantId: string, documentId: string) {
    return this.records.get<OrphanedBlobsRecord>(tenantId, OrphanRecords.id(documentId), 'orphaned-blobs');
  }

  async create(record: OrphanedBlobsRecord): Promise<'created' | 'exists'> {
    return this.records.create(record);
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

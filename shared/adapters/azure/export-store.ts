import type { Container, JSONObject, OperationInput, SqlParameter } from '@azure/cosmos';
import type { ChainKeyring } from '../../kernel/audit-chain';
import { BlobServiceClient, ContainerClient, RestError } from '@azure/storage-blob';
import { walkContainers } from './container-walk';
import type { Readable } from 'node:stream';
import { blobLayout, EXPORTS_CONTAINER_PREFIX } from '../../kernel/blob-layout';
import type { BlobRead, ExportBlobsPort, ExportJobsPort, Page, StoredExportBlob, Versioned } from '../../ports';
import { batchWithOutbox, conditionalBatch, outboxWrite, firstItemsOf, isCosmosStatus, queryPage, readTenantItem, withoutSystemProperties as strip } from './cosmos';
import type { AuditOutboxItem } from '../../kernel/audit';
import type { ExportJob } from '../../kernel/export';

/**
 * A conditional write refused: written (or deleted) by another since the version the caller holds (412, or 404 for a
 * blob gone), or, with If-None-Match: *, a blob already there (409 BlobAlreadyExists, or 412).
 */
const conditionFailed = (err: unknown): boolean => err instanceof RestError && (err.statusCode === 412 || (err.statusCode === 404 && err.code === 'BlobNotFound') || (err.statusCode === 409 && err.code === 'BlobAlreadyExists'));

/**
 * Export archives: one container per tenant, `exports-<tenant>`, apart from the WORM document
 * containers. Exports are copies, not archived documents: plain blobs, overwritten when a job is
 * restarted and deleted when they expire.
 */
export class ExportBlobs implements ExportBlobsPort {
  private readonly created = new Set<string>();

  constructor(private readonly service: BlobServiceClient) {}

  static containerName(tenantId: string): string {
    return blobLayout.exportsContainer(tenantId);
  }

  private container(tenantId: string): ContainerClient {
    return this.service.getContainerClient(ExportBlobs.containerName(tenantId));
  }

  /** Once per tenant per instance: the container is never deleted while the archive runs. */
  async ensureContainer(tenantId: string): Promise<void> {
    if (this.created.has(tenantId)) return;
    await this.container(tenantId).createIfNotExists();
    this.created.add(tenantId);
  }

  /**
   * Streams `source` into the blob in 4 MiB blocks, at most 4 in flight: memory stays flat. The container is not created
   * here (POST /exports did, ensureContainer). Broke: the worker created it, so the export app's role kept containers/write,
   * a control-plane action no assignment condition binds: it could create a container of any name.
   */
  async upload(tenantId: string, blobName: string, source: Readable, contentType = 'application/zip'): Promise<void> {
    await this.noContainerSaid(tenantId, () => this.container(tenantId).getBlockBlobClient(blobName).uploadStream(source, 4 * 1024 * 1024, 4, { blobHTTPHeaders: { blobContentType: contentType } }));
  }

  /** Not in a container that is not there (see `upload`). */
  async stageBlock(tenantId: string, blobName: string, blockId: string, bytes: Buffer): Promise<void> {
    await this.noContainerSaid(tenantId, () => this.container(tenantId).getBlockBlobClient(blobName).stageBlock(blockId, bytes, bytes.length));
  }

  async commitBlocks(tenantId: string, blobName: string, blockIds: string[], options: { contentType?: string; ifMatch?: string; ifNoneMatch?: '*' } = {}): Promise<{ etag: string } | 'conflict'> {
    const { contentType = 'application/zip', ifMatch, ifNoneMatch } = options;
    const conditions = { ...(ifMatch ? { ifMatch } : {}), ...(ifNoneMatch ? { ifNoneMatch } : {}) };
    try {
      const res = await this.noContainerSaid(tenantId, () => this.container(tenantId).getBlockBlobClient(blobName).commitBlockList(blockIds, { blobHTTPHeaders: { blobContentType: contentType }, ...(ifMatch || ifNoneMatch ? { conditions } : {}) }));
      return { etag: res.etag ?? '' };
    } catch (err) {
      if ((ifMatch || ifNoneMatch) && conditionFailed(err)) return 'conflict';
      throw err;
    }
  }

  async putIf(tenantId: string, blobName: string, bytes: Buffer, contentType: string, condition: { ifMatch: string } | { ifNoneMatch: '*' }): Promise<{ etag: string } | 'conflict'> {
    try {
      const res = await this.noContainerSaid(tenantId, () => this.container(tenantId).getBlockBlobClient(blobName).upload(bytes, bytes.length, { blobHTTPHeaders: { blobContentType: contentType }, conditions: condition }));
      return { etag: res.etag ?? '' };
    } catch (err) {
      if (conditionFailed(err)) return 'conflict';
      throw err;
    }
  }

  async committedBlocks(tenantId: string, blobName: string): Promise<{ id: string; size: number }[]> {
    try {
      const list = await this.container(tenantId).getBlockBlobClient(blobName).getBlockList('committed');
      return (list.committedBlocks ?? []).map((b) => ({ id: b.name, size: b.size }));
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return [];
      throw err;
    }
  }

  /** A write into a container that is not there says so: POST /exports creates it (ensureContainer), never the worker. */
  private async noContainerSaid<R>(tenantId: string, write: () => Promise<R>): Promise<R> {
    try {
      return await write();
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404 && err.code === 'ContainerNotFound') throw new Error(`export container ${ExportBlobs.containerName(tenantId)} does not exist: POST /exports creates it, the export worker cannot (${err.code})`);
      throw err;
    }
  }

  async read(tenantId: string, blobName: string, range?: { offset: number; count?: number }): Promise<BlobRead> {
    const res = await this.container(tenantId).getBlobClient(blobName).download(range?.offset ?? 0, range?.count);
    const total = res.contentRange ? Number(res.contentRange.split('/')[1]) : Number(res.contentLength ?? 0);
    return { stream: res.readableStreamBody as Readable, size: total, contentLength: Number(res.contentLength ?? 0), etag: res.etag ?? '', contentType: res.contentType ?? 'application/zip', createdOn: res.createdOn ? res.createdOn.toISOString() : null };
  }

  async readIfExists(tenantId: string, blobName: string, range?: { offset: number; count?: number }): Promise<BlobRead | null> {
    try {
      return await this.read(tenantId, blobName, range);
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return null;
      throw err;
    }
  }

  /**
   * The blob and every version of it. The archive account keeps versions (infra/main.bicep): deleting the base
   * blob alone turns it into a previous version, and the ZIP, with every document it copied, stayed in storage
   * after the export expired or was withdrawn because those documents were disposed of. As the disposer does:
   * the base blob first (its current version becomes a previous one), then each version by id.
   */
  async delete(tenantId: string, blobName: string): Promise<void> {
    try {
      await this.container(tenantId).getBlobClient(blobName).deleteIfExists();
      await this.deleteVersions(tenantId, blobName);
    } catch (err) {
      if (!(err instanceof RestError && err.statusCode === 404)) throw err;
    }
  }

  /** As `delete`, only over the version `ifMatch` names: 412 (written since) or 404 (gone) is a conflict, nothing deleted. */
  async deleteIf(tenantId: string, blobName: string, condition: { ifMatch: string }): Promise<'deleted' | 'conflict'> {
    try {
      await this.container(tenantId).getBlobClient(blobName).delete({ conditions: { ifMatch: condition.ifMatch } });
    } catch (err) {
      if (conditionFailed(err)) return 'conflict';
      throw err;
    }
    try {
      await this.deleteVersions(tenantId, blobName);
    } catch (err) {
      if (!(err instanceof RestError && err.statusCode === 404)) throw err;
    }
    return 'deleted';
  }

  /** The blob's previous versions, by id (its base blob deleted first: its current version becomes one of them). */
  private async deleteVersions(tenantId: string, blobName: string): Promise<void> {
    const container = this.container(tenantId);
    const blob = container.getBlobClient(blobName);
    const versions: string[] = [];
    // Listed in name order, the blob's own versions first (no other name under the prefix is shorter): the walk stops at
    // the first other name. Broke: blobs planted under names the ZIP's starts (a storage role) were each listed on
    // every delete, and maintenance deletes outlived ones a page a run, so a pile of them cost every delete all of it.
    for await (const b of container.listBlobsFlat({ prefix: blobName, includeVersions: true })) {
      if (b.name !== blobName) break;
      if (b.versionId) versions.push(b.versionId);
    }
    for (const versionId of versions) await blob.withVersion(versionId).deleteIfExists();
  }

  /** The `exports-*` containers' blobs with storage's creation time, a page a run (container-walk.ts walkContainers). */
  unsafeListStored(cursor: string | null, limit: number): Promise<{ items: StoredExportBlob[]; next: string | null }> {
    return walkContainers(this.service, EXPORTS_CONTAINER_PREFIX, {}, cursor, limit, (tenantId, b) => ({ tenantId, blobName: b.name, createdOn: (b.properties.createdOn ?? b.properties.lastModified)?.toISOString() ?? null }));
  }
}

/** The tenant's export-start gate: moved by every start, so two starts judged on one count cannot both be written. */
interface ExportStartGate {
  id: string;
  tenantId: string;
  type: 'export-start-gate';
  lastStart: string;
  at: string;
}

const EXPORT_START_GATE_ID = 'export-start-gate';

/** Export job records in the `tenants` container, partition /tenantId. */
export class ExportJobs implements ExportJobsPort {
  constructor(
    private readonly container: Container,
    /** Seals the audit outbox items it stores (cosmos.ts conditionalBatch). */
    private readonly keys: ChainKeyring,
  ) {}

  async create(job: ExportJob, outbox?: AuditOutboxItem): Promise<void> {
    if (outbox) await batchWithOutbox(this.container, job.tenantId, [{ operationType: 'Create', partitionKey: job.tenantId, resourceBody: job as unknown as JSONObject }], { item: outbox, keys: this.keys }, []);
    else await this.container.items.create(job);
  }

  async get(tenantId: string, id: string): Promise<ExportJob | null> {
    return (await readTenantItem<ExportJob>(this.container, tenantId, id, 'export'))?.item ?? null;
  }

  /** The tenant's exports, newest first, paged (within the tenant's partition). */
  async list(tenantId: string, limit: number, continuationToken?: string): Promise<{ items: ExportJob[]; continuationToken: string | null }> {
    const res = await queryPage<ExportJob>(
      this.container,
      { query: 'SELECT * FROM c WHERE c.tenantId = @t AND c.type = "export" ORDER BY c.createdAt DESC', parameters: [{ name: '@t', value: tenantId }] },
      { partitionKey: tenantId, limit, continuationToken },
    );
    return { items: res.resources.map(strip), continuationToken: res.continuationToken };
  }

  async runningUnderGate(tenantId: string): Promise<{ running: number; gate: string | null }> {
    // The gate first: a start that passes it after this read makes createGated's condition fail.
    const gate = await readTenantItem<ExportStartGate>(this.container, tenantId, EXPORT_START_GATE_ID, 'export-start-gate');
    const { resources } = await this.container.items
      .query<number>({ query: 'SELECT VALUE COUNT(1) FROM c WHERE c.tenantId = @t AND c.type = "export" AND c.status = "running"', parameters: [{ name: '@t', value: tenantId }] }, { partitionKey: tenantId })
      .fetchAll();
    return { running: resources[0] ?? 0, gate: gate?.etag ?? null };
  }

  async createGated(job: ExportJob, gate: string | null, outbox?: AuditOutboxItem): Promise<'created' | 'conflict'> {
    const tenantId = job.tenantId;
    const moved: ExportStartGate = { id: EXPORT_START_GATE_ID, tenantId, type: 'export-start-gate', lastStart: job.id, at: job.createdAt };
    // The condition first (a failed batch stores nothing either way).
    const writes: OperationInput[] = [
      gate === null
        ? { operationType: 'Create', partitionKey: tenantId, resourceBody: moved as unknown as JSONObject }
        : { operationType: 'Replace', partitionKey: tenantId, id: EXPORT_START_GATE_ID, ifMatch: gate, resourceBody: moved as unknown as JSONObject },
      { operationType: 'Create', partitionKey: tenantId, resourceBody: job as unknown as JSONObject },
    ];
    const { statuses } = await conditionalBatch(this.container, tenantId, writes, [404, 409, 412], outboxWrite(outbox, this.keys));
    return statuses.every((c) => c >= 200 && c < 300) ? 'created' : 'conflict';
  }

  async getVersioned(tenantId: string, id: string): Promise<Versioned<ExportJob> | null> {
    return readTenantItem<ExportJob>(this.container, tenantId, id, 'export');
  }

  /** If-Match on the etag the caller holds: 412 (changed) or 404 (gone) is a conflict, never an overwrite. */
  async replace(job: ExportJob, etag: string, outbox?: AuditOutboxItem): Promise<{ etag: string } | 'conflict'> {
    if (outbox) {
      const replace: OperationInput = { operationType: 'Replace', partitionKey: job.tenantId, id: job.id, ifMatch: etag, resourceBody: job as unknown as JSONObject };
      const { statuses, etags } = await conditionalBatch(this.container, job.tenantId, [replace], [404, 412], { item: outbox, keys: this.keys });
      return statuses[0] === 404 || statuses[0] === 412 ? 'conflict' : { etag: etags[0] ?? '' };
    }
    try {
      const res = await this.container.item(job.id, job.tenantId).replace(job, { accessCondition: { type: 'IfMatch', condition: etag } });
      return { etag: res.etag };
    } catch (err) {
      if (isCosmosStatus(err, 412) || isCosmosStatus(err, 404)) return 'conflict';
      throw err;
    }
  }

  /**
   * For export maintenance: jobs past their expiry, and running jobs whose worker stopped giving
   * signs of life. Cross-tenant for the timer; with `tenantId`, that tenant's jobs only (the filter
   * is in the query itself, not left to the partition-key option alone).
   */
  async unsafeListDue(now: Date, staleBefore: Date, limit: number, tenantId?: string): Promise<Versioned<ExportJob>[]> {
    // Expired with its completion seal still on: marked so in Cosmos DB alone (an expiry strips it), its ZIP still stored.
    return this.jobsWhere('(((c.status != "expired" OR IS_DEFINED(c.completedSeal)) AND c.expiresAt <= @now) OR (c.status = "running" AND c.heartbeatAt < @stale))', [{ name: '@stale', value: staleBefore.toISOString() }], now, limit, tenantId);
  }

  async unsafeListHoldingDisposable(now: Date, limit: number, tenantId?: string, afterId = ''): Promise<Versioned<ExportJob>[]> {
    return this.jobsWhere('(c.status = "completed" OR IS_DEFINED(c.completedSeal)) AND c.expiresAt > @now AND c.disposableFrom <= @now AND IS_DEFINED(c.disposable) AND c.id > @after ORDER BY c.id', [{ name: '@after', value: afterId }], now, limit, tenantId);
  }

  async unsafeListLive(now: Date, limit: number, tenantId?: string, afterId = ''): Promise<Versioned<ExportJob>[]> {
    // With a completion seal, whatever the status (under no seal) says: it handed out a ZIP (withdraw-exports.ts withdrawFrom).
    return this.jobsWhere('(c.status = "completed" OR IS_DEFINED(c.completedSeal)) AND c.expiresAt > @now AND c.id > @after ORDER BY c.id', [{ name: '@after', value: afterId }], now, limit, tenantId);
  }

  async listExposed(tenantId: string, now: Date, limit: number, continuationToken?: string): Promise<Page<Versioned<ExportJob>>> {
    const page = await queryPage<ExportJob & { _etag: string }>(
      this.container,
      {
        // A completion seal, whatever the status: it handed out a ZIP (withdraw-exports.ts withdrawFrom).
        query: 'SELECT * FROM c WHERE c.type = "export" AND c.tenantId = @tenant AND (c.status = "running" OR ((c.status = "completed" OR IS_DEFINED(c.completedSeal)) AND c.expiresAt > @now))',
        parameters: [{ name: '@now', value: now.toISOString() }, { name: '@tenant', value: tenantId }],
      },
      { partitionKey: tenantId, limit, continuationToken },
    );
    return { items: page.resources.map((r) => ({ item: strip(r), etag: r._etag })), continuationToken: page.continuationToken };
  }

  /**
   * One page of export jobs matching `condition` (which may use `@now`), with their etags. Cross-tenant
   * without `tenantId`; with it, that tenant's jobs only (in the query itself, not left to the partition key).
   */
  private async jobsWhere(condition: string, parameters: SqlParameter[], now: Date, limit: number, tenantId?: string): Promise<Versioned<ExportJob>[]> {
    const resources = await firstItemsOf(this.container.items
      .query<ExportJob & { _etag: string }>(
        {
          query: `SELECT * FROM c WHERE c.type = "export"${tenantId ? ' AND c.tenantId = @tenant' : ''} AND ${condition}`,
          parameters: [{ name: '@now', value: now.toISOString() }, ...parameters, ...(tenantId ? [{ name: '@tenant', value: tenantId }] : [])],
        },
        { maxItemCount: limit, ...(tenantId ? { partitionKey: tenantId } : {}) },
      ));
    return resources.map((r) => ({ item: strip(r), etag: r._etag }));
  }
}

import type { Container, JSONObject, OperationInput, SqlParameter } from '@azure/cosmos';
import type { AuditOutboxItem } from '../../kernel/audit';
import type { ArchivedDocument } from '../../kernel/document';
import { searchKey, withSearchKeys } from '../../kernel/search-keys';
import type { CatalogPort, DocumentQuery, DocumentSortKey, Page } from '../../ports';
import { batchWithOutbox, isCosmosStatus, queryPage, readTenantItem, withoutSystemProperties as strip } from './cosmos';

const SORT_PATH: Record<DocumentSortKey, string> = { createdAt: 'c.createdAt', documentDate: 'c.metadata.documentDate', amount: 'c.metadata.amount' };

/** WHERE clause of a catalog search: always the tenant's partition, only indexed paths. */
function searchFilter(tenantId: string, q: Omit<DocumentQuery, 'limit' | 'continuationToken' | 'sort' | 'order'>): { where: string; parameters: SqlParameter[] } {
  const where = ['c.tenantId = @t', 'c.type = "document"'];
  const parameters: SqlParameter[] = [{ name: '@t', value: tenantId }];
  const add = (clause: string, name: string, value: string | number) => {
    where.push(clause);
    parameters.push({ name, value });
  };
  if (q.fiscalYear !== undefined) add('c.fiscalYear = @fy', '@fy', q.fiscalYear);
  if (q.from) add('c.metadata.documentDate >= @from', '@from', q.from);
  if (q.to) add('c.metadata.documentDate <= @to', '@to', q.to);
  if (q.kind) add('c.metadata.kind = @kind', '@kind', q.kind);
  // Case- and accent-insensitive prefix match on the indexed key, within the partition.
  if (q.counterparty) add('STARTSWITH(c.counterpartyKey, @cp)', '@cp', searchKey(q.counterparty));
  if (q.amountMin !== undefined) add('c.metadata.amount >= @amin', '@amin', q.amountMin);
  if (q.amountMax !== undefined) add('c.metadata.amount <= @amax', '@amax', q.amountMax);
  if (q.currency) add('c.metadata.currency = @cur', '@cur', q.currency);
  if (q.reference) add('STARTSWITH(c.referenceKey, @ref)', '@ref', searchKey(q.reference));
  (q.tags ?? []).forEach((tag, i) => add(`ARRAY_CONTAINS(c.metadata.tags, @tag${i})`, `@tag${i}`, tag));
  return { where: where.join(' AND '), parameters };
}

/**
 * Content-key marker: which document holds these original bytes, in the documents container
 * beside the catalog item (same partition), so the duplicate check is one point read however
 * large the tenant grows. Written with the item; removed by disposal (shared/retention).
 */
export interface ContentKeyMarker {
  id: string;
  tenantId: string;
  type: 'content-key';
  contentKey: string;
  documentId: string;
}

export const contentMarkerId = (contentKey: string) => `content:${contentKey}`;

export function contentMarkerOf(doc: Pick<ArchivedDocument, 'tenantId' | 'id' | 'contentKey'>): ContentKeyMarker {
  return { id: contentMarkerId(doc.contentKey), tenantId: doc.tenantId, type: 'content-key', contentKey: doc.contentKey, documentId: doc.id };
}

/** Tenant-scoped document catalog: every read and write is within the tenant's partition. */
export class DocumentCatalog implements CatalogPort {
  constructor(private readonly container: Container) {}

  /**
   * Create, never upsert: an existing id means the document already exists. The item and its
   * content-key marker go in one transactional batch (one round trip); the marker is only
   * written when the item is new. Upserted, not created: bytes archived twice by concurrent
   * requests leave the marker on one of them, and either answers the duplicate check. The change's
   * audit outbox item, if given, goes in the same batch: the document is never indexed without it.
   */
  async create(doc: ArchivedDocument, outbox?: AuditOutboxItem): Promise<'created' | 'exists'> {
    const operations: OperationInput[] = [
      // Each names the (same) partition: the local protocol server reads it per operation.
      { operationType: 'Create', partitionKey: doc.tenantId, resourceBody: withSearchKeys(doc) as unknown as JSONObject },
      { operationType: 'Upsert', partitionKey: doc.tenantId, resourceBody: contentMarkerOf(doc) as unknown as JSONObject },
    ];
    if (outbox) return (await batchWithOutbox(this.container, doc.tenantId, operations, outbox, [409])).statuses[0] === 409 ? 'exists' : 'created';
    const res = await this.container.items.batch(operations, doc.tenantId);
    const first = res.result?.[0]?.statusCode ?? res.code ?? 0;
    if (first === 409) return 'exists';
    if (first >= 200 && first < 300 && (res.result?.[1]?.statusCode ?? 0) < 300) return 'created';
    throw Object.assign(new Error(`catalog create failed: ${res.result?.map((r) => r.statusCode).join(',') ?? res.code}`), { code: first });
  }

  /**
   * Gives an existing document its content-key marker if it has none (the one-off migration the
   * reconciler re-runs; idempotent). Create-only: a marker already there is left as it is.
   */
  async ensureContentMarker(doc: ArchivedDocument): Promise<'created' | 'exists'> {
    try {
      await this.container.items.create(contentMarkerOf(doc));
      return 'created';
    } catch (err) {
      if (isCosmosStatus(err, 409)) return 'exists';
      throw err;
    }
  }

  async get(tenantId: string, id: string): Promise<ArchivedDocument | null> {
    return (await readTenantItem<ArchivedDocument>(this.container, tenantId, id, 'document'))?.item ?? null;
  }

  /**
   * The document that holds these original bytes, unless disposed: a point read of the marker
   * (a 404 on the common path), then of the document it names. Never a query.
   */
  async findByContentKey(tenantId: string, contentKey: string): Promise<ArchivedDocument | null> {
    let marker: ContentKeyMarker | undefined;
    try {
      marker = (await this.container.item(contentMarkerId(contentKey), tenantId).read<ContentKeyMarker>()).resource;
    } catch (err) {
      if (isCosmosStatus(err, 404)) return null;
      throw err;
    }
    if (!marker || marker.tenantId !== tenantId || marker.type !== 'content-key' || marker.contentKey !== contentKey) return null;
    const doc = await this.get(tenantId, marker.documentId);
    return doc && doc.status !== 'disposed' && doc.contentKey === contentKey ? doc : null;
  }

  async list(tenantId: string, q: DocumentQuery): Promise<Page<ArchivedDocument>> {
    const { where, parameters } = searchFilter(tenantId, q);
    const dir = q.order === 'asc' ? 'ASC' : 'DESC';
    const query = `SELECT * FROM c WHERE ${where} ORDER BY ${SORT_PATH[q.sort ?? 'createdAt']} ${dir}, c.id ${dir}`;
    const res = await queryPage<ArchivedDocument>(this.container, { query, parameters }, { partitionKey: tenantId, limit: q.limit, continuationToken: q.continuationToken });
    return { items: res.resources.map(strip), continuationToken: res.continuationToken };
  }

  /**
   * How many archived documents a search matches (within the tenant's partition): what an export of
   * it holds. Tombstones match a search but have nothing to export; counted, they inflated an export's
   * total past what it holds and counted towards its size limit.
   */
  async countMatching(tenantId: string, q: Omit<DocumentQuery, 'limit' | 'continuationToken'>): Promise<number> {
    const { where, parameters } = searchFilter(tenantId, q);
    const { resources } = await this.container.items
      .query<number>({ query: `SELECT VALUE COUNT(1) FROM c WHERE ${where} AND c.status = "active"`, parameters }, { partitionKey: tenantId })
      .fetchAll();
    return resources[0] ?? 0;
  }

  async count(tenantId: string): Promise<number> {
    const { resources } = await this.container.items
      .query<number>({ query: 'SELECT VALUE COUNT(1) FROM c WHERE c.tenantId = @t AND c.type = "document"', parameters: [{ name: '@t', value: tenantId }] }, { partitionKey: tenantId })
      .fetchAll();
    return resources[0] ?? 0;
  }

  async ping(): Promise<void> {
    await this.container.database.read();
  }
}

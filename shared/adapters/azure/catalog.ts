import type { Container, JSONObject, OperationInput, SqlParameter } from '@azure/cosmos';
import type { ChainKeyring } from '../../kernel/audit-chain';
import type { AuditOutboxItem } from '../../kernel/audit';
import type { ArchivedDocument } from '../../kernel/document';
import { searchKey, withSearchKeys } from '../../kernel/search-keys';
import { invalidPageToken } from '../../kernel/page-token';
import type { CatalogPort, DocumentQuery, DocumentSortKey, Page } from '../../ports';
import { conditionalBatch, outboxWrite, isCosmosStatus, queryPage, readTenantItem, withoutSystemProperties as strip } from './cosmos';

const SORT_PATH: Record<DocumentSortKey, string> = { createdAt: 'c.createdAt', documentDate: 'c.metadata.documentDate', amount: 'c.metadata.amount' };

/**
 * Which of a sorted search's two queries a token resumes (p), and where (the store's token c; none: its start). A store
 * token without that wrapping was issued before the search had two parts (a page link kept, an export running across
 * the upgrade): it walked the documents with the key, so it resumes that part (`withKeyPart`).
 */
function sortedToken(token: string | undefined, withKeyPart: number): { p: number; c: string | undefined } {
  if (token === undefined) return { p: 0, c: undefined };
  let parsed: unknown;
  try {
    parsed = JSON.parse(token);
  } catch {
    parsed = undefined;
  }
  const { p, c } = (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : {}) as { p?: unknown; c?: unknown };
  if (p === undefined) return { p: withKeyPart, c: token };
  if ((p !== 0 && p !== 1) || (c !== undefined && typeof c !== 'string')) throw invalidPageToken('not valid for this query; start again from the first page');
  return { p, c };
}

/** WHERE clause of a catalog search: always the tenant's partition, only indexed paths. */
function searchFilter(tenantId: string, q: Omit<DocumentQuery, 'limit' | 'continuationToken' | 'sort' | 'order'>): { where: string; parameters: SqlParameter[] } {
  const where = ['c.tenantId = @t', 'c.type = "document"'];
  const parameters: SqlParameter[] = [{ name: '@t', value: tenantId }];
  const add = (clause: string, name: string, value: string | number) => {
    where.push(clause);
    parameters.push({ name, value });
  };
  // Since a moment, a fiscal year is every one the document has been in (correctionSearchFields): a document
  // corrected out of the year was in its earlier export, so what changed since includes it.
  if (q.fiscalYear !== undefined) add(q.correctedSince ? 'ARRAY_CONTAINS(c.fiscalYearsEver, @fy)' : 'c.fiscalYear = @fy', '@fy', q.fiscalYear);
  if (q.correctedSince) add('c.correctedAt >= @cs', '@cs', q.correctedSince);
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

/** How far the archive's clock and the store's may disagree: an item written this close to a walk's start is not its witness. */
const CLOCK_SKEW_S = 30;

export const contentMarkerId = (contentKey: string) => `content:${contentKey}`;

export function contentMarkerOf(doc: Pick<ArchivedDocument, 'tenantId' | 'id' | 'contentKey'>): ContentKeyMarker {
  return { id: contentMarkerId(doc.contentKey), tenantId: doc.tenantId, type: 'content-key', contentKey: doc.contentKey, documentId: doc.id };
}

/** Tenant-scoped document catalog: every read and write is within the tenant's partition. */
export class DocumentCatalog implements CatalogPort {
  constructor(
    private readonly container: Container,
    /** Seals the audit outbox items it stores (cosmos.ts conditionalBatch). */
    private readonly keys: ChainKeyring,
  ) {}

  /**
   * Create, never upsert: an existing id means the document already exists ('exists'). The item and its
   * content-key marker go in one transactional batch (one round trip), with the change's audit outbox item if given:
   * the document is never indexed without either. The marker is created too, never upserted: two uploads of the same
   * bytes at once both passed the duplicate check (no marker yet), and an upserted marker let both be indexed, the
   * bytes archived twice; now the second batch finds the marker taken and stores nothing ('duplicate'). A marker that
   * names no document holding the bytes any more (its drop after a disposal failed) is replaced over its etag.
   */
  async create(doc: ArchivedDocument, outbox?: AuditOutboxItem): Promise<'created' | 'exists' | 'duplicate'> {
    const item = { operationType: 'Create', partitionKey: doc.tenantId, resourceBody: withSearchKeys(doc) as unknown as JSONObject } as const;
    let marker: OperationInput = { operationType: 'Create', partitionKey: doc.tenantId, resourceBody: contentMarkerOf(doc) as unknown as JSONObject };
    for (let attempt = 0; ; attempt++) {
      const { statuses } = await conditionalBatch(this.container, doc.tenantId, [item, marker], [409, 412, 404], outboxWrite(outbox, this.keys));
      if (statuses[0] === 409) return 'exists';
      if (statuses[1] !== 409 && statuses[1] !== 412 && statuses[1] !== 404) return 'created';
      const stale = await this.staleMarker(doc.tenantId, doc.contentKey);
      if (stale === null || attempt >= 2) return 'duplicate';
      marker = stale.etag === null ? { ...marker, operationType: 'Create' } : { operationType: 'Replace', id: contentMarkerId(doc.contentKey), partitionKey: doc.tenantId, resourceBody: contentMarkerOf(doc) as unknown as JSONObject, ifMatch: stale.etag };
    }
  }

  /** The content-key marker's etag if it names no document that holds the bytes (etag null: no marker now), else null. */
  private async staleMarker(tenantId: string, contentKey: string): Promise<{ etag: string | null } | null> {
    let marker: ContentKeyMarker | undefined;
    let etag: string | undefined;
    try {
      ({ resource: marker, etag } = await this.container.item(contentMarkerId(contentKey), tenantId).read<ContentKeyMarker>());
    } catch (err) {
      if (isCosmosStatus(err, 404)) return { etag: null };
      throw err;
    }
    if (!marker || !etag) return { etag: null };
    const holder = await this.get(tenantId, marker.documentId);
    return holder && holder.status !== 'disposed' && holder.contentKey === contentKey ? null : { etag };
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

  /**
   * A page of the search in its sort order. Sorted by document date or amount, documents without that field come first
   * ascending and last descending (as Cosmos orders undefined: lowest), then by id. Why two queries: paging by a key some
   * items lack broke. The local Cosmos server's continuation token cannot resume among them (ascending the rest of them
   * were lost, descending the same page came back for ever), and what Cosmos itself does with undefined sort keys has
   * changed over time: a search sorted by date or amount hid undated or unpriced documents past its first page, and an
   * export (which walks by document date, 100 at a time) left them out. The items without the key are one query (ORDER BY id),
   * those with it the other (IS_DEFINED, so neither store can return one twice); the token says which and where.
   */
  async list(tenantId: string, q: DocumentQuery): Promise<Page<ArchivedDocument>> {
    const { where, parameters } = searchFilter(tenantId, q);
    const dir = q.order === 'asc' ? 'ASC' : 'DESC';
    const sort = q.sort ?? 'createdAt';
    const page = (query: string, limit: number, continuationToken?: string) =>
      queryPage<ArchivedDocument>(this.container, { query, parameters }, { partitionKey: tenantId, limit, continuationToken });
    if (sort === 'createdAt') {
      // Every item has a createdAt: one query.
      const res = await page(`SELECT * FROM c WHERE ${where} ORDER BY c.createdAt ${dir}, c.id ${dir}`, q.limit, q.continuationToken);
      return { items: res.resources.map(strip), continuationToken: res.continuationToken };
    }
    const path = SORT_PATH[sort];
    const without = `SELECT * FROM c WHERE ${where} AND NOT IS_DEFINED(${path}) ORDER BY c.id ${dir}`;
    const withKey = `SELECT * FROM c WHERE ${where} AND IS_DEFINED(${path}) ORDER BY ${path} ${dir}, c.id ${dir}`;
    const parts = dir === 'ASC' ? [without, withKey] : [withKey, without];
    let { p, c } = sortedToken(q.continuationToken, parts.indexOf(withKey));
    const items: ArchivedDocument[] = [];
    for (;;) {
      const res = await page(parts[p]!, q.limit - items.length, c);
      items.push(...res.resources.map(strip));
      if (res.continuationToken) return { items, continuationToken: JSON.stringify({ p, c: res.continuationToken }) };
      if (++p >= parts.length) return { items, continuationToken: null };
      c = undefined;
      if (items.length >= q.limit) {
        // A token only when more remain: look whether the next part holds any.
        const next = await page(parts[p]!, 1);
        if (next.resources.length > 0) return { items, continuationToken: JSON.stringify({ p }) };
      }
    }
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

  /** By the item's `_ts` (whole seconds, the store's clock), CLOCK_SKEW_S before the instant: an item written in it is not witnessed. */
  async idsUnchangedSince(tenantId: string, q: Omit<DocumentQuery, 'limit' | 'continuationToken' | 'sort' | 'order'>, writtenBefore: Date): Promise<string[]> {
    const { where, parameters } = searchFilter(tenantId, q);
    const ts = Math.floor(writtenBefore.getTime() / 1000) - CLOCK_SKEW_S;
    const { resources } = await this.container.items
      .query<string>({ query: `SELECT VALUE c.id FROM c WHERE ${where} AND c.status = "active" AND c._ts < @ts`, parameters: [...parameters, { name: '@ts', value: ts }] }, { partitionKey: tenantId })
      .fetchAll();
    return resources;
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

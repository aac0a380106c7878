import type { Container, SqlParameter } from '@azure/cosmos';
import type { ArchivedDocument } from '../../kernel/document';
import { ArchiveError } from '../../kernel/errors';
import type { CatalogPort, DocumentQuery, DocumentSortKey, Page } from '../../ports';
import { isCosmosStatus, withoutSystemProperties as strip } from './cosmos';

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
  if (q.counterparty) add('c.metadata.counterparty = @cp', '@cp', q.counterparty);
  if (q.amountMin !== undefined) add('c.metadata.amount >= @amin', '@amin', q.amountMin);
  if (q.amountMax !== undefined) add('c.metadata.amount <= @amax', '@amax', q.amountMax);
  if (q.currency) add('c.metadata.currency = @cur', '@cur', q.currency);
  if (q.reference) add('c.metadata.reference = @ref', '@ref', q.reference);
  (q.tags ?? []).forEach((tag, i) => add(`ARRAY_CONTAINS(c.metadata.tags, @tag${i})`, `@tag${i}`, tag));
  return { where: where.join(' AND '), parameters };
}

/** Tenant-scoped document catalog: every read and write is within the tenant's partition. */
export class DocumentCatalog implements CatalogPort {
  constructor(private readonly container: Container) {}

  /** Create, never upsert: an existing id means the document already exists. */
  async create(doc: ArchivedDocument): Promise<'created' | 'exists'> {
    try {
      await this.container.items.create(doc);
      return 'created';
    } catch (err) {
      if (isCosmosStatus(err, 409)) return 'exists';
      throw err;
    }
  }

  async get(tenantId: string, id: string): Promise<ArchivedDocument | null> {
    try {
      const { resource } = await this.container.item(id, tenantId).read<ArchivedDocument>();
      return resource && resource.tenantId === tenantId && resource.type === 'document' ? strip(resource) : null;
    } catch (err) {
      if (isCosmosStatus(err, 404)) return null;
      throw err;
    }
  }

  async findByContentKey(tenantId: string, contentKey: string): Promise<ArchivedDocument | null> {
    const { resources } = await this.container.items
      .query<ArchivedDocument>(
        { query: 'SELECT * FROM c WHERE c.tenantId = @t AND c.type = "document" AND c.contentKey = @k AND c.status != "disposed"', parameters: [{ name: '@t', value: tenantId }, { name: '@k', value: contentKey }] },
        { partitionKey: tenantId },
      )
      .fetchAll();
    return resources[0] ? strip(resources[0]) : null;
  }

  async list(tenantId: string, q: DocumentQuery): Promise<Page<ArchivedDocument>> {
    const { where, parameters } = searchFilter(tenantId, q);
    const dir = q.order === 'asc' ? 'ASC' : 'DESC';
    const query = `SELECT * FROM c WHERE ${where} ORDER BY ${SORT_PATH[q.sort ?? 'createdAt']} ${dir}, c.id ${dir}`;
    try {
      const res = await this.container.items
        .query<ArchivedDocument>({ query, parameters }, { partitionKey: tenantId, maxItemCount: q.limit, continuationToken: q.continuationToken })
        .fetchNext();
      return { items: res.resources.map(strip), continuationToken: res.continuationToken ?? null };
    } catch (err) {
      if (q.continuationToken && (isCosmosStatus(err, 400) || err instanceof SyntaxError)) {
        throw new ArchiveError('invalid_query', { detail: 'The continuation token is not valid for this query.' });
      }
      throw err;
    }
  }

  /** How many documents a search matches (within the tenant's partition). */
  async countMatching(tenantId: string, q: Omit<DocumentQuery, 'limit' | 'continuationToken'>): Promise<number> {
    const { where, parameters } = searchFilter(tenantId, q);
    const { resources } = await this.container.items
      .query<number>({ query: `SELECT VALUE COUNT(1) FROM c WHERE ${where}`, parameters }, { partitionKey: tenantId })
      .fetchAll();
    return resources[0] ?? 0;
  }

  async count(tenantId: string): Promise<number> {
    const { resources } = await this.container.items
      .query<number>({ query: 'SELECT VALUE COUNT(1) FROM c WHERE c.tenantId = @t', parameters: [{ name: '@t', value: tenantId }] }, { partitionKey: tenantId })
      .fetchAll();
    return resources[0] ?? 0;
  }

  async ping(): Promise<void> {
    await this.container.database.read();
  }
}

import type { Container, SqlParameter } from '@azure/cosmos';
import type { ArchivedDocument } from '../documents/types';
import { ArchiveError } from '../http/errors';
import { isCosmosStatus, withoutSystemProperties as strip } from './cosmos';

export interface DocumentQuery {
  fiscalYear?: number;
  from?: string;
  to?: string;
  kind?: string;
  counterparty?: string;
  limit: number;
  continuationToken?: string;
}

export interface Page<T> {
  items: T[];
  continuationToken: string | null;
}

/** Tenant-scoped document catalog: every read and write is within the tenant's partition. */
export class DocumentCatalog {
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
        { query: 'SELECT * FROM c WHERE c.tenantId = @t AND c.type = "document" AND c.contentKey = @k', parameters: [{ name: '@t', value: tenantId }, { name: '@k', value: contentKey }] },
        { partitionKey: tenantId },
      )
      .fetchAll();
    return resources[0] ? strip(resources[0]) : null;
  }

  async list(tenantId: string, q: DocumentQuery): Promise<Page<ArchivedDocument>> {
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
    const query = `SELECT * FROM c WHERE ${where.join(' AND ')} ORDER BY c.createdAt DESC`;
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

  async count(tenantId: string): Promise<number> {
    const { resources } = await this.container.items
      .query<number>({ query: 'SELECT VALUE COUNT(1) FROM c WHERE c.tenantId = @t', parameters: [{ name: '@t', value: tenantId }] }, { partitionKey: tenantId })
      .fetchAll();
    return resources[0] ?? 0;
  }
}


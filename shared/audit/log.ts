import type { Container } from '@azure/cosmos';
import { uuidv7 } from '../ids';
import type { Page } from '../storage/catalog';
import { ArchiveError } from '../http/errors';
import { isCosmosStatus, withoutSystemProperties as clean } from '../storage/cosmos';
import { AuditEntry, auditPartition } from './types';

/** Append-only audit log. There is no update or delete path here, by design. */
export class AuditLog {
  constructor(private readonly container: Container) {}

  async append(entry: Omit<AuditEntry, 'id' | 'partition'>): Promise<AuditEntry> {
    const at = new Date(entry.at);
    const full: AuditEntry = { id: uuidv7(at.getTime()), partition: auditPartition(entry.tenantId, at), ...entry };
    await this.container.items.create(full);
    return full;
  }

  /** A tenant's entries of one month, newest first. */
  async list(tenantId: string, month: string, limit: number, continuationToken?: string): Promise<Page<AuditEntry>> {
    const partition = `${tenantId}:${month}`;
    try {
      const res = await this.container.items
        .query<AuditEntry>(
          { query: 'SELECT * FROM c WHERE c.partition = @p AND c.tenantId = @t ORDER BY c.id DESC', parameters: [{ name: '@p', value: partition }, { name: '@t', value: tenantId }] },
          { partitionKey: partition, maxItemCount: limit, continuationToken },
        )
        .fetchNext();
      return { items: res.resources.map(clean), continuationToken: res.continuationToken ?? null };
    } catch (err) {
      if (continuationToken && (isCosmosStatus(err, 400) || err instanceof SyntaxError)) throw new ArchiveError('invalid_query', { detail: 'The continuation token is not valid for this query.' });
      throw err;
    }
  }
}


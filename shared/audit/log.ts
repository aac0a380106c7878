import type { Container, SqlParameter } from '@azure/cosmos';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Page } from '../storage/catalog';
import { ArchiveError } from '../http/errors';
import { isCosmosStatus, withoutSystemProperties as clean } from '../storage/cosmos';
import { entryId, GENESIS_HASH, hashEntry } from './chain';
import { AuditAction, AuditEntry, auditPartition } from './types';

/** What a writer supplies; the log adds the id, partition and the chain fields. */
export type AuditInput = Omit<AuditEntry, 'id' | 'partition' | 'seq' | 'prevHash' | 'hash'>;

/**
 * Per audit partition: the last entry's sequence number and hash. A hint: writers walk forward
 * from it. Kept in the `tenants` container, so the audit container itself only ever sees creates
 * (in Azure the app's role there can create and read, nothing else).
 */
export interface AuditHead {
  id: string;
  partition: string;
  tenantId: string;
  type: 'audit-head';
  seq: number;
  hash: string;
}

export interface AuditFilter {
  from?: string;
  to?: string;
  actor?: string;
  action?: AuditAction;
  target?: string;
}

const headId = (partition: string) => `audit-head:${partition}`;
const MAX_ATTEMPTS = 25;

/**
 * Append-only, hash-chained audit log. There is no update or delete path for entries, by
 * design; the only document ever replaced is the per-partition head, a hint kept (in another
 * container) with optimistic concurrency (IfMatch). Concurrent writers cannot fork the chain: entry ids are
 * sequence numbers, so only one create of entry n can succeed; the loser re-reads and retries.
 */
export class AuditLog {
  constructor(
    private readonly container: Container,
    /** The `tenants` container (partition /tenantId), where the chain heads live. */
    private readonly heads: Container,
  ) {}

  async append(input: AuditInput): Promise<AuditEntry> {
    const partition = auditPartition(input.tenantId, new Date(input.at));
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const head = await this.readHead(input.tenantId, partition);
      let end = { seq: head?.value.seq ?? 0, hash: head?.value.hash ?? GENESIS_HASH };
      // Entries whose writer had not yet moved the head (or crashed before it) come first. The
      // first attempt skips the walk: if seq+1 is taken, its create fails (409) and the retry walks.
      if (attempt > 0) end = await this.walk(partition, end);
      const entry = await this.tryCreate(partition, end, input);
      if (!entry) {
        await sleep(Math.floor(Math.random() * (5 + attempt * 5))); // another writer took seq+1
        continue;
      }
      await this.advanceHead(partition, input.tenantId, entry, head?.etag ?? null);
      return entry;
    }
    throw new ArchiveError('audit_contention', { detail: 'The audit log is busy; the request was not served.' });
  }

  /**
   * Appends several entries of one partition in order, as one writer: one head read, one create
   * per entry, one head move. The chain rules are those of `append` (entry n is created once, so
   * no fork; numbers are taken in order, so no gap), and every entry gets the seq, prevHash and
   * hash it would have got from appending them one by one. When another writer takes a number
   * meanwhile (409), the batch walks to the chain's end and goes on from there.
   */
  async appendBatch(inputs: AuditInput[]): Promise<AuditEntry[]> {
    if (inputs.length === 0) return [];
    const tenantId = inputs[0]!.tenantId;
    const partition = auditPartition(tenantId, new Date(inputs[0]!.at));
    if (inputs.some((i) => i.tenantId !== tenantId || auditPartition(i.tenantId, new Date(i.at)) !== partition)) {
      throw new Error('appendBatch: every entry must belong to the same audit partition');
    }
    const head = await this.readHead(tenantId, partition);
    let end = { seq: head?.value.seq ?? 0, hash: head?.value.hash ?? GENESIS_HASH };
    const written: AuditEntry[] = [];
    let conflicts = 0;
    for (const input of inputs) {
      for (;;) {
        const entry = await this.tryCreate(partition, end, input);
        if (entry) {
          written.push(entry);
          end = { seq: entry.seq, hash: entry.hash };
          break;
        }
        if (++conflicts >= MAX_ATTEMPTS) {
          if (written.length) await this.advanceHead(partition, tenantId, written[written.length - 1]!, head?.etag ?? null);
          throw new ArchiveError('audit_contention', { detail: 'The audit log is busy; the request was not served.' });
        }
        // Another writer took seq+1: walk to the true end and chain on from there.
        end = await this.walk(partition, end);
      }
    }
    await this.advanceHead(partition, tenantId, written[written.length - 1]!, head?.etag ?? null);
    return written;
  }

  private async readHead(tenantId: string, partition: string): Promise<{ value: AuditHead; etag: string } | null> {
    try {
      const res = await this.heads.item(headId(partition), tenantId).read<AuditHead>();
      return res.resource ? { value: res.resource, etag: res.etag } : null;
    } catch (err) {
      if (isCosmosStatus(err, 404)) return null;
      throw err;
    }
  }

  /** Best effort: a head that lags is only slower for the next writer, never wrong. */
  private async advanceHead(partition: string, tenantId: string, entry: AuditEntry, etag: string | null): Promise<void> {
    const head: AuditHead = { id: headId(partition), partition, tenantId, type: 'audit-head', seq: entry.seq, hash: entry.hash };
    try {
      if (etag) await this.heads.item(head.id, tenantId).replace(head, { accessCondition: { type: 'IfMatch', condition: etag } });
      else await this.heads.items.create(head);
    } catch (err) {
      if (!isCosmosStatus(err, 412) && !isCosmosStatus(err, 409)) throw err;
    }
  }

  private async entry(partition: string, seq: number): Promise<AuditEntry | null> {
    try {
      const { resource } = await this.container.item(entryId(seq), partition).read<AuditEntry>();
      return resource ?? null;
    } catch (err) {
      if (isCosmosStatus(err, 404)) return null;
      throw err;
    }
  }

  /** The chain's true end: the head, walked forward. */
  async end(tenantId: string, month: string): Promise<{ seq: number; hash: string }> {
    const partition = `${tenantId}:${month}`;
    const head = await this.readHead(tenantId, partition);
    return this.walk(partition, { seq: head?.value.seq ?? 0, hash: head?.value.hash ?? GENESIS_HASH });
  }

  /** From a known entry to the chain's true end: entries whose writer had not moved the head yet. */
  private async walk(partition: string, from: { seq: number; hash: string }): Promise<{ seq: number; hash: string }> {
    let { seq, hash } = from;
    for (let next = await this.entry(partition, seq + 1); next; next = await this.entry(partition, seq + 1)) {
      seq = next.seq;
      hash = next.hash;
    }
    return { seq, hash };
  }

  /**
   * Creates the entry after `end`; null when another writer took its number (409). Entry ids are
   * sequence numbers, so only one create of entry n can succeed: the chain cannot fork.
   */
  private async tryCreate(partition: string, end: { seq: number; hash: string }, input: AuditInput): Promise<AuditEntry | null> {
    const body: Omit<AuditEntry, 'hash'> = { id: entryId(end.seq + 1), partition, seq: end.seq + 1, prevHash: end.hash, ...input };
    const entry: AuditEntry = { ...body, hash: hashEntry(body) };
    try {
      await this.container.items.create(entry);
      return entry;
    } catch (err) {
      if (isCosmosStatus(err, 409)) return null;
      throw err;
    }
  }

  async headSeq(tenantId: string, month: string): Promise<number> {
    return (await this.readHead(tenantId, `${tenantId}:${month}`))?.value.seq ?? 0;
  }

  /** A tenant's entries of one month, newest first, optionally filtered. */
  async list(tenantId: string, month: string, limit: number, continuationToken?: string, filter: AuditFilter = {}): Promise<Page<AuditEntry>> {
    const partition = `${tenantId}:${month}`;
    const where = ['c.partition = @p', 'c.tenantId = @t'];
    const parameters: SqlParameter[] = [{ name: '@p', value: partition }, { name: '@t', value: tenantId }];
    const add = (clause: string, name: string, value: string) => {
      where.push(clause);
      parameters.push({ name, value });
    };
    if (filter.from) add('c.at >= @from', '@from', filter.from);
    if (filter.to) add('c.at <= @to', '@to', filter.to);
    if (filter.actor) add('c.actor.subject = @actor', '@actor', filter.actor);
    if (filter.action) add('c.action = @action', '@action', filter.action);
    if (filter.target) add('c.target = @target', '@target', filter.target);
    try {
      const res = await this.container.items
        .query<AuditEntry>({ query: `SELECT * FROM c WHERE ${where.join(' AND ')} ORDER BY c.id DESC`, parameters }, { partitionKey: partition, maxItemCount: limit, continuationToken })
        .fetchNext();
      return { items: res.resources.map(clean), continuationToken: res.continuationToken ?? null };
    } catch (err) {
      if (continuationToken && (isCosmosStatus(err, 400) || err instanceof SyntaxError)) throw new ArchiveError('invalid_query', { detail: 'The continuation token is not valid for this query.' });
      throw err;
    }
  }

  /** Every stored entry of a partition, for verification (no filter: anything in the partition counts). */
  async all(tenantId: string, month: string): Promise<AuditEntry[]> {
    const partition = `${tenantId}:${month}`;
    const { resources } = await this.container.items
      .query<AuditEntry>({ query: 'SELECT * FROM c WHERE c.partition = @p', parameters: [{ name: '@p', value: partition }] }, { partitionKey: partition })
      .fetchAll();
    return resources.map(clean);
  }

  /** Cross-tenant: every partition that has a head, for the sealing timer only. */
  async unsafeListPartitions(): Promise<{ tenantId: string; month: string }[]> {
    const { resources } = await this.heads.items
      .query<{ tenantId: string; partition: string }>({ query: `SELECT c.tenantId, c.partition FROM c WHERE c.type = 'audit-head'` })
      .fetchAll();
    return resources.map((r) => ({ tenantId: r.tenantId, month: r.partition.slice(r.tenantId.length + 1) }));
  }
}

import type { Container, JSONObject, OperationInput, SqlParameter } from '@azure/cosmos';
import type { ChainKeyring } from '../../kernel/audit-chain';
import type { AuditOutboxItem } from '../../kernel/audit';
import type { ArchivedDocument } from '../../kernel/document';
import type { Actor, SafeguardMark, TTenantRetentionPolicy } from '../../kernel/retention';
import type { HoldQuery } from '../../kernel/search';
import { searchKey, withSearchKeys } from '../../kernel/search-keys';
import { CATALOG_RULES, type CatalogRule, type Condition } from '../../kernel/retention-rules';
import type { Page, RetentionCatalogPort, RetentionPoliciesPort, StoredRetentionPolicy, TenantRecordWrite, TimerStatePort, Versioned } from '../../ports';
import { contentMarkerId, type ContentKeyMarker } from './catalog';
import { batchWithOutbox, conditionalBatch, outboxWrite, firstItems, firstItemsOf, isCosmosStatus, queryPage, readTenantItem, recordOperation, recordWriteId, withoutSystemProperties as strip } from './cosmos';
import type { TenantSettingsCache } from './settings-cache';

/**
 * The catalog as retention sees it: optimistic-concurrency updates of the mutable
 * retention state (holds, retain-until, approvals, tombstones) and the queries of the
 * sweep, the fixity check and the disposal review. Tenant-scoped except the `unsafe…` ones.
 */
export class RetentionCatalog implements RetentionCatalogPort {
  constructor(
    private readonly container: Container,
    /** Seals the audit outbox items it stores (cosmos.ts conditionalBatch). */
    private readonly keys: ChainKeyring,
  ) {}

  async getVersioned(tenantId: string, id: string): Promise<Versioned<ArchivedDocument> | null> {
    return readTenantItem<ArchivedDocument>(this.container, tenantId, id, 'document');
  }

  /**
   * Replace only if unchanged since read; 'conflict' means someone else wrote first (re-read and retry).
   * On success, the new etag: a caller that writes the item again uses it instead of re-reading.
   */
  async replace(doc: ArchivedDocument, etag: string, outbox?: AuditOutboxItem): Promise<{ etag: string } | 'conflict'> {
    if (outbox) return this.replaceWithOutbox(doc, etag, outbox);
    try {
      // Every write brings the search keys in line with the metadata it writes.
      const res = await this.container.item(doc.id, doc.tenantId).replace(withSearchKeys(doc), { accessCondition: { type: 'IfMatch', condition: etag } });
      return { etag: res.etag };
    } catch (err) {
      if (isCosmosStatus(err, 412)) return 'conflict';
      throw err;
    }
  }

  /** The replace and the change's audit outbox item in one transactional batch (same partition): both or neither. */
  private async replaceWithOutbox(doc: ArchivedDocument, etag: string, outbox: AuditOutboxItem): Promise<{ etag: string } | 'conflict'> {
    const replace: OperationInput = { operationType: 'Replace', partitionKey: doc.tenantId, id: doc.id, ifMatch: etag, resourceBody: withSearchKeys(doc) as unknown as JSONObject };
    const { statuses, etags } = await batchWithOutbox(this.container, doc.tenantId, [replace], { item: outbox, keys: this.keys }, [412]);
    return statuses[0] === 412 ? 'conflict' : { etag: etags[0] ?? '' };
  }

  /**
   * After a disposal: the content-key marker goes if it still names this document (the same
   * bytes may be archived again). A marker naming another document, or already gone, stays as it is.
   */
  async dropContentMarker(tenantId: string, contentKey: string, documentId: string): Promise<void> {
    const item = this.container.item(contentMarkerId(contentKey), tenantId);
    try {
      const { resource, etag } = await item.read<ContentKeyMarker>();
      if (!resource || resource.documentId !== documentId) return;
      await item.delete({ accessCondition: { type: 'IfMatch', condition: etag } });
    } catch (err) {
      if (isCosmosStatus(err, 404) || isCosmosStatus(err, 412)) return;
      throw err;
    }
  }

  private async page(tenantId: string, where: string[], parameters: SqlParameter[], orderBy: string, limit: number, continuationToken?: string): Promise<Page<ArchivedDocument>> {
    const page = await this.versionedPage(tenantId, where, parameters, orderBy, limit, continuationToken);
    return { items: page.items.map((v) => v.item), continuationToken: page.continuationToken };
  }

  private async versionedPage(tenantId: string, where: string[], parameters: SqlParameter[], orderBy: string, limit: number, continuationToken?: string): Promise<Page<Versioned<ArchivedDocument>>> {
    const query = `SELECT * FROM c WHERE c.tenantId = @t AND c.type = "document" AND ${where.join(' AND ')} ORDER BY ${orderBy}`;
    const res = await queryPage<ArchivedDocument & { _etag: string }>(this.container, { query, parameters: [{ name: '@t', value: tenantId }, ...parameters] }, { partitionKey: tenantId, limit, continuationToken });
    return { items: res.resources.map((r) => ({ item: strip(r), etag: r._etag })), continuationToken: res.continuationToken };
  }

  /** Work for the sweep, in id order after `afterId`: expired active documents, and disposals a crash left unfinished; with their etags. */
  async sweepCandidates(tenantId: string, now: string, afterId: string, limit: number, opts: { approvedOnly?: boolean } = {}): Promise<Versioned<ArchivedDocument>[]> {
    return firstItems((token) => this.versionedPage(
      tenantId,
      ['c.id > @after', ruleSql(opts.approvedOnly ? CATALOG_RULES.sweepWorkApproved : CATALOG_RULES.sweepWork)],
      [{ name: '@after', value: afterId }, { name: '@now', value: now }],
      'c.id',
      limit,
      token,
    ));
  }

  /** Disposal review: active documents whose retention ends at or before `before`, earliest first. */
  async due(tenantId: string, before: string, limit: number, continuationToken?: string): Promise<Page<ArchivedDocument>> {
    return this.page(tenantId, [ruleSql(CATALOG_RULES.due)], [{ name: '@before', value: before }], 'c.retention.retainUntil', limit, continuationToken);
  }

  /** Active documents matching a hold query. */
  async matching(tenantId: string, q: HoldQuery, limit: number, continuationToken?: string): Promise<Page<ArchivedDocument>> {
    const { where, parameters } = holdFilter(q);
    return this.page(tenantId, where, parameters, 'c.id', limit, continuationToken);
  }

  /** How many active documents a hold query matches. */
  async countMatching(tenantId: string, q: HoldQuery): Promise<number> {
    const { where, parameters } = holdFilter(q);
    const { resources } = await this.container.items
      .query<number>({ query: `SELECT VALUE COUNT(1) FROM c WHERE c.tenantId = @t AND c.type = "document" AND ${where.join(' AND ')}`, parameters: [{ name: '@t', value: tenantId }, ...parameters] }, { partitionKey: tenantId })
      .fetchAll();
    return resources[0] ?? 0;
  }

  /** Active documents matching a hold query without an entry of that hold, by id after `afterId` (the reconciler extending an open hold by query). */
  async matchingNotUnder(tenantId: string, q: HoldQuery, holdId: string, afterId: string, limit: number): Promise<ArchivedDocument[]> {
    const { where, parameters } = holdFilter(q);
    // Partial match on the holds' ids; a document that never had a hold has no `holds` at all.
    where.push('c.id > @after', '(NOT IS_DEFINED(c.holds) OR NOT ARRAY_CONTAINS(c.holds, @hold, true))');
    parameters.push({ name: '@after', value: afterId }, { name: '@hold', value: { id: holdId } });
    return firstItems((token) => this.page(tenantId, where, parameters, 'c.id', limit, token));
  }

  /** How many active documents carry hold `holdId` open (GET /legal-holds/by-query counts each open hold by it). */
  async countCarryingOpen(tenantId: string, holdId: string): Promise<number> {
    const { resources } = await this.container.items
      .query<number>(
        {
          query: `SELECT VALUE COUNT(1) FROM c WHERE c.tenantId = @t AND c.type = "document" AND ${ruleSql(CATALOG_RULES.active)} AND EXISTS(SELECT VALUE h FROM h IN c.holds WHERE h.id = @hold AND NOT IS_DEFINED(h.releasedAt))`,
          parameters: [{ name: '@t', value: tenantId }, { name: '@hold', value: holdId }],
        },
        { partitionKey: tenantId },
      )
      .fetchAll();
    return resources[0] ?? 0;
  }

  /** Active documents under at least one open legal hold. */
  async held(tenantId: string, limit: number, continuationToken?: string): Promise<Page<ArchivedDocument>> {
    return this.page(tenantId, [ruleSql(CATALOG_RULES.held)], [], 'c.id', limit, continuationToken);
  }

  /** Active documents after `afterId`, for the fixity check and the reconciler. */
  async activeAfter(tenantId: string, afterId: string, limit: number): Promise<ArchivedDocument[]> {
    return firstItems((token) => this.page(tenantId, [ruleSql(CATALOG_RULES.active), 'c.id > @after'], [{ name: '@after', value: afterId }], 'c.id', limit, token));
  }

  /** Cross-tenant, for /health/ready: how many documents the last fixity checks found damaged. */
  async unsafeCountFixityFailures(): Promise<number> {
    const { resources } = await this.container.items.query<number>(`SELECT VALUE COUNT(1) FROM c WHERE c.type = "document" AND ${ruleSql(CATALOG_RULES.active)} AND c.fixity.ok = false`).fetchAll();
    return resources.reduce((a, b) => a + b, 0);
  }

  /** Cross-tenant (the re-queue timer): active documents whose rendition validation is missing, or pending and last asked for before `cutoff`. */
  async pendingValidations(q: { cutoff: string; max: number; onlyTenant?: string }): Promise<{ id: string; tenantId: string }[]> {
    const resources = await firstItemsOf(this.container.items
      .query<{ id: string; tenantId: string }>({
        query:
          'SELECT c.id, c.tenantId FROM c WHERE c.type = "document" AND c.status = "active" AND c.createdAt < @cutoff' +
          ' AND (NOT IS_DEFINED(c.validation) OR (c.validation.status = "pending" AND NOT IS_DEFINED(c.validation.gaveUpAt) AND (NOT IS_DEFINED(c.validation.requestedAt) OR c.validation.requestedAt < @cutoff)))' +
          (q.onlyTenant ? ' AND c.tenantId = @t' : ''),
        parameters: [{ name: '@cutoff', value: q.cutoff }, ...(q.onlyTenant ? [{ name: '@t', value: q.onlyTenant }] : [])],
      }, { maxItemCount: q.max }));
    return resources.slice(0, q.max);
  }
}

function holdFilter(q: HoldQuery): { where: string[]; parameters: SqlParameter[] } {
  const where = [ruleSql(CATALOG_RULES.active)];
  const parameters: SqlParameter[] = [];
  if (q.fiscalYear !== undefined) {
    where.push('c.fiscalYear = @fy');
    parameters.push({ name: '@fy', value: q.fiscalYear });
  }
  if (q.counterparty !== undefined) {
    // By its search key, as matchesHoldQuery (retention-rules.ts) and a search read it; or as stored, for an item the
    // reconciler has yet to give its key (keysMigrated).
    where.push('(c.counterpartyKey = @cpk OR c.metadata.counterparty = @cp)');
    parameters.push({ name: '@cpk', value: searchKey(q.counterparty) }, { name: '@cp', value: q.counterparty });
  }
  return { where, parameters };
}

interface PolicyItem extends TTenantRetentionPolicy {
  id: 'retention-policy';
  tenantId: string;
  type: 'retention-policy';
  updatedAt: string;
  updatedBy: Actor;
  /** The strongest safeguards that have applied (absent on policies stored before: the policy itself). */
  safeguards?: SafeguardMark;
  /** Monotonic, new on each write (ports StoredRetentionPolicy); absent on policies stored before. */
  revision?: number;
}

/** Per-tenant retention policy in the `tenants` container (partition /tenantId); cached per instance like the rights records (settings-cache.ts). */
export class RetentionPolicies implements RetentionPoliciesPort {
  constructor(
    private readonly container: Container,
    /** Seals the audit outbox items it stores (cosmos.ts conditionalBatch). */
    private readonly keys: ChainKeyring,
    private readonly cache?: TenantSettingsCache,
  ) {}

  async get(tenantId: string): Promise<StoredRetentionPolicy | null> {
    return (await this.getVersioned(tenantId)).policy;
  }

  async getVersioned(tenantId: string, opts: { fresh?: boolean } = {}): Promise<{ policy: StoredRetentionPolicy | null; etag: string | null }> {
    return this.cache && !opts.fresh ? this.cache.get(tenantId, 'retention-policy', () => this.read(tenantId)) : this.read(tenantId);
  }

  private async read(tenantId: string): Promise<{ policy: StoredRetentionPolicy | null; etag: string | null }> {
    try {
      const { resource, etag } = await this.container.item('retention-policy', tenantId).read<PolicyItem>();
      if (!resource || resource.tenantId !== tenantId) return { policy: null, etag: null };
      const { id: _i, tenantId: _t, type: _y, ...policy } = strip(resource);
      return { policy, etag };
    } catch (err) {
      if (isCosmosStatus(err, 404)) return { policy: null, etag: null };
      throw err;
    }
  }

  async put(tenantId: string, policy: TTenantRetentionPolicy, at: string, by: Actor, safeguards: SafeguardMark, revision: number, outbox: AuditOutboxItem | undefined, expected: { etag: string | null }, also: readonly TenantRecordWrite[] = []): Promise<'written' | 'conflict'> {
    const item: PolicyItem = { ...policy, id: 'retention-policy', tenantId, type: 'retention-policy', updatedAt: at, updatedBy: by, safeguards, revision };
    const body = item as unknown as JSONObject;
    const write: OperationInput = expected.etag === null ? { operationType: 'Create', partitionKey: tenantId, resourceBody: body } : { operationType: 'Replace', partitionKey: tenantId, id: item.id, ifMatch: expected.etag, resourceBody: body };
    // The records written with it (same container, same partition) are forgotten by this instance's cache as well.
    const forget = () => ['retention-policy', ...also.map(recordWriteId)].forEach((id) => this.cache?.invalidate(tenantId, id));
    forget();
    try {
      if (outbox || also.length > 0) {
        const { statuses } = await conditionalBatch(this.container, tenantId, [...also.map((w) => recordOperation(tenantId, w)), write], [404, 409, 412], outboxWrite(outbox, this.keys));
        return statuses.length === also.length + 1 && statuses.every((c) => c >= 200 && c < 300) ? 'written' : 'conflict';
      }
      if (expected.etag === null) await this.container.items.create(item);
      else await this.container.item(item.id, tenantId).replace(item, { accessCondition: { type: 'IfMatch', condition: expected.etag } });
      return 'written';
    } catch (err) {
      if (isCosmosStatus(err, 404) || isCosmosStatus(err, 409) || isCosmosStatus(err, 412)) return 'conflict';
      throw err;
    } finally {
      forget();
    }
  }
}

/** Small records the timers keep between runs (sweep continuation, last results), outside every tenant. */
export class TimerState implements TimerStatePort {
  static readonly PARTITION = '_timers';
  constructor(private readonly container: Container) {}

  async get<T>(name: string): Promise<T | null> {
    try {
      const { resource } = await this.container.item(name, TimerState.PARTITION).read<{ value: T }>();
      return resource ? resource.value : null;
    } catch (err) {
      if (isCosmosStatus(err, 404)) return null;
      throw err;
    }
  }

  async set<T>(name: string, value: T): Promise<void> {
    await this.container.items.upsert({ id: name, tenantId: TimerState.PARTITION, type: 'timer-state', value });
  }
}

/** A retention rule (kernel/retention-rules.ts) as a Cosmos SQL condition; `retainUntilBy: 'now'` compares with `@now`. */
function ruleSql(rule: CatalogRule): string {
  const one = (c: Condition): string => {
    if ('status' in c) return `c.status = "${c.status}"`;
    if ('legalHold' in c) return `c.legalHold = ${c.legalHold}`;
    if ('disposalAudited' in c) return `c.disposal.audited = ${c.disposalAudited}`;
    if ('approvedForRetainUntil' in c) return '(IS_DEFINED(c.disposalApproval) AND c.disposalApproval.retainUntil = c.retention.retainUntil)';
    return `c.retention.retainUntil <= @${c.retainUntilBy}`;
  };
  const groups = rule.map((g) => g.map(one).join(' AND '));
  return groups.length === 1 ? groups[0]! : `(${groups.map((g) => `(${g})`).join(' OR ')})`;
}

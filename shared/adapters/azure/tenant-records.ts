import type { Container, JSONObject, OperationInput } from '@azure/cosmos';
import type { ChainKeyring } from '../../kernel/audit-chain';
import type { AuditOutboxItem } from '../../kernel/audit';
import { withStoredVersion } from '../../kernel/stored-version';
import type { ApiKeyState, Page, ProposalListState, ProposalType, SupportGrantState, QueryParameter, TenantRecord, TenantRecordsPort, TenantRecordWrite, VersionedRecord as Versioned } from '../../ports';
import { batchWithOutbox, conditionalBatch, outboxWrite, recordOperation, recordWriteId, deleteItem, isCosmosStatus, queryPage, readTenantItem, withoutSystemProperties as strip } from './cosmos';
import type { TenantSettingsCache } from './settings-cache';
import { TimerState } from './retention-store';

/**
 * Records read on nearly every request and changed rarely: cached per instance for a short
 * lifetime (settings-cache.ts). API keys and support grants are not among them: a revocation
 * applies at once on every instance.
 */
// Never the rights gate (shared/auth/rights-gate.ts): a change is decided after reading it as stored.
export const CACHED_TYPES: ReadonlySet<string> = new Set(['rights-set', 'rights-assignment', 'sod-policy', 'person-sighting']);

/**
 * Each API key state as a condition on `c` at `@at` (ports ApiKeyState); a key from before may lack `revokedAt`.
 * In use ranges over `endsAt` (shared/auth/ends-at.ts: the earlier of expiry and revocation), so the keys revoked
 * before they expired are never read; the revocation is checked on the few it finds all the same, so "revoked" stays
 * "revokedAt set" even for one stamped by an instance whose clock runs ahead of this one. Revoked keeps no time: it
 * is the same at any `@at`, and `endsAt` would narrow nothing there.
 */
const UNREVOKED = '(NOT IS_DEFINED(c.revokedAt) OR IS_NULL(c.revokedAt))';
const KEY_STATE_CONDITION: Record<ApiKeyState, string> = {
  'in-use': `c.endsAt > @at AND ${UNREVOKED}`,
  revoked: `NOT ${UNREVOKED}`,
  expired: `c.endsAt <= @at AND ${UNREVOKED}`,
  all: 'true',
};
/** The same states before every key and grant carried `endsAt` (TenantRecordsPort.endsAtMigrated): right, only slower. */
const KEY_STATE_CONDITION_WITHOUT_ENDS_AT: Record<ApiKeyState, string> = {
  'in-use': `${UNREVOKED} AND c.expiresAt > @at`,
  revoked: `NOT ${UNREVOKED}`,
  expired: `${UNREVOKED} AND c.expiresAt <= @at`,
  all: 'true',
};
/** Each support grant state (ports SupportGrantState): a grant ends as a key does, revoked or expired. */
const grantStates = (key: Record<ApiKeyState, string>): Record<SupportGrantState, string> => ({ active: key['in-use'], revoked: key.revoked, expired: key.expired, all: 'true' });

/**
 * The timer-state record (retention-store.ts TimerState, in this container) that says every key and grant carries
 * `endsAt`. One marker for the store, not one per tenant: the migration finds what is left with one cross-partition
 * query, and no list of the tenants that have keys exists (blob containers list only those that stored a document);
 * a tenant that starts later has nothing to migrate. Chosen over an OR branch for records without `endsAt`
 * (`NOT IS_DEFINED(c.endsAt)`, which the index cannot answer by a range) that every query would carry for good.
 */
const ENDS_AT_MIGRATED = 'ends-at-migrated';
/** The timer-state record that says every API key in use and support grant in force carries the archive's seal (key-seal.ts), as ENDS_AT_MIGRATED. */
const KEYS_SEALED = 'api-keys-sealed';
/** How long a "not yet" of KEYS_SEALED is kept: it is read only for a key without a seal, not on every request. */
const KEYS_SEALED_RECHECK_MS = 60_000;
/** The timer-state record that says every person's sign-in record carries the archive's seal (person-sightings.ts), as KEYS_SEALED; read as it is. */
const SIGHTINGS_SEALED = 'person-sightings-sealed';
/** Each proposal state (ports ProposalListState): a pending one past `expiresAt` is expired. */
const PROPOSAL_STATE_CONDITION: Record<ProposalListState, string> = {
  pending: 'c.state = "pending" AND c.expiresAt > @at',
  approved: 'c.state = "approved"',
  withdrawn: 'c.state = "withdrawn"',
  rejected: 'c.state = "rejected"',
  expired: 'c.state = "pending" AND c.expiresAt <= @at',
  decided: '(c.state != "pending" OR c.expiresAt <= @at)',
  all: 'true',
};

/**
 * Tenant-scoped access to the `tenants` container (partition /tenantId): API keys, rights
 * sets and assignments, the segregation-of-duties policy, support-access grants. Every call
 * names the tenant, which is the partition key, so no read crosses tenants.
 */
export class TenantRecords implements TenantRecordsPort {
  private readonly timers: TimerState;
  /** Read once and kept once true (it never turns false); while false, read again by each query (a point read). */
  private migrated = false;
  /** KEYS_SEALED as last read (kept once true), and when. */
  private sealed = false;
  private sealedReadAt = -Infinity;
  /** SIGHTINGS_SEALED as last read (kept once true), and when. */
  private sightingsMarked = false;
  private sightingsReadAt = -Infinity;

  constructor(
    private readonly container: Container,
    /** Seals the audit outbox items it stores (cosmos.ts conditionalBatch). */
    private readonly keys: ChainKeyring,
    private readonly cache?: TenantSettingsCache,
    /**
     * `sealed`: every key and grant is sealed by configuration (ARCHIVE_KEYS_SEALED), the mark in Cosmos DB not read;
     * `sightingsSealed`: every sign-in record (ARCHIVE_SIGHTINGS_SEALED), alike.
     */
    opts: { sealed?: boolean; sightingsSealed?: boolean } = {},
  ) {
    this.timers = new TimerState(container);
    this.sealed = opts.sealed === true;
    this.sightingsMarked = opts.sightingsSealed === true;
  }

  async endsAtMigrated(): Promise<boolean> {
    if (!this.migrated) this.migrated = (await this.timers.get<boolean>(ENDS_AT_MIGRATED)) === true;
    return this.migrated;
  }

  async unsafeWithoutEndsAt(limit: number): Promise<{ tenantId: string; id: string; type: 'api-key' | 'support-grant' }[]> {
    const { resources } = await this.container.items
      .query<{ tenantId: string; id: string; type: 'api-key' | 'support-grant' }>({
        query: 'SELECT TOP @n c.tenantId, c.id, c.type FROM c WHERE (c.type = "api-key" OR c.type = "support-grant") AND NOT IS_DEFINED(c.endsAt)',
        parameters: [{ name: '@n', value: limit }],
      })
      .fetchAll();
    return resources;
  }

  async unsafeMarkEndsAtMigrated(): Promise<void> {
    await this.timers.set(ENDS_AT_MIGRATED, true);
    this.migrated = true;
  }

  async keysSealed(): Promise<boolean> {
    if (!this.sealed && Date.now() - this.sealedReadAt >= KEYS_SEALED_RECHECK_MS) {
      this.sealed = (await this.timers.get<boolean>(KEYS_SEALED)) === true;
      this.sealedReadAt = Date.now();
    }
    return this.sealed;
  }

  async unsafeUnsealedKeys(at: string, limit: number): Promise<{ tenantId: string; id: string; type: 'api-key' | 'support-grant' }[]> {
    const { resources } = await this.container.items
      .query<{ tenantId: string; id: string; type: 'api-key' | 'support-grant' }>({
        query: `SELECT TOP @n c.tenantId, c.id, c.type FROM c WHERE (c.type = "api-key" OR c.type = "support-grant") AND NOT IS_DEFINED(c.mac) AND ${UNREVOKED} AND c.expiresAt > @at`,
        parameters: [{ name: '@n', value: limit }, { name: '@at', value: at }],
      })
      .fetchAll();
    return resources;
  }

  async unsafeKeysSealedNotWith(version: string, at: string, limit: number, continuationToken?: string): Promise<Page<{ tenantId: string; id: string; type: 'api-key' | 'support-grant' }>> {
    const res = await this.container.items
      .query<{ tenantId: string; id: string; type: 'api-key' | 'support-grant' }>(
        {
          query: `SELECT c.tenantId, c.id, c.type FROM c WHERE (c.type = "api-key" OR c.type = "support-grant") AND IS_DEFINED(c.mac) AND (NOT IS_DEFINED(c.keyVersion) OR c.keyVersion != @v) AND ${UNREVOKED} AND c.expiresAt > @at`,
          parameters: [{ name: '@v', value: version }, { name: '@at', value: at }],
        },
        { maxItemCount: limit, continuationToken },
      )
      .fetchNext();
    return { items: res.resources, continuationToken: res.continuationToken ?? null };
  }

  async unsafeMarkKeysSealed(): Promise<void> {
    await this.timers.set(KEYS_SEALED, true);
    this.sealed = true;
  }

  async sightingsSealed(): Promise<boolean> {
    if (!this.sightingsMarked && Date.now() - this.sightingsReadAt >= KEYS_SEALED_RECHECK_MS) {
      this.sightingsMarked = (await this.timers.get<boolean>(SIGHTINGS_SEALED)) === true;
      this.sightingsReadAt = Date.now();
    }
    return this.sightingsMarked;
  }

  async unsafeUnsealedSightings(limit: number): Promise<{ tenantId: string; id: string }[]> {
    const { resources } = await this.container.items
      .query<{ tenantId: string; id: string }>({
        query: 'SELECT TOP @n c.tenantId, c.id FROM c WHERE c.type = "person-sighting" AND NOT IS_DEFINED(c.mac)',
        parameters: [{ name: '@n', value: limit }],
      })
      .fetchAll();
    return resources;
  }

  async unsafeSealedSightingsPage(limit: number, continuationToken?: string): Promise<Page<{ tenantId: string; id: string }>> {
    const res = await this.container.items
      .query<{ tenantId: string; id: string }>({ query: 'SELECT c.tenantId, c.id FROM c WHERE c.type = "person-sighting" AND IS_DEFINED(c.mac)' }, { maxItemCount: limit, continuationToken })
      .fetchNext();
    return { items: res.resources, continuationToken: res.continuationToken ?? null };
  }

  async unsafeMarkSightingsSealed(): Promise<void> {
    await this.timers.set(SIGHTINGS_SEALED, true);
    this.sightingsMarked = true;
  }

  private async keyStates(): Promise<Record<ApiKeyState, string>> {
    return (await this.endsAtMigrated()) ? KEY_STATE_CONDITION : KEY_STATE_CONDITION_WITHOUT_ENDS_AT;
  }

  async get<T extends TenantRecord>(tenantId: string, id: string, type: T['type'], opts: { fresh?: boolean } = {}): Promise<Versioned<T> | null> {
    if (this.cache && CACHED_TYPES.has(type) && !opts.fresh) return this.cache.get(tenantId, id, () => this.read<T>(tenantId, id, type));
    return this.read<T>(tenantId, id, type);
  }

  private async read<T extends TenantRecord>(tenantId: string, id: string, type: T['type']): Promise<Versioned<T> | null> {
    const found = await readTenantItem<T>(this.container, tenantId, id, type);
    return found ? { value: withStoredVersion(found.item, found.etag), etag: found.etag } : null;
  }

  /** Create, never upsert: `exists` when the id is taken. */
  async create<T extends TenantRecord>(record: T, outbox?: AuditOutboxItem): Promise<'created' | 'exists'> {
    if (outbox) return (await this.withOutbox(record.tenantId, record.id, { operationType: 'Create', partitionKey: record.tenantId, resourceBody: record as unknown as JSONObject }, outbox, [409])) === 409 ? 'exists' : 'created';
    try {
      await this.written(record.tenantId, record.id, () => this.container.items.create(record));
      return 'created';
    } catch (err) {
      if (isCosmosStatus(err, 409)) return 'exists';
      throw err;
    }
  }

  /** Replace only if nobody changed it since it was read (optimistic concurrency). */
  async replace<T extends TenantRecord>(record: T, etag: string, outbox?: AuditOutboxItem): Promise<'replaced' | 'conflict'> {
    if (outbox) {
      const status = await this.withOutbox(record.tenantId, record.id, { operationType: 'Replace', partitionKey: record.tenantId, id: record.id, ifMatch: etag, resourceBody: record as unknown as JSONObject }, outbox, [412, 404]);
      return status < 300 ? 'replaced' : 'conflict';
    }
    try {
      await this.written(record.tenantId, record.id, () => this.container.item(record.id, record.tenantId).replace(record, { accessCondition: { type: 'IfMatch', condition: etag } }));
      return 'replaced';
    } catch (err) {
      if (isCosmosStatus(err, 412) || isCosmosStatus(err, 404)) return 'conflict';
      throw err;
    }
  }

  /** Write whatever is there (records that carry no history, such as a policy document). */
  async upsert<T extends TenantRecord>(record: T, outbox?: AuditOutboxItem): Promise<void> {
    if (outbox) {
      await this.withOutbox(record.tenantId, record.id, { operationType: 'Upsert', partitionKey: record.tenantId, resourceBody: record as unknown as JSONObject }, outbox, []);
      return;
    }
    await this.written(record.tenantId, record.id, () => this.container.items.upsert(record));
  }

  async delete(tenantId: string, id: string, outbox?: AuditOutboxItem, ifMatch?: string): Promise<boolean> {
    if (outbox) return (await this.withOutbox(tenantId, id, { operationType: 'Delete', partitionKey: tenantId, id, ...(ifMatch !== undefined ? { ifMatch } : {}) }, outbox, [404, 412])) < 300;
    if (ifMatch === undefined) return this.written(tenantId, id, () => deleteItem(this.container, tenantId, id));
    return this.written(tenantId, id, async () => {
      try {
        await this.container.item(id, tenantId).delete({ accessCondition: { type: 'IfMatch', condition: ifMatch } });
        return true;
      } catch (err) {
        if (isCosmosStatus(err, 404) || isCosmosStatus(err, 412)) return false;
        throw err;
      }
    });
  }

  async batch(tenantId: string, writes: readonly TenantRecordWrite[], outbox?: AuditOutboxItem): Promise<'written' | 'conflict'> {
    const operations = writes.map((w) => recordOperation(tenantId, w));
    const ids = writes.map(recordWriteId);
    const refusals = [404, 409, 412];
    const { statuses } = await this.written(tenantId, ids, () => conditionalBatch(this.container, tenantId, operations, refusals, outboxWrite(outbox, this.keys)));
    return statuses.length === operations.length && statuses.every((c) => c >= 200 && c < 300) ? 'written' : 'conflict';
  }

  /** One write and the change's audit outbox item, both or neither (cosmos.ts `batchWithOutbox`): the write's status. */
  private async withOutbox(tenantId: string, id: string, write: OperationInput, outbox: AuditOutboxItem, refusals: number[]): Promise<number> {
    return (await this.written(tenantId, id, () => batchWithOutbox(this.container, tenantId, [write], { item: outbox, keys: this.keys }, refusals))).statuses[0]!;
  }

  /** A write of (tenant, id or ids): this instance forgets the cached records before and after it, whatever the outcome. */
  private async written<R>(tenantId: string, id: string | readonly string[], write: () => Promise<R>): Promise<R> {
    const forget = () => [id].flat().forEach((i) => this.cache?.invalidate(tenantId, i));
    forget();
    try {
      return await write();
    } finally {
      forget();
    }
  }

  async countApiKeysInUse(tenantId: string, at: string): Promise<number> {
    const inUse = (await this.keyStates())['in-use'];
    const { resources } = await this.container.items
      .query<number>({ query: `SELECT VALUE COUNT(1) FROM c WHERE c.tenantId = @t AND c.type = "api-key" AND ${inUse}`, parameters: [{ name: '@t', value: tenantId }, { name: '@at', value: at }] }, { partitionKey: tenantId })
      .fetchAll();
    return resources[0] ?? 0;
  }

  async countRightsAssignments(tenantId: string): Promise<number> {
    const { resources } = await this.container.items
      .query<number>({ query: 'SELECT VALUE COUNT(1) FROM c WHERE c.tenantId = @t AND c.type = "rights-assignment"', parameters: [{ name: '@t', value: tenantId }] }, { partitionKey: tenantId })
      .fetchAll();
    return resources[0] ?? 0;
  }

  async apiKeysInUse<T extends TenantRecord>(tenantId: string, at: string): Promise<T[]> {
    return this.list<T>(tenantId, 'api-key', (await this.keyStates())['in-use'], [{ name: '@at', value: at }]);
  }

  async apiKeyPage<T extends TenantRecord>(tenantId: string, state: ApiKeyState, at: string, limit: number, continuationToken?: string): Promise<Page<T>> {
    return this.page<T>(tenantId, 'api-key', (await this.keyStates())[state], 'c.createdAt', at, limit, continuationToken);
  }

  async supportGrantPage<T extends TenantRecord>(tenantId: string, state: SupportGrantState, at: string, limit: number, continuationToken?: string): Promise<Page<T>> {
    return this.page<T>(tenantId, 'support-grant', grantStates(await this.keyStates())[state], 'c.createdAt', at, limit, continuationToken);
  }

  proposalPage<T extends TenantRecord>(tenantId: string, type: ProposalType, state: ProposalListState, at: string, limit: number, continuationToken?: string): Promise<Page<T>> {
    return this.page<T>(tenantId, type, PROPOSAL_STATE_CONDITION[state], 'c.proposalId', at, limit, continuationToken);
  }

  /** One page of the tenant's records of `type` meeting `condition` (on `c`, at `@at`), by `orderBy` descending. */
  private async page<T extends TenantRecord>(tenantId: string, type: string, condition: string, orderBy: string, at: string, limit: number, continuationToken?: string): Promise<Page<T>> {
    const page = await queryPage<T>(
      this.container,
      { query: `SELECT * FROM c WHERE c.tenantId = @t AND c.type = @type AND ${condition} ORDER BY ${orderBy} DESC`, parameters: [{ name: '@t', value: tenantId }, { name: '@type', value: type }, { name: '@at', value: at }] },
      { partitionKey: tenantId, limit, continuationToken },
    );
    return { items: page.resources.map(stripped), continuationToken: page.continuationToken };
  }

  async supportGrantsInForce<T extends TenantRecord>(tenantId: string, at: string, givenBy: { notBy: string } | { by: string }, limit: number): Promise<T[]> {
    // The person who gave a grant: `createdBy.person`, or its subject on grants from before (kernel personOf).
    const byPerson = 'c.createdBy.subject = @p OR (IS_DEFINED(c.createdBy.person) AND NOT IS_NULL(c.createdBy.person) AND c.createdBy.person = @p)';
    const whose = 'notBy' in givenBy ? `NOT (${byPerson})` : `(${byPerson})`;
    const inForce = grantStates(await this.keyStates()).active;
    const { resources } = await this.container.items
      .query<T>(
        {
          query: `SELECT TOP @n * FROM c WHERE c.tenantId = @t AND c.type = "support-grant" AND ${inForce} AND ${whose} ORDER BY c.expiresAt DESC`,
          parameters: [{ name: '@t', value: tenantId }, { name: '@at', value: at }, { name: '@p', value: 'notBy' in givenBy ? givenBy.notBy : givenBy.by }, { name: '@n', value: limit }],
        },
        { partitionKey: tenantId },
      )
      .fetchAll();
    return resources.map(stripped);
  }

  async list<T extends TenantRecord>(tenantId: string, type: T['type'], where = '', parameters: QueryParameter[] = []): Promise<T[]> {
    const { resources } = await this.container.items
      .query<T>(
        { query: `SELECT * FROM c WHERE c.tenantId = @t AND c.type = @type${where ? ` AND ${where}` : ''}`, parameters: [{ name: '@t', value: tenantId }, { name: '@type', value: type }, ...parameters] },
        { partitionKey: tenantId },
      )
      .fetchAll();
    return resources.map(stripped);
  }
}

/** A queried record without the system properties, its `_etag` remembered as its version (kernel/stored-version.ts). */
const stripped = <T extends object>(r: T): T => withStoredVersion(strip(r), (r as { _etag?: string })._etag);

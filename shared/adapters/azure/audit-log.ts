import type { Container, JSONObject, SqlParameter } from '@azure/cosmos';
import type { AuditFilter, AuditInput, AuditLogPort, Page, UnsealedParkedBatch } from '../../ports';
import { ArchiveError } from '../../kernel/errors';
import { isCosmosStatus, queryPage, withoutSystemProperties as clean } from './cosmos';
import { PendingAuditEntries } from './audit-pending';
import { CHAIN_ALG, ChainKeyring, ChainKeyVersion, entryId, GENESIS_HASH, hashEntry, singleKeyring } from '../../kernel/audit-chain';
import { AUDIT_CREATE_TIMEOUT_MS, AuditEntry, auditMonth, auditPartition } from '../../kernel/audit';
import { notYetLogged } from '../../kernel/audit-keyed';

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

const headId = (partition: string) => `audit-head:${partition}`;
/** Entries written per round of one partition's writer (one head move per round). */
const BATCH_MAX = 100;
/**
 * The head is a hint (readers walk forward from it), so it is not replaced on every round, which
 * cost each audited request a second round trip: it moves once it lags this many entries, or
 * HEAD_DELAY_MS after the last unrecorded round. Its creation is never delayed: the sealing
 * timer finds partitions by their heads.
 */
const HEAD_LAG_MAX = 100;
const HEAD_DELAY_MS = 1000;
/** Entries per page when a partition is read for verification (~1 KB each). */
const VERIFY_PAGE_SIZE = 500;
/** Numbers lost in a row to another instance before an entry is given up (each loss means that instance progressed). */
const MAX_CONFLICTS = 200;

interface Pending {
  input: AuditInput;
  resolve: (entry: AuditEntry) => void;
  reject: (err: unknown) => void;
  /** Not sent after this (ms since the epoch): the caller's fallback appends it instead. */
  sendBy?: number;
}

/**
 * The entries of `round` from `from` on whose send-by time has passed are taken out and refused
 * (their callers' fallback appends them); the others keep their order and are chained without them.
 */
function withoutOverdue(round: Pending[], from: number, now: number): Pending[] {
  const overdue = (p: Pending, k: number) => k >= from && p.sendBy !== undefined && p.sendBy < now;
  if (!round.some(overdue)) return round;
  return round.filter((p, k) => {
    if (!overdue(p, k)) return true;
    p.reject(new Error('audit entry not sent by its send-by time; it is left to its fallback (the sealing timer)'));
    return false;
  });
}

/**
 * One writer per partition in this instance: the chain end is kept in memory, concurrent
 * appends wait in a queue and are written in order, a round at a time, with one head move per
 * round. Requests of one instance therefore never race each other for a sequence number; another
 * instance's writes show up as a 409 on create, and the writer walks forward past them.
 */
class PartitionWriter {
  /** The chain end as this instance last knew it; null until read (or after an unclear failure). */
  end: { seq: number; hash: string } | null = null;
  /** Highest seq this instance wrote or saw: the tail's in-memory high-water mark. */
  highWater = 0;
  headEtag: string | null = null;
  /** Whether a head document exists (created by this instance or read). */
  headKnown = false;
  /** The newest entry this instance wrote that the head does not name yet. */
  unrecorded: AuditEntry | null = null;
  lag = 0;
  headTimer: NodeJS.Timeout | undefined;
  readonly queue: Pending[] = [];
  running = false;
  /** Ends the wait of a lingering round (an append or a reader that cannot wait came). */
  wake: (() => void) | null = null;
  /** The drain under way (it never rejects): readers in this instance wait for it. */
  draining: Promise<void> = Promise.resolve();
}

/**
 * Append-only, hash-chained audit log. There is no update or delete path for entries, by
 * design; the only document ever replaced is the per-partition head, a hint kept (in another
 * container) with optimistic concurrency (IfMatch). Concurrent writers cannot fork the chain: entry ids are
 * sequence numbers, so only one create of entry n can succeed; the loser walks forward and retries.
 */
/** A stored entry without its system properties but `_ts` (seconds), which the database sets and no writer can. */
const withStoredAt = (r: AuditEntry): AuditEntry & { _ts?: number } => (typeof (r as { _ts?: unknown })._ts === 'number' ? { ...clean(r), _ts: (r as unknown as { _ts: number })._ts } : clean(r));

/** Entries under one request id an "append once" reads per page, and at most (a request has a few: one per action and outcome). */
export const APPEND_ONCE_PAGE = 100;
export const APPEND_ONCE_READ_MAX = 1_000;

export class AuditLog implements AuditLogPort {
  private readonly writers = new Map<string, PartitionWriter>();
  private readonly pending: PendingAuditEntries;
  /** Whether rounds go in transactional batches (false once the account refused one). */
  private batches = true;

  constructor(
    private readonly container: Container,
    /** The `tenants` container (partition /tenantId), where the chain heads live. */
    private readonly heads: Container,
    /**
     * The chain key's versions (chain-keys.ts), or one unnamed key: the current version is asked for per round, and
     * answered from memory (listed again every 5 minutes), so a rotation reaches this instance's entries within that.
     */
    keys: ChainKeyring | (() => Promise<Buffer>),
  ) {
    this.chainKeys = typeof keys === 'function' ? singleKeyring(keys) : keys;
    this.pending = new PendingAuditEntries(heads, this.chainKeys);
  }

  readonly chainKeys: ChainKeyring;

  /** The current version's key (for what names no version). */
  readonly chainKey = async (): Promise<Buffer> => (await this.chainKeys.current()).key;

  async append(input: AuditInput): Promise<AuditEntry> {
    const [entry] = await this.appendBatch([input]);
    return entry!;
  }

  /**
   * Appends several entries of one partition in order: they are queued together, so within this
   * instance they get consecutive numbers, and every entry gets the seq, prevHash and hash it
   * would have got from appending them one by one.
   */
  async appendBatch(inputs: AuditInput[], opts: { lingerMs?: number; sendBy?: number } = {}): Promise<AuditEntry[]> {
    if (inputs.length === 0) return [];
    const tenantId = inputs[0]!.tenantId;
    const partition = auditPartition(tenantId, new Date(inputs[0]!.at));
    if (inputs.some((i) => i.tenantId !== tenantId || auditPartition(i.tenantId, new Date(i.at)) !== partition)) {
      throw new Error('appendBatch: every entry must belong to the same audit partition');
    }
    let writer = this.writers.get(partition);
    if (!writer) this.writers.set(partition, (writer = new PartitionWriter()));
    const written = inputs.map((input) => new Promise<AuditEntry>((resolve, reject) => writer.queue.push({ input, resolve, reject, ...(opts.sendBy !== undefined ? { sendBy: opts.sendBy } : {}) })));
    const lingerMs = opts.lingerMs ?? 0;
    if (!writer.running) {
      // Claimed now: whatever is appended while the round lingers joins it.
      writer.running = true;
      writer.draining = this.lingerThenDrain(partition, tenantId, writer, lingerMs);
    } else if (lingerMs === 0) writer.wake?.();
    return Promise.all(written);
  }

  async appendOnce(inputs: AuditInput[], opts: { sendBy?: number } = {}): Promise<boolean> {
    const first = inputs[0];
    if (!first) return false;
    // A request has one entry per action and outcome (a change stored before the request failed has its success entry
    // beside the failure's); without batches (403) an earlier attempt may have stored some of them only. Each entry is
    // looked up under its own request: a suppressed-refusals count beside a request's entry carries an earlier request's id.
    const month = auditMonth(new Date(first.at));
    // Every entry under the request, not the first few: planted ones (never counted, notYetLogged) could push the
    // genuine earlier append off a short page. At most APPEND_ONCE_READ_MAX: read to the end, a million planted under a
    // genuine request id cost every drain of it as many reads. Past the bound the inputs are appended (one stored beyond
    // it logged twice, keyed: better than a drain that never ends).
    const stored: (AuditEntry & { _ts?: number })[] = [];
    for (const requestId of new Set(inputs.map((i) => i.requestId))) {
      let token: string | undefined;
      let read = 0;
      do {
        const found = await this.list(first.tenantId, month, APPEND_ONCE_PAGE, token, { requestId });
        stored.push(...found.items);
        read += found.items.length;
        token = found.continuationToken ?? undefined;
      } while (token && read < APPEND_ONCE_READ_MAX);
    }
    const missing = await notYetLogged(inputs, stored, this.chainKeys);
    if (missing.length === 0) return false;
    await this.appendBatch(missing, opts.sendBy !== undefined ? { sendBy: opts.sendBy } : {});
    return true;
  }

  private async lingerThenDrain(partition: string, tenantId: string, writer: PartitionWriter, lingerMs: number): Promise<void> {
    if (lingerMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, lingerMs);
        writer.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      writer.wake = null;
    }
    await this.drain(partition, tenantId, writer);
  }

  /**
   * Waits until this instance's writer of the partition has written what it was given: an entry
   * appended after its request's answer (the audit outbox) is then visible to a reader here.
   */
  private async settled(partition: string): Promise<void> {
    const writer = this.writers.get(partition);
    writer?.wake?.();
    await writer?.draining;
  }

  /** The highest sequence number this instance wrote or saw in a partition (0 if none). */
  highWater(tenantId: string, month: string): number {
    return this.writers.get(`${tenantId}:${month}`)?.highWater ?? 0;
  }

  private async drain(partition: string, tenantId: string, writer: PartitionWriter): Promise<void> {
    writer.running = true;
    try {
      while (writer.queue.length > 0) {
        const round = writer.queue.splice(0, BATCH_MAX);
        await this.writeRound(partition, tenantId, writer, round);
      }
    } finally {
      writer.running = false;
    }
  }

  private async writeRound(partition: string, tenantId: string, writer: PartitionWriter, given: Pending[]): Promise<void> {
    let round = given;
    let last: AuditEntry | null = null;
    let i = 0;
    try {
      const key = await this.chainKeys.current();
      if (!writer.end) {
        const head = await this.readHead(tenantId, partition);
        writer.headEtag = head?.etag ?? null;
        writer.headKnown = head !== null;
        writer.end = await this.walk(partition, await this.startOf(partition, head?.value));
      }
      let conflicts = 0;
      while (i < round.length) {
        // Checked before every send, retries included: an overdue entry is never sent.
        round = withoutOverdue(round, i, Date.now());
        if (i >= round.length) break;
        const entries = this.chained(partition, writer.end, round.slice(i).map((p) => p.input), key);
        const stored = await this.tryCreate(partition, entries);
        if (stored > 0) {
          for (const entry of entries.slice(0, stored)) round[i++]!.resolve(entry);
          last = entries[stored - 1]!;
          writer.end = { seq: last.seq, hash: last.hash };
          continue;
        }
        // Another instance took a number: chain on from the true end.
        if (++conflicts >= MAX_CONFLICTS) throw new ArchiveError('audit_contention', { detail: 'The audit log is busy; the request was not served.' });
        writer.end = await this.walk(partition, writer.end);
      }
    } catch (err) {
      // Whether the failed create was stored is unknown: re-read the end before the next round.
      writer.end = null;
      for (; i < round.length; i++) round[i]!.reject(err);
    } finally {
      if (writer.end) writer.highWater = Math.max(writer.highWater, writer.end.seq);
      if (last) {
        writer.highWater = Math.max(writer.highWater, last.seq);
        writer.unrecorded = last;
        writer.lag += i;
        if (!writer.headKnown || writer.lag >= HEAD_LAG_MAX) await this.recordHead(partition, tenantId, writer);
        else writer.headTimer ??= setTimeout(() => void this.recordHead(partition, tenantId, writer), HEAD_DELAY_MS).unref();
      }
    }
  }

  /** Moves the head to the newest entry this instance wrote, if it is behind. Never fails. */
  private async recordHead(partition: string, tenantId: string, writer: PartitionWriter): Promise<void> {
    clearTimeout(writer.headTimer);
    writer.headTimer = undefined;
    const entry = writer.unrecorded;
    if (!entry) return;
    writer.unrecorded = null;
    writer.lag = 0;
    try {
      await this.advanceHead(partition, tenantId, writer, entry);
      writer.headKnown = true;
    } catch {
      // Best effort: the next round tries again.
    }
  }

  /** Moves every lagging head now (sealing, shutdown, tests). */
  async flushHeads(): Promise<void> {
    await Promise.all([...this.writers.entries()].map(([partition, writer]) => this.recordHead(partition, writer.unrecorded?.tenantId ?? '', writer)));
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

  /**
   * Best effort: a head that lags is only slower for the next reader, never wrong. Never moves the
   * head backwards: on a conflict the newer head is re-read and only replaced when it is behind.
   */
  private async advanceHead(partition: string, tenantId: string, writer: PartitionWriter, entry: AuditEntry): Promise<void> {
    const head: AuditHead = { id: headId(partition), partition, tenantId, type: 'audit-head', seq: entry.seq, hash: entry.hash };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const res = writer.headEtag
          ? await this.heads.item(head.id, tenantId).replace(head, { accessCondition: { type: 'IfMatch', condition: writer.headEtag } })
          : await this.heads.items.create(head);
        writer.headEtag = res.etag;
        return;
      } catch (err) {
        // 404: the head was removed (the sealing timer finds partitions by their heads): created again below.
        if (!isCosmosStatus(err, 412) && !isCosmosStatus(err, 409) && !isCosmosStatus(err, 404)) throw err;
        const current = await this.readHead(tenantId, partition);
        writer.headEtag = current?.etag ?? null;
        if (current && current.value.seq >= entry.seq) return;
      }
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
  async hashAt(tenantId: string, month: string, seq: number): Promise<string | null> {
    return (await this.entry(`${tenantId}:${month}`, seq))?.hash ?? null;
  }

  async end(tenantId: string, month: string): Promise<{ seq: number; hash: string }> {
    const partition = `${tenantId}:${month}`;
    await this.settled(partition);
    const head = await this.readHead(tenantId, partition);
    return this.walk(partition, await this.startOf(partition, head?.value));
  }

  /**
   * Where a walk starts: the head's entry as stored. The head lives in the `tenants` container, which more
   * than the audit log can write, so its seq is a hint and its hash no proof: a new writer chained on from a
   * wrong head hash (a broken link) and a seal named it (a WORM blob accusing a sound entry). Only if that
   * entry is gone does the head's own word stand: its successors then show the gap as missing.
   */
  private async startOf(partition: string, head: AuditHead | undefined): Promise<{ seq: number; hash: string }> {
    if (!head || head.seq <= 0) return { seq: 0, hash: GENESIS_HASH };
    const stored = await this.entry(partition, head.seq);
    return { seq: head.seq, hash: stored?.hash ?? head.hash };
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

  /** The entries that follow `end`, numbered and linked in order. */
  private chained(partition: string, end: { seq: number; hash: string }, inputs: AuditInput[], key: ChainKeyVersion): AuditEntry[] {
    const entries: AuditEntry[] = [];
    let prev = end;
    for (const input of inputs) {
      // The version is named (and covered by the hash) unless the key has none (one unnamed local key).
      const body: Omit<AuditEntry, 'hash'> = { id: entryId(prev.seq + 1), partition, seq: prev.seq + 1, prevHash: prev.hash, alg: CHAIN_ALG, ...(key.version !== null ? { keyVersion: key.version } : {}), ...input };
      const entry: AuditEntry = { ...body, hash: hashEntry(body, key.key) };
      entries.push(entry);
      prev = entry;
    }
    return entries;
  }

  /**
   * Creates entries that follow the chain end, from the first; how many were stored, 0 when
   * another writer took the first number (409). Entry ids are sequence numbers, so only one create
   * of entry n can succeed: the chain cannot fork. Several entries go in one transactional batch
   * of creates (one round trip for a round; atomic in Cosmos DB, so a lost number stores none).
   * Should the account's role refuse batches (403), entries are created one at a time from then on.
   */
  private async tryCreate(partition: string, entries: AuditEntry[]): Promise<number> {
    if (entries.length > 1 && this.batches) {
      const res = await this.container.items
        .batch(entries.map((entry) => ({ operationType: 'Create' as const, partitionKey: partition, resourceBody: entry as unknown as JSONObject })), partition, { abortSignal: AbortSignal.timeout(AUDIT_CREATE_TIMEOUT_MS) })
        .catch((err: unknown) => {
          if (isCosmosStatus(err, 403)) return null;
          throw err;
        });
      if (res) {
        const statuses = res.result?.map((r) => r.statusCode) ?? [];
        if (statuses.length === entries.length && statuses.every((s) => s >= 200 && s < 300)) return entries.length;
        if (statuses.includes(409)) return 0;
        if (res.code !== 403 && !statuses.includes(403)) throw Object.assign(new Error(`audit batch failed: ${statuses.join(',') || res.code}`), { code: res.code ?? statuses.find((s) => s !== 424) });
      }
      this.batches = false;
    }
    try {
      await this.container.items.create(entries[0]!, { abortSignal: AbortSignal.timeout(AUDIT_CREATE_TIMEOUT_MS) });
      return 1;
    } catch (err) {
      if (isCosmosStatus(err, 409)) return 0;
      throw err;
    }
  }

  /**
   * Parks the entries of a completed change that could not be appended, for
   * `unsafeAppendPending` (run by the sealing timer) to append later.
   */
  savePending(inputs: AuditInput[]): Promise<void> {
    return this.pending.park(inputs);
  }

  /** Cross-tenant, for the sealing timer: appends every parked entry (an unsealed batch's marked, told to `unsealed`). */
  unsafeAppendPending(unsealed: (batch: UnsealedParkedBatch) => void): Promise<number> {
    // Once: a parked batch whose first attempt was stored after all, or whose removal a crash cut off, is not appended again.
    return this.pending.unsafeDrain((inputs, opts) => this.appendOnce(inputs, opts), unsealed);
  }

  async headSeq(tenantId: string, month: string): Promise<number> {
    return (await this.readHead(tenantId, `${tenantId}:${month}`))?.value.seq ?? 0;
  }

  /**
   * A tenant's entries of one month, newest first (by `at`), optionally filtered. By time, not id: the chain's order is
   * not the time's (an outboxed change's entry is appended after its answer with the change's time, a parked entry by the
   * sealing timer with its original time, a suppressed-refusals count with its first refusal's), and by id an auditor saw
   * an entry of the 1st above the 6th's. Equal instants (entries of one moment; a test's stopped clock) the later in the
   * chain first: by time alone they came in the store's order, oldest first (infra/cosmos-audit-indexing-policy.json).
   */
  async list(tenantId: string, month: string, limit: number, continuationToken?: string, filter: AuditFilter = {}): Promise<Page<AuditEntry & { _ts?: number }>> {
    const partition = `${tenantId}:${month}`;
    await this.settled(partition);
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
    if (filter.requestId) add('c.requestId = @rid', '@rid', filter.requestId);
    const res = await queryPage<AuditEntry>(this.container, { query: `SELECT * FROM c WHERE ${where.join(' AND ')} ORDER BY c.at DESC, c.id DESC`, parameters }, { partitionKey: partition, limit, continuationToken });
    // `_ts` kept: an entry is a witness by when the database stored it (audit-pages.ts auditHolds).
    return { items: res.resources.map(withStoredAt), continuationToken: res.continuationToken };
  }

  /** Every stored entry of a partition, for verification (no filter: anything in the partition counts). */
  async all(tenantId: string, month: string): Promise<AuditEntry[]> {
    const partition = `${tenantId}:${month}`;
    await this.settled(partition);
    const { resources } = await this.container.items
      .query<AuditEntry>({ query: 'SELECT * FROM c WHERE c.partition = @p', parameters: [{ name: '@p', value: partition }] }, { partitionKey: partition })
      .fetchAll();
    return resources.map(clean);
  }

  /**
   * A partition's entries a page at a time, ordered by id. By id, not seq: every document has an id, while
   * ORDER BY leaves out documents without the property, and a foreign document without `seq` must still be
   * seen (as inserted). The audit container indexes every path (no indexing policy), as `list` relies on too.
   */
  async *inChainOrder(tenantId: string, month: string, opts: { pageSize?: number; begun?: () => void } = {}): AsyncIterable<AuditEntry[]> {
    const partition = `${tenantId}:${month}`;
    await this.settled(partition);
    opts.begun?.();
    const query = this.container.items.query<AuditEntry>(
      { query: 'SELECT * FROM c WHERE c.partition = @p ORDER BY c.id', parameters: [{ name: '@p', value: partition }] },
      { partitionKey: partition, maxItemCount: opts.pageSize ?? VERIFY_PAGE_SIZE },
    );
    while (query.hasMoreResults()) {
      const { resources } = await query.fetchNext();
      // `_ts` kept (the hash does not cover it): when the database stored the entry, which no writer sets, checked
      // against when its key version was superseded (kernel/audit-chain.ts, older-key).
      if (resources.length > 0) yield resources.map(withStoredAt);
    }
  }

  /** Cross-tenant: every partition that has a head, for the sealing timer only. */
  async unsafeListPartitions(): Promise<{ tenantId: string; month: string }[]> {
    const { resources } = await this.heads.items
      .query<{ tenantId: string; partition: string }>({ query: `SELECT c.tenantId, c.partition FROM c WHERE c.type = 'audit-head'` })
      .fetchAll();
    return resources.map((r) => ({ tenantId: r.tenantId, month: r.partition.slice(r.tenantId.length + 1) }));
  }
}

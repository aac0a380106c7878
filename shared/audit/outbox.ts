import { randomUUID } from 'node:crypto';
import { AUDIT_OUTBOX_SEND_WITHIN_MS, auditOutboxItem, auditPartition, markedOutboxUnsealed, takeOverEach, type AuditOutboxItem, type AuditStaging } from '../kernel/audit';
import { outboxItemUnsealedBecause } from '../kernel/audit-outbox-seal';
import type { AuditInput, AuditLogPort, AuditOutboxPort, Logger } from '../ports';
import { Gathered } from '../gathered';

/** How long an appended item waits to be removed together with others (one round trip for several uploads). */
export const AUDIT_OUTBOX_REMOVE_LINGER_MS = 200;
/**
 * How long a released entry may wait for others to share its audit round: nobody waits for it (a
 * reader on this instance starts the round at once), and one write then carries the entries of the
 * uploads of that moment.
 */
export const AUDIT_OUTBOX_APPEND_LINGER_MS = 100;
/**
 * Logged (error, alerted) when the sealing timer finds an outbox item without the archive's seal: written into Cosmos DB
 * by someone without Key Vault (a forged entry to witness a change nobody made), edited, or stored before items were
 * sealed. Its entries are appended marked (kernel/audit.ts OUTBOX_UNSEALED_DETAIL), never as witnesses.
 */
export const AUDIT_OUTBOX_UNSEALED = 'audit outbox item not sealed by the archive';

/** Outbox items removed per call (a transactional batch holds at most 100 operations). */
const REMOVE_PER_CALL = 100;

/**
 * A write that stores the request's staged audit entry with its change, if one is staged:
 * `write` gets the outbox item to put in its batch, `stored` says from its result whether the
 * batch was stored (then the pipeline appends the entry after its answer).
 */
export async function writeWithAuditEntry<R>(audit: AuditStaging | undefined, entry: { target?: string; detail?: string }, write: (outbox?: AuditOutboxItem) => Promise<R>, stored: (result: R) => boolean): Promise<R> {
  const outbox = audit?.item(entry.target, entry.detail);
  const result = await write(outbox);
  if (outbox && stored(result)) audit!.stored(outbox);
  return result;
}

/**
 * The staging of a request that changes many documents one by one (holds by query, a disposal
 * approval): its one entry, about `target` (the hold, the approval), is stored with the first
 * change that is stored, so no document changes before the request's entry is durable; later
 * changes carry none (`staging` is then undefined). Should the request fail after that, the
 * stored entry is still appended (the change was made), beside the failure's own entry.
 */
export function stagedWithFirstChange(audit: AuditStaging | undefined, target: string): { readonly staging: AuditStaging | undefined } {
  let pending = audit;
  const staging: AuditStaging = {
    item: () => audit!.item(target),
    stored: (item) => {
      pending = undefined;
      audit!.stored(item);
    },
  };
  return {
    get staging() {
      return pending ? staging : undefined;
    },
  };
}

/**
 * The staging of a change a timer makes on one thing (or a request makes on another's behalf, as a hold's release
 * followed up): its one entry, by `entry.actor`, stored with the change; `appended` appends it once the change is
 * stored (releaseNow), and does nothing if nothing was.
 */
export function ownChangeStaging(outbox: Pick<AuditOutbox, 'releaseNow'>, entry: Pick<AuditInput, 'tenantId' | 'at' | 'actor' | 'action' | 'requestId'>): { staging: AuditStaging; appended: () => Promise<void> } {
  let stored: AuditOutboxItem | undefined;
  return {
    staging: {
      item: (target, detail) => auditOutboxItem([{ ...entry, target: target ?? null, outcome: 'success', status: 200, clientIp: null, userAgent: null, ...(detail ? { detail } : {}) }]),
      stored: (item) => {
        stored = item;
      },
    },
    appended: async () => {
      if (stored) await outbox.releaseNow(stored);
    },
  };
}

/**
 * The audit outbox's release (see AuditOutboxItem): a change wrote its audit entries with itself,
 * so the answer need not wait for the chain. After the answer this instance appends them, then
 * removes the item; removals wait up to `lingerMs` and go together, per tenant. An append that
 * fails, or is not sent within AUDIT_OUTBOX_SEND_WITHIN_MS of the change, leaves the item where it
 * is: the sealing timer appends it (`drain`), once.
 */
export class AuditOutbox {
  private readonly releasing = new Set<Promise<void>>();
  /** Items whose entries are in the chain, removed together; a failed removal leaves them for the sealing timer, which finds their entries there. */
  private readonly appended: Gathered<Pick<AuditOutboxItem, 'tenantId' | 'id'>>;
  /** Removes items whose entries are in the chain; never fails (what it cannot remove, the sealing timer does). */
  private readonly remove: (items: Pick<AuditOutboxItem, 'tenantId' | 'id'>[]) => Promise<void>;

  constructor(
    private readonly deps: { audit: AuditLogPort; auditOutboxItems: AuditOutboxPort; log: Logger },
    lingerMs: number,
    /** See AUDIT_OUTBOX_APPEND_LINGER_MS. */
    private readonly appendLingerMs = 0,
  ) {
    this.remove = (items) =>
      deps.auditOutboxItems.remove(items).catch((err: unknown) => {
        deps.log.warn('audit outbox items not removed; the sealing timer removes them', { items: items.length, error: String(err) });
      });
    this.appended = new Gathered(this.remove, REMOVE_PER_CALL, lingerMs);
  }

  /**
   * Appends a stored item's entries to the chain, after the answer. Never fails and never waits:
   * the entries are stored with the change either way. Within this instance a reader of the log
   * sees them (the log's readers wait for its writers); elsewhere within milliseconds.
   */
  release(item: AuditOutboxItem): void {
    const released: Promise<void> = this.deps.audit
      // Sent within AUDIT_OUTBOX_SEND_WITHIN_MS of the change or not at all: later, the sealing timer owns the item.
      .appendBatch(item.entries, { lingerMs: this.appendLingerMs, sendBy: Date.parse(item.at) + AUDIT_OUTBOX_SEND_WITHIN_MS })
      .then(() => this.appended.add({ tenantId: item.tenantId, id: item.id }))
      .catch((err: unknown) => {
        this.deps.log.warn('audit entries of a stored change not appended yet; the sealing timer appends them from the outbox', { item: item.id, tenantId: item.tenantId, error: String(err) });
      })
      .finally(() => this.releasing.delete(released));
    this.releasing.add(released);
  }

  /**
   * A timer's or worker's own change, stored with its outbox item: its entries appended now (awaited, so the
   * run ends with them in the chain) and the item removed. Sent within AUDIT_OUTBOX_SEND_WITHIN_MS of this
   * call or not at all, as a release is; a failure leaves the item to the sealing timer and is only logged:
   * the change and its entry are stored either way.
   */
  async releaseNow(item: AuditOutboxItem): Promise<void> {
    await this.releaseAllNow([item]);
  }

  /**
   * `releaseNow` for several stored changes (a sweep batch's tombstones): their entries appended in one
   * batch per audit partition (one chain-head read and move for many), then the items removed together.
   */
  async releaseAllNow(items: readonly AuditOutboxItem[]): Promise<void> {
    const sendBy = Date.now() + AUDIT_OUTBOX_SEND_WITHIN_MS;
    const byPartition = new Map<string, AuditOutboxItem[]>();
    for (const item of items) {
      const key = auditPartition(item.tenantId, new Date(item.entries[0]!.at));
      byPartition.set(key, [...(byPartition.get(key) ?? []), item]);
    }
    const appended: AuditOutboxItem[] = [];
    for (const group of byPartition.values()) {
      try {
        await this.deps.audit.appendBatch(group.flatMap((i) => i.entries), { sendBy });
        appended.push(...group);
      } catch (err) {
        for (const item of group) this.deps.log.warn('audit entries of a stored change not appended yet; the sealing timer appends them from the outbox', { item: item.id, tenantId: item.tenantId, error: String(err) });
      }
    }
    for (let i = 0; i < appended.length; i += REMOVE_PER_CALL) await this.remove(appended.slice(i, i + REMOVE_PER_CALL));
  }

  /** Waits for every release under way and removes their items now (host shutdown, tests). */
  async flush(): Promise<void> {
    await Promise.all([...this.releasing]);
    await this.appended.flush();
  }

  /**
   * The sealing timer: appends the entries of items no instance released (it stopped first, or the
   * log refused them) that were written before `before`, and removes the items. An item whose
   * entries are already in the chain (its instance stopped between the append and the removal) is
   * only removed: each request's entries are appended once. Each item is first claimed over its etag
   * (AUDIT_OUTBOX_CLAIM_LEASE_MS): two runs at once both looked, missed each other's append and both
   * appended; now only the run holding the claim appends, and a run that finds another's claim still
   * holding leaves the item to it. An item the log refuses stays (claimed, until the lease ends) for a
   * later run without holding back the items behind it (oldest first, it would have stopped every
   * tenant's); the drain then fails, naming it, so the sealing run is alerted.
   */
  async drain(before: Date, max: number): Promise<number> {
    const items = await this.deps.auditOutboxItems.unsafeWrittenBefore(before.toISOString(), max);
    return takeOverEach('audit outbox items', items, randomUUID(), {
      claimOf: ({ item }) => item.claim,
      claim: (listed, claim) => this.deps.auditOutboxItems.claim(listed, claim),
      append: async (listed, sendBy) => {
        const entries = await this.vouched(listed);
        return (await this.deps.audit.appendOnce(entries, { sendBy })) ? entries.length : 0;
      },
      remove: ({ item }) => this.deps.auditOutboxItems.remove([item]),
      nameOf: ({ item }) => item.id,
      failed: ({ item }, err) => this.deps.log.error("audit outbox item not appended; a sealing run after its claim's lease tries again", { item: item.id, tenantId: item.tenantId, error: err instanceof Error ? err.message : String(err) }),
    });
  }

  /**
   * A listed item's entries as the drain appends them: as they are when the archive sealed the item, else marked and
   * alerted. Broke: the drain keyed whatever entries an item held, so one planted in Cosmos DB (a `legal-hold.place` by
   * someone who never placed it) became a keyed entry every witness lookup took as the archive's. Not dropped: the log
   * stays complete, and the mark is covered by the chain's hash.
   */
  private async vouched({ item, storedAt }: Awaited<ReturnType<AuditOutboxPort['unsafeWrittenBefore']>>[number]): Promise<AuditOutboxItem['entries']> {
    const why = await outboxItemUnsealedBecause(item, storedAt ?? null, this.deps.audit.chainKeys);
    if (why === null) return item.entries;
    this.deps.log.error(AUDIT_OUTBOX_UNSEALED, { item: item.id, tenantId: item.tenantId, entries: item.entries.length, reason: why });
    return item.entries.map(markedOutboxUnsealed);
  }
}

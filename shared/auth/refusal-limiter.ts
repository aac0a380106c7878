import type { AuditInput } from '../kernel/audit';

/**
 * Refused requests are rate-limited per principal (tenant and subject), so one principal's
 * refusals cannot flood its tenant's audit chain. A token bucket: `burst` refusals at once,
 * refilled at `perMinute`. Requests that are served are never limited.
 *
 * Refusals over the limit are answered 429 without an audit entry each: the first one of a run is
 * audited, the rest are counted (`suppress`) and written as one `access.refusals-suppressed` entry:
 * with the principal's next audited request, or by the next flush of this instance
 * (shared/audit/suppressed-refusals.ts: the sealing timer, the host's shutdown), whichever is first.
 * In-memory, per instance (an instance's own chain writer is what the flood would contend on).
 */
interface Bucket {
  tokens: number;
  at: number;
  /** In a run of 429s (whose first was audited). */
  limited: boolean;
  /** Refusals answered 429 and not audited, not yet written as their one entry. */
  pending: SuppressedRefusals | null;
}

/** A principal's refusals answered 429 without an entry each: how many, when, and the last one's entry (who, from where). */
export interface SuppressedRefusals {
  count: number;
  first: string;
  last: string;
  entry: AuditInput;
  /** What differed among the refusals counted (the entry names only the last's): `actor` (credential), `clientIp`, `userAgent`. */
  mixed?: string[];
}

export type RefusalVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number; first: boolean };

/**
 * Buckets kept; past it the least recently used is dropped (it is the longest idle, so mostly
 * full, and forgetting a full bucket changes nothing). A dropped bucket's pending count is kept
 * aside (`spilled`) until the next flush, never dropped: `needsFlush` asks the caller to flush it.
 */
export const MAX_BUCKETS = 10_000;

export class RefusalLimiter {
  /** In order of last use: the first is the least recently used. */
  private readonly buckets = new Map<string, Bucket>();
  private spilled: SuppressedRefusals[] = [];
  /**
   * Count entries whose append failed: it may have been stored all the same (a timeout after the write).
   * Each is sent again as it was, once (AuditLogPort.appendOnce, by its request id), never merged into a
   * newer count: merged, a stored count would be written a second time inside the larger one.
   */
  private unsure: AuditInput[] = [];

  constructor(private readonly limits: { burst: number; perMinute: number }) {}

  /** Take one refusal from the principal's bucket at `now`. */
  take(tenantId: string, person: string, now: Date): RefusalVerdict {
    const key = keyOf(tenantId, person);
    const t = now.getTime();
    const bucket = this.buckets.get(key) ?? { tokens: this.limits.burst, at: t, limited: false, pending: null };
    bucket.tokens = Math.min(this.limits.burst, bucket.tokens + (Math.max(0, t - bucket.at) * this.limits.perMinute) / 60_000);
    bucket.at = t;
    this.remember(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      bucket.limited = false;
      return { allowed: true };
    }
    const first = !bucket.limited;
    bucket.limited = true;
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(((1 - bucket.tokens) * 60) / this.limits.perMinute)), first };
  }

  /** Count a refusal answered 429 without its entry (`entry`, the one it would have had; its actor's person is the principal's). */
  suppress(entry: AuditInput): void {
    const bucket = this.buckets.get(keyOf(entry.tenantId, personIn(entry)));
    const one: SuppressedRefusals = { count: 1, first: entry.at, last: entry.at, entry };
    if (!bucket) this.spilled.push(one);
    else bucket.pending = bucket.pending ? merged(bucket.pending, one) : one;
  }

  /** The principal's pending count, taken (the caller writes it as one entry, or gives it back with `restore`). */
  takeSuppressed(tenantId: string, person: string): SuppressedRefusals | null {
    const bucket = this.buckets.get(keyOf(tenantId, person));
    const pending = bucket?.pending ?? null;
    if (bucket) bucket.pending = null;
    return pending;
  }

  /** Every pending count of this instance, taken: `spilled` only those kept aside from dropped buckets. */
  takeAllSuppressed(which: 'all' | 'spilled' = 'all'): SuppressedRefusals[] {
    const taken = this.spilled;
    this.spilled = [];
    if (which === 'all') {
      for (const bucket of this.buckets.values()) {
        if (bucket.pending) taken.push(bucket.pending);
        bucket.pending = null;
      }
    }
    return taken;
  }

  /** A count's entry whose append failed (perhaps after it was stored): sent again by the next flush, as it is, once. */
  retryUnsure(entry: AuditInput): void {
    this.unsure.push(entry);
  }

  /** The count entries to send again (see retryUnsure), taken. */
  takeUnsure(): AuditInput[] {
    const taken = this.unsure;
    this.unsure = [];
    return taken;
  }

  /** Buckets kept now (at most MAX_BUCKETS). */
  get size(): number {
    return this.buckets.size;
  }

  /** Counts of dropped buckets wait aside: the caller should flush them (they have no bucket to wait in). */
  get needsFlush(): boolean {
    return this.spilled.length > 0;
  }

  private remember(key: string, bucket: Bucket): void {
    this.buckets.delete(key);
    if (this.buckets.size >= MAX_BUCKETS) {
      const [oldestKey, oldest] = this.buckets.entries().next().value as [string, Bucket];
      this.buckets.delete(oldestKey);
      if (oldest.pending) this.spilled.push(oldest.pending);
    }
    this.buckets.set(key, bucket);
  }
}

/**
 * The one entry of a principal's suppressed refusals, written at `at`: who and from where as the
 * last of them, how many and their span in the detail, and (`mixed=`) which of credential, address and user
 * agent were not the same for all of them.
 */
export function suppressedRefusalsEntry(pending: SuppressedRefusals, at: Date): AuditInput {
  return {
    ...pending.entry,
    at: at.toISOString(),
    action: 'access.refusals-suppressed',
    target: null,
    outcome: 'refused',
    status: 429,
    detail: `too_many_refusals:suppressed=${pending.count};first=${pending.first};last=${pending.last}${pending.mixed?.length ? `;mixed=${pending.mixed.join(',')}` : ''}`,
  };
}

const keyOf = (tenantId: string, person: string) => `${tenantId}\n${person}`;
/** The accountable person an entry records (kernel/principal.ts personOf): the limiter's key beside the tenant. */
const personIn = (entry: AuditInput) => entry.actor.person ?? entry.actor.subject;

/**
 * Two counts of one person as one; the later one's entry names who and from where, and `mixed` says which of those
 * were not the same for all. Counts are per person, whatever the credential: refusals through a leaked key from
 * one address, then one through her own token from another, were written as one entry naming only the last's
 * token and address, so the log read as if every refusal had come from there (the key and address tried
 * hundreds of times appeared nowhere past the run's first 429).
 */
function merged(earlier: SuppressedRefusals, later: SuppressedRefusals): SuppressedRefusals {
  const a = earlier.entry;
  const b = later.entry;
  const differ = [
    JSON.stringify(a.actor) !== JSON.stringify(b.actor) ? 'actor' : null,
    a.clientIp !== b.clientIp ? 'clientIp' : null,
    a.userAgent !== b.userAgent ? 'userAgent' : null,
  ];
  const mixed = ['actor', 'clientIp', 'userAgent'].filter((f) => earlier.mixed?.includes(f) || later.mixed?.includes(f) || differ.includes(f));
  return {
    count: earlier.count + later.count,
    first: earlier.first < later.first ? earlier.first : later.first,
    last: earlier.last > later.last ? earlier.last : later.last,
    entry: later.entry,
    ...(mixed.length > 0 ? { mixed } : {}),
  };
}

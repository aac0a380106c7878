/**
 * Refused requests are rate-limited per principal (tenant and subject), so one principal's
 * refusals cannot flood its tenant's audit chain. A token bucket: `burst` refusals at once,
 * refilled at `perMinute`. Requests that are served are never limited.
 *
 * Refusals over the limit are answered 429 without an audit entry each: the first one of a run is
 * audited, the rest are counted and written as one `access.refusals-suppressed` entry with the
 * principal's next audited request. In-memory, per instance (an instance's own chain writer is
 * what the flood would contend on).
 */
interface Bucket {
  tokens: number;
  at: number;
  /** In a run of 429s (whose first was audited). */
  limited: boolean;
  /** Refusals answered 429 and not audited. */
  suppressed: number;
}

export type RefusalVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number; first: boolean };

/** Buckets kept before full (idle) ones are dropped: bounds memory under many subjects. */
const MAX_BUCKETS = 10_000;

export class RefusalLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly limits: { burst: number; perMinute: number }) {}

  /** Take one refusal from the principal's bucket at `now`. */
  take(tenantId: string, subject: string, now: Date): RefusalVerdict {
    const key = `${tenantId}\n${subject}`;
    const t = now.getTime();
    const bucket = this.buckets.get(key) ?? { tokens: this.limits.burst, at: t, limited: false, suppressed: 0 };
    bucket.tokens = Math.min(this.limits.burst, bucket.tokens + (Math.max(0, t - bucket.at) * this.limits.perMinute) / 60_000);
    bucket.at = t;
    if (!this.buckets.has(key)) this.remember(key, bucket, t);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      bucket.limited = false;
      return { allowed: true };
    }
    const first = !bucket.limited;
    if (first) bucket.limited = true;
    else bucket.suppressed++;
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(((1 - bucket.tokens) * 60) / this.limits.perMinute)), first };
  }

  /** How many refusals of the principal went unaudited, resetting the count: the caller writes them as one entry. */
  takeSuppressed(tenantId: string, subject: string): number {
    const bucket = this.buckets.get(`${tenantId}\n${subject}`);
    if (!bucket || bucket.suppressed === 0) return 0;
    const n = bucket.suppressed;
    bucket.suppressed = 0;
    return n;
  }

  private remember(key: string, bucket: Bucket, t: number): void {
    if (this.buckets.size >= MAX_BUCKETS) {
      for (const [k, b] of this.buckets) {
        const full = b.tokens + ((t - b.at) * this.limits.perMinute) / 60_000 >= this.limits.burst;
        if (full && b.suppressed === 0) this.buckets.delete(k);
      }
    }
    this.buckets.set(key, bucket);
  }
}

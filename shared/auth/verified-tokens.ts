import { sha256 } from '../ids';

/** How long a verified bearer token is taken as verified without checking its signature again, at most. */
export const VERIFIED_TOKEN_MAX_AGE_MS = 60_000;
/** Bound on the entries kept per instance (oldest dropped first). */
export const VERIFIED_TOKEN_MAX_ENTRIES = 10_000;

/**
 * Bearer tokens this instance has already verified (signature, issuer, audience, expiry), keyed by
 * the token's SHA-256, until the earlier of the token's own `exp` and VERIFIED_TOKEN_MAX_AGE_MS
 * after verification. A signature check costs ~0.7 ms a request; a hit costs a hash. A JWT cannot be
 * revoked before its `exp` anyway (the archive keeps no revocation list), so the cache lets nothing
 * through that verification would refuse; only a JWKS key withdrawn from the issuer is noticed up to
 * 60 s later. Rights are not cached here: they are read from the tenant per request.
 */
export class VerifiedTokens<T> {
  private readonly entries = new Map<string, { value: T; until: number }>();

  constructor(private readonly opts: { maxAgeMs: number; maxEntries: number } = { maxAgeMs: VERIFIED_TOKEN_MAX_AGE_MS, maxEntries: VERIFIED_TOKEN_MAX_ENTRIES }) {}

  /** What was verified for exactly this token, if that is still within its time. */
  get(token: string, nowMs: number): T | undefined {
    const key = sha256(token);
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    if (nowMs >= hit.until) {
      this.entries.delete(key);
      return undefined;
    }
    return hit.value;
  }

  /** Records a token just verified; `expSeconds` is its `exp` claim. */
  set(token: string, value: T, expSeconds: number, nowMs: number): void {
    const until = Math.min(expSeconds * 1000, nowMs + this.opts.maxAgeMs);
    if (until <= nowMs) return;
    if (this.entries.size >= this.opts.maxEntries) {
      for (const [key, entry] of this.entries) if (entry.until <= nowMs) this.entries.delete(key);
      // Still full: drop the oldest (Map keeps insertion order).
      while (this.entries.size >= this.opts.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(sha256(token), { value, until });
  }

  get size(): number {
    return this.entries.size;
  }
}

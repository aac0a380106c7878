import type { SettingsCachePort } from '../../ports';

/** The clock the cache reads (the core's Clock, structurally). */
interface Clock {
  now(): Date;
}

/**
 * Per-instance cache of a tenant's settings records (rights sets, rights assignments, the SoD
 * policy, the retention policy): nearly every request reads them and they rarely change.
 *
 * - An entry lives `ttlMs` at most, absent records (404) included, so a change made on another
 *   instance applies here within that lifetime.
 * - A write through this instance invalidates the entry at once; a read that was in flight when
 *   the entry was invalidated does not put its (possibly older) answer back.
 * - Callers get their own copy: nobody can change what the next request sees.
 * API keys and support grants are never cached (their revocation applies at once).
 */
export class TenantSettingsCache implements SettingsCachePort {
  private readonly entries = new Map<string, { value: unknown; expiresAt: number }>();
  /** Bumped by every invalidation of a key: a read started before it does not store. */
  private readonly generations = new Map<string, number>();
  private clearedAt = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly clock: Clock,
    /** Bounds memory on an instance serving many tenants; the oldest entries go first. */
    private readonly maxEntries = 10_000,
  ) {}

  /** The cached answer for (tenant, id), else `load()`'s, remembered for the lifetime. */
  async get<T>(tenantId: string, id: string, load: () => Promise<T>): Promise<T> {
    if (this.ttlMs <= 0) return load();
    const key = `${tenantId}\n${id}`;
    const now = this.clock.now().getTime();
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > now) return structuredClone(hit.value) as T;
    if (hit) this.entries.delete(key);
    const generation = this.generations.get(key) ?? 0;
    const cleared = this.clearedAt;
    const value = await load();
    if ((this.generations.get(key) ?? 0) === generation && this.clearedAt === cleared) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, { value: structuredClone(value), expiresAt: now + this.ttlMs });
    }
    return value;
  }

  /** Called by every write of the record, before and after it (a read racing the write must not keep the old value). */
  invalidate(tenantId: string, id: string): void {
    const key = `${tenantId}\n${id}`;
    this.entries.delete(key);
    this.generations.set(key, (this.generations.get(key) ?? 0) + 1);
  }

  /** Forget everything (an operator wrote records directly, bypassing this instance). */
  clear(): void {
    this.entries.clear();
    this.clearedAt++;
  }
}

import type { SecretSource } from '../../ports';
import { ChainKeyring, ChainKeyUnavailable, ChainKeyVersion, parseChainKey } from '../../kernel/audit-chain';

/** Listings taken because an unknown version was named: at most one per this. */
const FRESH_LISTING_MIN_MS = 60_000;

/**
 * The audit chain key's versions, from the secret source (README *Rotate the audit chain key*).
 *
 * Key Vault (`versionsOf`): the versions as the vault lists them, listed once per CURRENT_VERSION_TTL_MS (the pepper's
 * 5 minutes) and each value read once and kept (a version never changes): no round trip per request. The current
 * version is the newest created (what Key Vault's getSecret without a version answers); entries that name no version
 * were keyed with the oldest one the vault lists, enabled or not: whoever writes Cosmos DB cannot move that, and a
 * version is never deleted while months keyed with it are kept (a purge is a Key Vault delete, which the runbook rules
 * out). A version disabled (or deleted) is unavailable: what it keyed is reported "key unavailable".
 *
 * Locally (no versions): AUDIT_CHAIN_KEY (or the local host's key file) lists the keys, comma-separated, oldest first;
 * one key is the unnamed version (entries name none, as before rotation existed), several are versions `1`, `2`, …,
 * the last current. No creation times locally: ordering by position only (no `written-after-its-key-was-superseded`).
 */
export class SecretChainKeyring implements ChainKeyring {
  private readonly parsed = new Map<string, Buffer>();
  /** When the versions were last listed because an entry named one not yet seen (ms). */
  private freshAt = -Infinity;

  constructor(private readonly secrets: SecretSource, private readonly name: string, private readonly nowMs: () => number = Date.now) {}

  async current(): Promise<ChainKeyVersion> {
    const all = await this.versions();
    const newest = all.at(-1);
    if (!newest) throw new Error(`secret ${this.name} has no version`);
    if (newest.unavailable) throw new ChainKeyUnavailable(newest.version, `${newest.unavailable}; nothing can be keyed until the newest version of ${this.name} is enabled`);
    return this.valueOf(newest);
  }

  async version(version: string | null): Promise<ChainKeyVersion> {
    let all = await this.versions();
    const find = () => (version === null ? all[0] : all.find((v) => v.version === version));
    // A version created since the last listing (another instance picked it up first): listed again, only then, and at
    // most once a minute: entries planted naming made-up versions cost Key Vault no more than that.
    if (!find() && version !== null && this.secrets.versionsOf && this.nowMs() - this.freshAt >= FRESH_LISTING_MIN_MS) {
      this.freshAt = this.nowMs();
      all = await this.versions(true);
    }
    const found = find();
    if (!found) throw new ChainKeyUnavailable(version, `the secret ${this.name} has no such version`);
    if (found.unavailable) throw new ChainKeyUnavailable(found.version, found.unavailable);
    return this.valueOf(found);
  }

  /** Oldest first, each with the creation time of the next (supersededAt). */
  private async versions(fresh = false): Promise<(Omit<ChainKeyVersion, 'key'> & { unavailable?: string; hex?: string })[]> {
    if (this.secrets.versionsOf) {
      const listed = [...(await this.secrets.versionsOf(this.name, fresh ? { fresh } : {}))].sort((a, b) => a.createdOn - b.createdOn);
      return listed.map((v, i) => ({
        version: v.version,
        rank: v.createdOn,
        ...(listed[i + 1] ? { supersededAt: listed[i + 1]!.createdOn } : {}),
        ...(v.enabled ? {} : { unavailable: 'disabled in Key Vault' }),
      }));
    }
    const keys = splitChainKeys(await this.secrets.get(this.name));
    return keys.map((hex, i) => ({ version: keys.length === 1 ? null : String(i + 1), rank: i, hex }));
  }

  private async valueOf(v: Omit<ChainKeyVersion, 'key'> & { hex?: string }): Promise<ChainKeyVersion> {
    const id = v.version ?? '';
    let key = this.parsed.get(id);
    if (!key) {
      let hex = v.hex;
      if (hex === undefined) {
        try {
          hex = (await this.secrets.versioned(this.name, v.version)).value;
        } catch (err) {
          if ((err as { statusCode?: number }).statusCode === 403 || (err as { statusCode?: number }).statusCode === 404) throw new ChainKeyUnavailable(v.version, err instanceof Error ? err.message : String(err));
          throw err;
        }
      }
      key = parseChainKey(hex);
      if (v.hex === undefined) this.parsed.set(id, key);
    }
    return { version: v.version, key, rank: v.rank, ...(v.supersededAt !== undefined ? { supersededAt: v.supersededAt } : {}) };
  }
}

/** AUDIT_CHAIN_KEY's keys, oldest first (one, or several comma-separated). */
export const splitChainKeys = (value: string): string[] => value.split(',').map((k) => k.trim()).filter((k) => k.length > 0);

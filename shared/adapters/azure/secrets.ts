import { SecretClient } from '@azure/keyvault-secrets';
import type { TokenCredential } from '@azure/identity';
import type { SecretSource, SecretVersionInfo } from '../../ports';
import { parseChainKey } from '../../kernel/audit-chain';
import { ArchiveError } from '../../kernel/errors';
import { splitChainKeys } from './chain-keys';
import { outcomeKey } from '../../kernel/outcome-signature';

/** Shortest API-key pepper accepted, as for API_KEY_PEPPER locally. */
export const MIN_PEPPER_LENGTH = 32;

export class SecretsError extends Error {
  constructor(readonly problems: string[]) {
    super(`Refusing to start: the archive's secrets cannot be used:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SecretsError';
  }
}

/**
 * Fail closed before anything is served: the pepper and the audit chain key are read once and
 * checked, so a missing, empty or weak one stops the archive instead of letting it take documents
 * whose audit entries it cannot chain, or hash API keys with a guessable pepper.
 */
export async function assertUsableSecrets(secrets: SecretSource, names: { pepper: string; chainKey: string; validatorOutcomeKey?: string }): Promise<void> {
  const problems: string[] = [];
  const read = async (name: string): Promise<string | null> => {
    try {
      return await secrets.get(name);
    } catch (err) {
      problems.push(`${name}: cannot be read (${err instanceof Error ? err.message : String(err)})`);
      return null;
    }
  };
  const pepper = await read(names.pepper);
  if (pepper !== null && pepper.trim().length < MIN_PEPPER_LENGTH) problems.push(`${names.pepper}: the API-key pepper must be at least ${MIN_PEPPER_LENGTH} characters`);
  // Every version the archive will key or check with: each enabled one Key Vault lists (a disabled one is reported
  // "key unavailable" where it is named), or each key AUDIT_CHAIN_KEY lists; the current (newest) must be usable.
  if (secrets.versionsOf) {
    try {
      const versions = [...(await secrets.versionsOf(names.chainKey))].sort((a, b) => a.createdOn - b.createdOn);
      if (versions.length === 0) problems.push(`${names.chainKey}: has no version`);
      else if (!versions.at(-1)!.enabled) problems.push(`${names.chainKey}: the newest version (${versions.at(-1)!.version}) is disabled; nothing could be keyed`);
      for (const v of versions.filter((x) => x.enabled)) {
        try {
          parseChainKey((await secrets.versioned(names.chainKey, v.version)).value);
        } catch (err) {
          problems.push(`${names.chainKey} version ${v.version}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    } catch (err) {
      problems.push(`${names.chainKey}: its versions cannot be listed (${err instanceof Error ? err.message : String(err)})`);
    }
  } else {
    const chainKey = await read(names.chainKey);
    if (chainKey !== null) {
      const keys = splitChainKeys(chainKey);
      if (keys.length === 0) problems.push(`${names.chainKey}: the audit chain key must be at least 32 bytes, hex-encoded`);
      keys.forEach((k, i) => {
        try {
          parseChainKey(k);
        } catch (err) {
          problems.push(`${names.chainKey}${keys.length > 1 ? ` key ${i + 1}` : ''}: ${err instanceof Error ? err.message : String(err)}`);
        }
      });
    }
  }
  // The app that records the Java validator's outcomes (Azure, the main app): without the key it shares with the
  // validator it could check none, and every outcome would go to the poison queue.
  if (names.validatorOutcomeKey) {
    const key = await read(names.validatorOutcomeKey);
    if (key !== null) {
      try {
        outcomeKey(key);
      } catch (err) {
        problems.push(`${names.validatorOutcomeKey}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
  if (problems.length > 0) throw new SecretsError(problems);
}

/** How long the current version of a versioned secret (the pepper) is taken as current: a rotation reaches new keys within it. */
export const CURRENT_VERSION_TTL_MS = 5 * 60_000;

/** After a listing of a secret's versions failed, how long the last listing serves before the vault is asked again. */
export const LISTING_RETRY_MS = 30_000;

/** What the source reads of Key Vault (the SDK's SecretClient). */
type SecretReader = Pick<SecretClient, 'getSecret' | 'listPropertiesOfSecretVersions'>;

/**
 * Key Vault, read once per secret name and kept in memory. A versioned
 * secret (the API-key pepper; its current version must be one, at least MIN_PEPPER_LENGTH characters) is read per version, kept for good (a version never changes), and its current version
 * looked up again every CURRENT_VERSION_TTL_MS: each key records the version it was hashed with, so a rotation leaves
 * every key verifying on every instance, and keys minted since use the new pepper. The audit chain key's versions are
 * listed (`versionsOf`) on the same schedule (chain-keys.ts).
 */
export class KeyVaultSecretSource implements SecretSource {
  private readonly client: SecretReader;
  private readonly cache = new Map<string, Promise<string>>();
  private readonly versions = new Map<string, Promise<string>>();
  private readonly current = new Map<string, { at: number; read: Promise<{ value: string; version: string | null }> }>();
  private readonly listed = new Map<string, { at: number; read: Promise<SecretVersionInfo[]> }>();
  /** The last listing the vault answered, per secret: served while it cannot be listed again. */
  private readonly lastListed = new Map<string, SecretVersionInfo[]>();

  constructor(vaultUrl: string, credential: TokenCredential, private readonly nowMs: () => number = Date.now) {
    this.client = new SecretClient(vaultUrl, credential);
  }

  get(name: string): Promise<string> {
    return cached(this.cache, name, () => this.read(name).then((s) => s.value));
  }

  versioned(name: string, version?: string | null): Promise<{ value: string; version: string | null }> {
    if (version) return cached(this.versions, `${name}/${version}`, () => this.read(name, version).then((s) => s.value)).then((value) => ({ value, version }));
    const known = this.current.get(name);
    if (known && this.nowMs() - known.at < CURRENT_VERSION_TTL_MS) return known.read;
    const read = this.read(name).then((s) => {
      // The current version hashes every key minted from now on: checked as at start-up (assertUsableSecrets), or a
      // rotation to a placeholder would pepper new keys with it. Refused, and not kept: put right, it is taken next time.
      if (s.value.trim().length < MIN_PEPPER_LENGTH) throw new Error(`Key Vault secret ${name} version ${s.version ?? '(current)'}: the API-key pepper must be at least ${MIN_PEPPER_LENGTH} characters; keys are not minted with it`);
      // Seeds the version's own entry: the keys hashed now verify without another read.
      if (s.version) this.versions.set(`${name}/${s.version}`, Promise.resolve(s.value));
      return s;
    });
    const entry = { at: this.nowMs(), read };
    // A failed read is not kept (only this one: a newer lookup may have replaced it meanwhile).
    read.catch(() => this.current.get(name) === entry && this.current.delete(name));
    this.current.set(name, entry);
    return read;
  }

  /**
   * The versions of a secret (the audit chain key's keyring, chain-keys.ts), listed again every CURRENT_VERSION_TTL_MS.
   * Once listed, a listing that fails (the vault out of reach, throttling) serves the last one and is tried again after
   * LISTING_RETRY_MS: not kept, every audited request, seal and kept blob listed again, failed 503, and kept the vault
   * throttling, where the chain key read once served before it could be rotated.
   */
  versionsOf(name: string, opts: { fresh?: boolean } = {}): Promise<SecretVersionInfo[]> {
    const known = this.listed.get(name);
    if (known && !opts.fresh && this.nowMs() - known.at < CURRENT_VERSION_TTL_MS) return known.read;
    const last = this.lastListed.get(name);
    const read = (async () => {
      const out: SecretVersionInfo[] = [];
      try {
        for await (const p of this.client.listPropertiesOfSecretVersions(name)) {
          // A version without an id or a creation time is none the vault made: left out.
          if (p.version && p.createdOn) out.push({ version: p.version, createdOn: p.createdOn.getTime(), enabled: p.enabled !== false });
        }
      } catch (cause) {
        if ((cause as { statusCode?: number }).statusCode === 404) throw cause;
        throw new ArchiveError('dependency_unavailable', { detail: 'The key vault cannot be read right now; try again shortly.', cause, retryAfterSeconds: 30 });
      }
      this.lastListed.set(name, out);
      return out;
    })();
    const entry = {
      at: this.nowMs(),
      read: last
        ? read.catch((err) => {
            if (!(err instanceof ArchiveError)) throw err;
            entry.at = this.nowMs() - CURRENT_VERSION_TTL_MS + LISTING_RETRY_MS;
            return last;
          })
        : read,
    };
    entry.read.catch(() => this.listed.get(name) === entry && this.listed.delete(name));
    this.listed.set(name, entry);
    return entry.read;
  }

  private async read(name: string, version?: string): Promise<{ value: string; version: string | null }> {
    let s: Awaited<ReturnType<SecretReader['getSecret']>>;
    try {
      s = await this.client.getSecret(name, version ? { version } : {});
    } catch (cause) {
      // The vault out of reach (or throttling) is passing: a 503 the client retries, not a 500. A secret or
      // version it does not have is a misconfiguration an operator must see, and stays an error.
      if ((cause as { statusCode?: number }).statusCode === 404) throw cause;
      throw new ArchiveError('dependency_unavailable', { detail: 'The key vault cannot be read right now; try again shortly.', cause, retryAfterSeconds: 30 });
    }
    if (!s.value) throw new Error(`Key Vault secret ${name}${version ? ` version ${version}` : ''} has no value`);
    return { value: s.value, version: s.properties.version ?? null };
  }
}

/** One read per key, shared by concurrent callers; a failed read is not kept, so the next request tries again. */
function cached(cache: Map<string, Promise<string>>, key: string, read: () => Promise<string>): Promise<string> {
  let value = cache.get(key);
  if (!value) {
    value = read();
    value.catch(() => cache.delete(key));
    cache.set(key, value);
  }
  return value;
}

/** Local host: secrets straight from config. */
export class StaticSecretSource implements SecretSource {
  constructor(private readonly secrets: Record<string, string>) {}

  async get(name: string): Promise<string> {
    const value = this.secrets[name];
    if (value === undefined) throw new Error(`secret ${name} is not configured`);
    return value;
  }

  /** One value per name, no versions: a version asked for (a key hashed in Azure) is not here. */
  async versioned(name: string, version?: string | null): Promise<{ value: string; version: string | null }> {
    if (version) throw new Error(`secret ${name} has no version ${version} here (the local host keeps one value per secret)`);
    return { value: await this.get(name), version: null };
  }
}

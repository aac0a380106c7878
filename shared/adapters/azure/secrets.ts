import { SecretClient } from '@azure/keyvault-secrets';
import type { TokenCredential } from '@azure/identity';
import type { SecretSource } from '../../ports';
import { parseChainKey } from '../../kernel/audit-chain';
import { ArchiveError } from '../../kernel/errors';

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
export async function assertUsableSecrets(secrets: SecretSource, names: { pepper: string; chainKey: string }): Promise<void> {
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
  const chainKey = await read(names.chainKey);
  if (chainKey !== null) {
    try {
      parseChainKey(chainKey);
    } catch (err) {
      problems.push(`${names.chainKey}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (problems.length > 0) throw new SecretsError(problems);
}

/** How long the current version of a versioned secret (the pepper) is taken as current: a rotation reaches new keys within it. */
export const CURRENT_VERSION_TTL_MS = 5 * 60_000;

/** What the source reads of Key Vault (the SDK's SecretClient). */
type SecretReader = Pick<SecretClient, 'getSecret'>;

/**
 * Key Vault, read once per secret name and kept in memory (the audit chain key is not rotated in place). A versioned
 * secret (the API-key pepper; its current version must be one, at least MIN_PEPPER_LENGTH characters) is read per version, kept for good (a version never changes), and its current version
 * looked up again every CURRENT_VERSION_TTL_MS: each key records the version it was hashed with, so a rotation leaves
 * every key verifying on every instance, and keys minted since use the new pepper.
 */
export class KeyVaultSecretSource implements SecretSource {
  private readonly client: SecretReader;
  private readonly cache = new Map<string, Promise<string>>();
  private readonly versions = new Map<string, Promise<string>>();
  private readonly current = new Map<string, { at: number; read: Promise<{ value: string; version: string | null }> }>();

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

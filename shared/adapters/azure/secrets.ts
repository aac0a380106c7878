import { SecretClient } from '@azure/keyvault-secrets';
import type { TokenCredential } from '@azure/identity';
import type { SecretSource } from '../../ports';
import { parseChainKey } from '../../kernel/audit-chain';

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

/** Key Vault, read once per secret name and kept in memory (a pepper is not rotated in place). */
export class KeyVaultSecretSource implements SecretSource {
  private readonly client: SecretClient;
  private readonly cache = new Map<string, Promise<string>>();

  constructor(vaultUrl: string, credential: TokenCredential) {
    this.client = new SecretClient(vaultUrl, credential);
  }

  get(name: string): Promise<string> {
    let value = this.cache.get(name);
    if (!value) {
      value = this.client.getSecret(name).then((s) => {
        if (!s.value) throw new Error(`Key Vault secret ${name} has no value`);
        return s.value;
      });
      // A failed read is not cached: the next request tries again.
      value.catch(() => this.cache.delete(name));
      this.cache.set(name, value);
    }
    return value;
  }
}

/** Local host: secrets straight from config. */
export class StaticSecretSource implements SecretSource {
  constructor(private readonly secrets: Record<string, string>) {}

  async get(name: string): Promise<string> {
    const value = this.secrets[name];
    if (value === undefined) throw new Error(`secret ${name} is not configured`);
    return value;
  }
}

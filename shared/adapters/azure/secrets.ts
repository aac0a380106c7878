import { SecretClient } from '@azure/keyvault-secrets';
import type { TokenCredential } from '@azure/identity';
import type { SecretSource } from '../../ports';

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

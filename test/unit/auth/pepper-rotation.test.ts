import type { TokenCredential } from '@azure/identity';
import { ArchiveError } from '../../../shared/kernel/errors';
import { statusOf } from '../../../shared/http/problem';
import { KeyVaultSecretSource } from '../../../shared/adapters/azure/secrets';
import { createApiKey } from '../../../shared/auth/api-keys/create-api-key';
import { verifyApiKey } from '../../../shared/auth/api-keys/verify-api-key';
import type { ApiKeyDeps } from '../../../shared/auth/api-keys/api-key';
import type { KeySealDeps } from '../../../shared/auth/api-keys/key-seal';
import { inMemoryDeps } from '../../support/in-memory';

/** Key Vault's secret versions of one name, newest last, as getSecret answers them. */
class FakeVault {
  readonly versions: { version: string; value: string }[] = [];
  rotate(value: string): void {
    this.versions.push({ version: `v${this.versions.length + 1}`, value });
  }
  async getSecret(name: string, opts: { version?: string } = {}) {
    const found = opts.version ? this.versions.find((v) => v.version === opts.version) : this.versions[this.versions.length - 1];
    if (!found) throw Object.assign(new Error(`SecretNotFound: ${name} ${opts.version ?? ''}`), { statusCode: 404 }); // as the SDK's RestError
    return { name, value: found.value, properties: { name, version: found.version } };
  }
}

let nowMs = Date.parse('2026-03-01T09:00:00Z');

/** An app instance's secret source, reading the vault from the time it starts. */
function instance(vault: FakeVault): KeyVaultSecretSource {
  const source = new KeyVaultSecretSource('https://archive-kv.vault.azure.net', {} as TokenCredential, () => nowMs);
  (source as unknown as { client: FakeVault }).client = vault;
  return source;
}

it('rotating the pepper in Key Vault: every key, minted before or after and on any instance, keeps verifying everywhere', async () => {
  const base = inMemoryDeps();
  const vault = new FakeVault();
  vault.rotate('p'.repeat(48));
  const on = (secrets: KeyVaultSecretSource): ApiKeyDeps & KeySealDeps & { config: { ARCHIVE_MAX_API_KEYS: number } } => ({ tenantRecords: base.tenantRecords, audit: base.audit, log: base.log, secrets, config: { API_KEY_PEPPER_SECRET_NAME: 'api-key-pepper', ARCHIVE_MAX_API_KEYS: 1000 } });
  const mint = (deps: ApiKeyDeps & KeySealDeps & { config: { ARCHIVE_MAX_API_KEYS: number } }) =>
    createApiKey({ tenantId: 'acme', name: 'k', rightsSet: 'uploader', expiresAt: new Date(base.clock.now().getTime() + 86_400_000), createdBy: { subject: 'ann', kind: 'user', person: 'ann' }, ceiling: ['documents:write'], personPermissions: ['documents:write'], now: base.clock.now() }, deps);
  const warm = on(instance(vault));
  const before = await mint(warm);
  vault.rotate('q'.repeat(48));
  // Fifteen minutes on, the instance that was running then mints another key; one started since checks both.
  nowMs += 15 * 60_000;
  const after = await mint(warm);
  expect([before.record.hash.pepperVersion, after.record.hash.pepperVersion]).toEqual(['v1', 'v2']);
  const fresh = on(instance(vault));
  for (const deps of [warm, fresh]) {
    for (const { key } of [before, after]) expect((await verifyApiKey(key, base.clock.now(), deps)).refusal).toBeNull();
  }
  // No pepper, no check: a version the vault does not have is an error, never an unpeppered hash.
  vault.versions.splice(0);
  await expect(verifyApiKey(before.key, base.clock.now(), on(instance(vault)))).rejects.toThrow(/SecretNotFound/);
});

it('a Key Vault that cannot be reached while an API key is checked is a 503 dependency_unavailable with Retry-After, not a 500; a version it does not have stays an error', async () => {
  const base = inMemoryDeps();
  const vault = new FakeVault();
  vault.rotate('p'.repeat(48));
  const deps = (secrets: KeyVaultSecretSource): ApiKeyDeps & KeySealDeps & { config: { ARCHIVE_MAX_API_KEYS: number } } => ({ tenantRecords: base.tenantRecords, audit: base.audit, log: base.log, secrets, config: { API_KEY_PEPPER_SECRET_NAME: 'api-key-pepper', ARCHIVE_MAX_API_KEYS: 1000 } });
  const { key } = await createApiKey({ tenantId: 'acme', name: 'k', rightsSet: 'uploader', expiresAt: new Date(base.clock.now().getTime() + 86_400_000), createdBy: { subject: 'ann', kind: 'user', person: 'ann' }, ceiling: ['documents:write'], personPermissions: ['documents:write'], now: base.clock.now() }, deps(instance(vault)));
  const down = instance(vault);
  (down as unknown as { client: Pick<FakeVault, 'getSecret'> }).client = { getSecret: () => Promise.reject(Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' })) };
  const refusal = await verifyApiKey(key, base.clock.now(), deps(down)).catch((e: unknown) => e);
  expect(refusal).toBeInstanceOf(ArchiveError);
  expect(refusal).toMatchObject({ code: 'dependency_unavailable', retryAfterSeconds: 30 });
  expect(statusOf((refusal as ArchiveError).code)).toBe(503);
  const gone = instance(vault);
  (gone as unknown as { client: Pick<FakeVault, 'getSecret'> }).client = { getSecret: () => Promise.reject(Object.assign(new Error('SecretNotFound'), { statusCode: 404 })) };
  await expect(verifyApiKey(key, base.clock.now(), deps(gone))).rejects.toThrow(/SecretNotFound/);
});

import { createApiKey } from '../../../shared/auth/api-keys/create-api-key';
import { verifyApiKey } from '../../../shared/auth/api-keys/verify-api-key';
import { VerifiedTokens } from '../../../shared/auth/verified-tokens';
import { inMemoryDeps } from '../../support/in-memory';

/** Deps whose pepper reads are counted: every scrypt check reads it once. */
function counted() {
  const deps = inMemoryDeps();
  let hashes = 0;
  const secrets = { get: (name: string) => (hashes++, deps.secrets.get(name)) };
  return { deps: { ...deps, secrets }, hashes: () => hashes };
}

const mint = (deps: ReturnType<typeof inMemoryDeps>) =>
  createApiKey({ tenantId: 'acme', name: 'k', rightsSet: 'uploader', expiresAt: new Date('2026-01-01T00:00:00Z'), createdBy: { subject: 'ann', kind: 'user', person: 'ann' }, ceiling: ['documents:write'], personPermissions: ['documents:write'], now: deps.clock.now() }, deps);

it('a key id that does not exist is refused without a scrypt check (garbage keys cannot keep the thread pool busy)', async () => {
  const { deps, hashes } = counted();
  const garbage = `arch_acme_${'0'.repeat(24)}_${'A'.repeat(43)}`;
  await expect(verifyApiKey(garbage, deps.clock.now(), deps)).rejects.toMatchObject({ code: 'unauthenticated' });
  expect(hashes()).toBe(0);
});

it('a wrong secret for an existing key is refused after the check; a verified key is not hashed again while its record keeps that hash', async () => {
  const { deps, hashes } = counted();
  const { key } = await mint(deps);
  const minted = hashes(); // minting hashes the secret too
  const wrong = key.slice(0, -43) + 'B'.repeat(43);
  const verified = new VerifiedTokens<string>({ maxAgeMs: 600_000, maxEntries: 10 });
  await expect(verifyApiKey(wrong, deps.clock.now(), deps, verified)).rejects.toMatchObject({ code: 'unauthenticated' });
  expect(hashes() - minted).toBe(1);
  await verifyApiKey(key, deps.clock.now(), deps, verified);
  await verifyApiKey(key, deps.clock.now(), deps, verified);
  expect(hashes() - minted).toBe(2);
  // The wrong secret is still checked, and still refused, every time.
  await expect(verifyApiKey(wrong, deps.clock.now(), deps, verified)).rejects.toMatchObject({ code: 'unauthenticated' });
  expect(hashes() - minted).toBe(3);
});

it('revocation applies at once, verified secret or not', async () => {
  const { deps } = counted();
  const { key, record } = await mint(deps);
  const verified = new VerifiedTokens<string>({ maxAgeMs: 600_000, maxEntries: 10 });
  await verifyApiKey(key, deps.clock.now(), deps, verified);
  const stored = (await deps.tenantRecords.get<typeof record>('acme', record.id, 'api-key'))!;
  await deps.tenantRecords.replace({ ...stored.value, revokedAt: deps.clock.now().toISOString() }, stored.etag);
  const { refusal } = await verifyApiKey(key, deps.clock.now(), deps, verified);
  expect(refusal).toMatchObject({ code: 'unauthenticated', detail: 'The API key has been revoked.' });
});

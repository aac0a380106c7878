import { createApiKey } from '../../../shared/auth/api-keys/create-api-key';
import { checkSource, SECRET_CHECK_LIMITS, verifyApiKey } from '../../../shared/auth/api-keys/verify-api-key';
import { RefusalLimiter } from '../../../shared/auth/refusal-limiter';
import { FakeClock } from '../../support/fake-clock';
import { VerifiedTokens } from '../../../shared/auth/verified-tokens';
import { inMemoryDeps } from '../../support/in-memory';
import type { SecretSource } from '../../../shared/ports';

/** Deps whose pepper reads are counted: every scrypt check reads it once. */
function counted() {
  const deps = inMemoryDeps();
  let hashes = 0;
  const secrets: SecretSource = { get: (name) => deps.secrets.get(name), versioned: (name, version) => (hashes++, deps.secrets.versioned(name, version)) };
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

it('a wrong secret for an existing key is refused after the check (with the key, to audit under); a verified key is not hashed again while its record keeps that hash', async () => {
  const { deps, hashes } = counted();
  const { key, record } = await mint(deps);
  const minted = hashes(); // minting hashes the secret too
  const wrong = key.slice(0, -43) + 'B'.repeat(43);
  const verified = new VerifiedTokens<string>({ maxAgeMs: 600_000, maxEntries: 10 });
  const refused = await verifyApiKey(wrong, deps.clock.now(), deps, verified);
  expect(refused.key.keyId).toBe(record.keyId);
  expect(refused.refusal).toMatchObject({ code: 'unauthenticated', detail: 'The API key is not valid for this archive.' });
  expect(hashes() - minted).toBe(1);
  expect((await verifyApiKey(key, deps.clock.now(), deps, verified)).refusal).toBeNull();
  await verifyApiKey(key, deps.clock.now(), deps, verified);
  expect(hashes() - minted).toBe(2);
  // The wrong secret is still checked, and still refused, every time.
  expect((await verifyApiKey(wrong, deps.clock.now(), deps, verified)).refusal).toMatchObject({ code: 'unauthenticated' });
  expect(hashes() - minted).toBe(3);
});

it('secret checks of one key are limited per source address: guessing gets 429 without a check, the client app elsewhere still gets in', async () => {
  const { deps, hashes } = counted();
  const { key } = await mint(deps);
  const wrong = key.slice(0, -43) + 'B'.repeat(43);
  const limiter = new RefusalLimiter(SECRET_CHECK_LIMITS);
  const from = (ip: string) => ({ limiter, source: checkSource(ip) });
  const before = hashes();
  for (let i = 0; i < SECRET_CHECK_LIMITS.burst; i++) expect((await verifyApiKey(wrong, deps.clock.now(), deps, undefined, from('203.0.113.9'))).refusal?.code).toBe('unauthenticated');
  expect(hashes() - before).toBe(SECRET_CHECK_LIMITS.burst);
  // The guesser's next try, even with the right secret, is not checked.
  const limited = await verifyApiKey(key, deps.clock.now(), deps, undefined, from('203.0.113.9'));
  expect(limited.refusal).toMatchObject({ code: 'too_many_refusals', retryAfterSeconds: expect.any(Number) });
  expect(hashes() - before).toBe(SECRET_CHECK_LIMITS.burst);
  // The client app at its own address is checked and let in.
  expect((await verifyApiKey(key, deps.clock.now(), deps, undefined, from('198.51.100.7'))).refusal).toBeNull();
  // A minute later the guesser may try again.
  (deps.clock as FakeClock).advance(60_000);
  expect((await verifyApiKey(key, deps.clock.now(), deps, undefined, from('203.0.113.9'))).refusal).toBeNull();
});

it('an IPv6 source counts by its /64, an IPv4-mapped one as IPv4', () => {
  expect(checkSource('2001:db8:0:12:aaaa::1')).toBe('2001:db8:0:12::/64');
  expect(checkSource('2001:db8:0:12:bbbb:cccc:dddd:eeee')).toBe('2001:db8:0:12::/64');
  expect(checkSource('2001:db8::1')).toBe('2001:db8:0:0::/64');
  expect(checkSource('::1')).toBe('0:0:0:0::/64');
  expect(checkSource('::ffff:192.0.2.4')).toBe('192.0.2.4');
  expect(checkSource('192.0.2.4')).toBe('192.0.2.4');
  expect(checkSource(null)).toBe('unknown');
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

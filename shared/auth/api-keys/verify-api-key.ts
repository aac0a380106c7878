import { timingSafeEqual } from 'node:crypto';
import type { ArchiveError } from '../../kernel/errors';
import { TENANT_ID } from '../../kernel/principal';
import { API_KEY_PATTERN, ApiKeyDeps, ApiKeyRecord, apiKeyRecordId, hashSecret, invalidKey } from './api-key';
import { VerifiedTokens } from '../verified-tokens';

/** Refresh `lastUsedAt` at most this often, so a busy key is not one write per request. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** How long a key this instance has verified skips the scrypt check on its next requests, at most. */
export const VERIFIED_KEY_MAX_AGE_MS = 10 * 60_000;

/**
 * The key record for a presented key, or 401. Revocation and expiry are read from Cosmos on
 * every request, so they take effect at once. The secret is checked with scrypt (~25 ms of a
 * libuv thread), and only against a key that exists: key ids are 96 random bits, so answering an
 * unknown one at once tells a caller nothing, and garbage keys cost no scrypt (they had kept the
 * thread pool, which also serves spooling and zlib, busy at ~40 requests a second). A key this
 * instance verified lately (`verified`: the presented key's SHA-256 and the record's hash) is not
 * hashed again while the record keeps that hash.
 * A key whose secret matches but that is revoked or expired comes back with its `refusal` (401):
 * the caller is known, so the attempt is audited under the key's tenant and person.
 */
export async function verifyApiKey(presented: string, now: Date, deps: ApiKeyDeps, verified?: VerifiedTokens<string>): Promise<{ key: ApiKeyRecord; refusal: ArchiveError | null }> {
  const m = API_KEY_PATTERN.exec(presented);
  const [, tenantId, keyId, secret] = m ?? [];
  if (tenantId === undefined || keyId === undefined || secret === undefined || !TENANT_ID.test(tenantId)) throw invalidKey();
  const found = await deps.tenantRecords.get<ApiKeyRecord>(tenantId, apiKeyRecordId(keyId), 'api-key');
  if (!found) throw invalidKey();
  const key = found.value;
  if (verified?.get(presented, now.getTime()) !== key.hash.value) {
    const computed = await hashSecret(deps, secret, Buffer.from(key.hash.salt, 'base64'), key.hash, key.hash.pepper ?? deps.config.API_KEY_PEPPER_SECRET_NAME);
    const stored = Buffer.from(key.hash.value, 'base64');
    if (stored.length !== computed.length || !timingSafeEqual(stored, computed)) throw invalidKey();
    verified?.set(presented, key.hash.value, Date.parse(key.expiresAt) / 1000, now.getTime());
  }
  if (key.revokedAt) return { key, refusal: invalidKey('The API key has been revoked.') };
  if (Date.parse(key.expiresAt) <= now.getTime()) return { key, refusal: invalidKey('The API key has expired.') };
  if (!key.lastUsedAt || now.getTime() - Date.parse(key.lastUsedAt) >= LAST_USED_RESOLUTION_MS) {
    // IfMatch: a concurrent revoke wins; losing a last-used stamp is harmless.
    await deps.tenantRecords.replace({ ...key, lastUsedAt: now.toISOString() }, found.etag);
  }
  return { key, refusal: null };
}

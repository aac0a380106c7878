import { timingSafeEqual } from 'node:crypto';
import { TENANT_ID } from '../../kernel/principal';
import { API_KEY_PATTERN, ApiKeyDeps, ApiKeyRecord, apiKeyRecordId, hashSecret, invalidKey, SCRYPT } from './api-key';

/** Refresh `lastUsedAt` at most this often, so a busy key is not one write per request. */
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * The key record for a presented key, or 401. Revocation and expiry are read from Cosmos on
 * every request, so they take effect at once.
 */
export async function verifyApiKey(presented: string, now: Date, deps: ApiKeyDeps): Promise<ApiKeyRecord> {
  const m = API_KEY_PATTERN.exec(presented);
  const [, tenantId, keyId, secret] = m ?? [];
  if (tenantId === undefined || keyId === undefined || secret === undefined || !TENANT_ID.test(tenantId)) throw invalidKey();
  const found = await deps.tenantRecords.get<ApiKeyRecord>(tenantId, apiKeyRecordId(keyId), 'api-key');
  const h = found?.value.hash;
  // Hash even for an unknown id, so a miss costs what a hit costs.
  const salt = Buffer.from(h?.salt ?? 'AAAAAAAAAAAAAAAAAAAAAA==', 'base64');
  const computed = await hashSecret(deps, secret, salt, h ?? SCRYPT, h?.pepper ?? deps.config.API_KEY_PEPPER_SECRET_NAME);
  const stored = h ? Buffer.from(h.value, 'base64') : Buffer.alloc(computed.length);
  const match = stored.length === computed.length && timingSafeEqual(stored, computed);
  if (!found || !match) throw invalidKey();
  const key = found.value;
  if (key.revokedAt) throw invalidKey('The API key has been revoked.');
  if (Date.parse(key.expiresAt) <= now.getTime()) throw invalidKey('The API key has expired.');
  if (!key.lastUsedAt || now.getTime() - Date.parse(key.lastUsedAt) >= LAST_USED_RESOLUTION_MS) {
    // IfMatch: a concurrent revoke wins; losing a last-used stamp is harmless.
    await deps.tenantRecords.replace({ ...key, lastUsedAt: now.toISOString() }, found.etag);
  }
  return key;
}

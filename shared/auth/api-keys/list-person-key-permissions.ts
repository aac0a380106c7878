import { type Permission, personOf } from '../../kernel/principal';
import { rightsSetPermissions } from '../rights-sets/rights-set-permissions';
import type { ApiKeyRecord } from './api-key';
import { keyReader, withKeyPerson } from './verify-api-key';
import type { KeySealDeps } from './key-seal';

/**
 * What a person holds through their API keys now (unrevoked, unexpired, each capped to its
 * ceiling): for person-level rules, a person's keys count as their credentials.
 */
export async function listPersonKeyPermissions(tenantId: string, person: string, now: Date, deps: KeySealDeps): Promise<Set<Permission>> {
  const held = new Set<Permission>();
  // Only the keys in use, as many as the tenant may have: never the revoked and expired ones it piled up.
  const inUse = await deps.tenantRecords.apiKeysInUse<ApiKeyRecord>(tenantId, now.toISOString());
  const byId = new Map(inUse.map((k) => [k.keyId, k] as const));
  const pointRead = keyReader(tenantId, deps);
  // A key minted through a key before persons were kept names only that key as its maker (`apikey:<id>`, no person):
  // grouped by `personOf(createdBy)` it was nobody's, and its person held retention:approve through it unseen
  // (approver-lowers-safeguards). Its person is read up the chain as everywhere else (withKeyPerson); a key above not
  // in use is read as stored, so the key still counts as its person's.
  const read = (keyId: string) => Promise.resolve(byId.get(keyId)).then((k) => k ?? pointRead(keyId));
  for (const k of inUse) {
    if (personOf(await withKeyPerson(k.createdBy, read)) !== person) continue;
    const permissions = (await rightsSetPermissions(tenantId, k.rightsSet, deps)) ?? [];
    for (const p of permissions) if (!k.ceiling || k.ceiling.includes(p)) held.add(p);
  }
  return held;
}

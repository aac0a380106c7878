import { type Permission, personOf } from '../../kernel/principal';
import type { TenantRecordsPort } from '../../ports';
import { rightsSetPermissions } from '../rights-sets/rights-set-permissions';
import type { ApiKeyRecord } from './api-key';

/**
 * What a person holds through their API keys now (unrevoked, unexpired, each capped to its
 * ceiling): for person-level rules, a person's keys count as their credentials.
 */
export async function listPersonKeyPermissions(tenantId: string, person: string, now: Date, deps: { tenantRecords: TenantRecordsPort }): Promise<Set<Permission>> {
  const held = new Set<Permission>();
  // Only the keys in use, as many as the tenant may have: never the revoked and expired ones it piled up.
  for (const k of await deps.tenantRecords.apiKeysInUse<ApiKeyRecord>(tenantId, now.toISOString())) {
    if (personOf(k.createdBy) !== person) continue;
    const permissions = (await rightsSetPermissions(tenantId, k.rightsSet, deps)) ?? [];
    for (const p of permissions) if (!k.ceiling || k.ceiling.includes(p)) held.add(p);
  }
  return held;
}

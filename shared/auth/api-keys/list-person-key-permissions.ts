import { type Permission, personOf } from '../../kernel/principal';
import type { TenantRecordsPort } from '../../ports';
import { rightsSetPermissions } from '../rights-sets/rights-set-permissions';
import { isKeyInUse } from './api-key';
import { listApiKeys } from './list-api-keys';

/**
 * What a person holds through their API keys now (unrevoked, unexpired, each capped to its
 * ceiling): for person-level rules, a person's keys count as their credentials.
 */
export async function listPersonKeyPermissions(tenantId: string, person: string, now: Date, deps: { tenantRecords: TenantRecordsPort }): Promise<Set<Permission>> {
  const held = new Set<Permission>();
  for (const k of await listApiKeys(tenantId, deps)) {
    if (!isKeyInUse(k, now) || personOf(k.createdBy) !== person) continue;
    const permissions = (await rightsSetPermissions(tenantId, k.rightsSet, deps)) ?? [];
    for (const p of permissions) if (!k.ceiling || k.ceiling.includes(p)) held.add(p);
  }
  return held;
}

import { BUILT_IN_RIGHTS_SETS, Permission } from '../../kernel/principal';
import type { TenantRecordsPort } from '../../ports';
import { isBuiltIn, permissionsOf, RightsSetRecord, rightsSetRecordId } from './rights-records';

/** Built-in template or the tenant's own set; null when neither exists. `fresh`: as stored, past the settings cache. */
export async function rightsSetPermissions(tenantId: string, name: string, deps: { tenantRecords: TenantRecordsPort }, opts: { fresh?: boolean } = {}): Promise<Permission[] | null> {
  if (isBuiltIn(name)) return [...BUILT_IN_RIGHTS_SETS[name]!];
  const set = await deps.tenantRecords.get<RightsSetRecord>(tenantId, rightsSetRecordId(name), 'rights-set', opts);
  return set ? permissionsOf(set.value) : null;
}

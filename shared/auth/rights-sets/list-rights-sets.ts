import { BUILT_IN_RIGHTS_SETS, Permission } from '../../kernel/principal';
import type { TenantRecordsPort } from '../../ports';
import { permissionsOf, type RightsSetRecord, rightsSetETag } from './rights-records';

/** The built-in templates, then the tenant's own sets by name, each with its version (for If-Match on a change). */
export async function listRightsSets(tenantId: string, deps: { tenantRecords: TenantRecordsPort }): Promise<{ name: string; builtIn: boolean; permissions: Permission[]; version?: string }[]> {
  const own = await deps.tenantRecords.list<RightsSetRecord>(tenantId, 'rights-set');
  return [
    ...Object.entries(BUILT_IN_RIGHTS_SETS).map(([name, permissions]) => ({ name, builtIn: true, permissions: [...permissions] })),
    ...own.sort((a, b) => a.name.localeCompare(b.name)).map((s) => ({ name: s.name, builtIn: false, permissions: permissionsOf(s), version: rightsSetETag(s) })),
  ];
}

import type { TenantRecordsPort } from '../../ports';
import type { SupportGrantRecord } from './support-grant';

/** The tenant's grants, newest first. */
export async function listSupportGrants(tenantId: string, deps: { tenantRecords: TenantRecordsPort }): Promise<SupportGrantRecord[]> {
  return (await deps.tenantRecords.list<SupportGrantRecord>(tenantId, 'support-grant')).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

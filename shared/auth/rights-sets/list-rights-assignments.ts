import type { TenantRecordsPort } from '../../ports';
import type { RightsAssignmentRecord } from './rights-records';

export async function listRightsAssignments(tenantId: string, deps: { tenantRecords: TenantRecordsPort }): Promise<RightsAssignmentRecord[]> {
  return (await deps.tenantRecords.list<RightsAssignmentRecord>(tenantId, 'rights-assignment')).sort((a, b) => a.subject.localeCompare(b.subject));
}

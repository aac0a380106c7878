import type { TenantRecordsPort } from '../../ports';
import { RightsAssignmentRecord, rightsAssignmentRecordId } from './rights-records';

export async function findRightsAssignment(tenantId: string, subject: string, deps: { tenantRecords: TenantRecordsPort }): Promise<RightsAssignmentRecord | null> {
  return (await deps.tenantRecords.get<RightsAssignmentRecord>(tenantId, rightsAssignmentRecordId(subject), 'rights-assignment'))?.value ?? null;
}

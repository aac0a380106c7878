import type { TenantRecordsPort } from '../../ports';
import { RightsAssignmentRecord, rightsAssignmentRecordId } from './rights-records';

export async function findRightsAssignment(tenantId: string, subject: string, deps: { tenantRecords: TenantRecordsPort }, opts: { fresh?: boolean } = {}): Promise<RightsAssignmentRecord | null> {
  return (await deps.tenantRecords.get<RightsAssignmentRecord>(tenantId, rightsAssignmentRecordId(subject), 'rights-assignment', opts))?.value ?? null;
}

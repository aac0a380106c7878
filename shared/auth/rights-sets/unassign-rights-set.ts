import { ArchiveError } from '../../kernel/errors';
import type { Principal } from '../../kernel/principal';
import type { TenantRecordsPort } from '../../ports';
import { sodRefusal } from '../sod';
import { isSelf, rightsAssignmentRecordId } from './rights-records';

export async function unassignRightsSet(principal: Principal, subject: string, deps: { tenantRecords: TenantRecordsPort }): Promise<void> {
  if (isSelf(principal, subject)) throw sodRefusal('self-assignment');
  if (!(await deps.tenantRecords.delete(principal.tenantId, rightsAssignmentRecordId(subject)))) throw new ArchiveError('rights_assignment_not_found');
}

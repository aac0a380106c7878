import { ArchiveError } from '../../kernel/errors';
import type { AuditStaging } from '../../kernel/audit';
import { writeWithAuditEntry } from '../../audit/outbox';
import type { Principal } from '../../kernel/principal';
import type { TenantRecordsPort } from '../../ports';
import { sodRefusal } from '../sod';
import { isSelf, rightsAssignmentRecordId } from './rights-records';

export async function unassignRightsSet(principal: Principal, subject: string, deps: { tenantRecords: TenantRecordsPort }, audit?: AuditStaging): Promise<void> {
  if (isSelf(principal, subject)) throw sodRefusal('self-assignment');
  const found = await writeWithAuditEntry(audit, {}, (outbox) => deps.tenantRecords.delete(principal.tenantId, rightsAssignmentRecordId(subject), outbox), (gone) => gone);
  if (!found) throw new ArchiveError('rights_assignment_not_found');
}

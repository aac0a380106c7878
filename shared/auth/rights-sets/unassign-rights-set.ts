import { ArchiveError } from '../../kernel/errors';
import type { AuditStaging } from '../../kernel/audit';
import { writeWithAuditEntry } from '../../audit/outbox';
import type { Principal } from '../../kernel/principal';
import type { TenantRecordsPort } from '../../ports';
import { sodRefusal } from '../sod';
import { actor, isSelf, rightsAssignmentRecordId, type RightsUnassignmentRecord, rightsUnassignmentRecordId } from './rights-records';

/**
 * Removes a subject's rights assignment, never one's own. Who removed it, and when, is kept first (a
 * record of its own, replaced by the next removal): four eyes ask it, since without the assignment the
 * subject may act with their claimed rights. A crash between the two writes only keeps the trace.
 */
export async function unassignRightsSet(principal: Principal, subject: string, now: Date, deps: { tenantRecords: TenantRecordsPort }, audit?: AuditStaging): Promise<void> {
  if (isSelf(principal, subject)) throw sodRefusal('self-assignment');
  if (!(await deps.tenantRecords.get(principal.tenantId, rightsAssignmentRecordId(subject), 'rights-assignment', { fresh: true }))) throw new ArchiveError('rights_assignment_not_found');
  const trace: RightsUnassignmentRecord = { id: rightsUnassignmentRecordId(subject), tenantId: principal.tenantId, type: 'rights-unassignment', subject, unassignedAt: now.toISOString(), unassignedBy: actor(principal) };
  await deps.tenantRecords.upsert(trace);
  const found = await writeWithAuditEntry(audit, {}, (outbox) => deps.tenantRecords.delete(principal.tenantId, rightsAssignmentRecordId(subject), outbox), (gone) => gone);
  if (!found) throw new ArchiveError('rights_assignment_not_found');
}

import { ArchiveError } from '../../kernel/errors';
import type { AuditStaging } from '../../kernel/audit';
import { writeWithAuditEntry } from '../../audit/outbox';
import type { Principal } from '../../kernel/principal';
import type { TenantRecordsPort } from '../../ports';
import { sodRefusal } from '../sod';
import { actor, assignmentGivings, carriedGivings, isSelf, type RightsAssignmentRecord, rightsAssignmentRecordId, type RightsUnassignmentRecord, rightsUnassignmentRecordId } from './rights-records';

/**
 * Removes a subject's rights assignment, never one's own. Who removed it, and when, is kept first (a
 * record of its own, replaced by the next removal): four eyes ask it, since without the assignment the
 * subject may act with their claimed rights. A crash between the two writes only keeps the trace.
 */
export async function unassignRightsSet(principal: Principal, subject: string, now: Date, deps: { tenantRecords: TenantRecordsPort }, audit?: AuditStaging): Promise<void> {
  if (isSelf(principal, subject)) throw sodRefusal('self-assignment');
  const [assigned, previous] = await Promise.all([
    deps.tenantRecords.get<RightsAssignmentRecord>(principal.tenantId, rightsAssignmentRecordId(subject), 'rights-assignment', { fresh: true }),
    deps.tenantRecords.get<RightsUnassignmentRecord>(principal.tenantId, rightsUnassignmentRecordId(subject), 'rights-unassignment', { fresh: true }),
  ]);
  if (!assigned) throw new ArchiveError('rights_assignment_not_found');
  // The trace keeps who gave the subject rights through the assignment removed, and the removal it replaces
  // (rights-records.ts `carriedGivings`): four eyes follow a chain of givers through them.
  const carried = carriedGivings([...(await assignmentGivings(principal.tenantId, assigned.value, deps)), ...(previous ? [{ giving: { at: previous.value.unassignedAt, by: previous.value.unassignedBy }, record: previous.value }] : [])]);
  const trace: RightsUnassignmentRecord = { id: rightsUnassignmentRecordId(subject), tenantId: principal.tenantId, type: 'rights-unassignment', subject, unassignedAt: now.toISOString(), unassignedBy: actor(principal), ...carried };
  await deps.tenantRecords.upsert(trace);
  const found = await writeWithAuditEntry(audit, {}, (outbox) => deps.tenantRecords.delete(principal.tenantId, rightsAssignmentRecordId(subject), outbox), (gone) => gone);
  if (!found) throw new ArchiveError('rights_assignment_not_found');
}

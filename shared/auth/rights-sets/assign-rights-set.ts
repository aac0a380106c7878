import { ArchiveError } from '../../kernel/errors';
import type { AuditStaging } from '../../kernel/audit';
import { writeWithAuditEntry } from '../../audit/outbox';
import type { Principal } from '../../kernel/principal';
import type { TenantRecordsPort } from '../../ports';
import type { TenantRights } from '../rights';
import { assertNoConflict, assertWithinCeiling, sodRefusal } from '../sod';
import { actor, isSelf, RightsAssignmentRecord, rightsAssignmentRecordId } from './rights-records';
import { rightsSetPermissions } from './rights-set-permissions';

/** Gives a subject a rights set (replacing the one it had): never to oneself, never beyond what the assigner holds. */
export async function assignRightsSet(principal: Principal, subject: string, rightsSet: string, now: Date, deps: { tenantRecords: TenantRecordsPort; rights: Pick<TenantRights, 'policy'> }, audit?: AuditStaging): Promise<RightsAssignmentRecord> {
  if (isSelf(principal, subject)) throw sodRefusal('self-assignment');
  // As stored, not a cached copy: the subject gets the set as it is, so the ceiling is judged on that.
  const permissions = await rightsSetPermissions(principal.tenantId, rightsSet, deps, { fresh: true });
  if (!permissions) throw new ArchiveError('rights_set_not_found', { detail: `The tenant has no rights set ${rightsSet}.` });
  assertNoConflict(permissions, await deps.rights.policy(principal.tenantId), { rightsSet });
  assertWithinCeiling(principal, permissions, { rightsSet });
  const record: RightsAssignmentRecord = { id: rightsAssignmentRecordId(subject), tenantId: principal.tenantId, type: 'rights-assignment', subject, rightsSet, assignedAt: now.toISOString(), assignedBy: actor(principal) };
  await writeWithAuditEntry(audit, {}, (outbox) => deps.tenantRecords.upsert(record, outbox), () => true);
  return record;
}

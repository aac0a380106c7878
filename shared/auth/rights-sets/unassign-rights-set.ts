import { ArchiveError } from '../../kernel/errors';
import type { AuditStaging } from '../../kernel/audit';
import { writeWithAuditEntry } from '../../audit/outbox';
import type { Principal } from '../../kernel/principal';
import type { TenantRecordsPort } from '../../ports';
import type { Config } from '../../config';
import { lastClaimedRightsSet } from '../claimed-rights';
import { assertWithinCeiling, sodRefusal } from '../sod';
import { rightsSetPermissions } from './rights-set-permissions';
import { actor, assignmentGivings, carriedGivings, isSelf, type RightsAssignmentRecord, rightsAssignmentRecordId, type RightsUnassignmentRecord, rightsUnassignmentRecordId } from './rights-records';

/**
 * Removes a subject's rights assignment, never one's own. Who removed it, and when, is kept first (a
 * record of its own, replaced by the next removal): four eyes ask it, since without the assignment the
 * subject may act with their claimed rights. A crash between the two writes only keeps the trace.
 */
export async function unassignRightsSet(principal: Principal, subject: string, now: Date, deps: { tenantRecords: TenantRecordsPort; config: { readonly AUTH_RIGHTS_SOURCE?: Config['AUTH_RIGHTS_SOURCE']; readonly [setting: string]: unknown } }, audit?: AuditStaging): Promise<void> {
  if (isSelf(principal, subject)) throw sodRefusal('self-assignment');
  const [assigned, previous] = await Promise.all([
    deps.tenantRecords.get<RightsAssignmentRecord>(principal.tenantId, rightsAssignmentRecordId(subject), 'rights-assignment', { fresh: true }),
    deps.tenantRecords.get<RightsUnassignmentRecord>(principal.tenantId, rightsUnassignmentRecordId(subject), 'rights-unassignment', { fresh: true }),
  ]);
  if (!assigned) throw new ArchiveError('rights_assignment_not_found');
  // The configured source (the loader's default, tenant-then-claim, when a caller's settings do not say).
  if ((deps.config.AUTH_RIGHTS_SOURCE ?? 'tenant-then-claim') === 'tenant-then-claim') await assertMayHandBackToClaim(principal, subject, deps);
  // The trace keeps who gave the subject rights through the assignment removed, and the removal it replaces
  // (rights-records.ts `carriedGivings`): four eyes follow a chain of givers through them.
  const carried = carriedGivings([...(await assignmentGivings(principal.tenantId, assigned.value, deps)), ...(previous ? [{ giving: { at: previous.value.unassignedAt, by: previous.value.unassignedBy }, record: previous.value }] : [])]);
  const trace: RightsUnassignmentRecord = { id: rightsUnassignmentRecordId(subject), tenantId: principal.tenantId, type: 'rights-unassignment', subject, unassignedAt: now.toISOString(), unassignedBy: actor(principal), ...carried };
  await deps.tenantRecords.upsert(trace);
  const found = await writeWithAuditEntry(audit, {}, (outbox) => deps.tenantRecords.delete(principal.tenantId, rightsAssignmentRecordId(subject), outbox), (gone) => gone);
  if (!found) throw new ArchiveError('rights_assignment_not_found');
}

/**
 * Without the assignment the subject acts with the set their identity provider's claim names: the remover must hold
 * every permission of the one they last signed in with (rule `rights-ceiling`), as they must to assign it. A subject
 * who never signed in with a recorded claim: unknown until they do, and not refused (README says so).
 */
async function assertMayHandBackToClaim(principal: Principal, subject: string, deps: { tenantRecords: TenantRecordsPort }): Promise<void> {
  const claimed = await lastClaimedRightsSet(principal.tenantId, subject, deps);
  if (!claimed) return;
  const permissions = (await rightsSetPermissions(principal.tenantId, claimed, deps, { fresh: true })) ?? [];
  assertWithinCeiling(principal, permissions, { subject, claimedRightsSet: claimed });
}

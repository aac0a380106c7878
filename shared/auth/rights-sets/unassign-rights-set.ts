import { ArchiveError } from '../../kernel/errors';
import type { AuditStaging } from '../../kernel/audit';
import { writeWithAuditEntry } from '../../audit/outbox';
import type { Principal } from '../../kernel/principal';
import type { AuditLogPort, BlobArchivePort, TenantRecordsPort } from '../../ports';
import { assertWithinCeiling, sodRefusal } from '../sod';
import type { Config } from '../../config';
import { CHANGED, withFreshReads } from '../../kernel/concurrency';
import { claimedPermissions, assertWithinFloor, heldPermissions } from './rights-floor';
import { keepSetting, keptRevisionDetail, nextRevision, removalAudited, type SettingsBlobs, type SettingsKeeping } from './settings-blobs';
import { actor, assignmentGivings, carriedGivings, isSelf, liftCeiling, type RightsAssignmentRecord, rightsAssignmentRecordId, type RightsUnassignmentRecord, rightsUnassignmentRecordId } from './rights-records';

/**
 * Removes a subject's rights assignment, never one's own. Who removed it, and when, is kept first (a
 * record of its own, replaced by the next removal): four eyes ask it, since without the assignment the
 * subject may act with their claimed rights. For the same reason, where rights come from the tenant, then
 * the claim, the remover must hold what every placer of the assignment held (rights-records.ts `liftCeiling`),
 * and the assignment is deleted only as judged: one replaced meanwhile is judged again. A crash between the two
 * writes only keeps the trace.
 */
export async function unassignRightsSet(principal: Principal, subject: string, now: Date, deps: { tenantRecords: TenantRecordsPort; config: { readonly AUTH_RIGHTS_SOURCE?: Config['AUTH_RIGHTS_SOURCE']; readonly [setting: string]: unknown }; blobs: SettingsBlobs & Pick<BlobArchivePort, 'listedBlobs'>; audit: SettingsKeeping['audit'] & Pick<AuditLogPort, 'list'> ; log: SettingsKeeping['log']}, audit?: AuditStaging): Promise<void> {
  if (isSelf(principal, subject)) throw sodRefusal('self-assignment');
  /** The removal's audit entry names the subject (as DELETE /rights-assignments/{subject} does). */
  const removalTarget = `subject:${subject}`;
  const removal = await withFreshReads('The rights assignment', async () => {
    const [assigned, previous] = await Promise.all([
      deps.tenantRecords.get<RightsAssignmentRecord>(principal.tenantId, rightsAssignmentRecordId(subject), 'rights-assignment', { fresh: true }),
      deps.tenantRecords.get<RightsUnassignmentRecord>(principal.tenantId, rightsUnassignmentRecordId(subject), 'rights-unassignment', { fresh: true }),
    ]);
    if (!assigned) {
      // A removal whose blob write failed after the record's (answered 500) is kept when the removal is sent again: a
      // restore of Cosmos DB to before it would give the assignment back (settings-blobs.ts). Create-only: one kept stands.
      // Only a removal the audit log holds (settings-blobs.ts removalAudited): the trace is whatever Cosmos DB holds.
      if (previous && (await removalAudited(deps.audit, principal.tenantId, { target: removalTarget, action: 'rights-assignment.delete' }, previous.value.unassignedAt, previous.value.revision, now))) await keepRemoval(previous.value);
      throw new ArchiveError('rights_assignment_not_found');
    }
    // Rights only from the tenant: removing an assignment takes rights away, never gives any.
    if ((deps.config.AUTH_RIGHTS_SOURCE ?? 'tenant-then-claim') === 'tenant-then-claim') assertWithinCeiling(principal, liftCeiling(assigned.value), { subject });
    // And it takes away what the assignment gave beyond the claim (all of it, rights from the tenant only): never a
    // tenant-admin's power the remover lacks (rights-floor.ts).
    const floorDeps = { ...deps, clock: { now: () => now } };
    assertWithinFloor(principal, await heldPermissions(principal.tenantId, subject, assigned.value, floorDeps), await claimedPermissions(principal.tenantId, subject, floorDeps), { subject });
    // The trace keeps who gave the subject rights through the assignment removed, and the removal it replaces
    // (rights-records.ts `carriedGivings`): four eyes follow a chain of givers through them.
    const carried = carriedGivings([...(await assignmentGivings(principal.tenantId, assigned.value, deps)), ...(previous ? [{ giving: { at: previous.value.unassignedAt, by: previous.value.unassignedBy }, record: previous.value }] : [])]);
    const trace: RightsUnassignmentRecord = { id: rightsUnassignmentRecordId(subject), tenantId: principal.tenantId, type: 'rights-unassignment', subject, unassignedAt: now.toISOString(), unassignedBy: actor(principal), ...carried, revision: nextRevision(assigned.value.revision, now) };
    await deps.tenantRecords.upsert(trace);
    const deleted = await writeWithAuditEntry(audit, { target: removalTarget, detail: keptRevisionDetail(trace.revision!, trace) }, (outbox) => deps.tenantRecords.delete(principal.tenantId, rightsAssignmentRecordId(subject), outbox, assigned.etag), (gone) => gone);
    // Not deleted: gone (another removal), or replaced since it was read (judged again on the new version).
    return deleted ? trace : CHANGED;
  });
  // Kept in storage too, after the removal: a restore of Cosmos DB to before it gives the assignment back (settings-blobs.ts).
  await keepRemoval(removal);

  function keepRemoval(trace: RightsUnassignmentRecord): Promise<void> {
    return keepSetting({ tenantId: principal.tenantId, recordId: rightsAssignmentRecordId(subject), type: 'rights-assignment', revision: trace.revision!, at: trace.unassignedAt, record: null, trace }, deps);
  }
}

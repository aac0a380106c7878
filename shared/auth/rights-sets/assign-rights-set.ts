import { randomUUID } from 'node:crypto';
import { ArchiveError } from '../../kernel/errors';
import { CHANGED } from '../../kernel/concurrency';
import type { AuditStaging } from '../../kernel/audit';
import { writeWithAuditEntry } from '../../audit/outbox';
import type { Principal } from '../../kernel/principal';
import type { BlobArchivePort, TenantRecordsPort, TenantRecordWrite } from '../../ports';
import { gateMoved, underRightsGate } from '../rights-gate';
import type { TenantRights } from '../rights';
import type { Config } from '../../config';
import { assertNoConflict, assertWithinCeiling, sodRefusal } from '../sod';
import { assertWithinTenantLimit } from '../tenant-limits';
import { actor, assignmentGivings, carriedGivings, isBuiltIn, isSelf, permissionsOf, placedWithAfter, RightsAssignmentRecord, rightsAssignmentETag, rightsAssignmentRecordId, type RightsSetRecord, rightsSetRecordId, type RightsUnassignmentRecord, rightsUnassignmentRecordId } from './rights-records';
import { keepSetting, keptRevisionDetail, nextRevision, type SettingsBlobs, type SettingsKeeping } from './settings-blobs';
import { assertWithinFloor, heldBeforeFloor } from './rights-floor';
import { rightsSetPermissions } from './rights-set-permissions';
import { madeThroughKey } from '../api-keys/api-key';
import { assertAsSeen, type ScreenPrecondition, screenPrecondition } from './screen-precondition';

/** The If-Match / If-None-Match of a `PUT /rights-assignments/{subject}`, read as screen-precondition.ts reads them. */
export const rightsAssignmentPrecondition = (ifMatch: string | null, ifNoneMatch: string | null): ScreenPrecondition | null =>
  screenPrecondition({ tag: 'rights-assignment', what: 'rights assignment', listedBy: 'GET /rights-assignments' }, ifMatch, ifNoneMatch);

/**
 * 412 unless the subject's assignment as stored is the one the caller saw (`precondition`); nothing is written. An
 * assignment replaces the one the subject held: without it, an admin giving bob `auditor` took his `archivist` away
 * unawares, and a screen read before another admin's assignment wrote over it.
 */
function assertAssignmentPrecondition(subject: string, current: RightsAssignmentRecord | undefined, precondition: ScreenPrecondition | null): void {
  const by = (c: RightsAssignmentRecord) => `${c.assignedBy.subject} at ${c.assignedAt}`;
  assertAsSeen(precondition, current, rightsAssignmentETag, {
    exists: (c) => ({ detail: `${subject} holds the rights set ${c.rightsSet} (assigned by ${by(c)}): nothing was changed. Assigning another replaces it: read the assignments again and replace it knowingly.`, extensions: { subject, rightsSet: c.rightsSet } }),
    gone: () => ({ detail: `The assignment of ${subject} was removed since it was read: nothing was changed.`, extensions: { subject } }),
    changed: (c) => ({ detail: `The assignment of ${subject} was changed since it was read, by ${by(c)} (now ${c.rightsSet}): nothing was changed. Read it again and decide on what it is now.`, extensions: { subject, rightsSet: c.rightsSet } }),
  });
}

/**
 * Gives a subject a rights set (replacing the one it had): never to oneself, never beyond what the assigner holds.
 * A tenant's own set is rewritten as judged, in the assignment's batch: a deletion of the set that found no holder
 * before this assignment existed fails its conditional delete (and finds it on a second look), and a set deleted or
 * changed after it was judged here is judged again. Both used to succeed, leaving an assignment to no set, which
 * whoever created a set of that name later would have filled without assigning anyone. The batch also moves the
 * tenant's rights gate, read before the set and the SoD policy: a policy changed meanwhile is judged against this
 * assignment (a built-in set held from now on), or this assignment against that policy, never neither.
 */
export async function assignRightsSet(principal: Principal, subject: string, rightsSet: string, now: Date, deps: { tenantRecords: TenantRecordsPort; rights: Pick<TenantRights, 'policy'>; config: { ARCHIVE_MAX_RIGHTS_ASSIGNMENTS: number; readonly AUTH_RIGHTS_SOURCE?: Config['AUTH_RIGHTS_SOURCE'] }; blobs: SettingsBlobs & Pick<BlobArchivePort, 'listedBlobs'>; audit: SettingsKeeping['audit'] ; log: SettingsKeeping['log']}, audit?: AuditStaging, precondition: ScreenPrecondition | null = null): Promise<RightsAssignmentRecord> {
  // A key's subject (`apikey:<id>`) is no person: no token may carry it and a key acts with its own rights set, so
  // nothing reads such an assignment. It was stored all the same, and counted as rights given (sod.ts) to nobody.
  if (madeThroughKey({ subject, kind: 'user' })) throw new ArchiveError('bad_request', { detail: `${subject} names an API key, not a person: a key acts with the rights set it was minted on, never with an assignment.`, extensions: { errors: [{ path: 'subject', message: 'must name a person, not an API key' }] } });
  if (isSelf(principal, subject)) throw sodRefusal('self-assignment');
  const record = await underRightsGate('The rights set', principal.tenantId, deps, async (gate) => {
    // As stored, not a cached copy: the subject gets the set as it is, so the ceiling is judged on that.
    const stored = isBuiltIn(rightsSet) ? null : await deps.tenantRecords.get<RightsSetRecord>(principal.tenantId, rightsSetRecordId(rightsSet), 'rights-set', { fresh: true });
    const permissions = stored ? permissionsOf(stored.value) : await rightsSetPermissions(principal.tenantId, rightsSet, deps, { fresh: true });
    if (!permissions) throw new ArchiveError('rights_set_not_found', { detail: `The tenant has no rights set ${rightsSet}.` });
    assertNoConflict(permissions, await deps.rights.policy(principal.tenantId, { fresh: true }), { rightsSet });
    assertWithinCeiling(principal, permissions, { rightsSet });
    // A subject need not exist anywhere: without a cap, assignments to made-up names piled up without bound, and every
    // SoD policy check and listing of the tenant reads them all. Counted under the gate, as keys and sets are.
    const assigned = await deps.tenantRecords.get<RightsAssignmentRecord>(principal.tenantId, rightsAssignmentRecordId(subject), 'rights-assignment', { fresh: true });
    assertAssignmentPrecondition(subject, assigned?.value, precondition);
    // Replacing takes away what the subject held (rights-floor.ts): never a tenant-admin's power the assigner lacks.
    assertWithinFloor(principal, await heldBeforeFloor(principal.tenantId, subject, assigned?.value ?? null, { ...deps, clock: { now: () => now } }), permissions, { subject });
    if (!assigned) assertWithinTenantLimit('rights-assignments', await deps.tenantRecords.countRightsAssignments(principal.tenantId), deps.config.ARCHIVE_MAX_RIGHTS_ASSIGNMENTS);
    // The assignment replaced keeps its givers for four eyes (rights-records.ts `carriedGivings`).
    const carried = assigned ? carriedGivings(await assignmentGivings(principal.tenantId, assigned.value, deps)) : {};
    // Newer than the subject's last removal too (its trace keeps its revision): storage keeps both (settings-blobs.ts).
    const removed = assigned ? null : await deps.tenantRecords.get<RightsUnassignmentRecord>(principal.tenantId, rightsUnassignmentRecordId(subject), 'rights-unassignment', { fresh: true });
    const revision = nextRevision(assigned ? assigned.value.revision : removed?.value.revision, now);
    const record: RightsAssignmentRecord = { id: rightsAssignmentRecordId(subject), tenantId: principal.tenantId, type: 'rights-assignment', subject, rightsSet, assignedAt: now.toISOString(), assignedBy: actor(principal), placedWith: placedWithAfter(principal, assigned?.value ?? null), version: randomUUID(), revision, ...carried };
    // A built-in template is never deleted nor changed: nothing of it to rewrite.
    const writes: TenantRecordWrite[] = [gateMoved(gate, record.id), ...(stored ? [{ op: 'replace' as const, record: stored.value, ifMatch: stored.etag }] : []), { op: 'upsert', record }];
    // The assignment is replaced by the next one: the chain keeps which set the subject held from now on.
    const written = await writeWithAuditEntry(audit, { detail: `rights-set=${rightsSet};${keptRevisionDetail(revision, record)}` }, (outbox) => deps.tenantRecords.batch(principal.tenantId, writes, outbox), (w) => w === 'written');
    return written === 'written' ? record : CHANGED;
  });
  // Kept in storage too, after the record's write: a restore of Cosmos DB to before it gives back the one replaced (settings-blobs.ts).
  await keepSetting({ tenantId: principal.tenantId, recordId: record.id, type: 'rights-assignment', revision: record.revision!, at: record.assignedAt, record }, deps);
  return record;
}

import { ArchiveError } from '../../kernel/errors';
import { CHANGED } from '../../kernel/concurrency';
import type { AuditStaging } from '../../kernel/audit';
import { writeWithAuditEntry } from '../../audit/outbox';
import { type Principal, personHoldsSet } from '../../kernel/principal';
import type { AuditLogPort, TenantRecordsPort } from '../../ports';
import type { Clock } from '../../clock';
import { listKeyRightsSets } from '../api-keys/list-key-rights-sets';
import { gateMoved, underRightsGate } from '../rights-gate';
import { sodRefusal } from '../sod';
import { assertWithinFloor } from './rights-floor';
import { keepSetting, keptRevisionDetail, nextRevision, removalAudited, type SettingsBlobs, type SettingsKeeping } from './settings-blobs';
import { actor, carriedGivings, isBuiltIn, permissionsOf, RightsAssignmentRecord, type RightsSetDeletedRecord, rightsSetDeletedRecordId, RightsSetRecord, rightsSetRecordId, setGiving } from './rights-records';

/**
 * Only a set nobody holds (no assignment, no key in use) may go, and only by someone holding the tenant-admin powers it
 * gives (the rights floor: people may hold it through their identity provider's claim). Deleted only as it was when nobody held it:
 * an assignment written since rewrote the set in its batch (assign-rights-set.ts), so the delete fails and the
 * holders are looked for again. The deletion moves the tenant's rights gate too, like every write of a set.
 */
export async function deleteRightsSet(principal: Principal, name: string, deps: { tenantRecords: TenantRecordsPort; clock: Clock; blobs: SettingsBlobs; audit: SettingsKeeping['audit'] & Pick<AuditLogPort, 'list'> ; log: SettingsKeeping['log']}, audit?: AuditStaging): Promise<void> {
  if (isBuiltIn(name)) throw new ArchiveError('rights_set_reserved', { detail: `${name} is a built-in template.` });
  if (personHoldsSet(principal, name)) throw sodRefusal('own-rights');
  const id = rightsSetRecordId(name);
  /** The deletion's audit entry names the set (as DELETE /rights-sets/{name} does). */
  const deletionTarget = `rights-set:${name}`;
  const trace = await underRightsGate('The rights set', principal.tenantId, deps, async (gate) => {
    const found = await deps.tenantRecords.get<RightsSetRecord>(principal.tenantId, id, 'rights-set', { fresh: true });
    if (!found) {
      // A deletion whose blob write failed after the record's (answered 500) is kept when it is sent again: a restore of
      // Cosmos DB to before it would give the set back (settings-blobs.ts). Create-only: one kept stands.
      const deleted = await deps.tenantRecords.get<RightsSetDeletedRecord>(principal.tenantId, rightsSetDeletedRecordId(name), 'rights-set-deleted', { fresh: true });
      // Only a deletion the audit log holds (settings-blobs.ts removalAudited): the trace is whatever Cosmos DB holds.
      if (deleted && (await removalAudited(deps.audit, principal.tenantId, { target: deletionTarget, action: 'rights-set.delete' }, deleted.value.deletedAt, deleted.value.revision, deps.clock.now()))) await keepDeletion(deleted.value);
      throw new ArchiveError('rights_set_not_found');
    }
    // Deleting takes all the set gives from whoever claims it in their identity provider's token (no holding the check
    // below sees), and a set made again under the name starts from nothing, so no floor judges it: judged here as a
    // narrowing to nothing (rights-floor.ts), never a tenant-admin's power the deleter lacks.
    assertWithinFloor(principal, permissionsOf(found.value), [], { rightsSet: name });
    const assigned = await deps.tenantRecords.list<RightsAssignmentRecord>(principal.tenantId, 'rights-assignment', 'c.rightsSet = @n', [{ name: '@n', value: name }]);
    if (assigned.length > 0 || (await listKeyRightsSets(principal.tenantId, deps.clock.now(), deps)).includes(name)) {
      throw new ArchiveError('rights_set_in_use', { detail: 'Reassign the users and revoke the API keys that hold this set first.' });
    }
    // Who widened it stays, in the batch (rights-records.ts `RightsSetDeletedRecord`): a chain of givers through a person
    // who claimed it is not cut by deleting it.
    const now = deps.clock.now();
    const removal: RightsSetDeletedRecord = { id: rightsSetDeletedRecordId(name), tenantId: principal.tenantId, type: 'rights-set-deleted', name, deletedAt: now.toISOString(), deletedBy: actor(principal), ...carriedGivings([{ giving: setGiving(found.value), record: found.value }]), revision: nextRevision(found.value.revision, now) };
    const deleted = await writeWithAuditEntry(audit, { target: deletionTarget, detail: keptRevisionDetail(removal.revision!, removal) }, (outbox) => deps.tenantRecords.batch(principal.tenantId, [gateMoved(gate, id), { op: 'delete', id, ifMatch: found.etag }, { op: 'upsert', record: removal }], outbox), (w) => w === 'written');
    return deleted === 'written' ? removal : CHANGED;
  });
  // Kept in storage too, after the deletion: a restore of Cosmos DB to before it gives back the set (settings-blobs.ts).
  await keepDeletion(trace);

  function keepDeletion(removal: RightsSetDeletedRecord): Promise<void> {
    return keepSetting({ tenantId: principal.tenantId, recordId: id, type: 'rights-set', revision: removal.revision!, at: removal.deletedAt, record: null, trace: removal }, deps);
  }
}

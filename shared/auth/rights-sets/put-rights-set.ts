import { randomUUID } from 'node:crypto';
import { ArchiveError } from '../../kernel/errors';
import { CHANGED } from '../../kernel/concurrency';
import type { AuditStaging } from '../../kernel/audit';
import { writeWithAuditEntry } from '../../audit/outbox';
import { type Permission, type Principal, personHoldsSet } from '../../kernel/principal';
import type { TenantRecordsPort, TenantRecordWrite } from '../../ports';
import { gateMoved, underRightsGate } from '../rights-gate';
import type { TenantRights } from '../rights';
import { assertNoConflict, assertWithinCeiling, sodRefusal } from '../sod';
import { assertWithinTenantLimit } from '../tenant-limits';
import { assertWithinFloor } from './rights-floor';
import { assertAsSeen, type ScreenPrecondition, screenPrecondition } from './screen-precondition';
import { keepSetting, keptRevisionDetail, nextRevision, type SettingsBlobs, type SettingsKeeping } from './settings-blobs';
import { actor, carriedGivings, isBuiltIn, permissionsOf, type RightsSetDeletedRecord, rightsSetDeletedRecordId, RightsSetRecord, rightsSetETag, rightsSetRecordId, setGiving } from './rights-records';

/** What the caller saw of the set before the change (screen-precondition.ts). */
export type RightsSetPrecondition = ScreenPrecondition;

/** The If-Match / If-None-Match of a `PUT /rights-sets/{name}`, read as screen-precondition.ts reads them. */
export const rightsSetPrecondition = (ifMatch: string | null, ifNoneMatch: string | null): RightsSetPrecondition | null =>
  screenPrecondition({ tag: 'rights-set', what: 'rights set', listedBy: 'GET /rights-sets' }, ifMatch, ifNoneMatch);

/** 412 unless the set as stored is the one the caller saw (`precondition`); nothing is written. */
function assertPrecondition(name: string, current: RightsSetRecord | undefined, precondition: RightsSetPrecondition | null): void {
  const by = (c: RightsSetRecord) => `${c.updatedBy.person ?? c.updatedBy.subject} at ${c.updatedAt}`;
  assertAsSeen(precondition, current, rightsSetETag, {
    exists: (c) => ({ detail: `A rights set named ${name} exists already (last changed by ${by(c)}): nothing was changed. Edit that set, or choose another name.` }),
    gone: () => ({ detail: `The rights set ${name} was deleted since it was read: nothing was changed.` }),
    changed: (c) => ({ detail: `The rights set ${name} was changed since it was read, by ${by(c)}: nothing was changed. Read it again and make the change on what it holds now.` }),
  });
}

/**
 * Create or replace a tenant rights set. What is added is judged against the set as stored, and the
 * set is written only over that version: a decision on an older copy (another instance's cached read,
 * a change in between) is taken again, so nobody puts back a permission another admin just removed
 * unless they hold it themselves. It is judged on the SoD policy as stored after passing the tenant's
 * rights gate, and moves the gate in its batch: a policy tightened meanwhile (judged on the set before
 * this change) makes it be judged again, on that policy. A new set is refused (tenant_limit_reached) while the tenant
 * has ARCHIVE_MAX_RIGHTS_SETS of its own, counted after the gate is read from a list (never cached), which also tells
 * whether the name exists: replacing a set never is. Of two new sets written at once into the last room, the second
 * finds the gate moved, counts again and is refused.
 */
export async function putRightsSet(principal: Principal, name: string, permissions: Permission[], now: Date, deps: { tenantRecords: TenantRecordsPort; rights: Pick<TenantRights, 'policy'>; config: { ARCHIVE_MAX_RIGHTS_SETS: number }; blobs: SettingsBlobs; audit: SettingsKeeping['audit'] ; log: SettingsKeeping['log']}, audit?: AuditStaging, precondition: RightsSetPrecondition | null = null): Promise<RightsSetRecord> {
  if (isBuiltIn(name)) throw new ArchiveError('rights_set_reserved', { detail: `${name} is a built-in template; define a set under another name.` });
  if (personHoldsSet(principal, name)) throw sodRefusal('own-rights');
  const unique = [...new Set(permissions)].sort();
  const id = rightsSetRecordId(name);
  const record = await underRightsGate('The rights set', principal.tenantId, deps, async (gate) => {
    const own = (await deps.tenantRecords.list<RightsSetRecord>(principal.tenantId, 'rights-set')).filter((s) => !isBuiltIn(s.name));
    if (!own.some((s) => s.id === id)) assertWithinTenantLimit('rights-sets', own.length, deps.config.ARCHIVE_MAX_RIGHTS_SETS);
    const [policy, current] = await Promise.all([deps.rights.policy(principal.tenantId, { fresh: true }), deps.tenantRecords.get<RightsSetRecord>(principal.tenantId, id, 'rights-set')]);
    // A save from a screen that read an older version (or no set at all, for a new one) would put back what another
    // person removed meanwhile, or give a set someone else made under this name to its holders: refused.
    assertPrecondition(name, current?.value, precondition);
    // Whoever holds the set (by assignment, key or token claim) gains what is added: only what the editor holds may be.
    assertNoConflict(unique, policy, { rightsSet: name });
    const before = current ? permissionsOf(current.value) : [];
    const added = unique.filter((p) => !before.includes(p));
    assertWithinCeiling(principal, added, { rightsSet: name });
    // Whoever holds it loses what is removed: never a tenant-admin's power the editor lacks (rights-floor.ts).
    assertWithinFloor(principal, before, unique, { rightsSet: name });
    const by = actor(principal);
    // Who last gave the set's holders a right, for four eyes; a change that only removes keeps the earlier one.
    const widened = !current || added.length > 0 ? { widenedAt: now.toISOString(), widenedBy: by } : { widenedAt: current.value.widenedAt ?? current.value.updatedAt, widenedBy: current.value.widenedBy ?? current.value.updatedBy };
    // Earlier widenings stay, for four eyes: a widening now (or a narrowing and a widening again) must not hide who gave
    // the set's holders rights before (rights-records.ts `carriedGivings`).
    // A set created anew under a deleted one's name carries what that one gave (delete-rights-set.ts).
    const deletedBefore = current ? null : (await deps.tenantRecords.get<RightsSetDeletedRecord>(principal.tenantId, rightsSetDeletedRecordId(name), 'rights-set-deleted', { fresh: true }))?.value;
    const carried = current ? carriedGivings([{ giving: setGiving(current.value), record: current.value }]) : deletedBefore ? carriedGivings([{ record: deletedBefore }]) : {};
    const revision = nextRevision(current ? current.value.revision : deletedBefore?.revision, now);
    const record: RightsSetRecord = { id, tenantId: principal.tenantId, type: 'rights-set', name, permissions: unique, updatedAt: now.toISOString(), updatedBy: by, ...widened, ...carried, version: randomUUID(), revision };
    const write: TenantRecordWrite = current ? { op: 'replace', record, ifMatch: current.etag } : { op: 'create', record };
    // The record is replaced by the next change: the chain keeps what the set held from now on.
    const written = await writeWithAuditEntry(audit, { detail: `permissions=${unique.join(',')};${keptRevisionDetail(revision, record)}` }, (outbox) => deps.tenantRecords.batch(principal.tenantId, [gateMoved(gate, id), write], outbox), (r) => r === 'written');
    return written === 'written' ? record : CHANGED;
  });
  // Kept in storage too, after the record's write: a restore of Cosmos DB to before it gives back the set as it was (settings-blobs.ts).
  await keepSetting({ tenantId: principal.tenantId, recordId: id, type: 'rights-set', revision: record.revision!, at: record.updatedAt, record }, deps);
  return record;
}

import { type Permission, personOf, type Principal, RIGHTS_SET_NAME } from '../../kernel/principal';
import { listPersonKeyPermissions } from '../api-keys/list-person-key-permissions';
import { keyReader, withKeyPerson } from '../api-keys/verify-api-key';
import { lastSighting } from '../person-sightings';
import type { RightsGiven } from '../sod';
import { findRightsAssignment } from './find-rights-assignment';
import { rightsSetPermissions } from './rights-set-permissions';
import { type GivenBefore, isBuiltIn, permissionsOf, type RightsSetDeletedRecord, rightsSetDeletedRecordId, rightsAssignmentRecordId, type RightsAssignmentRecord, type RightsSetRecord, setGiving, rightsSetRecordId, type RightsUnassignmentRecord, rightsUnassignmentRecordId } from './rights-records';
import type { KeySealDeps } from '../api-keys/key-seal';
import type { BlobArchivePort } from '../../ports';
import { keptRightsRecord } from './settings-blobs';
import type { Clock } from '../../clock';

/** What the four-eyes steps read: Cosmos DB, and the rights records and sightings storage keeps (settings-blobs.ts, person-sightings.ts). */
export type GivingsDeps = KeySealDeps & { blobs: Pick<BlobArchivePort, 'listedBlobs' | 'readIfExists'>; clock: Pick<Clock, 'now'> };

/**
 * How far up a chain of givers the four-eyes steps look (persons who gave rights to persons who gave rights ...), and
 * how many persons at most. A chain longer than this, or more persons, is not judged but refused (`unresolved`): a
 * company's rights are given by a handful of administrators, a few levels deep.
 */
export const RIGHTS_CHAIN_MAX_HOPS = 8;
export const RIGHTS_CHAIN_MAX_PERSONS = 32;

// As stored, past the per-instance cache: a second identity given rights a moment ago on another instance is caught.
const fresh = { fresh: true };

/**
 * Who gave the person behind `principal` the rights they act with, and when (for four eyes, sod.ts
 * `madeSecondBy`): their rights assignment, the last removal of one (after which claimed rights may apply), and
 * the last widening of each tenant rights set the principal acts with (its own set and, for an API key, its
 * person's). Built-in sets never change.
 *
 * And, up the chain, who gave those givers theirs: a first person who makes a second identity after the act, and has
 * that identity make a third, must not find the third counting as a second person. Such an entry names the person
 * further up (`by`) and, as its time, the earliest giving along its chain (`at`), so it matches a `since` only when
 * every giving on the way came after it: an identity made before the act stays one whose rights predate it.
 * `since`, when the caller knows the (earliest) act: a giving before it is not followed up, since no chain through it
 * can match, so a tenant's long history of givers does not count against the caps.
 */
export async function rightsGivenTo(principal: Principal, deps: GivingsDeps, since?: string): Promise<RightsGiven[]> {
  const names = [...new Set([principal.rightsSet, ...(principal.personRightsSets ?? [])])];
  return upTheChain(principal.tenantId, personOf(principal), names, deps, since);
}

/**
 * rightsGivenTo for a person known only by name (an act's stored actor, judged again later: the sweep's re-check of an
 * approval): the sets they act with are those a person further up a chain is read with (their assignment's, and the one
 * their last sign-in claimed).
 */
export async function rightsGivenToPerson(tenantId: string, person: string, deps: GivingsDeps, since?: string): Promise<RightsGiven[]> {
  return upTheChain(tenantId, person, null, deps, since);
}

async function upTheChain(tenantId: string, person: string, names: readonly string[] | null, deps: GivingsDeps, since?: string): Promise<RightsGiven[]> {
  const own = await givenToPerson(tenantId, person, names, deps);
  const all = [...own];
  // Per person up the chain, the latest time along a chain that reached them: expanded again only when a chain
  // reaches them later (so it may match a later `since`), which also ends every cycle.
  const reached = new Map<string, string>([[person, '\uffff']]);
  let level = own;
  for (let hop = 1; level.length > 0; hop++) {
    const latest = new Map<string, RightsGiven>();
    for (const g of level) {
      if (g.unresolved || (since !== undefined && g.at < since)) continue;
      const giver = personOf(g.by);
      if ((reached.get(giver) ?? '') >= g.at) continue;
      if ((latest.get(giver)?.at ?? '') < g.at) latest.set(giver, g);
    }
    if (latest.size === 0) break;
    latest.forEach((g, giver) => reached.set(giver, g.at));
    if (hop >= RIGHTS_CHAIN_MAX_HOPS || reached.size > RIGHTS_CHAIN_MAX_PERSONS) {
      return [...all, { through: `rights given through more than ${RIGHTS_CHAIN_MAX_HOPS} persons in a row or by more than ${RIGHTS_CHAIN_MAX_PERSONS}`, at: '', by: { subject: '' }, unresolved: true }];
    }
    // The givers' own, each read as stored: one level of the chain at a time.
    const next = await Promise.all(
      [...latest].map(async ([giver, g]) =>
        (await givenToPerson(tenantId, giver, null, deps)).map((t) => ({ through: `${g.through} by ${giver}, who was given ${t.through}`, at: t.at < g.at ? t.at : g.at, by: t.by, ...(t.unresolved ? { unresolved: t.unresolved } : {}) })),
      ),
    );
    level = next.flat();
    all.push(...level);
  }
  return all;
}

/**
 * One person's givings: their assignment, its last removal, and the last widening of the tenant sets they act with
 * (`sets`; for a person further up the chain, their assignment's set and the set their last sign-in claimed).
 */
async function givenToPerson(tenantId: string, person: string, sets: readonly string[] | null, deps: GivingsDeps): Promise<RightsGiven[]> {
  const [assignment, unassignment, seen] = await Promise.all([
    findRightsAssignment(tenantId, person, deps, fresh),
    deps.tenantRecords.get<RightsUnassignmentRecord>(tenantId, rightsUnassignmentRecordId(person), 'rights-unassignment', fresh),
    sets ? null : lastSighting(tenantId, person, deps),
  ]);
  // A sighting the archive did not seal as it is (sightingUnsealed) may have lost the sets earlier sign-ins claimed: the
  // chain through it is not judged (whoever the first person is). Broke: read as stored, a writer of Cosmos DB dropped
  // its givenBefore, and a guest given rights through a set the person once claimed counted as a second person.
  const sighting = seen && seen.unsealed === null ? seen.record : null;
  // And as storage keeps them (settings-blobs.ts keptRightsRecord). Read from Cosmos DB alone, whoever could write it
  // renamed who gave a guest account rights after the act (or moved when), and the guest counted as a second person until
  // the reconciler wrote the kept record back. Both are judged: a genuine change whose blob is not written yet carries the
  // kept one's givings (givenBefore), so only an edit adds any.
  const keptAssignment = await keptRightsRecord(tenantId, rightsAssignmentRecordId(person), { record: assignment, trace: unassignment?.value ?? null }, true, deps);
  const keptAssigned = keptAssignment?.record?.type === 'rights-assignment' ? keptAssignment.record : null;
  const names = sets ?? [assignment?.rightsSet, keptAssigned?.rightsSet, sighting?.rightsSet].filter((n): n is string => n !== undefined);
  const tenantSets = [...new Set(names)].filter((n) => RIGHTS_SET_NAME.test(n) && !isBuiltIn(n));
  const widened = await Promise.all(tenantSets.map((n) => deps.tenantRecords.get<RightsSetRecord>(tenantId, rightsSetRecordId(n), 'rights-set', fresh)));
  // A set named but gone: what it gave stays in its deletion's trace (delete-rights-set.ts).
  const deleted = await Promise.all(tenantSets.map((n, i) => (widened[i] ? Promise.resolve(null) : deps.tenantRecords.get<RightsSetDeletedRecord>(tenantId, rightsSetDeletedRecordId(n), 'rights-set-deleted', fresh))));
  const keptSets = await Promise.all(tenantSets.map((n, i) => keptRightsRecord(tenantId, rightsSetRecordId(n), { record: widened[i]?.value ?? null, trace: deleted[i]?.value ?? null }, false, deps)));
  // What each record's earlier versions gave (rights-records.ts `carriedGivings`): a rewritten record does not cut the chain.
  const before = (through: string, r: GivenBefore): RightsGiven[] => [
    ...(r.givenBefore ?? []).map((g) => ({ through: `${through} (before)`, at: g.at, by: g.by })),
    ...(r.givenBeforeDroppedAt !== undefined ? [{ through: `${through}: given by more persons than kept`, at: r.givenBeforeDroppedAt, by: { subject: '' }, unresolved: true as const }] : []),
  ];
  const assigned = (a: RightsAssignmentRecord, through: string): RightsGiven[] => [{ through, at: a.assignedAt, by: a.assignedBy }, ...before(through, a)];
  const unassigned = (u: RightsUnassignmentRecord, through: string): RightsGiven[] => [{ through, at: u.unassignedAt, by: u.unassignedBy }, ...before(through, u)];
  const setGivings = (s: RightsSetRecord, through: string): RightsGiven[] => [{ through, ...setGiving(s) }, ...before(through, s)];
  const asKept = ' (as kept in storage)';
  const unjudged = (through: string): RightsGiven => ({ through: `${through}: more blobs in storage not the archive's than one look reads`, at: '', by: { subject: '' }, unresolved: true });
  const givings: RightsGiven[] = [
    ...(assignment ? assigned(assignment, 'rights-assignment') : []),
    ...(unassignment ? unassigned(unassignment.value, 'rights-unassignment') : []),
    ...(keptAssigned ? assigned(keptAssigned, `rights-assignment${asKept}`) : []),
    ...(keptAssignment?.trace?.type === 'rights-unassignment' ? unassigned(keptAssignment.trace, `rights-unassignment${asKept}`) : []),
    ...(keptAssignment?.unjudged ? [unjudged('rights-assignment')] : []),
    ...widened.flatMap((s) => (s ? setGivings(s.value, `rights-set:${s.value.name}`) : [])),
    ...deleted.flatMap((d) => (d ? before(`rights-set:${d.value.name} (deleted)`, d.value) : [])),
    ...keptSets.flatMap((k, i) => [
      ...(k?.record?.type === 'rights-set' ? setGivings(k.record, `rights-set:${k.record.name}${asKept}`) : []),
      ...(k?.trace?.type === 'rights-set-deleted' ? before(`rights-set:${k.trace.name} (deleted)${asKept}`, k.trace) : []),
      ...(k?.unjudged ? [unjudged(`rights-set:${tenantSets[i]}`)] : []),
    ]),
    // The sets earlier sign-ins claimed (person-sightings.ts): a claim naming another set now does not cut the chain.
    ...(sighting ? before('a set an earlier sign-in claimed', sighting) : []),
    ...(seen?.unsealed ? [{ through: `a sign-in record not sealed by the archive (${seen.unsealed})`, at: '', by: { subject: '' }, unresolved: true as const }] : []),
  ];
  // Given through a key before persons were kept, a giving names only the key: it is its person's (withKeyPerson). Read
  // as the key, the placer's guest, given rights by the placer's key after the hold, released it as a second person.
  // A key that cannot be read leaves the giver unknown: whoever the first person is (`unresolved`).
  const keys = keyReader(tenantId, deps);
  return Promise.all(
    givings.map(async (g) => {
      const by = await withKeyPerson(g.by, keys);
      return by === g.by ? g : by.person === '' ? { ...g, by, unresolved: true as const } : { ...g, by };
    }),
  );
}

/**
 * Whether `person` holds `permission` now, through any credential the archive knows of: their rights assignment, the set
 * their last sign-in claimed, or an API key of theirs in use. For a check on who gave someone rights (the giver may
 * itself hold what the act must not be done by). Judged as Cosmos DB holds them and as storage keeps them (settings-blobs.ts
 * keptRightsRecord): held if either says so. Broke: read from Cosmos DB alone, whoever could write it dropped the
 * permission from the giver's assignment or set, and a guest the approver-to-be gave rights approved the proposal.
 * A sign-in record the archive did not seal as it is (sightingUnsealed) may have been narrowed: taken as holding it.
 */
export async function personHoldsNow(tenantId: string, person: string, permission: Permission, now: Date, deps: GivingsDeps): Promise<boolean> {
  const [assignment, unassignment, seen] = await Promise.all([
    findRightsAssignment(tenantId, person, deps, fresh),
    deps.tenantRecords.get<RightsUnassignmentRecord>(tenantId, rightsUnassignmentRecordId(person), 'rights-unassignment', fresh),
    lastSighting(tenantId, person, deps),
  ]);
  if (seen?.unsealed) return true;
  const kept = await keptRightsRecord(tenantId, rightsAssignmentRecordId(person), { record: assignment, trace: unassignment?.value ?? null }, true, deps);
  // What storage keeps not judged (blobs planted in the record's folder): taken as holding it, as an unsealed sighting is.
  // Broke: judged by Cosmos DB alone, whoever could write it and create blobs narrowed the giver's assignment there, buried
  // the kept one under planted blobs, and the guest the giver made an approver approved the proposal.
  if (kept?.unjudged) return true;
  const keptAssigned = kept?.record?.type === 'rights-assignment' ? kept.record : null;
  const sets = [...new Set([assignment?.rightsSet, keptAssigned?.rightsSet, seen?.record.rightsSet].filter((n): n is string => n !== undefined))];
  const held = await Promise.all(
    sets.map(async (n) => {
      if (!RIGHTS_SET_NAME.test(n) || isBuiltIn(n)) return (await rightsSetPermissions(tenantId, n, deps, fresh)) ?? [];
      const stored = await deps.tenantRecords.get<RightsSetRecord>(tenantId, rightsSetRecordId(n), 'rights-set', fresh);
      const keptSet = await keptRightsRecord(tenantId, rightsSetRecordId(n), { record: stored?.value ?? null, trace: null }, false, deps);
      if (keptSet?.unjudged) return [permission];
      return [...(stored ? permissionsOf(stored.value) : []), ...(keptSet?.record?.type === 'rights-set' ? permissionsOf(keptSet.record) : [])];
    }),
  );
  if (held.some((p) => p.includes(permission))) return true;
  return (await listPersonKeyPermissions(tenantId, person, now, deps)).has(permission);
}

import { createHash } from 'node:crypto';
import { BUILT_IN_RIGHTS_SETS, Permission, PERMISSIONS, personOf, Principal, RIGHTS_SET_NAME } from '../../kernel/principal';
import type { TenantRecord, TenantRecordsPort } from '../../ports';

/** What the rights-set and assignment operations share: the records, their ids, and who acted. */
export interface RightsSetRecord extends TenantRecord, GivenBefore {
  type: 'rights-set';
  name: string;
  permissions: Permission[];
  updatedAt: string;
  updatedBy: { subject: string; kind: string; person?: string };
  /**
   * When a permission was last added to the set (or it was created), and by whom: a four-eyes step asks
   * whether the first person gave the second their rights since (sod.ts `madeSecondBy`). Absent on sets
   * from before: `updatedAt`/`updatedBy` stand for it.
   */
  widenedAt?: string;
  widenedBy?: { subject: string; kind: string; person?: string };
  /** Random, new on each write: the version a screen read the set at (`rightsSetETag`). Absent on sets from before. */
  version?: string;
  /** Monotonic per record, new on each change: the change's blob in storage (settings-blobs.ts). Absent on sets from before. */
  revision?: number;
}

/**
 * The permissions a tenant's stored set gives: the known ones its list names. A set stored in another shape (a restore,
 * a hand edit, a version before) gives only what it names readably: held as text, `new Set(permissions)` gave its letters
 * and every array method threw (a 500 for each of its holders' requests), and `includes` matched any part of the text.
 */
export function permissionsOf(set: Pick<RightsSetRecord, 'permissions'>): Permission[] {
  const listed: unknown = set.permissions;
  return Array.isArray(listed) ? listed.filter((p): p is Permission => typeof p === 'string' && KNOWN_PERMISSIONS.has(p)) : [];
}
const KNOWN_PERMISSIONS: ReadonlySet<string> = new Set(PERMISSIONS);

/**
 * The version of a tenant's own rights set as an opaque strong ETag, for If-Match on its PUT: `"rights-set-<version>"`;
 * a set written before versions were kept is named by the instant of its last write.
 */
export function rightsSetETag(r: Pick<RightsSetRecord, 'version' | 'updatedAt'>): string {
  return `"rights-set-${r.version ?? Buffer.from(r.updatedAt, 'utf8').toString('base64url')}"`;
}

/** A giving of rights a later write replaced or removed (a record's `givenBefore`). */
export interface EarlierGiving {
  at: string;
  by: { subject: string; kind?: string; person?: string };
}

/**
 * The givings a record's earlier versions named (its assignment, removal or widening, and those of the set an assignment
 * removed or replaced named), the latest per person: records keep only their last giver, and a chain of givers
 * (rights-given.ts) must not be cut by a third identity rewriting its second's record (alice gives guest-1 rights, guest-1
 * gives guest-2, guest-2 assigns or removes guest-1 anew, and alice was no longer anyone's giver). `givenBeforeDroppedAt`:
 * more persons gave than are kept; the latest giving dropped (the oldest go) was then, so a four-eyes step whose act is
 * not later does not judge the chain through this record (rights-given.ts); one long before it is not troubled.
 */
export interface GivenBefore {
  givenBefore?: EarlierGiving[];
  givenBeforeDroppedAt?: string;
}

export const GIVEN_BEFORE_MAX_PERSONS = 32;

/** What a new version of a record carries of `replaced` (each an earlier giving and the record that named it). */
export function carriedGivings(replaced: readonly { giving?: EarlierGiving; record: GivenBefore }[]): GivenBefore {
  const latest = new Map<string, EarlierGiving>();
  for (const g of replaced.flatMap((r) => [...(r.giving ? [r.giving] : []), ...(r.record.givenBefore ?? [])])) {
    const person = personOf(g.by);
    if ((latest.get(person)?.at ?? '') < g.at) latest.set(person, { at: g.at, by: g.by });
  }
  const newestFirst = [...latest.values()].sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  const dropped = [newestFirst[GIVEN_BEFORE_MAX_PERSONS]?.at, ...replaced.map((r) => r.record.givenBeforeDroppedAt)].reduce<string | undefined>((m, at) => (at !== undefined && (m === undefined || at > m) ? at : m), undefined);
  return { ...(newestFirst.length > 0 ? { givenBefore: newestFirst.slice(0, GIVEN_BEFORE_MAX_PERSONS) } : {}), ...(dropped !== undefined ? { givenBeforeDroppedAt: dropped } : {}) };
}

/** The giving a rights set's record names (its last widening; `updated…` on sets from before widenings were kept). */
export const setGiving = (s: RightsSetRecord): EarlierGiving => ({ at: s.widenedAt ?? s.updatedAt, by: s.widenedBy ?? s.updatedBy });

export interface RightsAssignmentRecord extends TenantRecord, GivenBefore {
  type: 'rights-assignment';
  subject: string;
  rightsSet: string;
  assignedAt: string;
  assignedBy: { subject: string; kind: string };
  /**
   * Who may remove it where rights come from the tenant, then the claim: the permissions of its placer, or of an
   * earlier placer the later ones did not match (`placedWithAfter`). Absent on assignments stored before it was kept.
   */
  placedWith?: Permission[];
  /** Random, new on each write: the version a screen read the assignment at (`rightsAssignmentETag`). Absent on assignments from before. */
  version?: string;
  /** Monotonic per record, new on each change: the change's blob in storage (settings-blobs.ts). Absent on assignments from before. */
  revision?: number;
}

export function rightsAssignmentETag(a: Pick<RightsAssignmentRecord, 'version' | 'assignedAt'>): string {
  return `"rights-assignment-${a.version ?? Buffer.from(a.assignedAt, 'utf8').toString('base64url')}"`;
}

/**
 * The permissions a remover must hold to remove an assignment where rights come from the tenant, then the identity
 * provider's claim (AUTH_RIGHTS_SOURCE=tenant-then-claim): without it the subject acts with the set their token claims,
 * which may be tenant-admin, and the archive sees a claim only in the subject's own token. So an assignment is lifted
 * only by someone who holds at least what its placer held: a rights manager who may not assign tenant-admin cannot undo
 * a tenant-admin's restriction. An assignment stored before this was kept is judged as placed by a tenant-admin.
 */
export const liftCeiling = (a: RightsAssignmentRecord): readonly Permission[] => a.placedWith ?? BUILT_IN_RIGHTS_SETS['tenant-admin']!;

/**
 * `placedWith` of an assignment `principal` writes over `replaced` (none: a first assignment): the writer's permissions if
 * they could have removed the one replaced, else that one's. Replacing a restriction first (within one's own ceiling)
 * must not make it one's own to lift; and a union of every placer's would soon be held by nobody (tenant-admin may not
 * hold documents:write), so a tenant-admin could no longer lift what an archivist-manager had once replaced.
 */
export function placedWithAfter(principal: Principal, replaced: RightsAssignmentRecord | null): Permission[] {
  const earlier = replaced ? liftCeiling(replaced) : [];
  return [...(earlier.every((p) => principal.permissions.has(p)) ? principal.permissions : earlier)].sort();
}

export const rightsSetRecordId = (name: string) => `rights-set:${name}`;

/**
 * What a deleted tenant rights set gave, kept for four eyes: a person whose last sign-in claimed the set gave rights
 * through it (nobody holds a set by assignment or key when it goes, but a claim is no holding), and whoever deletes it
 * must not hide who widened it (rights-given.ts). A set created anew under the name carries these (put-rights-set.ts).
 */
export interface RightsSetDeletedRecord extends TenantRecord, GivenBefore {
  type: 'rights-set-deleted';
  name: string;
  deletedAt: string;
  deletedBy: { subject: string; kind: string; person?: string };
  /** The deletion's revision (settings-blobs.ts): a set made again under the name is newer. */
  revision?: number;
}

export const rightsSetDeletedRecordId = (name: string) => `rights-set-deleted:${name}`;
/** Subjects are free text (e.g. `alice@acme.example`, or with `/`); the id hashes them. */
export const rightsAssignmentRecordId = (subject: string) => `rights-assignment:${createHash('sha256').update(subject).digest('hex')}`;

/**
 * The last removal of a subject's assignment, kept for four eyes: where rights may come from the identity
 * provider's claim (AUTH_RIGHTS_SOURCE=tenant-then-claim), removing a restrictive assignment gives the
 * subject their claimed rights, so the remover gave them rights then (rights-given.ts).
 */
export interface RightsUnassignmentRecord extends TenantRecord, GivenBefore {
  type: 'rights-unassignment';
  subject: string;
  unassignedAt: string;
  unassignedBy: { subject: string; kind: string; person?: string };
  /** The removal's revision (settings-blobs.ts): an assignment given again is newer. */
  revision?: number;
}

export const rightsUnassignmentRecordId = (subject: string) => `rights-unassignment:${createHash('sha256').update(subject).digest('hex')}`;

export const isBuiltIn = (name: string) => Object.prototype.hasOwnProperty.call(BUILT_IN_RIGHTS_SETS, name);

export function actor(p: Principal): { subject: string; kind: string; person: string } {
  return { subject: p.subject, kind: p.kind, person: personOf(p) };
}

/** The principal itself, or the person behind it: a key cannot change its creator's rights. */
export const isSelf = (p: Principal, subject: string) => subject === p.subject || subject === personOf(p);

/**
 * What a subject was given through an assignment about to be replaced or removed: the assignment, and the widening of the
 * tenant set it named (read as stored), each with the givings their records carry (`carriedGivings`).
 */
export async function assignmentGivings(tenantId: string, old: RightsAssignmentRecord, deps: { tenantRecords: TenantRecordsPort }): Promise<{ giving: EarlierGiving; record: GivenBefore }[]> {
  const set = RIGHTS_SET_NAME.test(old.rightsSet) && !isBuiltIn(old.rightsSet) ? await deps.tenantRecords.get<RightsSetRecord>(tenantId, rightsSetRecordId(old.rightsSet), 'rights-set', { fresh: true }) : null;
  return [{ giving: { at: old.assignedAt, by: old.assignedBy }, record: old }, ...(set ? [{ giving: setGiving(set.value), record: set.value }] : [])];
}

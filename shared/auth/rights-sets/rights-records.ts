import { createHash } from 'node:crypto';
import { BUILT_IN_RIGHTS_SETS, Permission, personOf, Principal } from '../../kernel/principal';
import type { TenantRecord } from '../../ports';

/** What the rights-set and assignment operations share: the records, their ids, and who acted. */
export interface RightsSetRecord extends TenantRecord {
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
}

export interface RightsAssignmentRecord extends TenantRecord {
  type: 'rights-assignment';
  subject: string;
  rightsSet: string;
  assignedAt: string;
  assignedBy: { subject: string; kind: string };
}

export const rightsSetRecordId = (name: string) => `rights-set:${name}`;
/** Subjects are free text (e.g. `alice@acme.example`, or with `/`); the id hashes them. */
export const rightsAssignmentRecordId = (subject: string) => `rights-assignment:${createHash('sha256').update(subject).digest('hex')}`;

/**
 * The last removal of a subject's assignment, kept for four eyes: where rights may come from the identity
 * provider's claim (AUTH_RIGHTS_SOURCE=tenant-then-claim), removing a restrictive assignment gives the
 * subject their claimed rights, so the remover gave them rights then (rights-given.ts).
 */
export interface RightsUnassignmentRecord extends TenantRecord {
  type: 'rights-unassignment';
  subject: string;
  unassignedAt: string;
  unassignedBy: { subject: string; kind: string; person?: string };
}

export const rightsUnassignmentRecordId = (subject: string) => `rights-unassignment:${createHash('sha256').update(subject).digest('hex')}`;

export const isBuiltIn = (name: string) => Object.prototype.hasOwnProperty.call(BUILT_IN_RIGHTS_SETS, name);

export function actor(p: Principal): { subject: string; kind: string; person: string } {
  return { subject: p.subject, kind: p.kind, person: personOf(p) };
}

/** The principal itself, or the person behind it: a key cannot change its creator's rights. */
export const isSelf = (p: Principal, subject: string) => subject === p.subject || subject === personOf(p);

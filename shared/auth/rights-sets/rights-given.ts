import { personOf, type Principal, RIGHTS_SET_NAME } from '../../kernel/principal';
import type { TenantRecordsPort } from '../../ports';
import type { RightsGiven } from '../sod';
import { findRightsAssignment } from './find-rights-assignment';
import { isBuiltIn, type RightsSetRecord, rightsSetRecordId, type RightsUnassignmentRecord, rightsUnassignmentRecordId } from './rights-records';

/**
 * Who gave the person behind `principal` the rights they act with, and when (for four eyes, sod.ts
 * `madeSecondBy`): their rights assignment, the last removal of one (after which claimed rights may apply), and
 * the last widening of each tenant rights set the principal acts with (its own set and, for an API key, its
 * person's). Built-in sets never change.
 */
export async function rightsGivenTo(principal: Principal, deps: { tenantRecords: TenantRecordsPort }): Promise<RightsGiven[]> {
  const { tenantId } = principal;
  const names = [...new Set([principal.rightsSet, ...(principal.personRightsSets ?? [])])].filter((n) => RIGHTS_SET_NAME.test(n) && !isBuiltIn(n));
  const person = personOf(principal);
  // As stored, past the per-instance cache: a second identity given rights a moment ago on another instance is caught.
  const fresh = { fresh: true };
  const [assignment, unassignment, ...sets] = await Promise.all([
    findRightsAssignment(tenantId, person, deps, fresh),
    deps.tenantRecords.get<RightsUnassignmentRecord>(tenantId, rightsUnassignmentRecordId(person), 'rights-unassignment', fresh),
    ...names.map((n) => deps.tenantRecords.get<RightsSetRecord>(tenantId, rightsSetRecordId(n), 'rights-set', fresh)),
  ]);
  return [
    ...(assignment ? [{ through: 'rights-assignment', at: assignment.assignedAt, by: assignment.assignedBy }] : []),
    ...(unassignment ? [{ through: 'rights-unassignment', at: unassignment.value.unassignedAt, by: unassignment.value.unassignedBy }] : []),
    ...sets.flatMap((s) => (s ? [{ through: `rights-set:${s.value.name}`, at: s.value.widenedAt ?? s.value.updatedAt, by: s.value.widenedBy ?? s.value.updatedBy }] : [])),
  ];
}

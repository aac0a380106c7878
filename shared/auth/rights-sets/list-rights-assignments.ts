import type { TenantRecordsPort } from '../../ports';
import { keyIdOf } from '../api-keys/api-key';
import { KEYS_UNDER_A_RECORD, keysInUseReader, markEndedWithKey } from '../api-keys/verify-api-key';
import type { RightsAssignmentRecord } from './rights-records';
import type { KeySealDeps } from '../api-keys/key-seal';

export async function listRightsAssignments(tenantId: string, deps: { tenantRecords: TenantRecordsPort }): Promise<RightsAssignmentRecord[]> {
  return (await deps.tenantRecords.list<RightsAssignmentRecord>(tenantId, 'rights-assignment')).sort((a, b) => a.subject.localeCompare(b.subject));
}

/**
 * What `GET /rights-assignments` answers: the assignments, each one made through an API key that has since been revoked
 * or has expired (or one above it) marked with that key (`endedWithKey`). Unlike a key minted or a support grant given
 * through it, an assignment stays: a person's rights are an admin's decision, whichever credential carried it. After a
 * leaked key is revoked the admin sees which rights it gave, to review them.
 */
export async function listRightsAssignmentsToReview(tenantId: string, now: Date, deps: KeySealDeps): Promise<(RightsAssignmentRecord & { endedWithKey?: string })[]> {
  const assignments = await listRightsAssignments(tenantId, deps);
  // Unpaged (up to ARCHIVE_MAX_RIGHTS_ASSIGNMENTS, each possibly made through a key of its own): the keys are read with
  // one query of those in use, not a point read per key, and only when an assignment was made through a key.
  if (!assignments.some((a) => keyIdOf(a.assignedBy))) return assignments;
  return markEndedWithKey(assignments, (a) => a.assignedBy, now, await keysInUseReader(tenantId, now, deps), KEYS_UNDER_A_RECORD);
}

import type { TenantRecordsPort } from '../../ports';
import { KEYS_UNDER_A_RECORD, markEndedWithKey } from '../api-keys/verify-api-key';
import type { RightsAssignmentRecord } from './rights-records';

export async function listRightsAssignments(tenantId: string, deps: { tenantRecords: TenantRecordsPort }): Promise<RightsAssignmentRecord[]> {
  return (await deps.tenantRecords.list<RightsAssignmentRecord>(tenantId, 'rights-assignment')).sort((a, b) => a.subject.localeCompare(b.subject));
}

/**
 * What `GET /rights-assignments` answers: the assignments, each one made through an API key that has since been revoked
 * or has expired (or one above it) marked with that key (`endedWithKey`). Unlike a key minted or a support grant given
 * through it, an assignment stays: a person's rights are an admin's decision, whichever credential carried it. After a
 * leaked key is revoked the admin sees which rights it gave, to review them.
 */
export async function listRightsAssignmentsToReview(tenantId: string, now: Date, deps: { tenantRecords: TenantRecordsPort }): Promise<(RightsAssignmentRecord & { endedWithKey?: string })[]> {
  return markEndedWithKey(tenantId, await listRightsAssignments(tenantId, deps), (a) => a.assignedBy, now, deps, KEYS_UNDER_A_RECORD);
}

import type { Deps } from '../../shared/deps';
import { personOf, type Principal } from '../../shared/kernel/principal';
import { type RightsAssignmentRecord, rightsAssignmentRecordId } from '../../shared/auth/rights-sets/rights-records';
import type { TTenantRetentionPolicy } from '../../shared/kernel/retention';
import { approveRetentionPolicyProposal } from '../../shared/retention/policy-proposals';
import { setRetentionPolicy } from '../../shared/retention/set-retention-policy';

/**
 * Sets a retention policy as a records manager does, and when it lowers a safeguard (only proposed), has a second
 * records manager of the tenant approve it: for tests whose subject is what a lowered policy does, not the four eyes.
 */
export async function setPolicyWithSecondPerson(principal: Principal, policy: TTenantRetentionPolicy, deps: Pick<Deps, 'retention' | 'clock' | 'tenantRecords' | 'config' | 'blobs' | 'log' | 'audit'>): Promise<void> {
  const outcome = await setRetentionPolicy(principal, policy, deps);
  if ('applied' in outcome) return;
  // The proposer must still hold retention:manage when it is approved (proposals.ts assertProposerStillMay): the tenant
  // assigns them a set holding it, as it would have, where the test made up the principal.
  const person = personOf(principal);
  if (!(await deps.tenantRecords.get(principal.tenantId, rightsAssignmentRecordId(person), 'rights-assignment'))) {
    const assignment: RightsAssignmentRecord = { id: rightsAssignmentRecordId(person), tenantId: principal.tenantId, type: 'rights-assignment', subject: person, rightsSet: 'tenant-admin', assignedAt: deps.clock.now().toISOString(), assignedBy: { subject: 'root', kind: 'user' } };
    await deps.tenantRecords.upsert(assignment);
  }
  const second: Principal = { tenantId: principal.tenantId, subject: 'second-records-manager', kind: 'user', person: 'second-records-manager', rightsSet: 'records-manager', permissions: new Set(['retention:manage']) };
  await approveRetentionPolicyProposal(second, outcome.proposed.proposalId, 'The lowering is agreed', deps);
}

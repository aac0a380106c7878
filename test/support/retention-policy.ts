import type { Deps } from '../../shared/deps';
import type { Principal } from '../../shared/kernel/principal';
import type { TTenantRetentionPolicy } from '../../shared/kernel/retention';
import { approveRetentionPolicyProposal } from '../../shared/retention/policy-proposals';
import { setRetentionPolicy } from '../../shared/retention/set-retention-policy';

/**
 * Sets a retention policy as a records manager does, and when it lowers a safeguard (only proposed), has a second
 * records manager of the tenant approve it: for tests whose subject is what a lowered policy does, not the four eyes.
 */
export async function setPolicyWithSecondPerson(principal: Principal, policy: TTenantRetentionPolicy, deps: Pick<Deps, 'retention' | 'clock' | 'tenantRecords'>): Promise<void> {
  const outcome = await setRetentionPolicy(principal, policy, deps);
  if ('applied' in outcome) return;
  const second: Principal = { tenantId: principal.tenantId, subject: 'second-records-manager', kind: 'user', person: 'second-records-manager', rightsSet: 'records-manager', permissions: new Set(['retention:manage']) };
  await approveRetentionPolicyProposal(second, outcome.proposed.proposalId, 'The lowering is agreed', deps);
}

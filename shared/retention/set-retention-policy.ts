import type { Deps } from '../deps';
import { listPersonKeyPermissions } from '../auth/api-keys/list-person-key-permissions';
import { assertMayLowerSafeguards } from '../auth/sod';
import { type Permission, type Principal, personOf } from '../kernel/principal';
import type { TTenantRetentionPolicy } from '../kernel/retention';
import { checkTenantPolicy, loweredSafeguards, nextSafeguards, safeguardsOf } from './policy';
import { getRetentionPolicy } from './get-retention-policy';
import { tenantPolicy } from './tenant-policy';
import { actorOf } from './update';
import type { AuditStaging } from '../kernel/audit';
import { writeWithAuditEntry } from '../audit/outbox';

/**
 * `PUT /retention/policy` (retention:manage). A change that lowers a safeguard below the strongest
 * that has applied is refused to a person who also holds retention:approve (segregation of duties,
 * `approver-lowers-safeguards`).
 */
export async function setRetentionPolicy(principal: Principal, policy: TTenantRetentionPolicy, deps: Pick<Deps, 'retention' | 'clock' | 'tenantRecords'>, audit?: AuditStaging) {
  checkTenantPolicy(policy);
  const stored = await deps.retention.policies.get(principal.tenantId);
  const mark = stored?.safeguards ?? safeguardsOf(await tenantPolicy(principal.tenantId, deps));
  const lowered = loweredSafeguards(mark, policy);
  // The person's API keys are theirs too: one they still hold with retention:approve counts.
  const viaKeys = lowered.length > 0 ? await listPersonKeyPermissions(principal.tenantId, personOf(principal), deps.clock.now(), deps) : new Set<Permission>();
  assertMayLowerSafeguards(principal, lowered, viaKeys);
  const at = deps.clock.now().toISOString();
  await writeWithAuditEntry(audit, {}, (outbox) => deps.retention.policies.put(principal.tenantId, policy, at, actorOf(principal), nextSafeguards(mark, policy, lowered), outbox), () => true);
  return getRetentionPolicy(principal.tenantId, deps);
}

import type { Deps } from '../deps';
import type { SafeguardMark, TTenantRetentionPolicy } from '../kernel/retention';
import type { StoredRetentionPolicy } from '../ports';
import { DEFAULT_POLICY, safeguardsOf } from './policy';

/** The tenant's policy, or the built-in default; `fresh`: as stored, past the instance's settings cache. */
export async function tenantPolicy(tenantId: string, deps: Pick<Deps, 'retention'>, opts: { fresh?: boolean } = {}): Promise<TTenantRetentionPolicy> {
  return policyOf(opts.fresh ? (await deps.retention.policies.getVersioned(tenantId, { fresh: true })).policy : await deps.retention.policies.get(tenantId));
}

/** The policy in a stored record (without who stored it, the safeguard mark and the revision), or the built-in default. */
export function policyOf(stored: StoredRetentionPolicy | null): TTenantRetentionPolicy {
  if (!stored) return DEFAULT_POLICY;
  const { updatedAt: _a, updatedBy: _b, safeguards: _s, revision: _r, ...policy } = stored;
  // Every stored policy records whether disposal needs an approval (the schema's default has written false since the
  // first version): one without it, or with anything but false (null, 'false'), was restored, half written or edited by
  // hand. Read as required: read as it came (undefined, null), the sweep disposed of documents nobody approved.
  return { ...policy, requireDisposalApproval: policy.requireDisposalApproval !== false };
}

/** The strongest safeguards that have applied: the stored mark, or for a policy from before marks, its own. */
export const markOf = (stored: StoredRetentionPolicy | null): SafeguardMark => stored?.safeguards ?? safeguardsOf(policyOf(stored));

import type { Deps } from '../deps';
import type { TTenantRetentionPolicy } from '../kernel/retention';
import { DEFAULT_POLICY } from './policy';

/** The tenant's policy, or the built-in default. */
export async function tenantPolicy(tenantId: string, deps: Pick<Deps, 'retention'>): Promise<TTenantRetentionPolicy> {
  const stored = await deps.retention.policies.get(tenantId);
  if (!stored) return DEFAULT_POLICY;
  const { updatedAt: _a, updatedBy: _b, safeguards: _s, ...policy } = stored;
  return policy;
}

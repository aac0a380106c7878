import type { Deps } from '../deps';
import { classesOf, LEGAL_FLOOR_YEARS } from './policy';
import { tenantPolicy } from './tenant-policy';

/** The tenant's policy with the legal floor and the classes in force, and who changed it last. */
export async function getRetentionPolicy(tenantId: string, deps: Pick<Deps, 'retention'>) {
  const stored = await deps.retention.policies.get(tenantId);
  const policy = await tenantPolicy(tenantId, deps);
  return {
    ...policy,
    legalFloorYears: LEGAL_FLOOR_YEARS,
    effectiveClasses: [...classesOf(policy)].map(([name, years]) => ({ name, years })),
    ...(stored?.updatedAt ? { updatedAt: stored.updatedAt, updatedBy: stored.updatedBy } : {}),
  };
}

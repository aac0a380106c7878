import type { Deps } from '../deps';
import { classesOf, LEGAL_FLOOR_YEARS } from './policy';
import { policyOf } from './tenant-policy';

/**
 * The tenant's policy with the legal floor and the classes in force, and who changed it last; with the version of
 * its record (`etag` null: none stored, the default applies), which a change of it must name (If-Match). Read as
 * stored now, past the instance's cache: a version read from an older copy would have the next save refused.
 */
export async function getRetentionPolicy(tenantId: string, deps: Pick<Deps, 'retention'>) {
  const { policy: stored, etag } = await deps.retention.policies.getVersioned(tenantId, { fresh: true });
  const policy = policyOf(stored);
  return {
    policy: {
      ...policy,
      legalFloorYears: LEGAL_FLOOR_YEARS,
      effectiveClasses: [...classesOf(policy)].map(([name, years]) => ({ name, years })),
      ...(stored?.updatedAt ? { updatedAt: stored.updatedAt, updatedBy: stored.updatedBy } : {}),
    },
    etag,
  };
}

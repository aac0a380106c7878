import { BUILT_IN_RIGHTS_SETS, type Permission, type Principal, RIGHTS_SET_NAME } from '../../kernel/principal';
import type { Config } from '../../config';
import { lastSighting, type SightingReadDeps } from '../person-sightings';
import { sodRefusal } from '../sod';
import type { RightsAssignmentRecord } from './rights-records';
import { rightsSetPermissions } from './rights-set-permissions';

/**
 * The permissions only a holder may take away: tenant-admin's. Without this floor a lesser rights manager (rights:manage
 * and little else) could assign a tenant-admin a set of documents:read, or narrow the auditors' set, and so strip the
 * people who oversee it of the powers it does not hold. Permissions outside tenant-admin (documents:write, holds:place,
 * retention:extend: work that conflicts with oversight) may be taken by any rights manager, else a tenant-admin, who may
 * not hold documents:write, could never stop an uploader.
 */
const GUARDED: ReadonlySet<Permission> = new Set(BUILT_IN_RIGHTS_SETS['tenant-admin']);

/** Refuses (403 rights-floor) a change that takes from someone a guarded permission the changer does not hold. */
export function assertWithinFloor(principal: Pick<Principal, 'permissions'>, before: readonly Permission[], after: readonly Permission[], extensions: Record<string, unknown> = {}): void {
  const taken = [...new Set(before)].filter((p) => !after.includes(p) && GUARDED.has(p) && !principal.permissions.has(p)).sort();
  if (taken.length > 0) throw sodRefusal('rights-floor', { permissions: taken, ...extensions });
}

type FloorDeps = SightingReadDeps & { config: { readonly AUTH_RIGHTS_SOURCE?: Config['AUTH_RIGHTS_SOURCE']; readonly [setting: string]: unknown } };

/**
 * What a subject acts with without an assignment: nothing where rights come from the tenant only; else the set their
 * identity provider claimed at their last sign-in here (the archive sees a claim only then), as stored or kept (lastSighting).
 */
export async function claimedPermissions(tenantId: string, subject: string, deps: FloorDeps, unsealedAs: readonly Permission[] = []): Promise<Permission[]> {
  if ((deps.config.AUTH_RIGHTS_SOURCE ?? 'tenant-then-claim') !== 'tenant-then-claim') return [];
  // One the archive did not seal as it is tells nothing of them (as a key's person: authenticate.ts): `unsealedAs`.
  const seen = await lastSighting(tenantId, subject, deps);
  if (seen && seen.unsealed !== null) return [...unsealedAs];
  const claimed = seen?.record.rightsSet;
  if (claimed === undefined || !RIGHTS_SET_NAME.test(claimed)) return [];
  return (await rightsSetPermissions(tenantId, claimed, deps, { fresh: true })) ?? [];
}

/** What a subject acts with now: their assignment's set as stored, or (none) what they claim. */
export async function heldPermissions(tenantId: string, subject: string, assigned: RightsAssignmentRecord | null, deps: FloorDeps): Promise<Permission[]> {
  if (assigned) return (await rightsSetPermissions(tenantId, assigned.rightsSet, deps, { fresh: true })) ?? [];
  return claimedPermissions(tenantId, subject, deps);
}

/**
 * What the floor counts a change as taking from the subject: heldPermissions, but a sign-in record the archive did not
 * seal as it is may have been narrowed, so it is taken as holding every guarded permission (as four eyes take it,
 * rights-given.ts personHoldsNow). Broke: read as no claim, a writer of Cosmos DB edited a tenant-admin's record (any
 * field) and a lesser rights manager assigned her a set of documents:read: nothing she held counted as taken.
 */
export async function heldBeforeFloor(tenantId: string, subject: string, assigned: RightsAssignmentRecord | null, deps: FloorDeps): Promise<Permission[]> {
  if (assigned) return heldPermissions(tenantId, subject, assigned, deps);
  return claimedPermissions(tenantId, subject, deps, [...GUARDED]);
}

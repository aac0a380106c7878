/**
 * What the signed-in person may do, for the menu only (the API decides; a 403 is still shown as a
 * sentence). The token names a rights set (`archive_rights`); the built-in sets' permissions come from
 * the archive's own table, so the menu and the API cannot disagree about them. A set the app does not
 * know (a tenant's own) shows every screen and lets the API answer.
 */
import { BUILT_IN_RIGHTS_SETS, PERMISSIONS, type Permission } from '../../../shared/kernel/principal';
import type { Person } from '../auth/session';

export { PERMISSIONS, type Permission };

/** The person's permissions, or null when their rights set is not a built-in one. */
export function permissionsOf(person: Person): ReadonlySet<Permission> | null {
  const set = person.rightsSet ? BUILT_IN_RIGHTS_SETS[person.rightsSet] : undefined;
  return set ? new Set(set) : null;
}

/** Whether a screen needing any of `needs` belongs in the person's menu. */
export function mayUse(person: Person, needs: readonly Permission[] | undefined): boolean {
  if (!needs || needs.length === 0) return true;
  const held = permissionsOf(person);
  return held === null || needs.some((p) => held.has(p));
}

/** The names of the built-in rights sets (reserved; tenants add their own). */
export const BUILT_IN_SETS: readonly string[] = Object.keys(BUILT_IN_RIGHTS_SETS);

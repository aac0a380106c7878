/**
 * What the signed-in person may do, for the menu only (the API decides; a 403 is still shown as a
 * sentence). The token names a rights set (`archive_rights`); the built-in sets' permissions come from
 * the archive's own table, so the menu and the API cannot disagree about them. A set the app does not
 * know (a tenant's own) shows every screen and lets the API answer.
 */
import { BUILT_IN_RIGHTS_SETS, PERMISSIONS, type Permission } from '../../../shared/kernel/principal';

export { PERMISSIONS, type Permission };

/** What these functions read of a signed-in person (auth/session.ts's Person): kept structural so they stay free of the DOM. */
interface Person {
  rightsSet: string | null;
}

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

/**
 * The rights set an API-key form starts on: one the person may grant (its permissions within their own,
 * the API's rights ceiling), the narrowest such built-in set first, else their own set. Without knowing
 * the person's permissions (a tenant set the list does not show), their own set's name, which they hold.
 */
export function defaultKeyRightsSet(person: Person, sets: readonly { name: string; permissions: readonly string[] }[]): string | undefined {
  const own = permissionsOf(person) ?? (() => {
    const found = sets.find((s) => s.name === person.rightsSet);
    return found ? new Set(found.permissions as Permission[]) : null;
  })();
  const within = (s: { permissions: readonly string[] }) => own !== null && s.permissions.every((p) => own.has(p as Permission));
  const builtIn = sets.filter((s) => s.name in BUILT_IN_RIGHTS_SETS && within(s));
  const narrowest = [...builtIn].sort((x, y) => x.permissions.length - y.permissions.length)[0];
  if (narrowest) return narrowest.name;
  if (person.rightsSet && sets.some((s) => s.name === person.rightsSet)) return person.rightsSet;
  return sets.find(within)?.name ?? sets[0]?.name;
}

/** The built-in sets with their permissions, for a form when the tenant's list cannot be read. */
export const BUILT_IN_SET_LIST: readonly { name: string; permissions: readonly Permission[] }[] = Object.entries(BUILT_IN_RIGHTS_SETS).map(([name, permissions]) => ({ name, permissions }));

/**
 * A rights set or permission as a person reads it: in their words with its technical name, or (a tenant's
 * own set) by its name. Own names only: a tenant set named `constructor` or `toString` has no words, though
 * a plain lookup finds Object's member there and showed "function Object() { [native code] }".
 */
export function inWords(name: string, words: Readonly<Record<string, string>>): string {
  return Object.hasOwn(words, name) ? `${words[name]} (${name})` : name;
}

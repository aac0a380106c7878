/**
 * Every page of a list the API pages by continuation token, for a screen that presents the list as whole or
 * counts from it (the open holds and what a release lifts): the first page alone left holds past it unshown and
 * a release's "lifted from n documents" short. Bounded, so a tenant with a great many does not have the screen read
 * without end: past the bound `complete` is false and the screen says it shows the first part only.
 */

export interface Page<T> {
  items: T[];
  continuationToken?: string | null;
}

export interface AllPages<T> {
  items: T[];
  /** False when the bound stopped the reading with pages left: the items are the first part only. */
  complete: boolean;
}

/** Reads page after page until the API gives no continuation token, or `maxPages` pages were read. */
export async function readAllPages<T>(fetchPage: (token: string | undefined) => Promise<Page<T>>, maxPages: number): Promise<AllPages<T>> {
  const items: T[] = [];
  const seen = new Set<string>();
  let token: string | undefined;
  for (let read = 0; read < maxPages; read++) {
    const page = await fetchPage(token);
    items.push(...page.items);
    const next = page.continuationToken ?? undefined;
    if (next === undefined) return { items, complete: true };
    // A token handed back twice would read the same pages again until the bound: what is read is not the whole.
    if (seen.has(next)) return { items, complete: false };
    seen.add(next);
    token = next;
  }
  return { items, complete: false };
}

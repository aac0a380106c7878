import { z } from 'zod';
import { STORED_INSTANT } from '../kernel/instant';
import { invalidPageToken, isStoreToken, pageToken, ZContinuationToken } from '../kernel/page-token';
import { numberInUrl } from '../kernel/url-number';
import type { Page } from '../ports';

/**
 * The paging fields of a tenant's list of records whose state depends on the time (API keys, support grants, SoD
 * proposals), beside its `state` filter (the default first: in use, active, pending), like the legal holds' `status`
 * filter, as a store query cannot put those first: `limit` and `continuationToken` page them like the archive's other lists.
 */
export const STATE_LIST_PAGING = {
  limit: numberInUrl((n) => n.int().min(1).max(200).default(50)),
  continuationToken: ZContinuationToken.optional(),
};

/**
 * What the store's token is wrapped with: the time the first page judged the states at, so every page judges alike.
 * In the one form the archive writes it (and keeps every instant in): the store compares it as text with `endsAt` and
 * `expiresAt`, so a rewritten token's `2025-01-01T00:00:00Z` (no milliseconds) was judged after every instant of that second.
 * The store's part is checked as pageToken checks a bare one: read out of the wrapper's JSON, an escape (`\u0000`)
 * gives characters no store token holds and no header carries, which the store client threw on (a 500).
 */
const ZWalk = z.strictObject({ at: z.string().regex(STORED_INSTANT), c: z.string().min(1).refine(isStoreToken) });

/**
 * One page of a walk over `list` in `state`, newest first. Every page of a walk judges the state at the time of
 * its first page: a record expiring meanwhile neither leaves nor shifts the walk. The token is scoped to the
 * tenant, list and state.
 */
export async function walkByState<T>(
  scope: { list: string; tenantId: string; state: string },
  q: { limit: number; continuationToken?: string | undefined },
  now: Date,
  page: (at: string, limit: number, continuationToken: string | undefined) => Promise<Page<T>>,
): Promise<Page<T>> {
  const raw = pageToken.decode(q.continuationToken, scope);
  const walk = raw === undefined ? { at: now.toISOString(), c: undefined } : parseWalk(raw);
  const found = await page(walk.at, q.limit, walk.c);
  return { items: found.items, continuationToken: pageToken.encode(found.continuationToken && JSON.stringify({ at: walk.at, c: found.continuationToken }), scope) };
}

function parseWalk(raw: string): z.infer<typeof ZWalk> {
  try {
    return ZWalk.parse(JSON.parse(raw));
  } catch {
    throw invalidPageToken();
  }
}

/** Where a walk kept across timer runs goes on: the time its first page was judged at, and the store's token. */
export type WalkPlace = { at: string; c: string };

/**
 * One page of a walk a timer keeps across runs (a reconciler pass over every revoked key, every key to reseal): from
 * `place`, or from the start as of `now`; and where the next run goes on (null: from the start again). A token the store
 * no longer takes (an upgrade, a record edited by hand) starts the walk over rather than stopping it there for good.
 */
export async function pageOnFrom<T>(place: WalkPlace | null, now: Date, page: (at: string, c?: string) => Promise<Page<T>>): Promise<{ items: T[]; next: WalkPlace | null }> {
  let from = place;
  let found: Page<T>;
  try {
    found = await page(from?.at ?? now.toISOString(), from?.c);
  } catch (err) {
    if (!from) throw err;
    from = null;
    found = await page(now.toISOString());
  }
  return { items: found.items, next: found.continuationToken ? { at: from?.at ?? now.toISOString(), c: found.continuationToken } : null };
}

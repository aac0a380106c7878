import { z } from 'zod';
import { type Page, SUPPORT_GRANT_STATES } from '../../ports';
import { STATE_LIST_PAGING, walkByState } from '../state-walk';
import { keyReader, KEYS_UNDER_A_RECORD, markEndedWithKey } from '../api-keys/verify-api-key';
import { isActiveGrant, type ListedSupportGrant, type SupportGrantRecord } from './support-grant';
import { type KeySealDeps, markNotSealed } from '../api-keys/key-seal';

/** `GET /support-grants`: `state` picks the grants in force (`active`, the default), revoked, expired or all; paged (../state-walk.ts). */
export const ZListSupportGrantsQuery = z.strictObject({ state: z.enum(SUPPORT_GRANT_STATES).default('active'), ...STATE_LIST_PAGING });
export type TListSupportGrantsQuery = z.infer<typeof ZListSupportGrantsQuery>;

/**
 * One page of the tenant's grants in `state`, newest first (revoked and expired ones only when asked for), judged at the
 * walk's first page. A grant in force given through an API key that no longer acts says so (`endedWithKey`): it gives
 * no access (find-active-support-grant.ts), though the store still holds it in force until it is revoked or expires.
 * One the archive did not seal says so (`notSealedByArchive`, key-seal.ts markNotSealed): it gives no access at all.
 */
export async function listSupportGrants(tenantId: string, q: TListSupportGrantsQuery, now: Date, deps: KeySealDeps): Promise<Page<ListedSupportGrant>> {
  const page = await walkByState({ list: 'support-grants', tenantId, state: q.state }, q, now, (at, limit, c) => deps.tenantRecords.supportGrantPage<SupportGrantRecord>(tenantId, q.state, at, limit, c));
  // The grants of a page are mostly given through a few keys: each key is read once for the page.
  return { items: await markEndedWithKey(await markNotSealed(tenantId, page.items, deps, now), (g) => (isActiveGrant(g, now) ? g.createdBy : null), now, keyReader(tenantId, deps), KEYS_UNDER_A_RECORD), continuationToken: page.continuationToken };
}

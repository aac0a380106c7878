import { z } from 'zod';
import { API_KEY_STATES, type Page } from '../../ports';
import { STATE_LIST_PAGING, walkByState } from '../state-walk';
import { isKeyInUse, type ListedApiKey, type ApiKeyRecord } from './api-key';
import { keyReader, markEndedWithKey } from './verify-api-key';
import { type KeySealDeps, markNotSealed } from './key-seal';

/** `GET /api-keys`: `state` picks the keys in use (the default), revoked, expired or all; paged (../state-walk.ts). */
export const ZListApiKeysQuery = z.strictObject({ state: z.enum(API_KEY_STATES).default('in-use'), ...STATE_LIST_PAGING });
export type TListApiKeysQuery = z.infer<typeof ZListApiKeysQuery>;

/**
 * One page of the tenant's keys in `state`, newest first (revoked and expired ones only when asked for), judged at the
 * walk's first page. A key in use minted through a key that no longer acts says so (`endedWithKey`): it cannot act
 * (minterRefusal), though the store holds it in use until it is revoked or expires, and it counts toward the limit. One
 * the archive did not seal says so (`notSealedByArchive`, key-seal.ts markNotSealed): it cannot act at all.
 */
export async function listApiKeys(tenantId: string, q: TListApiKeysQuery, now: Date, deps: KeySealDeps): Promise<Page<ListedApiKey>> {
  const page = await walkByState({ list: 'api-keys', tenantId, state: q.state }, q, now, (at, limit, c) => deps.tenantRecords.apiKeyPage<ApiKeyRecord>(tenantId, q.state, at, limit, c));
  return { items: await markEndedWithKey(await markNotSealed(tenantId, page.items, deps, now), (k) => (isKeyInUse(k, now) ? k.createdBy : null), now, keyReader(tenantId, deps)), continuationToken: page.continuationToken };
}

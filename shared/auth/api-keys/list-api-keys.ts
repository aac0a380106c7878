import { z } from 'zod';
import { ArchiveError } from '../../kernel/errors';
import { pageToken } from '../../kernel/page-token';
import { numberInUrl } from '../../kernel/url-number';
import { API_KEY_STATES, type Page, type TenantRecordsPort } from '../../ports';
import type { ApiKeyRecord } from './api-key';

/**
 * `GET /api-keys`: `state` picks the keys in use (the default), revoked, expired or all, like the legal holds' `status`
 * filter, as a store query cannot put the keys in use first; `limit` and `continuationToken` page them like the
 * archive's other lists.
 */
export const ZListApiKeysQuery = z.strictObject({
  state: z.enum(API_KEY_STATES).default('in-use'),
  limit: numberInUrl((n) => n.int().min(1).max(200).default(50)),
  continuationToken: z.string().min(1).max(4000).optional(),
});
export type TListApiKeysQuery = z.infer<typeof ZListApiKeysQuery>;

/** What the store's token is wrapped with: the time the first page judged the states at, so every page judges alike. */
const ZWalk = z.strictObject({ at: z.iso.datetime(), c: z.string().min(1) });

/**
 * One page of the tenant's keys in `state`, newest first (revoked and expired ones only when asked for). Every page of a
 * walk judges the state at the time of its first page: a key expiring meanwhile neither leaves nor shifts the walk.
 */
export async function listApiKeys(tenantId: string, q: TListApiKeysQuery, now: Date, deps: { tenantRecords: TenantRecordsPort }): Promise<Page<ApiKeyRecord>> {
  const scope = { list: 'api-keys', tenantId, state: q.state };
  const raw = pageToken.decode(q.continuationToken, scope);
  const walk = raw === undefined ? { at: now.toISOString(), c: undefined } : parseWalk(raw);
  const page = await deps.tenantRecords.apiKeyPage<ApiKeyRecord>(tenantId, q.state, walk.at, q.limit, walk.c);
  return { items: page.items, continuationToken: pageToken.encode(page.continuationToken && JSON.stringify({ at: walk.at, c: page.continuationToken }), scope) };
}

function parseWalk(raw: string): z.infer<typeof ZWalk> {
  try {
    return ZWalk.parse(JSON.parse(raw));
  } catch {
    throw new ArchiveError('invalid_query', { detail: 'The continuation token is not valid.' });
  }
}

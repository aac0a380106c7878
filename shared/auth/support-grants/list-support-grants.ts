import { z } from 'zod';
import { ArchiveError } from '../../kernel/errors';
import { pageToken } from '../../kernel/page-token';
import { numberInUrl } from '../../kernel/url-number';
import { type Page, SUPPORT_GRANT_STATES, type TenantRecordsPort } from '../../ports';
import type { SupportGrantRecord } from './support-grant';

/**
 * `GET /support-grants`: `state` picks the grants in force (`active`, the default), revoked, expired or all, as the API
 * keys' list does; `limit` and `continuationToken` page them like the archive's other lists.
 */
export const ZListSupportGrantsQuery = z.strictObject({
  state: z.enum(SUPPORT_GRANT_STATES).default('active'),
  limit: numberInUrl((n) => n.int().min(1).max(200).default(50)),
  continuationToken: z.string().min(1).max(4000).optional(),
});
export type TListSupportGrantsQuery = z.infer<typeof ZListSupportGrantsQuery>;

/** What the store's token is wrapped with: the time the first page judged the states at, so every page judges alike. */
const ZWalk = z.strictObject({ at: z.iso.datetime(), c: z.string().min(1) });

/**
 * One page of the tenant's grants in `state`, newest first (revoked and expired ones only when asked for). Every page of
 * a walk judges the state at the time of its first page: a grant expiring meanwhile neither leaves nor shifts the walk.
 */
export async function listSupportGrants(tenantId: string, q: TListSupportGrantsQuery, now: Date, deps: { tenantRecords: TenantRecordsPort }): Promise<Page<SupportGrantRecord>> {
  const scope = { list: 'support-grants', tenantId, state: q.state };
  const raw = pageToken.decode(q.continuationToken, scope);
  const walk = raw === undefined ? { at: now.toISOString(), c: undefined } : parseWalk(raw);
  const page = await deps.tenantRecords.supportGrantPage<SupportGrantRecord>(tenantId, q.state, walk.at, q.limit, walk.c);
  return { items: page.items, continuationToken: pageToken.encode(page.continuationToken && JSON.stringify({ at: walk.at, c: page.continuationToken }), scope) };
}

function parseWalk(raw: string): z.infer<typeof ZWalk> {
  try {
    return ZWalk.parse(JSON.parse(raw));
  } catch {
    throw new ArchiveError('invalid_query', { detail: 'The continuation token is not valid.' });
  }
}

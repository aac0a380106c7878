import { z } from 'zod';
import { type Page, SUPPORT_GRANT_STATES, type TenantRecordsPort } from '../../ports';
import { STATE_LIST_PAGING, walkByState } from '../state-walk';
import type { SupportGrantRecord } from './support-grant';

/** `GET /support-grants`: `state` picks the grants in force (`active`, the default), revoked, expired or all; paged (../state-walk.ts). */
export const ZListSupportGrantsQuery = z.strictObject({ state: z.enum(SUPPORT_GRANT_STATES).default('active'), ...STATE_LIST_PAGING });
export type TListSupportGrantsQuery = z.infer<typeof ZListSupportGrantsQuery>;

/** One page of the tenant's grants in `state`, newest first (revoked and expired ones only when asked for), judged at the walk's first page. */
export function listSupportGrants(tenantId: string, q: TListSupportGrantsQuery, now: Date, deps: { tenantRecords: TenantRecordsPort }): Promise<Page<SupportGrantRecord>> {
  return walkByState({ list: 'support-grants', tenantId, state: q.state }, q, now, (at, limit, c) => deps.tenantRecords.supportGrantPage<SupportGrantRecord>(tenantId, q.state, at, limit, c));
}

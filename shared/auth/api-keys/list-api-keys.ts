import { z } from 'zod';
import { API_KEY_STATES, type Page, type TenantRecordsPort } from '../../ports';
import { STATE_LIST_PAGING, walkByState } from '../state-walk';
import type { ApiKeyRecord } from './api-key';

/** `GET /api-keys`: `state` picks the keys in use (the default), revoked, expired or all; paged (../state-walk.ts). */
export const ZListApiKeysQuery = z.strictObject({ state: z.enum(API_KEY_STATES).default('in-use'), ...STATE_LIST_PAGING });
export type TListApiKeysQuery = z.infer<typeof ZListApiKeysQuery>;

/** One page of the tenant's keys in `state`, newest first (revoked and expired ones only when asked for), judged at the walk's first page. */
export function listApiKeys(tenantId: string, q: TListApiKeysQuery, now: Date, deps: { tenantRecords: TenantRecordsPort }): Promise<Page<ApiKeyRecord>> {
  return walkByState({ list: 'api-keys', tenantId, state: q.state }, q, now, (at, limit, c) => deps.tenantRecords.apiKeyPage<ApiKeyRecord>(tenantId, q.state, at, limit, c));
}

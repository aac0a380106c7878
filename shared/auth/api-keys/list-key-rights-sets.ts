import type { TenantRecordsPort } from '../../ports';
import type { ApiKeyRecord } from './api-key';

/**
 * The rights sets the tenant's keys in use hold (a set in use cannot be deleted). Only keys in use (as many as the
 * tenant may have): an expired or revoked key never acts again, so the set it names may go; reading every unrevoked
 * key read all the expired ones a tenant had piled up.
 */
export async function listKeyRightsSets(tenantId: string, now: Date, deps: { tenantRecords: TenantRecordsPort }): Promise<string[]> {
  return [...new Set((await deps.tenantRecords.apiKeysInUse<ApiKeyRecord>(tenantId, now.toISOString())).map((k) => k.rightsSet))];
}

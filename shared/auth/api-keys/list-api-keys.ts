import type { TenantRecordsPort } from '../../ports';
import type { ApiKeyRecord } from './api-key';

/** The tenant's keys, newest first (revoked and expired ones included). */
export async function listApiKeys(tenantId: string, deps: { tenantRecords: TenantRecordsPort }): Promise<ApiKeyRecord[]> {
  return (await deps.tenantRecords.list<ApiKeyRecord>(tenantId, 'api-key')).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

import type { TenantRecordsPort } from '../../ports';
import { listApiKeys } from './list-api-keys';

/** The rights sets the tenant's unrevoked keys hold (a set in use cannot be deleted; a new SoD policy must allow them). */
export async function listKeyRightsSets(tenantId: string, deps: { tenantRecords: TenantRecordsPort }): Promise<string[]> {
  return [...new Set((await listApiKeys(tenantId, deps)).filter((k) => !k.revokedAt).map((k) => k.rightsSet))];
}

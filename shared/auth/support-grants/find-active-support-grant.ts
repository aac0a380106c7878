import type { TenantRecordsPort } from '../../ports';
import { isActiveGrant, SupportGrantRecord } from './support-grant';
import { listSupportGrants } from './list-support-grants';

/** The grant a support principal acts under: the active one expiring last. */
export async function findActiveSupportGrant(tenantId: string, now: Date, deps: { tenantRecords: TenantRecordsPort }): Promise<SupportGrantRecord | null> {
  const active = (await listSupportGrants(tenantId, deps)).filter((g) => isActiveGrant(g, now));
  return active.sort((a, b) => b.expiresAt.localeCompare(a.expiresAt))[0] ?? null;
}

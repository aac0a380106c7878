import type { TenantRecordsPort } from '../../ports';
import { personOf } from '../../kernel/principal';
import { isActiveGrant, SupportGrantRecord } from './support-grant';
import { listSupportGrants } from './list-support-grants';

/**
 * The grant a support principal (`staff`, its subject) acts under: the active one expiring last among those another
 * person gave. A grant is the tenant's consent for provider staff: the person who gave it (in their own name or
 * through a key of theirs) does not consent for themselves. `selfGranted`: no such grant, but one of the staff's own.
 */
export async function findActiveSupportGrant(tenantId: string, staff: string, now: Date, deps: { tenantRecords: TenantRecordsPort }): Promise<{ grant: SupportGrantRecord | null; selfGranted: boolean }> {
  const active = (await listSupportGrants(tenantId, deps)).filter((g) => isActiveGrant(g, now));
  const others = active.filter((g) => g.createdBy.subject !== staff && personOf(g.createdBy) !== staff);
  return { grant: others.sort((a, b) => b.expiresAt.localeCompare(a.expiresAt))[0] ?? null, selfGranted: active.length > others.length };
}

import type { TenantRecordsPort } from '../../ports';
import type { SupportGrantRecord } from './support-grant';

/**
 * The grant a support principal (`staff`, its subject) acts under: the active one expiring last among those another
 * person gave. A grant is the tenant's consent for provider staff: the person who gave it (in their own name or
 * through a key of theirs) does not consent for themselves. `selfGranted`: no such grant, but one of the staff's own.
 * Each is one query of one record: reading every grant the tenant ever gave made each request of a support principal
 * read all the revoked and expired ones a tenant admin had piled up.
 */
export async function findActiveSupportGrant(tenantId: string, staff: string, now: Date, deps: { tenantRecords: TenantRecordsPort }): Promise<{ grant: SupportGrantRecord | null; selfGranted: boolean }> {
  const at = now.toISOString();
  const grant = await deps.tenantRecords.lastExpiringSupportGrant<SupportGrantRecord>(tenantId, at, { notBy: staff });
  if (grant) return { grant, selfGranted: false };
  // Asked only of a refusal: which one the staff member is told.
  return { grant: null, selfGranted: (await deps.tenantRecords.lastExpiringSupportGrant(tenantId, at, { by: staff })) !== null };
}

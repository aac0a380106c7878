import { ArchiveError } from '../../kernel/errors';
import { CHANGED, withFreshReads } from '../../kernel/concurrency';
import type { AuditStaging } from '../../kernel/audit';
import { writeWithAuditEntry } from '../../audit/outbox';
import type { Logger, TenantRecordsPort } from '../../ports';
import { SupportGrantRecord, supportGrantRecordId } from './support-grant';
import { revokedReadably, withEndsAt } from '../ends-at';
import { type RevocationKeeping, storeRevocation } from '../revocation-blobs';

/** Idempotent: revoking a revoked grant keeps the first revocation. */
export async function revokeSupportGrant(tenantId: string, grantId: string, by: { subject: string; kind: string }, now: Date, deps: { tenantRecords: TenantRecordsPort; log: Pick<Logger, 'error'> } & RevocationKeeping, audit?: AuditStaging): Promise<SupportGrantRecord> {
  const revoked = await revokeRecord();
  // Kept in storage too, after the record's write that decided it (also when it was revoked already: a retry after a
  // failed blob write): a restore of Cosmos DB to before it would give the record back unrevoked (revocation-blobs.ts).
  await storeRevocation(revoked, now, deps);
  return revoked;

  function revokeRecord(): Promise<SupportGrantRecord> {
    return withFreshReads('The grant', async () => {
      const found = /^[0-9a-f-]{36}$/.test(grantId) ? await deps.tenantRecords.get<SupportGrantRecord>(tenantId, supportGrantRecordId(grantId), 'support-grant') : null;
      if (!found) throw new ArchiveError('support_grant_not_found');
      if (revokedReadably(found.value)) {
        audit?.unchanged?.('already-revoked');
        return found.value;
      }
      const revoked = withEndsAt({ ...found.value, revokedAt: now.toISOString(), revokedBy: by });
      return (await writeWithAuditEntry(audit, {}, (outbox) => deps.tenantRecords.replace(revoked, found.etag, outbox), (r) => r === 'replaced')) === 'replaced' ? revoked : CHANGED;
    });
  }
}

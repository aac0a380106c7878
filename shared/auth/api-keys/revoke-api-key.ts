import { ArchiveError } from '../../kernel/errors';
import { CHANGED, withFreshReads } from '../../kernel/concurrency';
import type { AuditStaging } from '../../kernel/audit';
import { writeWithAuditEntry } from '../../audit/outbox';
import type { Logger, TenantRecordsPort } from '../../ports';
import { ApiKeyRecord, apiKeyRecordId } from './api-key';
import { revokedReadably, withEndsAt } from '../ends-at';
import { type RevocationKeeping, storeRevocation } from '../revocation-blobs';

/** Idempotent: revoking a revoked key keeps the first revocation. */
export async function revokeApiKey(tenantId: string, keyId: string, by: { subject: string; kind: string }, now: Date, deps: { tenantRecords: TenantRecordsPort; log: Pick<Logger, 'error'> } & RevocationKeeping, audit?: AuditStaging): Promise<ApiKeyRecord> {
  const revoked = await revokeRecord();
  // Kept in storage too, after the record's write that decided it (also when it was revoked already: a retry after a
  // failed blob write): a restore of Cosmos DB to before it would give the record back unrevoked (revocation-blobs.ts).
  await storeRevocation(revoked, now, deps);
  return revoked;

  function revokeRecord(): Promise<ApiKeyRecord> {
  if (!/^[0-9a-f]{24}$/.test(keyId)) throw new ArchiveError('api_key_not_found');
    return withFreshReads('The key', async () => {
      const found = await deps.tenantRecords.get<ApiKeyRecord>(tenantId, apiKeyRecordId(keyId), 'api-key');
      if (!found) throw new ArchiveError('api_key_not_found');
      if (revokedReadably(found.value)) {
        audit?.unchanged?.('already-revoked');
        return found.value;
      }
      const revoked: ApiKeyRecord = withEndsAt({ ...found.value, revokedAt: now.toISOString(), revokedBy: by });
      return (await writeWithAuditEntry(audit, {}, (outbox) => deps.tenantRecords.replace(revoked, found.etag, outbox), (r) => r === 'replaced')) === 'replaced' ? revoked : CHANGED;
    });
  }
}

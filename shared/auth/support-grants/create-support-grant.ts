import { randomUUID } from 'node:crypto';
import { ArchiveError } from '../../kernel/errors';
import type { AuditStaging } from '../../kernel/audit';
import { writeWithAuditEntry } from '../../audit/outbox';
import type { SupportScope } from '../../kernel/principal';
import type { TenantRecordsPort } from '../../ports';
import { SUPPORT_GRANT_MAX_MS, SupportGrantRecord, supportGrantRecordId } from './support-grant';
import { expiryWithinMakingKey, keyReader } from '../api-keys/verify-api-key';

export async function createSupportGrant(
  input: { tenantId: string; ticket: string; scope: SupportScope; expiresAt: Date; createdBy: { subject: string; kind: string; person?: string }; now: Date; /** The request's audit entry, stored with the grant. */ audit?: AuditStaging },
  deps: { tenantRecords: TenantRecordsPort },
): Promise<SupportGrantRecord> {
  const ms = input.expiresAt.getTime() - input.now.getTime();
  if (!(ms > 0 && ms <= SUPPORT_GRANT_MAX_MS)) throw new ArchiveError('bad_request', { detail: 'expiresAt must be in the future and at most 7 days away.' });
  // A grant given through a key stands on that key (find-active-support-grant.ts): it says so in its expiry too.
  const expiresAt = await expiryWithinMakingKey(input.createdBy, input.expiresAt, keyReader(input.tenantId, deps));
  const grantId = randomUUID();
  const record: SupportGrantRecord = {
    id: supportGrantRecordId(grantId),
    tenantId: input.tenantId,
    type: 'support-grant',
    grantId,
    ticket: input.ticket,
    scope: input.scope,
    createdAt: input.now.toISOString(),
    createdBy: input.createdBy,
    expiresAt: expiresAt.toISOString(),
    revokedAt: null,
    revokedBy: null,
    endsAt: expiresAt.toISOString(),
  };
  // What provider staff may do and until when, in the chain, beside the grant's record.
  await writeWithAuditEntry(input.audit, { target: `support-grant:${grantId}`, detail: `scope=${record.scope};expires=${record.expiresAt}` }, (outbox) => deps.tenantRecords.create(record, outbox), (r) => r === 'created');
  return record;
}

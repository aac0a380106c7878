import { randomUUID } from 'node:crypto';
import { ArchiveError } from '../../kernel/errors';
import type { AuditStaging } from '../../kernel/audit';
import { writeWithAuditEntry } from '../../audit/outbox';
import type { SupportScope } from '../../kernel/principal';
import { idFromIdempotencyKey } from '../../ids';
import { SUPPORT_GRANT_MAX_MS, SupportGrantRecord, supportGrantRecordId } from './support-grant';
import { expiryWithinMakingKey, keyReader } from '../api-keys/verify-api-key';
import { type KeySealDeps, sealedDigest, sealRecord } from '../api-keys/key-seal';

/**
 * `idempotencyKey` (validated, ids.ts idempotencyKeyOf): the grant's id is derived from it and the accountable person,
 * so a retry whose answer was lost is answered the grant it gave, as it is now (`replayed`), instead of a second grant
 * staff could act under; the same key with another ticket, scope or expiry is a 422.
 */
export async function createSupportGrant(
  input: { tenantId: string; ticket: string; scope: SupportScope; expiresAt: Date; createdBy: { subject: string; kind: string; person?: string }; now: Date; /** The request's audit entry, stored with the grant. */ audit?: AuditStaging; idempotencyKey?: string | null },
  deps: KeySealDeps,
): Promise<{ grant: SupportGrantRecord; replayed: boolean }> {
  const asked = { ticket: input.ticket, scope: input.scope, expiresAt: input.expiresAt.toISOString() };
  const keyed = input.idempotencyKey ? idFromIdempotencyKey(input.tenantId, input.createdBy.person ?? input.createdBy.subject, input.idempotencyKey, 'support-grant') : null;
  // Before the checks of a new grant: a retry of one given days ago may name an expiry that has passed since.
  const earlier = keyed ? await deps.tenantRecords.get<SupportGrantRecord>(input.tenantId, supportGrantRecordId(keyed), 'support-grant') : null;
  if (earlier) return { grant: sameGrantRequest(earlier.value, asked), replayed: true };
  const ms = input.expiresAt.getTime() - input.now.getTime();
  if (!(ms > 0 && ms <= SUPPORT_GRANT_MAX_MS)) throw new ArchiveError('bad_request', { detail: 'expiresAt must be in the future and at most 7 days away.' });
  // A grant given through a key stands on that key (find-active-support-grant.ts): it says so in its expiry too.
  const expiresAt = await expiryWithinMakingKey(input.createdBy, input.expiresAt, keyReader(input.tenantId, deps));
  const grantId = keyed ?? randomUUID();
  // Sealed by the archive (api-keys/key-seal.ts): a grant a writer of Cosmos DB made or widened gives no access.
  const record: SupportGrantRecord = await sealRecord<SupportGrantRecord>({
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
    // A retry names the expiry it asked for: kept when the making key's expiry cut it short, so the retry is recognised.
    ...(keyed && expiresAt.getTime() !== input.expiresAt.getTime() ? { requestedExpiresAt: asked.expiresAt } : {}),
  }, deps.audit.chainKeys);
  // What provider staff may do and until when, in the chain, beside the grant's record.
  const written = await writeWithAuditEntry(input.audit, { target: `support-grant:${grantId}`, detail: `scope=${record.scope};expires=${record.expiresAt};sealed-digest=${sealedDigest(record)}` }, (outbox) => deps.tenantRecords.create(record, outbox), (r) => r === 'created');
  if (written === 'created' || !keyed) return { grant: record, replayed: false };
  // The same key sent at once: the other request gave the grant first.
  const first = await deps.tenantRecords.get<SupportGrantRecord>(input.tenantId, record.id, 'support-grant');
  if (!first) throw new Error(`support grant ${grantId}: its create found it existing, its read found none`);
  return { grant: sameGrantRequest(first.value, asked), replayed: true };
}

/** The grant a retry with the same Idempotency-Key gave, if it asked for the same; another request with the key is a 422. */
function sameGrantRequest(earlier: SupportGrantRecord, asked: { ticket: string; scope: SupportScope; expiresAt: string }): SupportGrantRecord {
  const given = { ticket: earlier.ticket, scope: earlier.scope, expiresAt: earlier.requestedExpiresAt ?? earlier.expiresAt };
  const differences = (['ticket', 'scope', 'expiresAt'] as const).filter((k) => given[k] !== asked[k]);
  if (differences.length > 0) {
    throw new ArchiveError('idempotency_key_reused', { detail: `This Idempotency-Key already gave support grant ${earlier.grantId} with another ${differences.join(', ')}; nothing was granted.`, extensions: { grantId: earlier.grantId, differences } });
  }
  return earlier;
}

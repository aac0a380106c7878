import { SUPPORT_SCOPES, SupportScope } from '../../kernel/principal';
import { endReached } from '../../kernel/instant';
import { isRevoked, revokedReadably } from '../ends-at';
import type { TenantRecord } from '../../ports';

/**
 * A tenant's consent for provider staff to read its data: time-boxed, scoped, revocable at once.
 * What every grant operation shares: the record, its id, and when a grant is in force.
 */
export const SUPPORT_GRANT_MAX_MS = 7 * 24 * 3600 * 1000;

export interface SupportGrantRecord extends TenantRecord {
  type: 'support-grant';
  grantId: string;
  ticket: string;
  scope: SupportScope;
  createdAt: string;
  /** `person`: the accountable person who gave it (absent on grants from before: the subject), who cannot act under it as staff. */
  createdBy: { subject: string; kind: string; person?: string };
  expiresAt: string;
  revokedAt: string | null;
  revokedBy: { subject: string; kind: string } | null;
  /** The earlier of `expiresAt` and `revokedAt`, for the store's queries (ends-at.ts); absent on grants from before its migration. */
  endsAt?: string;
  /** The expiry a keyed request asked for, when the making key's expiry cut it short: what its retry is compared with (create-support-grant.ts). */
  requestedExpiresAt?: string;
  /** The archive's seal over whom it lets in, to what and until when (api-keys/key-seal.ts); absent on grants from before it. */
  mac?: string;
  keyVersion?: string;
}

/**
 * A grant as listed: `endedWithKey`, the API key (or one above it) that it was given through and that no longer acts, when
 * it is in force but gives no access for that; `notSealedByArchive`, when the archive did not seal it (key-seal.ts markNotSealed).
 */
export type ListedSupportGrant = SupportGrantRecord & { endedWithKey?: string; notSealedByArchive?: true };

export function toPublicGrant(g: ListedSupportGrant) {
  const { id: _id, tenantId: _t, type: _type, endsAt: _e, requestedExpiresAt: _r, mac: _m, keyVersion: _v, grantId, ...rest } = g;
  // As a key's (api-key.ts toPublicApiKey): revoked with no readable time, it is listed revoked, its time null.
  return { id: grantId, ...rest, revokedAt: revokedReadably(g) ? g.revokedAt : null, revoked: isRevoked(g), permissions: [...SUPPORT_SCOPES[g.scope]] };
}

export const supportGrantRecordId = (grantId: string) => `support-grant:${grantId}`;
/** In force: not revoked, and its `expiresAt` a readable instant still ahead (kernel/instant.ts endReached). */
export const isActiveGrant = (g: SupportGrantRecord, now: Date) => !isRevoked(g) && !endReached(g.expiresAt, now);

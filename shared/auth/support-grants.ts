import { randomUUID } from 'node:crypto';
import { ArchiveError } from '../kernel/errors';
import type { TenantRecord, TenantRecordsPort } from '../ports';
import { SUPPORT_SCOPES, SupportScope } from '../kernel/principal';

/** The longest a tenant may let provider staff look in with one grant. */
export const SUPPORT_GRANT_MAX_MS = 7 * 24 * 3600 * 1000;

export interface SupportGrantRecord extends TenantRecord {
  type: 'support-grant';
  grantId: string;
  ticket: string;
  scope: SupportScope;
  createdAt: string;
  createdBy: { subject: string; kind: string };
  expiresAt: string;
  revokedAt: string | null;
  revokedBy: { subject: string; kind: string } | null;
}

export function toPublicGrant(g: SupportGrantRecord) {
  const { id: _id, tenantId: _t, type: _type, grantId, ...rest } = g;
  return { id: grantId, ...rest, permissions: [...SUPPORT_SCOPES[g.scope]] };
}

const recordId = (grantId: string) => `support-grant:${grantId}`;
const isActive = (g: SupportGrantRecord, now: Date) => !g.revokedAt && Date.parse(g.expiresAt) > now.getTime();

/** A tenant's consent for provider staff to read its data: time-boxed, scoped, revocable at once. */
export class SupportGrants {
  constructor(private readonly records: TenantRecordsPort) {}

  async create(input: { tenantId: string; ticket: string; scope: SupportScope; expiresAt: Date; createdBy: { subject: string; kind: string }; now: Date }): Promise<SupportGrantRecord> {
    const ms = input.expiresAt.getTime() - input.now.getTime();
    if (!(ms > 0 && ms <= SUPPORT_GRANT_MAX_MS)) throw new ArchiveError('bad_request', { detail: 'expiresAt must be in the future and at most 7 days away.' });
    const grantId = randomUUID();
    const record: SupportGrantRecord = {
      id: recordId(grantId),
      tenantId: input.tenantId,
      type: 'support-grant',
      grantId,
      ticket: input.ticket,
      scope: input.scope,
      createdAt: input.now.toISOString(),
      createdBy: input.createdBy,
      expiresAt: input.expiresAt.toISOString(),
      revokedAt: null,
      revokedBy: null,
    };
    await this.records.create(record);
    return record;
  }

  async list(tenantId: string): Promise<SupportGrantRecord[]> {
    return (await this.records.list<SupportGrantRecord>(tenantId, 'support-grant')).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** The grant a support principal acts under: the active one expiring last. */
  async active(tenantId: string, now: Date): Promise<SupportGrantRecord | null> {
    const active = (await this.list(tenantId)).filter((g) => isActive(g, now));
    return active.sort((a, b) => b.expiresAt.localeCompare(a.expiresAt))[0] ?? null;
  }

  async revoke(tenantId: string, grantId: string, by: { subject: string; kind: string }, now: Date): Promise<SupportGrantRecord> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const found = /^[0-9a-f-]{36}$/.test(grantId) ? await this.records.get<SupportGrantRecord>(tenantId, recordId(grantId), 'support-grant') : null;
      if (!found) throw new ArchiveError('support_grant_not_found');
      if (found.value.revokedAt) return found.value;
      const revoked = { ...found.value, revokedAt: now.toISOString(), revokedBy: by };
      if ((await this.records.replace(revoked, found.etag)) === 'replaced') return revoked;
    }
    throw new ArchiveError('dependency_unavailable', { detail: 'The grant is being changed concurrently; retry.' });
  }
}

import { createHmac, randomBytes, scrypt as scryptCb, ScryptOptions, timingSafeEqual } from 'node:crypto';
import { ArchiveError } from '../kernel/errors';
import type { TenantRecord, TenantRecordsPort } from '../ports';
import type { SecretSource } from '../ports';
import { type Permission, personOf, TENANT_ID } from '../kernel/principal';

/**
 * API keys for client apps. The secret is shown once; only a salted, peppered scrypt hash
 * is stored. The key names its tenant and id, so verification is one point read in the
 * tenant's partition, never a scan:
 *
 *   arch_<tenant>_<key id: 24 hex>_<secret: 43 base64url chars (256 bits)>
 *
 * Send it as `Authorization: ApiKey <key>`.
 */
export const API_KEY_PATTERN = /^arch_([a-z0-9][a-z0-9-]{2,40})_([0-9a-f]{24})_([A-Za-z0-9_-]{43})$/;

const SCRYPT = { N: 1 << 14, r: 8, p: 1, keylen: 32 } as const;
/** Refresh `lastUsedAt` at most this often, so a busy key is not one write per request. */
const LAST_USED_RESOLUTION_MS = 60_000;

export interface ApiKeyRecord extends TenantRecord {
  type: 'api-key';
  keyId: string;
  name: string;
  rightsSet: string;
  /** The recognisable, non-secret part: `arch_<tenant>_<key id>`. */
  prefix: string;
  hash: { alg: 'scrypt'; N: number; r: number; p: number; salt: string; value: string; pepper: string };
  createdAt: string;
  /** `person`: the accountable person the key acts for (absent on keys from before: the creator's subject). */
  createdBy: { subject: string; kind: string; person?: string };
  /** Rights ceiling: the creator's permissions at creation; the key never acts beyond them (absent on keys from before). */
  ceiling?: Permission[];
  /** What the creator person held through any credential at creation, for person-level SoD rules. */
  personPermissions?: Permission[];
  expiresAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  revokedBy: { subject: string; kind: string } | null;
}

export type PublicApiKey = Omit<ApiKeyRecord, 'id' | 'tenantId' | 'type' | 'hash' | 'keyId' | 'personPermissions'> & { id: string };

export function toPublicApiKey(k: ApiKeyRecord): PublicApiKey {
  const { id: _id, tenantId: _t, type: _type, hash: _h, personPermissions: _pp, keyId, ...rest } = k;
  return { id: keyId, ...rest };
}

const recordId = (keyId: string) => `api-key:${keyId}`;

function scrypt(password: Buffer, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))));
}

export class ApiKeys {
  constructor(
    private readonly records: TenantRecordsPort,
    private readonly secrets: SecretSource,
    private readonly pepperName: string,
  ) {}

  private async hash(secret: string, salt: Buffer, params: { N: number; r: number; p: number }, pepperName: string): Promise<Buffer> {
    const pepper = await this.secrets.get(pepperName);
    const peppered = createHmac('sha256', pepper).update(secret).digest();
    return scrypt(peppered, salt, SCRYPT.keylen, { N: params.N, r: params.r, p: params.p, maxmem: 64 * 1024 * 1024 });
  }

  async create(input: { tenantId: string; name: string; rightsSet: string; expiresAt: Date; createdBy: { subject: string; kind: string; person: string }; ceiling: Permission[]; personPermissions: Permission[]; now: Date }): Promise<{ key: string; record: ApiKeyRecord }> {
    const keyId = randomBytes(12).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const salt = randomBytes(16);
    const value = await this.hash(secret, salt, SCRYPT, this.pepperName);
    const prefix = `arch_${input.tenantId}_${keyId}`;
    const record: ApiKeyRecord = {
      id: recordId(keyId),
      tenantId: input.tenantId,
      type: 'api-key',
      keyId,
      name: input.name,
      rightsSet: input.rightsSet,
      prefix,
      hash: { alg: 'scrypt', N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, salt: salt.toString('base64'), value: value.toString('base64'), pepper: this.pepperName },
      createdAt: input.now.toISOString(),
      createdBy: input.createdBy,
      ceiling: [...input.ceiling].sort(),
      personPermissions: [...input.personPermissions].sort(),
      expiresAt: input.expiresAt.toISOString(),
      lastUsedAt: null,
      revokedAt: null,
      revokedBy: null,
    };
    if ((await this.records.create(record)) !== 'created') throw new Error('API key id collision');
    return { key: `${prefix}_${secret}`, record };
  }

  /**
   * The key record for a presented key, or 401. Revocation and expiry are read from Cosmos on
   * every request, so they take effect at once.
   */
  async verify(presented: string, now: Date): Promise<ApiKeyRecord> {
    const m = API_KEY_PATTERN.exec(presented);
    if (!m || !TENANT_ID.test(m[1]!)) throw invalidKey();
    const [, tenantId, keyId, secret] = m as unknown as [string, string, string, string];
    const found = await this.records.get<ApiKeyRecord>(tenantId, recordId(keyId), 'api-key');
    const h = found?.value.hash;
    // Hash even for an unknown id, so a miss costs what a hit costs.
    const salt = Buffer.from(h?.salt ?? 'AAAAAAAAAAAAAAAAAAAAAA==', 'base64');
    const computed = await this.hash(secret, salt, h ?? SCRYPT, h?.pepper ?? this.pepperName);
    const stored = h ? Buffer.from(h.value, 'base64') : Buffer.alloc(computed.length);
    const match = stored.length === computed.length && timingSafeEqual(stored, computed);
    if (!found || !match) throw invalidKey();
    const key = found.value;
    if (key.revokedAt) throw invalidKey('The API key has been revoked.');
    if (Date.parse(key.expiresAt) <= now.getTime()) throw invalidKey('The API key has expired.');
    if (!key.lastUsedAt || now.getTime() - Date.parse(key.lastUsedAt) >= LAST_USED_RESOLUTION_MS) {
      // IfMatch: a concurrent revoke wins; losing a last-used stamp is harmless.
      await this.records.replace({ ...key, lastUsedAt: now.toISOString() }, found.etag);
    }
    return key;
  }

  async list(tenantId: string): Promise<ApiKeyRecord[]> {
    return (await this.records.list<ApiKeyRecord>(tenantId, 'api-key')).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /**
   * What a person holds through their API keys now (unrevoked, unexpired, each capped to its
   * ceiling): for person-level rules, a person's keys count as their credentials.
   */
  async heldByPerson(tenantId: string, person: string, now: Date, permissionsOf: (tenantId: string, rightsSet: string) => Promise<Permission[] | null>): Promise<Set<Permission>> {
    const held = new Set<Permission>();
    for (const k of await this.list(tenantId)) {
      if (k.revokedAt || Date.parse(k.expiresAt) <= now.getTime() || personOf(k.createdBy) !== person) continue;
      const permissions = (await permissionsOf(tenantId, k.rightsSet)) ?? [];
      for (const p of permissions) if (!k.ceiling || k.ceiling.includes(p)) held.add(p);
    }
    return held;
  }

  async rightsSetsInUse(tenantId: string): Promise<string[]> {
    return [...new Set((await this.list(tenantId)).filter((k) => !k.revokedAt).map((k) => k.rightsSet))];
  }

  /** Idempotent: revoking a revoked key keeps the first revocation. */
  async revoke(tenantId: string, keyId: string, by: { subject: string; kind: string }, now: Date): Promise<ApiKeyRecord> {
    if (!/^[0-9a-f]{24}$/.test(keyId)) throw new ArchiveError('api_key_not_found');
    for (let attempt = 0; attempt < 5; attempt++) {
      const found = await this.records.get<ApiKeyRecord>(tenantId, recordId(keyId), 'api-key');
      if (!found) throw new ArchiveError('api_key_not_found');
      if (found.value.revokedAt) return found.value;
      const revoked: ApiKeyRecord = { ...found.value, revokedAt: now.toISOString(), revokedBy: by };
      if ((await this.records.replace(revoked, found.etag)) === 'replaced') return revoked;
    }
    throw new ArchiveError('dependency_unavailable', { detail: 'The key is being changed concurrently; retry.' });
  }
}

function invalidKey(detail = 'The API key is not valid for this archive.'): ArchiveError {
  return new ArchiveError('unauthenticated', { detail });
}

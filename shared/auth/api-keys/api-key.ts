import { createHmac, scrypt as scryptCb, ScryptOptions } from 'node:crypto';
import { ArchiveError } from '../../kernel/errors';
import type { Permission } from '../../kernel/principal';
import type { AuditLogPort, SecretSource, TenantRecord, TenantRecordsPort } from '../../ports';
import { isRevoked, revokedReadably } from '../ends-at';

/**
 * API keys for client apps: what every key operation shares (the record, its id, the hash).
 * The secret is shown once; only a salted, peppered scrypt hash is stored. The key names its
 * tenant and id, so verification is one point read in the tenant's partition, never a scan:
 *
 *   arch_<tenant>_<key id: 24 hex>_<secret: 43 base64url chars (256 bits)>
 *
 * Send it as `Authorization: ApiKey <key>`.
 */
export const API_KEY_PATTERN = /^arch_([a-z0-9][a-z0-9-]{2,40})_([0-9a-f]{24})_([A-Za-z0-9_-]{43})$/;

export const SCRYPT = { N: 1 << 14, r: 8, p: 1, keylen: 32 } as const;

export interface ApiKeyRecord extends TenantRecord {
  type: 'api-key';
  keyId: string;
  name: string;
  rightsSet: string;
  /** The recognisable, non-secret part: `arch_<tenant>_<key id>`. */
  prefix: string;
  /**
   * `pepper`: the secret's name; `pepperVersion`: which version of it (Key Vault's), so a rotated pepper leaves the
   * key verifying. Absent or null (keys from before, or minted locally): the secret's current value.
   */
  hash: { alg: 'scrypt'; N: number; r: number; p: number; salt: string; value: string; pepper: string; pepperVersion?: string | null };
  createdAt: string;
  /** `person`: the accountable person the key acts for (absent on keys from before: the creator's subject). */
  createdBy: { subject: string; kind: string; person?: string };
  /** Rights ceiling: the creator's permissions at creation; the key never acts beyond them (absent on keys from before). */
  ceiling?: Permission[];
  /** What the creator person held through any credential at creation, for person-level SoD rules. */
  personPermissions?: Permission[];
  /**
   * The creator person's rights came from a tenant rights assignment at creation. If the tenant later
   * removes it, the key acts with nothing: what the person may do is then no longer known to the archive.
   */
  personAssigned?: boolean;
  expiresAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  revokedBy: { subject: string; kind: string } | null;
  /** The earlier of `expiresAt` and `revokedAt`, for the store's queries (ends-at.ts); absent on keys from before its migration. */
  endsAt?: string;
  /** The archive's seal over what decides what the key may do (key-seal.ts); absent on keys from before it. */
  mac?: string;
  keyVersion?: string;
}

/** A key that still opens the archive: neither revoked nor expired at `now` (what counts toward the tenant's limit). */
export const isKeyInUse = (k: Pick<ApiKeyRecord, 'revokedAt' | 'expiresAt'>, now: Date): boolean => !isRevoked(k) && Date.parse(k.expiresAt) > now.getTime();

/**
 * A key as listed: `endedWithKey`, the key (or one above it) it was minted through and that no longer acts, when it is in
 * use but cannot act for that; `notSealedByArchive`, when the archive did not seal it (key-seal.ts markNotSealed).
 */
export type ListedApiKey = ApiKeyRecord & { endedWithKey?: string; notSealedByArchive?: true };

export type PublicApiKey = Omit<ListedApiKey, 'id' | 'tenantId' | 'type' | 'hash' | 'keyId' | 'personPermissions' | 'personAssigned' | 'endsAt' | 'mac' | 'keyVersion'> & { id: string; revoked: boolean };

export function toPublicApiKey(k: ListedApiKey): PublicApiKey {
  const { id: _id, tenantId: _t, type: _type, hash: _h, personPermissions: _pp, personAssigned: _pa, endsAt: _e, mac: _m, keyVersion: _v, keyId, ...rest } = k;
  // Revoked with no readable time (`''`, `0`, `false`: restored, edited by hand), a key is refused (isRevoked) but was
  // listed with that `revokedAt`, which the web app read as in use (and offered to revoke) until a revoke wrote a time.
  return { id: keyId, ...rest, revokedAt: revokedReadably(k) ? k.revokedAt : null, revoked: isRevoked(k) };
}

/** What the key operations read and write: the tenant's records and the pepper (by its secret's name). */
export interface ApiKeyDeps {
  tenantRecords: TenantRecordsPort;
  /** The chain key, which seals every key record the archive writes (key-seal.ts). */
  audit: Pick<AuditLogPort, 'chainKeys'>;
  secrets: SecretSource;
  config: { API_KEY_PEPPER_SECRET_NAME: string };
}

export const apiKeyRecordId = (keyId: string) => `api-key:${keyId}`;

/** The key a principal or record's maker (`createdBy`) acted through (`apikey:<id>`, kind `client`); undefined for a person. */
export const keyIdOf = (by: { subject: string; kind: string }): string | undefined => (madeThroughKey(by) ? /^apikey:([0-9a-f]{24})$/.exec(by.subject)?.[1] : undefined);

/**
 * Whether a record's maker (`createdBy`, `assignedBy`) acted through an API key: its kind says `client`, or its subject
 * names a key (`apikey:…`, which no person's token may carry: authenticate.ts). Judged by the kind alone, a maker whose
 * kind a restore, a half-written record or a hand edit lost or changed (missing, null, `Client`) was read as a person,
 * and a key minted through a revoked key acted again, for the person it names.
 */
export const madeThroughKey = (by: { subject: string; kind: string }): boolean => by.kind === 'client' || (typeof by.subject === 'string' && by.subject.startsWith('apikey:'));

function scrypt(password: Buffer, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/** The secret HMACed with the pepper (`pepper`: its name and version; no version: the current one), then salted scrypt. */
export async function hashSecret(deps: Pick<ApiKeyDeps, 'secrets'>, secret: string, salt: Buffer, params: { N: number; r: number; p: number }, pepper: { name: string; version?: string | null }): Promise<{ hash: Buffer; pepperVersion: string | null }> {
  // Never without a pepper: a version the source does not have is an error, not an unpeppered hash.
  const { value, version } = await deps.secrets.versioned(pepper.name, pepper.version ?? null);
  const peppered = createHmac('sha256', value).update(secret).digest();
  return { hash: await scrypt(peppered, salt, SCRYPT.keylen, { N: params.N, r: params.r, p: params.p, maxmem: 64 * 1024 * 1024 }), pepperVersion: version };
}

export function invalidKey(detail = 'The API key is not valid for this archive.'): ArchiveError {
  return new ArchiveError('unauthenticated', { detail });
}

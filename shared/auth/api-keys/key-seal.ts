/**
 * The archive's seal on API key records (kernel/archive-seal.ts, purpose `api-key`). Keys are read from Cosmos DB on every
 * request, and whoever could write Cosmos DB (not Key Vault) and held any one key's secret copied its stored `hash` into
 * a record of their own making (another rights set, ceiling, person, expiry, id or tenant): the key acted with it (an
 * archivist's key answered 200 on PUT /rights-sets as tenant-admin). The seal covers what decides what a key may do and
 * never changes after minting; not what does change (lastUsedAt, the revocation, endsAt) nor the name (a label).
 *
 * A record whose seal does not check is answered as an unknown key is (401, after the same scrypt check as a wrong
 * secret: no oracle), and logged API_KEY_UNSEALED once per key per instance. A key from before the seal (no `mac`) acts
 * as before until the store is marked as every key sealed (TenantRecordsPort.keysSealed), which the reconciler sets
 * (sealLegacyKeys) once it finds none left in use; from then on one is refused.
 */
import { createHash } from 'node:crypto';
import { auditHolds } from '../../audit/audit-pages';
import { canonicalJson } from '../../kernel/audit-chain';
import { sealWith, unsealedBecause } from '../../kernel/archive-seal';
import { personOf } from '../../kernel/principal';
import type { AuditLogPort, Logger, TenantRecordsPort, TimerStatePort } from '../../ports';
import { type ApiKeyRecord, apiKeyRecordId } from './api-key';

/** Operators are alerted on this exact phrase (infra/main.bicep, apiKeyUnsealedAlert): a key record the archive did not write, refused. */
export const API_KEY_UNSEALED = 'api key in the catalog not sealed by the archive';

/** A key from before the seal acting while the store is not yet marked as every key sealed (a warning, once per key per instance). */
export const API_KEY_LEGACY = 'api key from before the seal acted; the reconciler seals it from its audit entry';

const KEY_SEAL = 'api-key';

/** What a key's seal covers: what decides what it may do, as minted. */
export function keySealed(k: ApiKeyRecord): Omit<ApiKeyRecord, 'type' | 'name' | 'lastUsedAt' | 'revokedAt' | 'revokedBy' | 'endsAt' | 'mac' | 'keyVersion'> {
  const { tenantId, id, keyId, prefix, hash, rightsSet, ceiling, personPermissions, personAssigned, createdBy, createdAt, expiresAt } = k;
  return { tenantId, id, keyId, prefix, hash, rightsSet, ceiling, personPermissions, personAssigned, createdBy, createdAt, expiresAt };
}

/** The record with the archive's seal over keySealed(record). */
export async function sealKey(record: ApiKeyRecord, keys: AuditLogPort['chainKeys']): Promise<ApiKeyRecord> {
  const { keyVersion, mac } = await sealWith(KEY_SEAL, keySealed(record), keys);
  const { keyVersion: _v, mac: _m, ...rest } = record;
  return { ...rest, ...(keyVersion !== undefined ? { keyVersion } : {}), mac };
}

export interface KeySealDeps {
  tenantRecords: TenantRecordsPort;
  audit: Pick<AuditLogPort, 'chainKeys'>;
  log: Pick<Logger, 'warn' | 'error'>;
}

/** Verdicts per record version (its sealed content's digest), per instance: a request costs one digest, no read. */
const verdicts = new Map<string, string | null>();
const reported = new Set<string>();
const PER_INSTANCE_MAX = 10_000;

function once(set: Set<string>, key: string): boolean {
  if (set.has(key)) return false;
  if (set.size >= PER_INSTANCE_MAX) set.clear();
  set.add(key);
  return true;
}

/** Why the record is not the archive's (null: sealed by it), its verdict remembered for this very content. */
async function unsealedKey(record: ApiKeyRecord, keys: AuditLogPort['chainKeys']): Promise<string | null> {
  const sealed = { ...keySealed(record), ...(record.keyVersion !== undefined ? { keyVersion: record.keyVersion } : {}), mac: record.mac };
  let digest: string;
  try {
    digest = createHash('sha256').update(canonicalJson(JSON.parse(JSON.stringify(sealed)))).digest('hex');
  } catch {
    return 'not a key record';
  }
  const seen = verdicts.get(digest);
  if (seen !== undefined) return seen;
  // Its minting time stands for when it was sealed: a key sealed before a rotation of the chain key still acts after it.
  const why = await unsealedBecause(KEY_SEAL, sealed, typeof record.createdAt === 'string' ? record.createdAt : null, keys);
  // 'key unavailable' may pass (Key Vault): not remembered.
  if (why !== 'key unavailable') {
    if (verdicts.size >= PER_INSTANCE_MAX) verdicts.clear();
    verdicts.set(digest, why);
  }
  return why;
}

/**
 * Whether a stored key may act as the archive minted it: sealed by it, or (no `mac`) from before the seal while the
 * store is not yet marked as every key sealed. Any other is reported API_KEY_UNSEALED once per key per instance.
 */
export async function keyIsArchives(record: ApiKeyRecord, deps: KeySealDeps): Promise<boolean> {
  const at = `${record.tenantId}/${record.id}`;
  if (record.mac === undefined) {
    if (await deps.tenantRecords.keysSealed()) {
      if (once(reported, at)) deps.log.error(API_KEY_UNSEALED, { tenantId: record.tenantId, keyId: record.keyId, reason: 'no seal, and every key in the store is sealed' });
      return false;
    }
    if (once(reported, `legacy:${at}`)) deps.log.warn(API_KEY_LEGACY, { tenantId: record.tenantId, keyId: record.keyId });
    return true;
  }
  const why = await unsealedKey(record, deps.audit.chainKeys);
  if (why === null) return true;
  if (once(reported, at)) deps.log.error(API_KEY_UNSEALED, { tenantId: record.tenantId, keyId: record.keyId, reason: why });
  return false;
}

/** API keys from before the seal a reconciler run judges, at most (each one audit query): the rest wait for the next run. */
export const KEYS_SEALED_PER_RUN = 64;

/** Timer state: when the sealing of keys from before first ran, so the store is marked no sooner than ENDS_AT_SETTLE_MS after. */
export const KEY_SEALING_STARTED = 'key-sealing-started';

export interface KeySealingResult {
  /** Keys from before the seal sealed by this run (`tenantId/keyId`), on their `api-key.create` audit entry. */
  sealed: string[];
  /** Keys in use without a seal and without their audit entry (`tenantId/keyId`): never sealed; refused once marked. */
  unwitnessed: string[];
  /** The store is marked as every key sealed. */
  done: boolean;
}

/**
 * Reconciler: seals each key in use from before the seal whose `api-key.create` success entry the keyed audit log holds
 * (its target, its rights set and expiry, its maker's subject and person: what a writer of Cosmos DB cannot forge). The
 * entry names no ceiling: one widened in Cosmos DB before the run is sealed as found (the upgrade's window). At most
 * KEYS_SEALED_PER_RUN a run; one without is reported API_KEY_UNSEALED and left (an operator revokes or deletes it). A run
 * that finds none left in use marks the store (TenantRecordsPort.keysSealed), `settleMs` after the first run (an
 * instance of the code from before may still mint unsealed keys for the minutes a deploy takes). Runs after the mark
 * still seal what such an instance wrote.
 */
export async function sealLegacyKeys(deps: KeySealDeps & { audit: Pick<AuditLogPort, 'chainKeys' | 'list'>; retention: { timers: TimerStatePort } }, now: Date, settleMs: number): Promise<KeySealingResult> {
  const marked = await deps.tenantRecords.keysSealed();
  let started = now.toISOString();
  if (!marked) {
    const first = await deps.retention.timers.get<string>(KEY_SEALING_STARTED);
    if (first === null) await deps.retention.timers.set(KEY_SEALING_STARTED, started);
    else started = first;
  }
  const lacking = await deps.tenantRecords.unsafeUnsealedKeys(now.toISOString(), KEYS_SEALED_PER_RUN);
  const result: KeySealingResult = { sealed: [], unwitnessed: [], done: marked };
  for (const { tenantId, id } of lacking) {
    const found = await deps.tenantRecords.get<ApiKeyRecord>(tenantId, id, 'api-key');
    if (!found || found.value.mac !== undefined || found.value.id !== apiKeyRecordId(found.value.keyId)) continue;
    const key = found.value;
    const created = `rights-set=${key.rightsSet};expires=${key.expiresAt}`;
    const witnessed = await auditHolds(deps.audit, tenantId, { target: `api-key:${key.keyId}`, action: 'api-key.create' }, [key.createdAt], (e) => e.outcome === 'success' && e.detail === created && e.actor.subject === key.createdBy?.subject && (key.createdBy.person === undefined || personOf(e.actor) === key.createdBy.person));
    if (!witnessed) {
      result.unwitnessed.push(`${tenantId}/${key.keyId}`);
      if (once(reported, `${tenantId}/${id}`)) deps.log.error(API_KEY_UNSEALED, { tenantId, keyId: key.keyId, reason: 'no seal, and no audit entry of its minting' });
      continue;
    }
    if ((await deps.tenantRecords.replace(await sealKey(key, deps.audit.chainKeys), found.etag)) === 'replaced') result.sealed.push(`${tenantId}/${key.keyId}`);
  }
  if (marked || lacking.length > 0 || now.getTime() - Date.parse(started) < settleMs) return result;
  await deps.tenantRecords.unsafeMarkKeysSealed();
  return { ...result, done: true };
}

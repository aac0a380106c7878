/**
 * Revocations kept in storage too. An API key or a support grant was revoked in Cosmos DB only, so a point-in-time
 * restore of Cosmos DB (README *Backups and restore*, often to just before a credential leaked and was revoked) gave
 * the restored record back unrevoked and the key or grant acted again, with nothing telling anyone. Each revocation
 * is now also written as a small create-only WORM blob in the tenant's container (`revocations/<kind>-<id>.json`,
 * locked until the credential would have expired anyway), after the record's write that decided it: a blob is only
 * ever a revocation the archive accepted. Where the credential is checked, a record in force is looked up there as
 * well (one existence check per credential per instance per REVOCATION_CHECK_MAX_AGE_MS: off the hot path's round
 * trips); a blob found writes the revocation back onto the record, logged as REVOCATION_RESTORED.
 */
import type { BlobArchivePort, Logger, TenantRecordsPort } from '../ports';
import { auditOutboxItem } from '../kernel/audit';
import type { KeyReader } from './api-keys/verify-api-key';
import { isRevoked, withEndsAt } from './ends-at';
import { type ApiKeyRecord, isKeyInUse } from './api-keys/api-key';
import type { SupportGrantRecord } from './support-grants/support-grant';
import { forEachTenantKeeping } from './kept-in-storage';
import { readKeptBlob } from '../kept-blobs';

/** Operators are alerted on this exact phrase: a revocation the Cosmos DB record had lost (a restore) was applied again from storage. */
export const REVOCATION_RESTORED = 'revocation restored from storage';

/** Who applies a revocation again from storage, in the audit entry it writes. */
export const REVOCATION_RESTORE_ACTOR = { subject: 'system:revocation-restore', kind: 'system' } as const;

export type RevocableKind = 'api-key' | 'support-grant';
type Revocable = ApiKeyRecord | SupportGrantRecord;

export const REVOCATIONS_PREFIX = 'revocations/';
export const revocationBlobName = (kind: RevocableKind, id: string): string => `${REVOCATIONS_PREFIX}${kind}-${id}.json`;

/** What a revocation blob holds. */
export interface StoredRevocation {
  tenantId: string;
  kind: RevocableKind;
  id: string;
  revokedAt: string;
  revokedBy: { subject: string; kind: string } | null;
}

export type RevocationBlobs = Pick<BlobArchivePort, 'prepareTenant' | 'putCreateOnly' | 'exists' | 'readIfExists'>;

/** Support grants in force a reconciler run looks at per tenant, at most (a grant lasts at most 7 days). */
const GRANTS_IN_FORCE_MAX = 1000;

const idOf = (record: Revocable): string => (record.type === 'api-key' ? record.keyId : record.grantId);

/**
 * Writes the blob of a revoked record (idempotent: a revoke retried after a failed blob write writes it then). A
 * record already past its expiry needs none: no restore makes it act again, and storage refuses a lock in the past.
 */
export async function storeRevocation(record: Revocable, now: Date, deps: { blobs: RevocationBlobs }): Promise<void> {
  if (!record.revokedAt || Date.parse(record.expiresAt) <= now.getTime()) return;
  const stored: StoredRevocation = { tenantId: record.tenantId, kind: record.type, id: idOf(record), revokedAt: record.revokedAt, revokedBy: record.revokedBy ?? null };
  await deps.blobs.prepareTenant(record.tenantId);
  // 'different' is a revocation written first (a concurrent revoke of the same record): it stands as well.
  await deps.blobs.putCreateOnly(record.tenantId, revocationBlobName(record.type, stored.id), Buffer.from(JSON.stringify(stored)), 'application/json', { retainUntil: record.expiresAt, legalHold: false }, {});
}

/** How long an instance trusts that a credential has no revocation blob before it looks again. */
export const REVOCATION_CHECK_MAX_AGE_MS = 10 * 60_000;
const MAX_ENTRIES = 10_000;

/**
 * Per instance: which credentials in force were lately found without a revocation blob. Only the absence is cached: a
 * blob found is written back onto the record, which every later request reads. A restore is hours after any entry
 * made before the revocation, so the cache never hides one.
 */
export class RevocationChecks {
  private readonly clear = new Map<string, number>();
  constructor(private readonly deps: { blobs: RevocationBlobs; tenantRecords: TenantRecordsPort; log: Pick<Logger, 'warn'> }) {}

  /**
   * Whether `found` (a record in force: not revoked) was revoked in storage; if so the revocation is written back onto
   * the record (a conflict leaves it to the next request) and logged.
   */
  async revokedInStorage<T extends Revocable>(record: T, now: Date): Promise<boolean> {
    if (isRevoked(record)) return false;
    const key = `${record.tenantId}/${record.type}/${idOf(record)}`;
    const seen = this.clear.get(key);
    if (seen !== undefined && now.getTime() - seen < REVOCATION_CHECK_MAX_AGE_MS) return false;
    const name = revocationBlobName(record.type, idOf(record));
    if (!(await this.deps.blobs.exists(record.tenantId, name))) {
      if (this.clear.size >= MAX_ENTRIES) this.clear.clear();
      this.clear.set(key, now.getTime());
      return false;
    }
    this.clear.delete(key);
    const stored = revocationOf((await readKeptBlob(this.deps.blobs, record.tenantId, name))?.bytes.toString('utf8') ?? '', record);
    const revokedAt = stored?.revokedAt ?? now.toISOString();
    const revokedBy = stored?.revokedBy ?? null;
    const current = await this.deps.tenantRecords.get<T>(record.tenantId, record.id, record.type);
    if (current && !isRevoked(current.value)) {
      // The tenant's audit trail lost the revocation's entry with the restore: an entry says it was applied again, and when
      // it had been made (the chain's own entries are `at` now; the detail names the original time).
      const at = now.toISOString();
      const entry = auditOutboxItem([{ tenantId: record.tenantId, at, actor: REVOCATION_RESTORE_ACTOR, action: `${record.type}.revoke`, target: `${record.type}:${idOf(record)}`, outcome: 'success', status: 200, requestId: `${REVOCATION_RESTORE_ACTOR.subject}:${record.type}:${idOf(record)}:${at}`, clientIp: null, userAgent: null, detail: `revocation-restored=${revokedAt}` }]);
      await this.deps.tenantRecords.replace(withEndsAt({ ...current.value, revokedAt, revokedBy }), current.etag, entry);
    }
    this.deps.log.warn(REVOCATION_RESTORED, { tenantId: record.tenantId, kind: record.type, id: idOf(record), revokedAt });
    return true;
  }

  /**
   * `read` (a walk's reads of the keys a key or grant stands on, verify-api-key.ts) with each key in force looked up in
   * storage too: a key above revoked in storage reads as revoked, so what it minted or gave acts no more either.
   */
  reader(read: KeyReader, now: Date): KeyReader {
    return async (keyId) => {
      const key = await read(keyId);
      if (!key || !isKeyInUse(key, now) || !(await this.revokedInStorage(key, now))) return key;
      return { ...key, revokedAt: now.toISOString() };
    };
  }
}

function revocationOf(text: string, record: Revocable): StoredRevocation | null {
  try {
    const v = JSON.parse(text) as Partial<StoredRevocation>;
    return v.tenantId === record.tenantId && v.kind === record.type && v.id === idOf(record) && typeof v.revokedAt === 'string' ? (v as StoredRevocation) : null;
  } catch {
    return null;
  }
}

/**
 * Reconciler: every key and grant a tenant's records show in force but whose revocation is kept in storage (a restore of
 * Cosmos DB gave the record back unrevoked) is revoked again, logged as REVOCATION_RESTORED, so the lists say what
 * acts before the credential is next presented. Per tenant one listing of its revocation blobs and one query each of
 * its keys in use and its grants in force; only those in both are read. One failing tenant does not stop the rest.
 */
export async function restoreRevocations(now: Date, deps: { blobs: RevocationBlobs & Pick<BlobArchivePort, 'unsafeListTenants' | 'blobNames'>; tenantRecords: TenantRecordsPort; log: Pick<Logger, 'warn' | 'error'> }): Promise<string[]> {
  const checks = new RevocationChecks(deps);
  const restored: string[] = [];
  const at = now.toISOString();
  await forEachTenantKeeping(REVOCATIONS_PREFIX, 'revocations', deps, async (tenantId, names) => {
    const kept = new Set(names);
    const keys = await deps.tenantRecords.apiKeysInUse<ApiKeyRecord>(tenantId, at);
    // No person's subject is empty: every grant in force.
    const grants = await deps.tenantRecords.supportGrantsInForce<SupportGrantRecord>(tenantId, at, { notBy: '' }, GRANTS_IN_FORCE_MAX);
    for (const record of [...keys, ...grants]) {
      if (kept.has(revocationBlobName(record.type, idOf(record))) && (await checks.revokedInStorage(record, now))) restored.push(`${tenantId}/${record.type}/${idOf(record)}`);
    }
  });
  return restored;
}

/**
 * Revocations kept in storage too. An API key or a support grant was revoked in Cosmos DB only, so a point-in-time
 * restore of Cosmos DB (README *Backups and restore*, often to just before a credential leaked and was revoked) gave
 * the restored record back unrevoked and the key or grant acted again, with nothing telling anyone. Each revocation
 * is now also written as a small create-only WORM blob in the tenant's container (`revocations/<kind>-<id>.json`,
 * locked until the credential would have expired anyway), after the record's write that decided it: a blob is only
 * ever a revocation the archive accepted. Where the credential is checked, a record in force is looked up there as
 * well (one existence check per credential per instance per REVOCATION_CHECK_MAX_AGE_MS: off the hot path's round
 * trips); a blob found writes the revocation back onto the record, logged as REVOCATION_RESTORED.
 *
 * Only a revocation the archive wrote is applied: each blob carries the archive's seal (kernel/archive-seal.ts, purpose
 * `revocation`), and names its tenant, kind and id. Unsealed, anyone able to create a blob in a tenant's container (a
 * storage role, a leaked SAS; no rights in the tenant) planted `revocations/api-key-<id>.json` and revoked any key of
 * the tenant (its client apps stopped), or any support grant. A blob from before the seal is applied only where the
 * tenant's audit log holds the revocation's own entry; any other is ignored (the credential acts on) and logged
 * REVOCATION_UNSEALED once per blob per instance.
 */
import type { AuditLogPort, BlobArchivePort, ListedBlob, Logger, TenantRecordsPort, TimerStatePort } from '../ports';
import { auditOutboxItem } from '../kernel/audit';
import type { KeyReader } from './api-keys/verify-api-key';
import { isRevoked, withEndsAt } from './ends-at';
import { type ApiKeyRecord, isKeyInUse } from './api-keys/api-key';
import type { SupportGrantRecord } from './support-grants/support-grant';
import { forEachTenantKeeping, reportNotKept } from './kept-in-storage';
import { judgedNotKept, readKeptBlob } from '../kept-blobs';
import { notKeptByArchive, type Sealed, sealWith } from '../kernel/archive-seal';
import { auditHolds } from '../audit/audit-pages';
import { createHash } from 'node:crypto';
import { canonicalJson } from '../kernel/audit-chain';
import { storedVersionOf } from '../kernel/stored-version';
import { pageOnFrom, type WalkPlace } from './state-walk';

/** Operators are alerted on this exact phrase: a revocation the Cosmos DB record had lost (a restore) was applied again from storage. */
export const REVOCATION_RESTORED = 'revocation restored from storage';

/** Operators are alerted on this exact phrase (infra/main.bicep, revocationUnsealedAlert): a revocation blob the archive did not write, ignored. */
export const REVOCATION_UNSEALED = 'revocation in storage not sealed by the archive';

/** A revocation Cosmos DB holds whose blob write had failed, kept in storage by the reconciler on its audit entry. */
export const REVOCATION_KEPT_FROM_AUDIT = 'revocation kept in storage from its audit entry';

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

/** Where revocations are kept, and the key that seals them (and the audit log that vouches for one from before the seal). */
export interface RevocationKeeping {
  blobs: RevocationBlobs;
  audit: Pick<AuditLogPort, 'chainKeys' | 'list'>;
}

/** The purpose revocation blobs are sealed under (kernel/archive-seal.ts). */
const REVOCATION_SEAL = 'revocation';

/** The most a revocation blob is read of: a few hundred bytes as written (a planted one of any size is not read whole). */
const REVOCATION_MAX_BYTES = 16 * 1024;

/** Support grants in force a reconciler run looks at per tenant, at most (a grant lasts at most 7 days). */
const GRANTS_IN_FORCE_MAX = 1000;

/** Revoked keys, and revoked grants, a reconciler run looks at per tenant for a revocation storage lacks, at most: the next of a walk over all of them. */
const REVOKED_UNKEPT_MAX = 200;

/** Timer state, per tenant: where the walks over its revoked keys and grants go on (keepUnkeptRevocations). */
const unkeptCursorName = (tenantId: string): string => `revocations-unkept-${tenantId}`;
/** A walk's place: the store's token, and the time its first page was queried at (every page of it queried alike). */
type UnkeptCursor = { keys: WalkPlace | null; grants: WalkPlace | null };

const idOf = (record: Revocable): string => (record.type === 'api-key' ? record.keyId : record.grantId);

/**
 * Writes the blob of a revoked record (idempotent: a revoke retried after a failed blob write writes it then). A
 * record already past its expiry needs none: no restore makes it act again, and storage refuses a lock in the past.
 */
export async function storeRevocation(record: Revocable, now: Date, deps: RevocationKeeping & { log: Pick<Logger, 'error'> }): Promise<void> {
  if (!record.revokedAt || Date.parse(record.expiresAt) <= now.getTime()) return;
  const stored: StoredRevocation & Sealed = await sealWith(REVOCATION_SEAL, { tenantId: record.tenantId, kind: record.type, id: idOf(record), revokedAt: record.revokedAt, revokedBy: record.revokedBy ?? null } satisfies StoredRevocation, deps.audit.chainKeys);
  await deps.blobs.prepareTenant(record.tenantId);
  const name = revocationBlobName(record.type, stored.id);
  // 'different' is a revocation written first (a concurrent revoke of the same record): it stands as well, if the
  // archive's. Broke: taken as one unread, a blob planted under the name before the revocation (a storage role knowing
  // the key's id) kept it out of storage unseen, and a restore of Cosmos DB to before it had the key act again. One not
  // the archive's is reported (REVOCATION_UNSEALED): the operator removes it and revokes again, which keeps it then.
  if ((await deps.blobs.putCreateOnly(record.tenantId, name, Buffer.from(JSON.stringify(stored)), 'application/json', { retainUntil: record.expiresAt, legalHold: false }, {})) === 'different') await keptRevocation(record, name, deps);
}

/** How long an instance trusts that a credential has no revocation blob before it looks again. */
export const REVOCATION_CHECK_MAX_AGE_MS = 10 * 60_000;
const MAX_ENTRIES = 10_000;

/**
 * Per instance: which credentials in force were lately found without a revocation blob, or with one the archive did
 * not write (not read again on every request). A blob of the archive's is written back onto the record, which every
 * later request reads. A restore is hours after any entry made before the revocation, so the cache never hides one.
 * An entry holds for the record's version as checked (its store version where the read gave one, else a digest of the
 * record): broke, an entry held for the credential whatever happened to its record since, so a revocation a writer of
 * Cosmos DB cleared afterwards (revokedAt, revokedBy, endsAt put back as they were) had the credential act on every
 * instance that had found it clear before, until the entry aged out. A record changed since is looked up again (a key
 * in use: once per lastUsedAt write, LAST_USED_RESOLUTION_MS, at most).
 */
export class RevocationChecks {
  private readonly clear = new Map<string, { at: number; version: string }>();
  constructor(private readonly deps: RevocationKeeping & { tenantRecords: TenantRecordsPort; log: Pick<Logger, 'warn' | 'error'> }) {}

  /**
   * Whether `found` (a record in force: not revoked) was revoked in storage; if so the revocation is written back onto
   * the record (a conflict leaves it to the next request) and logged. `listed`: the blob as the reconciler's listing
   * named it, remembered when judged not the archive's.
   */
  async revokedInStorage<T extends Revocable>(record: T, now: Date, listed?: ListedBlob): Promise<boolean> {
    if (isRevoked(record)) return false;
    const key = `${record.tenantId}/${record.type}/${idOf(record)}`;
    const version = storedVersionOf(record) ?? createHash('sha256').update(canonicalJson(record)).digest('base64');
    const seen = this.clear.get(key);
    if (seen !== undefined && seen.version === version && now.getTime() - seen.at < REVOCATION_CHECK_MAX_AGE_MS) return false;
    const name = revocationBlobName(record.type, idOf(record));
    // Broke: any blob under the name revoked (a planted one, one unreadable, another key's copied here); now only the
    // archive's, and one that is not is remembered like an absent one.
    const stored = (await this.deps.blobs.exists(record.tenantId, name)) ? await keptRevocation(record, name, this.deps, listed) : null;
    if (!stored) {
      if (this.clear.size >= MAX_ENTRIES) this.clear.clear();
      this.clear.set(key, { at: now.getTime(), version });
      return false;
    }
    this.clear.delete(key);
    const { revokedAt, revokedBy } = stored;
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

/**
 * The revocation kept under `name` if the archive wrote it for `record`: sealed by it, or from before the seal with
 * the revocation's own success entry in the tenant's audit log (one by REVOCATION_RESTORE_ACTOR is no witness: it
 * applied a blob, and before the seal it applied any). Any other is reported once and answered null.
 */
async function keptRevocation(record: Revocable, name: string, deps: RevocationKeeping & { log: Pick<Logger, 'error'> }, listed?: ListedBlob): Promise<StoredRevocation | null> {
  const read = await readKeptBlob(deps.blobs, record.tenantId, name, REVOCATION_MAX_BYTES);
  if (!read) return null;
  const stored = revocationOf(read.bytes.toString('utf8'), record);
  const target = `${record.type}:${idOf(record)}`;
  const revoked = () => auditHolds(deps.audit, record.tenantId, { target, action: `${record.type}.revoke` }, [stored?.revokedAt, read.createdOn], (e) => e.outcome === 'success' && e.actor.subject !== REVOCATION_RESTORE_ACTOR.subject, read.createdOn);
  const why = stored ? await notKeptByArchive(REVOCATION_SEAL, stored, read.createdOn, deps.audit.chainKeys, revoked, 'no seal, and no audit entry of the revocation') : `not a revocation of ${target}`;
  if (why === null) return stored;
  reportNotKept(deps.log, REVOCATION_UNSEALED, record.tenantId, name, why, listed);
  return null;
}

/** The blob's content if it names `record` (the seal covers what it names, not the blob's name: a copy from another key's name is not this one's). */
function revocationOf(text: string, record: Revocable): (StoredRevocation & Partial<Sealed>) | null {
  try {
    const v = JSON.parse(text) as Partial<StoredRevocation> | null;
    return v !== null && typeof v === 'object' && v.tenantId === record.tenantId && v.kind === record.type && v.id === idOf(record) && typeof v.revokedAt === 'string' ? (v as StoredRevocation) : null;
  } catch {
    return null;
  }
}

/**
 * Reconciler: every key and grant a tenant's records show in force but whose revocation is kept in storage (a restore of
 * Cosmos DB gave the record back unrevoked) is revoked again, logged as REVOCATION_RESTORED, so the lists say what
 * acts before the credential is next presented. Per tenant one listing of its revocation blobs and one query each of
 * its keys in use and its grants in force (none where it keeps no revocation); only those in both are read. Before that,
 * one page each of its revoked keys and grants, for a revocation storage lacks (keepUnkeptRevocations). One
 * failing tenant does not stop the rest.
 */
export async function restoreRevocations(
  now: Date,
  deps: { blobs: RevocationBlobs & Pick<BlobArchivePort, 'unsafeListTenants' | 'listedBlobs'>; audit: RevocationKeeping['audit']; tenantRecords: TenantRecordsPort; retention: { timers: TimerStatePort }; log: Pick<Logger, 'warn' | 'error'> },
  { revokedPerRun = REVOKED_UNKEPT_MAX }: { revokedPerRun?: number } = {},
): Promise<string[]> {
  const checks = new RevocationChecks(deps);
  const restored: string[] = [];
  const at = now.toISOString();
  await forEachTenantKeeping(REVOCATIONS_PREFIX, 'revocations', deps, async (tenantId, blobs) => {
    const kept = new Map(blobs.map((b) => [b.name, b]));
    await keepUnkeptRevocations(tenantId, new Set(kept.keys()), now, deps, revokedPerRun);
    if (kept.size === 0) return; // nothing kept to restore from: no queries of what is in force
    const keys = await deps.tenantRecords.apiKeysInUse<ApiKeyRecord>(tenantId, at);
    // No person's subject is empty: every grant in force.
    const grants = await deps.tenantRecords.supportGrantsInForce<SupportGrantRecord>(tenantId, at, { notBy: '' }, GRANTS_IN_FORCE_MAX);
    for (const record of [...keys, ...grants]) {
      // One this instance judged not the archive's is passed over: no read, no audit query (kept-blobs.ts judgedNotKept).
      const listed = kept.get(revocationBlobName(record.type, idOf(record)));
      if (listed && !judgedNotKept(tenantId, listed) && (await checks.revokedInStorage(record, now, listed))) restored.push(`${tenantId}/${record.type}/${idOf(record)}`);
    }
  }, { evenNone: true }); // a tenant keeping no revocation yet too: its one revocation's blob write may be what failed
  return restored;
}

/**
 * Revocations judged without their audit entry, per instance (by record and revocation), and when: not queried again
 * for UNWITNESSED_RECHECK_MS. Broke: remembered for the instance's life, a genuine one judged while its entry was still
 * on its way to the log (the outbox, a failed append the sealing timer takes over) was never kept on that instance.
 */
const unwitnessed = new Map<string, number>();
export const UNWITNESSED_RECHECK_MS = 60 * 60_000;

/**
 * Reconciler: a key or grant revoked in Cosmos DB, not yet expired, whose revocation storage lacks (its blob write failed
 * after the record's write, and the revoke answered 500) is kept there now, where the tenant's keyed audit log holds that
 * revocation's own success entry (by whom the record says revoked it; one by REVOCATION_RESTORE_ACTOR is none).
 * Broke: such a revocation stood in Cosmos DB only, and a restore of Cosmos DB to before it had the credential act
 * again until someone revoked it again. The entry is the witness: a writer of Cosmos DB revoking an admin's key by
 * editing the record would otherwise have it revoked for good. At most `perRun` of each kind per run, newest first, each
 * run going on where the one before stopped (timer state, per tenant) and from the newest again once past the oldest.
 * Broke: each run looked at the newest REVOKED_UNKEPT_MAX only, so a revoked key older than those was never kept.
 */
async function keepUnkeptRevocations(tenantId: string, kept: ReadonlySet<string>, now: Date, deps: RevocationKeeping & { tenantRecords: TenantRecordsPort; retention: { timers: TimerStatePort }; log: Pick<Logger, 'warn' | 'error'> }, perRun: number): Promise<void> {
  const name = unkeptCursorName(tenantId);
  const cursor = (await deps.retention.timers.get<UnkeptCursor>(name)) ?? { keys: null, grants: null };
  const [keys, grants] = await Promise.all([
    pageOnFrom<ApiKeyRecord>(cursor.keys, now, (at, c) => deps.tenantRecords.apiKeyPage<ApiKeyRecord>(tenantId, 'revoked', at, perRun, c)),
    pageOnFrom<SupportGrantRecord>(cursor.grants, now, (at, c) => deps.tenantRecords.supportGrantPage<SupportGrantRecord>(tenantId, 'revoked', at, perRun, c)),
  ]);
  for (const record of [...keys.items, ...grants.items]) {
    const id = idOf(record);
    const by = record.revokedBy?.subject;
    // Past its expiry it needs none (storeRevocation): no restore makes it act again.
    if (typeof record.revokedAt !== 'string' || !(Date.parse(record.expiresAt) > now.getTime()) || kept.has(revocationBlobName(record.type, id))) continue;
    const judged = `${tenantId}/${record.type}/${id}/${record.revokedAt}/${String(by)}`;
    const judgedAt = unwitnessed.get(judged);
    if (judgedAt !== undefined && now.getTime() - judgedAt < UNWITNESSED_RECHECK_MS) continue;
    const witnessed = typeof by === 'string' && by !== REVOCATION_RESTORE_ACTOR.subject && (await auditHolds(deps.audit, tenantId, { target: `${record.type}:${id}`, action: `${record.type}.revoke` }, [record.revokedAt], (e) => e.outcome === 'success' && e.actor.subject === by));
    if (!witnessed) {
      if (unwitnessed.size >= MAX_ENTRIES) unwitnessed.clear();
      unwitnessed.set(judged, now.getTime());
      continue;
    }
    await storeRevocation(record, now, deps);
    deps.log.warn(REVOCATION_KEPT_FROM_AUDIT, { tenantId, kind: record.type, id, revokedAt: record.revokedAt });
  }
  // Stored after the page's revocations are kept: a run stopped midway looks at the same page again (each is idempotent).
  // Only when it moves: a tenant whose revoked keys and grants fit one page costs no write.
  if (cursor.keys !== null || cursor.grants !== null || keys.next !== null || grants.next !== null) await deps.retention.timers.set<UnkeptCursor>(name, { keys: keys.next, grants: grants.next });
}

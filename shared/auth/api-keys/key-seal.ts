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
 *
 * Support grants are sealed alike (purpose `support-grant`, over what decides the access they give): a writer of Cosmos
 * DB needed no secret at all to give provider staff any scope in any tenant for as long as they liked.
 *
 * A seal made with a chain key version since superseded stands only on its creation's keyed audit entry naming it
 * (supersededWitnessed), and the reconciler seals it again with the current version (resealSuperseded). Broke: judged by
 * its own `createdAt`, a record written after a rotation by whoever held the old version and could write Cosmos DB,
 * dated before it, acted (their own secret's hash under tenant-admin): a rotation did not end that power.
 */
import { createHash } from 'node:crypto';
import { auditHolds } from '../../audit/audit-pages';
import { canonicalJson } from '../../kernel/audit-chain';
import { sealedWithSuperseded, sealWith, unsealedBecause } from '../../kernel/archive-seal';
import { personOf } from '../../kernel/principal';
import { endReached } from '../../kernel/instant';
import type { AuditLogPort, Logger, TenantRecordsPort, TimerStatePort } from '../../ports';
import { type ApiKeyRecord, apiKeyRecordId } from './api-key';
import { type SupportGrantRecord, supportGrantRecordId } from '../support-grants/support-grant';
import { endsAtOf, isRevoked, migrationStarted } from '../ends-at';
import { pageOnFrom } from '../state-walk';

/** Operators are alerted on this exact phrase (infra/main.bicep, apiKeyUnsealedAlert): a key record the archive did not write, refused. */
export const API_KEY_UNSEALED = 'api key in the catalog not sealed by the archive';

/** Operators are alerted on this exact phrase (infra/main.bicep, supportGrantUnsealedAlert): a grant record the archive did not write, giving no access. */
export const SUPPORT_GRANT_UNSEALED = 'support grant in the catalog not sealed by the archive';

/** A key from before the seal acting while the store is not yet marked as every key sealed (a warning, once per key per instance). */
export const API_KEY_LEGACY = 'api key or support grant from before the seal acted; the reconciler seals it from its audit entry';

/** What the archive seals: a key or a grant, each under its own purpose (one never passes for the other). */
export type SealedRecord = ApiKeyRecord | SupportGrantRecord;

/** What a key's seal covers: what decides what it may do, as minted. */
export function keySealed(k: ApiKeyRecord): Omit<ApiKeyRecord, 'type' | 'name' | 'lastUsedAt' | 'revokedAt' | 'revokedBy' | 'endsAt' | 'mac' | 'keyVersion'> {
  const { tenantId, id, keyId, prefix, hash, rightsSet, ceiling, personPermissions, personAssigned, createdBy, createdAt, expiresAt } = k;
  return { tenantId, id, keyId, prefix, hash, rightsSet, ceiling, personPermissions, personAssigned, createdBy, createdAt, expiresAt };
}

/**
 * What a key's or grant's creation entry names of it (`sealed-digest=`): the digest of what its seal covers, which
 * vouches for the record when its seal's key version has been superseded (supersededWitnessed).
 */
export function sealedDigest(r: SealedRecord): string {
  return createHash('sha256').update(canonicalJson(JSON.parse(JSON.stringify(sealedPart(r))))).digest('base64url');
}

/** What a grant's seal covers: whom it lets in, to what and until when, and who gave it. */
function grantSealed(g: SupportGrantRecord): Omit<SupportGrantRecord, 'type' | 'revokedAt' | 'revokedBy' | 'endsAt' | 'mac' | 'keyVersion'> {
  const { tenantId, id, grantId, ticket, scope, createdAt, createdBy, expiresAt, requestedExpiresAt } = g;
  return { tenantId, id, grantId, ticket, scope, createdAt, createdBy, expiresAt, requestedExpiresAt };
}

const sealedPart = (r: SealedRecord): object => (r.type === 'api-key' ? keySealed(r) : grantSealed(r));
const idOf = (r: SealedRecord): string => (r.type === 'api-key' ? r.keyId : r.grantId);
const phraseOf = (r: SealedRecord): string => (r.type === 'api-key' ? API_KEY_UNSEALED : SUPPORT_GRANT_UNSEALED);

/** The record with the archive's seal over what it covers. */
export async function sealRecord<T extends SealedRecord>(record: T, keys: AuditLogPort['chainKeys']): Promise<T> {
  const { keyVersion, mac } = await sealWith(record.type, sealedPart(record), keys);
  const { keyVersion: _v, mac: _m, ...rest } = record;
  return { ...rest, ...(keyVersion !== undefined ? { keyVersion } : {}), mac } as T;
}

export interface KeySealDeps {
  tenantRecords: TenantRecordsPort;
  /** `list`: the creation entry of one sealed with a superseded key version (read once per record per instance). */
  audit: Pick<AuditLogPort, 'chainKeys' | 'list'>;
  log: Pick<Logger, 'warn' | 'error'>;
}

/** Verdicts per record version (its sealed content's digest), per instance: a request costs one digest, no read. */
const verdicts = new Map<string, string | null>();
/**
 * When an unwitnessed verdict on a superseded seal is judged again: its creation entry may still have been on its way to
 * the log (outbox). A minute, not an hour: a key minted on an instance still keying with the old version in the minutes
 * of a rotation, presented at once to one that has the new version, was refused there for an hour. A forged record costs
 * one audit query a minute per instance.
 */
const lookAgainAt = new Map<string, number>();
const LOOK_AGAIN_MS = 60_000;

/** Why a record sealed with a superseded version and no entry naming it is refused (the log line's `reason`). */
export const SUPERSEDED_UNWITNESSED = 'sealed with a superseded key version, no creation entry names it';
const reported = new Set<string>();
const PER_INSTANCE_MAX = 10_000;

function once(set: Set<string>, key: string): boolean {
  if (set.has(key)) return false;
  if (set.size >= PER_INSTANCE_MAX) set.clear();
  set.add(key);
  return true;
}

/**
 * Whether the keyed audit log holds the record's creation entry naming it: success, on its target, by its maker, naming
 * its digest (`sealed-digest=`, since digests are named), or, one from before, what it gives and until when. keyedByArchive
 * takes no entry keyed with a version superseded when Cosmos DB stored it, so an old version's holder cannot make one now.
 */
async function creationWitnessed(record: SealedRecord, audit: Pick<AuditLogPort, 'chainKeys' | 'list'>): Promise<boolean> {
  const witness = witnessOf(record);
  if (witness === null) return false;
  const by = record.createdBy;
  const digested = `${witness.detail};sealed-digest=${sealedDigest(record)}`;
  return auditHolds(audit, record.tenantId, { target: witness.target, action: witness.action }, [record.createdAt], (e) => e.outcome === 'success' && (e.detail === witness.detail || e.detail === digested) && e.actor.subject === by?.subject && (by.person === undefined || personOf(e.actor) === by.person));
}

/** Why the record is not the archive's (null: sealed by it), its verdict remembered for this very content. */
async function unsealedRecord(record: SealedRecord, audit: Pick<AuditLogPort, 'chainKeys' | 'list'>, fresh = false): Promise<string | null> {
  const keys = audit.chainKeys;
  const sealed = { type: record.type, ...sealedPart(record), ...(record.keyVersion !== undefined ? { keyVersion: record.keyVersion } : {}), mac: record.mac };
  let digest: string;
  try {
    digest = createHash('sha256').update(canonicalJson(JSON.parse(JSON.stringify(sealed)))).digest('hex');
  } catch {
    return 'not a record the archive seals';
  }
  const seen = verdicts.get(digest);
  if (seen !== undefined && !fresh && !(seen === SUPERSEDED_UNWITNESSED && Date.now() >= (lookAgainAt.get(digest) ?? 0))) return seen;
  // Its minting time is no witness of when it was sealed (whoever writes the record dates it): one sealed with a
  // superseded version stands on its creation's keyed entry; one with the current version needs none (no read).
  const { type: purpose, ...content } = sealed;
  let why: string | null = await unsealedBecause(purpose, content, typeof record.createdAt === 'string' ? record.createdAt : null, keys);
  if (why === null && (await sealedWithSuperseded(record, keys)) && !(await creationWitnessed(record, audit))) why = SUPERSEDED_UNWITNESSED;
  // 'key unavailable' may pass (Key Vault): not remembered.
  if (why !== 'key unavailable') {
    if (verdicts.size >= PER_INSTANCE_MAX) verdicts.clear();
    if (lookAgainAt.size >= PER_INSTANCE_MAX) lookAgainAt.clear();
    verdicts.set(digest, why);
    if (why === SUPERSEDED_UNWITNESSED) lookAgainAt.set(digest, Date.now() + LOOK_AGAIN_MS);
  }
  return why;
}

/**
 * Whether a stored key or grant may act as the archive made it: sealed by it, or (no `mac`) from before the seal while
 * the store is not yet marked as every key and grant sealed; and read where it names itself (`readAt`: the tenant and
 * id it was read under), as the seal covers what it names, not where it lies: a genuine record copied whole under
 * another id or tenant checks, and would act there unrevoked when the original is revoked. Any other is reported once
 * per record per instance.
 */
export async function sealedByArchive(record: SealedRecord, deps: KeySealDeps, readAt?: { tenantId: string; id: string }): Promise<boolean> {
  const at = `${readAt?.tenantId ?? record.tenantId}/${readAt?.id ?? record.id}`;
  const named = { tenantId: record.tenantId, [record.type === 'api-key' ? 'keyId' : 'grantId']: idOf(record) };
  if (readAt && (readAt.tenantId !== record.tenantId || readAt.id !== record.id)) {
    if (once(reported, at)) deps.log.error(phraseOf(record), { ...named, readAt: at, reason: 'a record copied from elsewhere' });
    return false;
  }
  // Unrevoked, its end as the store's queries read it must be its expiry (endsAt: the earlier of expiry and revocation,
  // stored by every writer; outside the seal, as a revocation changes it). Broke: set in the past by a writer of Cosmos
  // DB, the key acted on (the request reads its expiry) while no list of keys in use held it: not GET /api-keys, where an
  // administrator would revoke it, nor the cap, nor what its person holds through keys (approver-lowers-safeguards).
  // Nor removed once the store is marked migrated (every writer stores it, the migration gave it to those from before).
  // Broke: only an end that was there was compared; one removed had the key act while no list of keys in use held it.
  if (!isRevoked(record) && (record.endsAt !== undefined ? record.endsAt !== endsAtOf(record) : await deps.tenantRecords.endsAtMigrated())) {
    if (once(reported, `ends:${at}`)) deps.log.error(phraseOf(record), { ...named, reason: 'its endsAt is not what its expiry and revocation say' });
    return false;
  }
  if (record.mac === undefined) {
    if (await deps.tenantRecords.keysSealed()) {
      if (once(reported, at)) deps.log.error(phraseOf(record), { ...named, reason: 'no seal, and every key and grant in the store is sealed' });
      return false;
    }
    if (once(reported, `legacy:${at}`)) deps.log.warn(API_KEY_LEGACY, { ...named, type: record.type });
    return true;
  }
  const why = await unsealedRecord(record, deps.audit);
  if (why === null) return true;
  if (once(reported, at)) deps.log.error(phraseOf(record), { ...named, reason: why });
  return false;
}

/**
 * A listed page (`GET /api-keys`, `GET /support-grants`), each record of `tenantId`'s partition that may not act as the
 * archive made it (sealedByArchive: forged or edited in Cosmos DB, or from before the seal once the store is marked)
 * marked `notSealedByArchive`. Broke: such a record was listed exactly like a genuine one, only its use refused, and an
 * admin reviewing keys saw nothing amiss. One from before the seal while the store is not yet marked acts, and is not marked.
 */
export async function markNotSealed<T extends SealedRecord>(tenantId: string, items: readonly T[], deps: KeySealDeps, now: Date): Promise<(T & { notSealedByArchive?: true })[]> {
  // One from before the seal that acts no more (revoked, or past its expiry) is not judged: the reconciler seals only those
  // in force (sealLegacyKeys). Broke: once the store was marked, each genuine one was listed as forged, and every listing
  // raised API_KEY_UNSEALED / SUPPORT_GRANT_UNSEALED, an alert operators learn to ignore.
  const endedBeforeSeal = (r: T) => r.mac === undefined && (isRevoked(r) || endReached(r.expiresAt, now));
  return Promise.all(items.map(async (r) => (endedBeforeSeal(r) || (await sealedByArchive(r, deps, { tenantId, id: r.id })) ? r : { ...r, notSealedByArchive: true as const })));
}

/** Keys and grants from before the seal a reconciler run judges, at most (each one audit query): the rest wait for the next run. */
export const KEYS_SEALED_PER_RUN = 64;

/** Timer state: when the sealing of keys and grants from before first ran, so the store is marked no sooner than `settleMs` after. */
export const KEY_SEALING_STARTED = 'key-sealing-started';

export interface KeySealingResult {
  /** Keys and grants from before the seal sealed by this run (`tenantId/keyId`, `tenantId/grantId`), on their audit entry. */
  sealed: string[];
  /** Keys in use and grants in force without a seal and without their audit entry: never sealed; refused once marked. */
  unwitnessed: string[];
  /** The store is marked as every key and grant sealed. */
  done: boolean;
}

/** Whether the record is the one its creation's audit entry names: its id, what it gives and until when, who made it. */
function witnessOf(r: SealedRecord): { action: 'api-key.create' | 'support-grant.create'; target: string; detail: string } | null {
  if (r.type === 'api-key') return r.id === apiKeyRecordId(r.keyId) ? { action: 'api-key.create', target: `api-key:${r.keyId}`, detail: `rights-set=${r.rightsSet};expires=${r.expiresAt}` } : null;
  return r.id === supportGrantRecordId(r.grantId) ? { action: 'support-grant.create', target: `support-grant:${r.grantId}`, detail: `scope=${r.scope};expires=${r.expiresAt}` } : null;
}

/** The first instant of each month from `from`'s to `now`'s (auditHolds looks in each, and the next). */
function monthsSince(from: string, now: Date): string[] {
  const start = new Date(from);
  const months: string[] = [];
  for (let at = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), 1)); at.getTime() <= now.getTime(); at = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1))) months.push(at.toISOString());
  return months;
}

/**
 * Reconciler: seals each key in use and grant in force from before the seal whose creation's success entry (`api-key.create`,
 * `support-grant.create`) the keyed audit log holds: its target, what it gives and until when, its maker's subject and
 * person, which a writer of Cosmos DB cannot forge. The entry names no ceiling: one widened in Cosmos DB before the run is
 * sealed as found (the upgrade's window). At most KEYS_SEALED_PER_RUN a run; one without is reported (API_KEY_UNSEALED,
 * SUPPORT_GRANT_UNSEALED) and left: an operator revokes or deletes it. A run that finds none left marks the store
 * (TenantRecordsPort.keysSealed), `settleMs` after the first run (an instance of the code from before may still write
 * unsealed keys for the minutes a deploy takes). Runs after the mark still seal what such an instance wrote.
 */
export async function sealLegacyKeys(deps: KeySealDeps & { audit: Pick<AuditLogPort, 'chainKeys' | 'list'>; retention: { timers: TimerStatePort } }, now: Date, settleMs: number): Promise<KeySealingResult> {
  const marked = await deps.tenantRecords.keysSealed();
  const started = await migrationStarted(deps.retention.timers, KEY_SEALING_STARTED, marked, now);
  const lacking = await deps.tenantRecords.unsafeUnsealedKeys(now.toISOString(), KEYS_SEALED_PER_RUN);
  const result: KeySealingResult = { sealed: [], unwitnessed: [], done: marked };
  for (const { tenantId, id, type } of lacking) {
    const found = await deps.tenantRecords.get<SealedRecord>(tenantId, id, type);
    if (!found || found.value.mac !== undefined) continue;
    const record = found.value;
    const witness = witnessOf(record);
    const witnessed = witness !== null && (await creationWitnessed(record, deps.audit));
    const named = `${tenantId}/${idOf(record)}`;
    // Nor one the audit log says was revoked. Broke: the seal does not cover the revocation, and one storage does not keep
    // (revoked before revocation blobs, or its blob write failed), cleared by a writer of Cosmos DB, was sealed as in use
    // and acted for good after the mark. Looked for in every month since its minting (its entry fixes that month).
    const revoked = witnessed && (await auditHolds(deps.audit, tenantId, { target: witness.target, action: witness.action === 'api-key.create' ? 'api-key.revoke' : 'support-grant.revoke' }, monthsSince(record.createdAt, now), (e) => e.outcome === 'success'));
    if (!witnessed || revoked) {
      result.unwitnessed.push(named);
      if (once(reported, `${tenantId}/${id}`)) deps.log.error(phraseOf(record), { tenantId, [type === 'api-key' ? 'keyId' : 'grantId']: idOf(record), reason: revoked ? 'no seal, and revoked in the audit log' : 'no seal, and no audit entry of its making' });
      continue;
    }
    if ((await deps.tenantRecords.replace(await sealRecord(record, deps.audit.chainKeys), found.etag)) === 'replaced') result.sealed.push(named);
  }
  if (marked || lacking.length > 0 || now.getTime() - Date.parse(started) < settleMs) return result;
  await deps.tenantRecords.unsafeMarkKeysSealed();
  return { ...result, done: true };
}

/**
 * Reconciler: seals again with the current chain key version each key in use and grant in force sealed with a superseded
 * one, once its seal checks and its creation's keyed entry names it (unsealedRecord, judged afresh: never on a remembered
 * verdict), so each instance's audit reads for it stop once a rotation settles. At most KEYS_SEALED_PER_RUN a run; one
 * without its witness is reported and left (refused where it is read), as sealLegacyKeys leaves one. Each run goes on
 * where the one before stopped (timer state RESEAL_CURSOR), from the first again once past the last. Broke: each run
 * listed the first KEYS_SEALED_PER_RUN, and as many planted with junk old-version seals (never sealed again) came
 * first at every run: a genuine key behind them was never sealed again, its entry read on every instance for good.
 */
export async function resealSuperseded(deps: KeySealDeps & { retention: { timers: TimerStatePort } }, now: Date): Promise<KeySealingResult> {
  const result: KeySealingResult = { sealed: [], unwitnessed: [], done: true };
  const current = await deps.audit.chainKeys.current();
  if (current.version === null) return result; // one unnamed key: nothing is superseded
  const cursor = await deps.retention.timers.get<ResealCursor>(RESEAL_CURSOR);
  // The store's token goes on only with the query it came from: the same version and `at`; another version starts over.
  const from = cursor !== null && cursor.v === current.version && typeof cursor.at === 'string' && typeof cursor.c === 'string' ? cursor : null;
  const found = await pageOnFrom(from, now, (at, c) => deps.tenantRecords.unsafeKeysSealedNotWith(current.version!, at, KEYS_SEALED_PER_RUN, c));
  for (const { tenantId, id, type } of found.items) {
    const stored = await deps.tenantRecords.get<SealedRecord>(tenantId, id, type);
    if (!stored || stored.value.mac === undefined || stored.value.keyVersion === current.version) continue;
    const record = stored.value;
    const named = `${tenantId}/${idOf(record)}`;
    const why = record.id === id && record.tenantId === tenantId ? await unsealedRecord(record, deps.audit, true) : 'a record copied from elsewhere';
    if (why !== null) {
      if (why !== 'key unavailable') result.unwitnessed.push(named);
      if (once(reported, `${tenantId}/${id}`)) deps.log.error(phraseOf(record), { tenantId, [type === 'api-key' ? 'keyId' : 'grantId']: idOf(record), reason: why });
      continue;
    }
    // One naming a version newer than this instance's current one (picked up elsewhere first) is left to that one. One
    // naming none, sealed with the first version while it is still current, is sealed naming it: it is listed no more.
    if ((await deps.audit.chainKeys.version(typeof record.keyVersion === 'string' ? record.keyVersion : null)).rank > current.rank) continue;
    if ((await deps.tenantRecords.replace(await sealRecord(record, deps.audit.chainKeys), stored.etag)) === 'replaced') result.sealed.push(named);
  }
  // Stored after the page is judged: a run stopped midway looks at it again (each step is idempotent). Only when it moves.
  const next: ResealCursor | null = found.next ? { v: current.version, ...found.next } : null;
  if (cursor !== null || next !== null) await deps.retention.timers.set<ResealCursor | null>(RESEAL_CURSOR, next);
  return { ...result, done: found.items.length === 0 && next === null };
}

/** Timer state: where the walk over keys and grants sealed with a superseded version goes on (resealSuperseded). */
export const RESEAL_CURSOR = 'keys-reseal-cursor';
/** The version it walks for, the time its first page was queried at (every page alike), the store's token. */
type ResealCursor = { v: string; at: string; c: string };

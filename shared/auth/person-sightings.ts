import { sha256 } from '../ids';
import { CHANGED, withFreshReads } from '../kernel/concurrency';
import { RIGHTS_SET_NAME } from '../kernel/principal';
import { readWrittenInstant } from '../kernel/instant';
import { type Sealed, sealFieldUnsealedBecause, sealOver, sealWith, unsealedBecause } from '../kernel/archive-seal';
import type { AuditLogPort, BlobArchivePort, BlobWorm, ListedBlob, Logger, TenantRecord, TenantRecordsPort, TimerStatePort, VersionedRecord } from '../ports';
import { judgedNotKept, keptDigest, readKeptBlob, rememberKept } from '../kept-blobs';
import { reportNotKept } from './kept-in-storage';
import { storedVersionOf } from '../kernel/stored-version';
import { canonicalJson } from '../kernel/audit-chain';
import { createHash } from 'node:crypto';
import type { Clock } from '../clock';
import { auditOutboxItem } from '../kernel/audit';
import { migrationStarted } from './ends-at';
import { carriedGivings, type GivenBefore, isBuiltIn, type RightsSetRecord, rightsSetRecordId, setGiving } from './rights-sets/rights-records';

/**
 * When a person whose rights come from the identity provider's claim last signed in here, and
 * with which rights set: the archive sees that claim only in the person's token, so this is all
 * it knows of them between sign-ins. Their API keys act on it (authenticate.ts).
 */
export interface PersonSightingRecord extends TenantRecord, GivenBefore, Partial<Sealed> {
  type: 'person-sighting';
  person: string;
  /** The rights set the claim gave at that sign-in. */
  rightsSet: string;
  seenAt: string;
  /** When the token of that sign-in was issued (its iat), if it said: a token issued earlier never replaces the set. */
  issuedAt?: string;
}

/**
 * Operators are alerted on this exact phrase (infra/main.bicep, personSightingUnsealedAlert): a sign-in's record whose
 * seal does not check (edited in Cosmos DB: a wider set, a later sign-in, givings dropped), taken as no sign-in.
 */
export const PERSON_SIGHTING_UNSEALED = 'person sighting in the catalog not sealed by the archive';
/**
 * A sighting from before the seal (no seal at all) read for a decision while the store is not yet marked as every one
 * sealed (a warning, once per record per instance): taken as stored; the reconciler seals it (sealLegacySightings).
 */
export const PERSON_SIGHTING_PRE_SEAL = 'person sighting from before the seal taken as stored; the reconciler seals it';

/**
 * Operators are alerted on this exact phrase (infra/main.bicep, personSightingRestoredAlert): the sighting Cosmos DB held
 * was older than one kept in storage (a genuine sealed sighting written back over a newer one, or a restore of Cosmos
 * DB), so the kept one was written back.
 */
export const PERSON_SIGHTING_RESTORED = 'person sighting restored from storage';
/** Operators are alerted on this exact phrase (infra/main.bicep, personSightingKeptUnsealedAlert): a blob under sightings/ the archive did not write, ignored. */
export const PERSON_SIGHTING_KEPT_UNSEALED = 'person sighting in storage not sealed by the archive';
/** A sighting was recorded in Cosmos DB (or found there by the reconciler) but its kept copy's blob write failed: a replay over it is not undone. */
export const PERSON_SIGHTING_NOT_KEPT = 'person sighting could not be kept in storage';

/** Where a person's kept sightings are: one blob each, named by when it was seen (16 digits of ms sort as time). */
const keptPrefix = (recordId: string) => `sightings/${recordId}/`;
const keptSightingName = (recordId: string, seenAtMs: number) => `${keptPrefix(recordId)}${String(seenAtMs).padStart(16, '0')}.json`;
/** Locked for longer than any idle limit (ARCHIVE_KEY_PERSON_IDLE_DAYS is at most 365): past it a replay rests the key anyway. */
const KEPT_SIGHTING_LOCK_MS = 366 * 86_400_000;
/** A kept sighting is a few hundred bytes as written (givings carried make it larger): a planted one is not read whole. */
const KEPT_SIGHTING_MAX_BYTES = 64 * 1024;
/** How long an instance trusts a person's sighting as stored against those kept before it lists them again (as REVOCATION_CHECK_MAX_AGE_MS). */
export const SIGHTING_CHECK_MAX_AGE_MS = 10 * 60_000;

export type SightingBlobs = Pick<BlobArchivePort, 'prepareTenant' | 'putCreateOnly' | 'listedBlobs' | 'readIfExists' | 'extendRetention' | 'exists'>;

/** What judging a sighting's seal needs: the chain keys (Key Vault) and a log for one that does not check. */
export interface SightingSealDeps {
  audit: Pick<AuditLogPort, 'chainKeys'>;
  /** Whether the store is marked as every sighting sealed: until then one from before the seal is taken as stored. */
  tenantRecords: Pick<TenantRecordsPort, 'sightingsSealed'>;
  /** `warn`: where the caller's log has it (a sighting from before the seal is expected after the upgrade, not alerted). */
  log: Pick<Logger, 'error'> & Partial<Pick<Logger, 'warn'>>;
}

/**
 * What a sighting's seal covers (kernel/archive-seal.ts, purpose `person-sighting`): all it says. Broke: unsealed, whoever
 * could write Cosmos DB (not Key Vault) widened a person's claimed set (their API keys acted with it), moved their last
 * sign-in forward (a leaver's keys never rested) or dropped the sets earlier sign-ins claimed (a guest counted as a
 * second person to four eyes).
 */
function sightingSealed(s: PersonSightingRecord): object {
  const { tenantId, id, type, person, rightsSet, seenAt, issuedAt, givenBefore, givenBeforeDroppedAt } = s;
  return { tenantId, id, type, person, rightsSet, seenAt, issuedAt, givenBefore, givenBeforeDroppedAt };
}

/** `s` with the archive's seal over all it says. */
export async function sealSighting(s: PersonSightingRecord, deps: Pick<SightingSealDeps, 'audit'>): Promise<PersonSightingRecord> {
  const { keyVersion, mac } = await sealWith('person-sighting', sightingSealed(s), deps.audit.chainKeys);
  const { keyVersion: _v, mac: _m, ...rest } = s;
  return { ...rest, ...(keyVersion !== undefined ? { keyVersion } : {}), mac };
}

/** Why `s` is not sealed by the archive as it is (null: it is). `createdOn`: when storage wrote it, where it says (a kept blob). */
function sightingSealChecked(s: PersonSightingRecord, createdOn: string | null, keys: SightingSealDeps['audit']['chainKeys']): Promise<string | null> {
  if (s.mac === undefined) return Promise.resolve('no seal');
  return unsealedBecause('person-sighting', { ...sightingSealed(s), ...(s.keyVersion !== undefined ? { keyVersion: s.keyVersion } : {}), mac: s.mac }, createdOn, keys);
}

/**
 * Verdicts per record content (as JSON: the settings cache hands out a copy per request), per instance: a request costs a
 * JSON.stringify, no HMAC; the seal is checked once per version read from the store. A number JSON cannot hold is spelled
 * apart, so such an edit never takes a genuine record's verdict (JSON writes it `null`).
 */
const verdicts = new Map<string, string | null>();
const VERDICTS_MAX = 10_000;
const contentKey = (s: PersonSightingRecord) => JSON.stringify(s, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? '\u0000non-finite' : v));
const reported = new Set<string>();
const REPORTED_MAX = 10_000;

/**
 * Why a stored sighting is not the archive's (null: it is), reported once per record per instance. One from before the
 * seal (no `mac` at all) is taken as stored, as it was before the seal, until the store is marked as every sighting
 * sealed (TenantRecordsPort.sightingsSealed: the reconciler seals them, sealLegacySightings); from then on it is not (a
 * seal stripped by a writer of Cosmos DB). Broke: taken as no sign-in from the upgrade on, every person's API keys
 * rested until they signed in again, and four eyes through them were unresolved: the sweep refused every approval by an
 * approver who had left (never to sign in again), and kept what they approved for ever. One whose seal does not check
 * is never taken. One sealed with a chain key version since superseded is not taken (its own times are no witness of
 * when it was sealed): a rotation asks each person to sign in once more.
 */
export async function sightingUnsealed(s: PersonSightingRecord, deps: SightingSealDeps): Promise<string | null> {
  // Not remembered among the verdicts: it changes with the mark.
  if (s.mac === undefined && !(await deps.tenantRecords.sightingsSealed())) {
    report(s, 'pre-seal', () => deps.log.warn?.(PERSON_SIGHTING_PRE_SEAL, { tenantId: s.tenantId, id: s.id }));
    return null;
  }
  const key = contentKey(s);
  const known = verdicts.get(key);
  if (known !== undefined) return known;
  const why = await sightingSealChecked(s, null, deps.audit.chainKeys);
  // 'key unavailable' may pass (Key Vault): not remembered.
  if (why !== 'key unavailable') {
    if (verdicts.size >= VERDICTS_MAX) verdicts.clear();
    verdicts.set(key, why);
  }
  if (why !== null) report(s, why, () => deps.log.error(PERSON_SIGHTING_UNSEALED, { tenantId: s.tenantId, id: s.id, reason: why }));
  return why;
}

function report(s: PersonSightingRecord, why: string, log: () => void): void {
  const at = `${s.tenantId}/${s.id}/${why}`;
  if (reported.has(at)) return;
  if (reported.size >= REPORTED_MAX) reported.clear();
  reported.add(at);
  log();
}

/** Sightings from before the seal a reconciler run seals, at most (each a read and a write): the rest wait for the next run. */
export const SIGHTINGS_SEALED_PER_RUN = 200;

/** Timer state: when the sealing of sightings from before first ran, so the store is marked no sooner than `settleMs` after. */
export const SIGHTING_SEALING_STARTED = 'sighting-sealing-started';

/**
 * Reconciler: seals each sighting from before the seal (no `mac`) as it stands, at most SIGHTINGS_SEALED_PER_RUN a run,
 * each written over the version read (a sign-in writing it meanwhile, sealed, wins: skipped). Trust on first seal: no
 * witness says what such a record held, and it is sealed with the very trust it had until the seal (taken as stored), no
 * more. A run that finds none left marks the store (TenantRecordsPort.sightingsSealed), `settleMs` after the first run
 * (an instance of the code from before may still write unsealed ones for the minutes a deploy takes). Nothing is sealed
 * once marked: one with no seal then is a seal stripped by a writer of Cosmos DB, and sealing it would take the edit.
 */
export async function sealLegacySightings(deps: { tenantRecords: TenantRecordsPort; audit: Pick<AuditLogPort, 'chainKeys'>; retention: { timers: TimerStatePort } }, now: Date, settleMs: number): Promise<{ sealed: string[]; done: boolean }> {
  if (await deps.tenantRecords.sightingsSealed()) return { sealed: [], done: true };
  const started = await migrationStarted(deps.retention.timers, SIGHTING_SEALING_STARTED, false, now);
  const lacking = await deps.tenantRecords.unsafeUnsealedSightings(SIGHTINGS_SEALED_PER_RUN);
  const sealed: string[] = [];
  for (const { tenantId, id } of lacking) {
    const found = await deps.tenantRecords.get<PersonSightingRecord>(tenantId, id, 'person-sighting', { fresh: true });
    if (!found || found.value.mac !== undefined) continue;
    if ((await deps.tenantRecords.replace(await sealSighting(found.value, deps), found.etag)) === 'replaced') sealed.push(`${tenantId}/${id}`);
  }
  if (lacking.length > 0 || now.getTime() - Date.parse(started) < settleMs) return { sealed, done: false };
  await deps.tenantRecords.unsafeMarkSightingsSealed();
  return { sealed, done: true };
}

/** Sign-in records a reconciler run looks at for a kept copy, at most (each a read, a listing, maybe a write); as many kept blobs listed by the walk extending their locks. */
export const SIGHTINGS_KEPT_PER_RUN = 200;

/** A kept copy's lock ending within this long is extended by the walk over kept copies (which comes round far more often). */
export const KEPT_SIGHTING_EXTEND_WITHIN_MS = 60 * 86_400_000;

/** Timer state: where the walk keeping copies of sign-in records goes on. */
export const SIGHTING_KEEPING_CURSOR = 'sighting-keeping-cursor';
/** Pages of SIGHTINGS_KEPT_PER_RUN rows the walk over kept copies lists a run, at most (fewer once that many folders were looked at). */
export const KEPT_SIGHTING_PAGES_PER_RUN = 10;
/** Timer state: where the walk over kept copies in storage, extending their locks, goes on. */
export const SIGHTING_LOCKS_CURSOR = 'sighting-locks-cursor';

interface KeepingCursor {
  /** The store's token (null: from the start). */
  c: string | null;
}

/**
 * Reconciler: walks every sealed sign-in record, SIGHTINGS_KEPT_PER_RUN a run, for good (from the start again once at the
 * end; SIGHTING_KEEPING_CURSOR says where). Each whose seal checks (as a blob created now would be judged) and that has no
 * kept copy under its own time is kept. Broke: the pass kept a `done` flag in timer state, which whoever writes Cosmos DB
 * could set (or move the cursor) so that records from before kept copies never got one. Nothing here ends now: a forged
 * cursor only delays a walk that comes round again. Create-only, so a run again (or two at once) writes nothing twice; a
 * write that failed is logged and tried again on the next lap. Locks are extended by extendKeptSightingLocks, from
 * storage's own listing.
 */
export async function keepUnkeptSightings(deps: { tenantRecords: TenantRecordsPort; audit: Pick<AuditLogPort, 'chainKeys'>; blobs: SightingBlobs; log: Pick<Logger, 'error'>; retention: { timers: TimerStatePort } }, now: Date, perRun = SIGHTINGS_KEPT_PER_RUN): Promise<{ kept: string[] }> {
  const stored = await deps.retention.timers.get<KeepingCursor>(SIGHTING_KEEPING_CURSOR);
  const from = typeof stored?.c === 'string' ? stored.c : undefined;
  let page;
  try {
    page = await deps.tenantRecords.unsafeSealedSightingsPage(perRun, from);
  } catch (err) {
    if (from === undefined) throw err;
    // A token the store no longer takes: the walk starts over rather than stopping there for good.
    page = await deps.tenantRecords.unsafeSealedSightingsPage(perRun);
  }
  const kept: string[] = [];
  const createdOn = now.toISOString();
  for (const { tenantId, id } of page.items) {
    const found = await deps.tenantRecords.get<PersonSightingRecord>(tenantId, id, 'person-sighting', { fresh: true });
    const s = found?.value;
    if (!s || s.mac === undefined || s.id !== id || s.tenantId !== tenantId || typeof s.seenAt !== 'string' || Number.isNaN(Date.parse(s.seenAt))) continue;
    // Never one the archive did not seal as it is: a kept copy is what undoes an edit.
    if ((await sightingSealChecked(s, createdOn, deps.audit.chainKeys)) !== null) continue;
    const name = keptSightingName(id, Date.parse(s.seenAt));
    try {
      // Its own name looked at, not the folder listed: millions of blobs planted in it would be listed on every lap.
      if (await deps.blobs.exists(tenantId, name)) continue;
      await keepSighting(deps.blobs, s, now);
      kept.push(`${tenantId}/${id}`);
    } catch (err) {
      deps.log.error(PERSON_SIGHTING_NOT_KEPT, { tenantId, id, error: String(err) });
    }
  }
  await deps.retention.timers.set<KeepingCursor>(SIGHTING_KEEPING_CURSOR, { c: page.continuationToken });
  return { kept };
}

/** `sightings/<record id>/<16 digits>.json`: the record id its name says, or null (not a name the archive writes). */
const keptRecordIdOf = (name: string): string | null => /^sightings\/([^/]+)\/\d{16}\.json$/.exec(name)?.[1] ?? null;

/**
 * Operators are alerted on this exact phrase (infra/main.bicep, keptSightingWalkBehindAlert): the walk extending kept
 * sign-in copies' locks began its lap more than KEPT_SIGHTING_LAP_MAX_MS ago (blobs or containers planted by a storage
 * role stretch it, or its state replayed, reset or deleted in Cosmos DB holds it back), or found its state not sealed by
 * the archive: a copy's lock may end before the walk comes round to extend it.
 */
export const KEPT_SIGHTING_WALK_BEHIND = 'kept sign-in copies walk behind: a lock may end before it is extended';
/** A lap of the walk over kept copies longer than this is alerted: half the window a due lock is extended within. */
export const KEPT_SIGHTING_LAP_MAX_MS = 30 * 86_400_000;
const LOCK_WALK_SEAL = 'sighting-lock-walk';
/**
 * A state saved longer ago than this is alerted: the reconciler saves it every run (every 30 minutes by default). Broke:
 * the state said nothing of when it was saved, so a writer of Cosmos DB replayed before every run one the archive sealed
 * before a tenant's first copy, with both walks near their laps' ends: each run ended both laps (dated anew), the tenant
 * was never known, its copies never extended, and nothing was alerted (test/unit/faults/round20-attacks.test.ts). A
 * replay now holds the walk back a day unseen at most; the tenants known after it are found again within a lap.
 */
export const KEPT_SIGHTING_STATE_MAX_AGE_MS = 86_400_000;
const EPOCH = new Date(0).toISOString();

/**
 * The walk's state in timer state (SIGHTING_LOCKS_CURSOR), sealed by the archive: a writer of Cosmos DB can replay an
 * older state (its laps' starts older: alerted once past KEPT_SIGHTING_LAP_MAX_MS) or spoil it (alerted at once), not
 * move it on or make its laps look new.
 */
interface LockWalk {
  /** Tenants whose containers hold a locked copy (only the archive locks one), in name order. */
  known: string[];
  /** The walk over the known tenants' copies: where it goes on (null: the first), and when its lap began. */
  c: string | null;
  lap: string;
  /** The walk over every container, finding tenants to know: where it goes on, and when its lap began. */
  d: string | null;
  dLap: string;
  /** When the run that saved it ran (none: a state from before it was dated, alerted as saved long ago). */
  savedAt?: string;
}

/** The walk's state as sealed; null: none (or not one it writes: from before the seal), or not the archive's (`why`). */
async function lockWalkOf(deps: { audit: Pick<AuditLogPort, 'chainKeys'>; retention: { timers: TimerStatePort } }): Promise<{ walk: LockWalk | null; why: string | null }> {
  const stored = await deps.retention.timers.get<LockWalk & { seal?: unknown }>(SIGHTING_LOCKS_CURSOR);
  if (!stored) return { walk: null, why: null };
  const { known, c, lap, d, dLap, savedAt } = stored;
  const str = (v: unknown) => typeof v === 'string' || v === null;
  if (!Array.isArray(known) || !known.every((t) => typeof t === 'string') || !str(c) || !str(d) || typeof lap !== 'string' || typeof dLap !== 'string' || Number.isNaN(Date.parse(lap)) || Number.isNaN(Date.parse(dLap))) return { walk: null, why: null };
  const walk: LockWalk = { known, c, lap, d, dLap, ...(typeof savedAt === 'string' ? { savedAt } : {}) };
  const why = await sealFieldUnsealedBecause(LOCK_WALK_SEAL, walk, stored.seal, null, deps.audit.chainKeys);
  // One sealed under a chain key since rotated is the archive's own (its next save is sealed under the current one).
  return why === null || why === 'superseded key' ? { walk, why: null } : { walk: null, why };
}

/**
 * Reconciler: walks the kept copies themselves, from storage's listing of `sightings/` (SIGHTING_LOCKS_CURSOR says where;
 * Cosmos DB's records play no part, so records planted there cannot starve it), pages of SIGHTINGS_KEPT_PER_RUN rows,
 * for good. Two walks share a run's KEPT_SIGHTING_PAGES_PER_RUN pages: first over the containers of the tenants known
 * to hold a locked copy (all but one page, fewer once SIGHTINGS_KEPT_PER_RUN folders needed looking at), then over every
 * container (the rest, one page at least), which finds the tenants to know. A record's folder with a copy whose lock
 * ends within KEPT_SIGHTING_EXTEND_WITHIN_MS (or has ended) has the lock of its newest copy the archive sealed extended
 * (never shortened) to KEPT_SIGHTING_LOCK_MS from now, judged on the walk's own rows: older copies may lapse. A blob
 * never locked (the archive writes every copy locked) costs its listing row alone, unread.
 *
 * Broke (red team 17): extended on the way through Cosmos DB's sign-in records, records planted with a fake `mac` made a
 * lap longer than the window. Broke (red team 18): each empty container planted by a storage role cost a listing of a
 * run's 2,000 (about 6 million made a lap longer than the window, and every run listed again each container before its
 * cursor's); each due folder was listed whole, so millions of blobs planted in a genuine one made a run list them all
 * (and maybe never save its cursor); and a writer of Cosmos DB reset the cursor at will, so containers were skipped
 * every lap. Now containers planted empty slow only the finding of new tenants, a folder is never listed, and the state
 * is sealed, with a lap longer than KEPT_SIGHTING_LAP_MAX_MS alerted (KEPT_SIGHTING_WALK_BEHIND).
 */
export async function extendKeptSightingLocks(deps: { audit: Pick<AuditLogPort, 'chainKeys'>; blobs: SightingBlobs & Pick<BlobArchivePort, 'unsafeListWormUnder'>; log: Pick<Logger, 'error'>; retention: { timers: TimerStatePort } }, now: Date, perRun = SIGHTINGS_KEPT_PER_RUN): Promise<{ extended: string[] }> {
  const at = now.toISOString();
  const read = await lockWalkOf(deps);
  if (read.why !== null) deps.log.error(KEPT_SIGHTING_WALK_BEHIND, { reason: read.why });
  // Key Vault not answering: the state cannot be told, and starting over would drop the tenants it knows. The next run.
  if (read.why === 'key unavailable') return { extended: [] };
  const savedAt = read.walk ? Date.parse(read.walk.savedAt ?? '') : Number.NaN;
  if (read.walk && !(now.getTime() - savedAt <= KEPT_SIGHTING_STATE_MAX_AGE_MS)) deps.log.error(KEPT_SIGHTING_WALK_BEHIND, { reason: 'state not saved lately', savedAt: read.walk.savedAt ?? null });
  // None, or not the archive's: from the first container, its laps dated at the epoch, so a lap that does not end
  // within this run is alerted. A deployment's first run ends them (few containers); a writer of Cosmos DB deleting the
  // state run after run, so the walk never got past its first containers, is alerted on every run.
  const walk: LockWalk = read.walk ?? { known: [], c: null, lap: EPOCH, d: null, dLap: EPOCH };
  const known = new Set(walk.known);
  const knownBefore = new Set(walk.known);
  // None known: that walk's lap has nothing to go over (else a deployment's first 30 days alerted).
  if (walk.known.length === 0) walk.lap = at;
  const due = now.getTime() + KEPT_SIGHTING_EXTEND_WITHIN_MS;
  const folders = new Set<string>();
  const extended: string[] = [];
  // The folder the rows being walked are in: its locked rows (only the archive's are locked), and whether one is due.
  let open: { tenantId: string; id: string; rows: BlobWorm[]; due: boolean } | null = null;
  const close = async () => {
    const was = open;
    open = null;
    if (!was?.due) return;
    try {
      if (await extendNewestLock(was.tenantId, was.id, was.rows, now, deps)) extended.push(`${was.tenantId}/${was.id}`);
    } catch (err) {
      deps.log.error(PERSON_SIGHTING_NOT_KEPT, { tenantId: was.tenantId, id: was.id, error: String(err) });
    }
  };
  const walked = async (rows: (BlobWorm & { tenantId: string })[], finding: boolean) => {
    for (const row of rows) {
      // Found while finding tenants: a known tenant's rows are the other walk's.
      if (finding && knownBefore.has(row.tenantId)) continue;
      const id = keptRecordIdOf(row.name);
      if (id === null) continue;
      if (open?.tenantId !== row.tenantId || open.id !== id) {
        await close();
        open = { tenantId: row.tenantId, id, rows: [], due: false };
      }
      if (row.retainUntil === null) continue;
      if (finding) known.add(row.tenantId);
      open.rows.push(row);
      if (Date.parse(row.retainUntil) <= due && !judgedNotKept(row.tenantId, { name: row.name, etag: row.etag ?? '' }) && !open.due) {
        open.due = true;
        folders.add(`${row.tenantId}/${id}`);
      }
    }
  };
  let pages = 0;
  // One walk's pages while `more` says so: the known tenants' by name, or every container's (finding tenants to know). A
  // folder whose rows go on past a walk's pages is judged on those listed (fail safe: an older copy may be extended
  // too); its newer rows are judged when the walk comes to them.
  const lapOf = async (cursor: 'c' | 'd', lap: 'lap' | 'dLap', tenants: string[] | undefined, more: () => boolean) => {
    while (more()) {
      pages++;
      const page = await deps.blobs.unsafeListWormUnder('sightings/', walk[cursor], perRun, tenants);
      await walked(page.items, tenants === undefined);
      walk[cursor] = page.next;
      if (page.next === null) {
        walk[lap] = at;
        break;
      }
    }
    await close();
  };
  await lapOf('c', 'lap', walk.known, () => pages < KEPT_SIGHTING_PAGES_PER_RUN - 1 && folders.size < perRun && walk.known.length > 0);
  // Every container at least a page a run, so new tenants are found however many known ones there are.
  const firstPage = pages;
  await lapOf('d', 'dLap', undefined, () => pages === firstPage || (pages < KEPT_SIGHTING_PAGES_PER_RUN && folders.size < perRun));
  for (const [which, began] of [['known tenants', walk.lap], ['every container', walk.dLap]] as const) {
    if (now.getTime() - Date.parse(began) > KEPT_SIGHTING_LAP_MAX_MS) deps.log.error(KEPT_SIGHTING_WALK_BEHIND, { reason: 'lap too long', walk: which, lapStarted: began });
  }
  const next: LockWalk = { ...walk, known: [...known].sort(), savedAt: at };
  try {
    await deps.retention.timers.set(SIGHTING_LOCKS_CURSOR, { ...next, seal: await sealOver(LOCK_WALK_SEAL, next, deps.audit.chainKeys) });
  } catch (err) {
    // Key Vault not answering: the next run goes on from the state before.
    deps.log.error(KEPT_SIGHTING_WALK_BEHIND, { reason: 'state not saved', error: String(err) });
  }
  return { extended };
}

/**
 * Extends the lock of the newest kept copy of record `id` the archive sealed, if it ends within
 * KEPT_SIGHTING_EXTEND_WITHIN_MS (or has ended); true when extended. A newer blob never locked, or one the archive did not
 * seal, is passed over (never locked for it; the latter reported). The newest whose seal cannot be told (its key version
 * cannot be read from Key Vault) but that is a well-formed sighting of the record its name says is extended too, and
 * the search goes on below it: a planted one locked costs storage, a genuine one unlocked could be deleted and an older
 * record replayed; either way it is not read as kept until its seal checks (keptAs), nor does it stand in for the
 * sealed copy below it.
 */
async function extendNewestLock(tenantId: string, id: string, listed: BlobWorm[], now: Date, deps: { blobs: SightingBlobs; audit: Pick<AuditLogPort, 'chainKeys'>; log: Pick<Logger, 'error'> }): Promise<boolean> {
  const due = now.getTime() + KEPT_SIGHTING_EXTEND_WITHIN_MS;
  const until = new Date(now.getTime() + KEPT_SIGHTING_LOCK_MS).toISOString();
  let untold = false;
  let extended = false;
  for (const worm of [...listed].sort((a, b) => (a.name < b.name ? 1 : a.name > b.name ? -1 : 0))) {
    const blob: ListedBlob = { name: worm.name, etag: worm.etag ?? '' };
    if (worm.retainUntil === null || judgedNotKept(tenantId, blob)) continue;
    const lockedPast = Date.parse(worm.retainUntil) > due;
    // Found the archive's on this instance and locked past the window: nothing to read or write.
    if (lockedPast && keptDigest(tenantId, blob) !== null) return extended;
    const { s, why } = await keptVerdict(tenantId, null, id, blob, deps);
    if (!s || (why !== null && why !== 'key unavailable') || (why !== null && untold)) continue;
    if (why !== null) {
      untold = true;
      if (!lockedPast) await deps.blobs.extendRetention(tenantId, worm.name, until);
      extended ||= !lockedPast;
      continue;
    }
    rememberKept(tenantId, blob, '');
    if (lockedPast) return extended;
    await deps.blobs.extendRetention(tenantId, worm.name, until);
    return true;
  }
  return extended;
}

/** Keeps `record` as a create-only blob locked for KEPT_SIGHTING_LOCK_MS, under its own time. */
async function keepSighting(blobs: SightingBlobs, record: PersonSightingRecord, now: Date): Promise<void> {
  await blobs.prepareTenant(record.tenantId);
  const name = keptSightingName(record.id, Date.parse(record.seenAt));
  await blobs.putCreateOnly(record.tenantId, name, Buffer.from(JSON.stringify(record)), 'application/json', { retainUntil: new Date(now.getTime() + KEPT_SIGHTING_LOCK_MS).toISOString(), legalHold: false }, {});
}

/** The longest item id the store's point read looks up (shared/adapters/azure/cosmos.ts `isItemId`); a longer one reads as none. */
const MAX_PLAIN_ID = 255;

/**
 * The record id: the person as it is, or its SHA-256 when it holds a character a Cosmos id may not
 * (`/`, `\`, `?`, `#`: an identity provider's `sub` is free text, and such a person's sign-in failed with a 500),
 * or starts `sha256:` (else a person named like another's hashed id would share that person's record: their
 * sign-ins would keep the other's keys acting), or would make an id longer than the store reads (MAX_PLAIN_ID: a
 * token may name a subject of 256 characters; the store's point read answered "none" for the longer id it had
 * created, so the person's next sign-in with another claimed set found no record, failed to create it again, and was
 * a 503 on every request, and their API keys found no sign-in and rested). Ids already stored (other persons) stay as they were.
 */
export const personSightingRecordId = (person: string) => {
  const plain = `person-sighting:${person}`;
  return /[/\\?#]/.test(person) || person.startsWith('sha256:') || plain.length > MAX_PLAIN_ID ? `person-sighting:sha256:${sha256(person)}` : plain;
};

/** What reading a sighting for a decision needs: the store, the sightings kept in storage, a clock. */
export type SightingReadDeps = { tenantRecords: TenantRecordsPort; blobs: Pick<BlobArchivePort, 'listedBlobs' | 'readIfExists'>; clock: Pick<Clock, 'now'> } & SightingSealDeps;

/**
 * `person`'s last sign-in here (null: never seen, or the record is another person's): the set it claimed is what they
 * act with where rights come from the claim and the tenant assigns them none. As stored, or the newest kept in storage
 * if newer (judgedWithKept). `unsealed`: why the archive did not write the stored one as it is (sightingUnsealed); a
 * decision takes such a one as telling nothing of the person.
 */
export async function lastSighting(tenantId: string, person: string, deps: SightingReadDeps): Promise<{ record: PersonSightingRecord; unsealed: string | null } | null> {
  const seen = await deps.tenantRecords.get<PersonSightingRecord>(tenantId, personSightingRecordId(person), 'person-sighting', { fresh: true });
  return judgedWithKept(tenantId, person, seen?.value.person === person ? seen.value : null, deps.clock.now(), deps);
}

/**
 * The sighting a decision reads, for every reader (an API key's rights, four eyes, the rights floor): one Cosmos DB holds
 * that the archive did not seal as it is, as it is (the caller refuses on `unsealed`); a sealed one older than the newest
 * kept in storage is a replay (a genuine sighting from before the identity provider changed the claim, written back) or
 * a restore: the kept one decides, and is written back over it (keptNewer). Broke: only an API key's decision looked, and
 * a replay of a guest's sighting from before she claimed a set the placer widened dropped the placer from four eyes'
 * chain (its givenBefore), and one from before her claim named tenant-admin let a lesser rights manager take it from her.
 */
async function judgedWithKept(tenantId: string, person: string, stored: PersonSightingRecord | null, now: Date, deps: SightingReadDeps): Promise<{ record: PersonSightingRecord; unsealed: string | null } | null> {
  const unsealed = stored ? await sightingUnsealed(stored, deps) : null;
  if (stored && unsealed !== null) return { record: stored, unsealed };
  const kept = await keptNewer(tenantId, person, stored, now, deps);
  // Kept copies that cannot be judged (more blobs than a look lists): one stored may be a replay, so taken as telling
  // nothing of the person, as one not sealed (the callers refuse on `unsealed`; a record stands in where none is stored).
  if (kept === 'unjudged') return { record: stored ?? { id: personSightingRecordId(person), tenantId, type: 'person-sighting', person, rightsSet: '', seenAt: new Date(0).toISOString() }, unsealed: 'kept copies not judged' };
  return kept ? { record: kept, unsealed: null } : stored ? { record: stored, unsealed: null } : null;
}

/**
 * Per store port (one per instance), per person: the stored version last found no older than those kept, and when. A
 * person's kept sightings are listed once per instance per SIGHTING_CHECK_MAX_AGE_MS for the stored version as checked
 * (a record changed since is looked at again), whichever decision reads them.
 */
const keptChecked = new WeakMap<object, Map<string, { at: number; version: string }>>();

/** Who writes a kept sighting back, in the audit entry it writes. */
export const SIGHTING_RESTORE_ACTOR = { subject: 'system:sighting-restore', kind: 'system' } as const;

/** The newest sighting kept in storage if newer than `stored`, written back then, with an audit entry. */
async function keptNewer(tenantId: string, person: string, stored: PersonSightingRecord | null, now: Date, deps: SightingReadDeps): Promise<PersonSightingRecord | null | 'unjudged'> {
  const checked = keptChecked.get(deps.tenantRecords) ?? new Map<string, { at: number; version: string }>();
  keptChecked.set(deps.tenantRecords, checked);
  const key = `${tenantId}\n${person}`;
  const version = stored ? (storedVersionOf(stored) ?? createHash('sha256').update(canonicalJson(stored)).digest('base64')) : 'none';
  const seen = checked.get(key);
  if (seen !== undefined && seen.version === version && now.getTime() - seen.at < SIGHTING_CHECK_MAX_AGE_MS) return null;
  const kept = await newestKept(tenantId, person, deps);
  if (kept === 'unjudged') return 'unjudged';
  const storedAt = stored ? (readWrittenInstant(stored.seenAt, now.getTime()) ?? -Infinity) : -Infinity;
  if (!kept || Date.parse(kept.seenAt) <= storedAt) {
    if (checked.size >= MAX_REMEMBERED) checked.clear();
    checked.set(key, { at: now.getTime(), version });
    return null;
  }
  checked.delete(key);
  // Over the version read now: a sign-in meanwhile (newer) stands; a conflict leaves it to the next request. The write
  // carries its audit entry: a write-back was alerted, but the tenant's log said nothing of it.
  const current = await deps.tenantRecords.get<PersonSightingRecord>(tenantId, personSightingRecordId(person), 'person-sighting', { fresh: true });
  const currentAt = current?.value.person === person ? (readWrittenInstant(current.value.seenAt, now.getTime()) ?? -Infinity) : -Infinity;
  const at = now.toISOString();
  const entry = auditOutboxItem([{ tenantId, at, actor: SIGHTING_RESTORE_ACTOR, action: 'person.sighting-restored', target: kept.id, outcome: 'success', status: 200, requestId: `${SIGHTING_RESTORE_ACTOR.subject}:${kept.id}:${at}`, clientIp: null, userAgent: null, detail: `sighting-restored=${kept.seenAt};stored-seen-at=${stored?.seenAt ?? 'none'}` }]);
  const written = !current
    ? (await deps.tenantRecords.create(kept, entry)) === 'created'
    : currentAt < Date.parse(kept.seenAt) && (await deps.tenantRecords.replace(kept, current.etag, entry)) === 'replaced';
  // Only a write-back that was written (its entry goes with it, all or none). Broke: one that lost its race to another
  // write was logged, and alerted, as a restore the store never made.
  if (written) deps.log.warn?.(PERSON_SIGHTING_RESTORED, { tenantId, id: kept.id, seenAt: kept.seenAt, storedSeenAt: stored?.seenAt ?? null });
  return kept;
}

/** Blobs under a person's kept folder a look lists, at most: a person keeps one a change of claimed set. */
export const KEPT_SIGHTINGS_LISTED = 5000;
/** Kept sightings a look reads, at most, newest first (one not sealed is remembered: this instance's next looks pass it unread). */
export const KEPT_SIGHTINGS_READ = 50;

/**
 * The newest of `person`'s kept sightings the archive sealed; any other is reported once and passed over. 'unjudged'
 * where the folder holds more than KEPT_SIGHTINGS_LISTED blobs (reported), or more than KEPT_SIGHTINGS_READ not sealed
 * lie above the newest sealed one: the newest may lie past them. Broke: listed whole (and each blob above the sealed one
 * read), millions of blobs planted in it by a storage role made each request of the person list them all.
 */
async function newestKept(tenantId: string, person: string, deps: Pick<SightingReadDeps, 'blobs' | 'audit' | 'log'>): Promise<PersonSightingRecord | null | 'unjudged'> {
  const id = personSightingRecordId(person);
  const listed = await deps.blobs.listedBlobs(tenantId, keptPrefix(id), KEPT_SIGHTINGS_LISTED + 1);
  if (listed.length > KEPT_SIGHTINGS_LISTED) {
    report({ tenantId, id } as PersonSightingRecord, 'unjudged', () => deps.log.error(PERSON_SIGHTING_KEPT_UNSEALED, { tenantId, id, reason: `more than ${KEPT_SIGHTINGS_LISTED} blobs under ${keptPrefix(id)}` }));
    return 'unjudged';
  }
  listed.sort((a, b) => (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
  // Only a name the archive writes is read, and at most KEPT_SIGHTINGS_READ of them not sealed above the newest sealed one.
  let reads = KEPT_SIGHTINGS_READ;
  for (const blob of listed) {
    if (keptRecordIdOf(blob.name) !== id || judgedNotKept(tenantId, blob)) continue;
    if (reads-- <= 0) return 'unjudged';
    const found = await keptAs(tenantId, person, id, blob, deps);
    if (found) return found;
  }
  return null;
}

async function keptAs(tenantId: string, person: string, id: string, blob: ListedBlob, deps: Pick<SightingReadDeps, 'blobs' | 'audit' | 'log'>): Promise<PersonSightingRecord | null> {
  const { s, why } = await keptVerdict(tenantId, person, id, blob, deps);
  return why === null ? s : null;
}

/**
 * The kept blob as read, if a sighting of `person` (null: of whoever record `id` is) seen when its name says, and why it
 * is not the archive's (null: it is; one that is not is reported).
 */
async function keptVerdict(tenantId: string, person: string | null, id: string, blob: ListedBlob, deps: Pick<SightingReadDeps, 'blobs' | 'audit' | 'log'>): Promise<{ s: PersonSightingRecord | null; why: string | null }> {
  const read = await readKeptBlob(deps.blobs, tenantId, blob.name, KEPT_SIGHTING_MAX_BYTES);
  if (!read) return { s: null, why: 'gone' };
  let s: PersonSightingRecord | null = null;
  try {
    const v = JSON.parse(read.bytes.toString('utf8')) as PersonSightingRecord | null;
    // The seal covers what it says, not the blob's name: one copied under a later name is not taken.
    if (v !== null && typeof v === 'object' && v.type === 'person-sighting' && v.tenantId === tenantId && v.id === id && typeof v.person === 'string' && (person === null ? personSightingRecordId(v.person) === id : v.person === person) && typeof v.seenAt === 'string' && keptSightingName(id, Date.parse(v.seenAt)) === blob.name) s = v;
  } catch {
    s = null;
  }
  const why = !s ? `not a sighting of ${person ?? id} seen when its name says` : await sightingSealChecked(s, read.createdOn, deps.audit.chainKeys);
  if (why !== null) reportNotKept(deps.log, PERSON_SIGHTING_KEPT_UNSEALED, tenantId, blob.name, why, blob);
  return { s, why };
}

/** A sighting is written again once it is this old (or at once if the claimed set changed). */
const REFRESH_MS = 24 * 3600_000;
/** Sign-ins of one person at once, each writing over the other's: past this many rounds something is wrong with the store. */
const SIGHTING_WRITE_ATTEMPTS = 5;
/** Bounds memory on an instance serving many people. */
const MAX_REMEMBERED = 10_000;

const newer = (a: string | null, b: string | null): string | null => (a === null ? b : b === null ? a : a > b ? a : b);

interface Seen {
  rightsSet: string;
  seenAt: number;
  issuedAt: string | null;
}

/**
 * A sign-in stored with no time this instance could have written (none readable, or far ahead: readWrittenInstant) is
 * never "within the day": read with Date.parse, one far ahead was, and the sighting was never written again, her keys
 * resting on it (authenticate.ts reads it as no sign-in) however often she signed in. Nor is a token time so stored
 * newer than any: compared as text, one far ahead made every later token older, and her keys kept the set it named
 * after the identity provider narrowed her claim.
 */
const seenOf = (stored: PersonSightingRecord, now: Date): Seen => ({
  rightsSet: stored.rightsSet,
  seenAt: readWrittenInstant(stored.seenAt, now.getTime()) ?? -Infinity,
  issuedAt: readWrittenInstant(stored.issuedAt, now.getTime()) !== null ? stored.issuedAt! : null,
});

export class PersonSightings {
  /** The issue time of the newest token this instance saw per (tenant, person): an older token never replaces the set. */
  private readonly newestTokens = new Map<string, string | null>();

  private readonly sealing: SightingSealDeps;
  private readonly blobs: SightingBlobs;

  constructor(
    private readonly records: TenantRecordsPort,
    sealing: Pick<SightingSealDeps, 'audit' | 'log'> & { blobs: SightingBlobs },
  ) {
    this.sealing = { audit: sealing.audit, log: sealing.log, tenantRecords: records };
    this.blobs = sealing.blobs;
  }

  /**
   * A sign-in with claimed rights (`issuedAt`: its token's iat): recorded when the stored sighting is a day old or
   * names another set, unless its token was issued before the stored one's. A token stays valid for its lifetime after
   * the identity provider narrows the claim; used after a newer token, its broader set must not come back for the
   * person's API keys, which act on this record until the next sign-in.
   */
  async seen(tenantId: string, person: string, rightsSet: string, now: Date, issuedAt: string | null = null): Promise<void> {
    const key = `${tenantId}\n${person}`;
    // Judged on the sighting as stored (the settings cache's copy, at most its lifetime old), with the newest token this
    // instance saw of the person. Judged on what this instance remembered alone, it missed another instance's write
    // since: signed in here claiming a set, then on another instance claiming a wider one (recorded there), then
    // narrowed back by the identity provider and signed in here, she matched this instance's memory, nothing was
    // written, and her keys acted on the wider set for up to a day of her sign-ins (README: recorded at once when the
    // claimed set changes).
    // One not sealed by the archive is written again (sealed) at once: its keys rest on it until then.
    const cached = await this.lastVersioned(tenantId, person, false);
    const known = cached && (await sightingUnsealed(cached.value, this.sealing)) === null ? seenOf(cached.value, now) : null;
    if (known && this.settled(key, { ...known, issuedAt: newer(known.issuedAt, this.newestTokens.get(key) ?? null) }, rightsSet, now, issuedAt)) return;
    // Written only over the version read: two sign-ins at once (other claims, other instances) once both wrote over the
    // same read, and the later write dropped the set the earlier one named from what the record carries of givings
    // (and an older token's set could replace a newer one's). The loser reads again and decides on what is stored now.
    // Sign-ins that keep writing over each other past the rounds are contention, answered 503 with Retry-After (never a 500).
    await withFreshReads(`The sign-in record of ${person}`, async () => {
      const stored = await this.lastVersioned(tenantId, person);
      const unsealed = stored ? (await sightingUnsealed(stored.value, this.sealing)) !== null : false;
      if (stored && !unsealed && this.settled(key, seenOf(stored.value, now), rightsSet, now, issuedAt)) return undefined;
      // With none stored, or one not the archive's, the token's order is judged on the newest copy kept in storage (and
      // this instance's memory). Broke: judged on the stored one alone, whoever could write Cosmos DB touched or deleted
      // it, signed in with a token from before the identity provider narrowed her claim, and its wider set was recorded
      // (sealed, kept): her keys acted with it after that token had expired (test/unit/faults/round18-attacks.test.ts).
      const kept = stored && !unsealed ? null : await newestKept(tenantId, person, { blobs: this.blobs, audit: this.sealing.audit, log: this.sealing.log });
      // The order of tokens cannot be judged (more blobs kept than a look lists): not recorded, the safe side (her keys
      // rest on the record as it is until the planted blobs are removed; reported).
      if (kept === 'unjudged') return undefined;
      const floor = newer(kept ? seenOf(kept, now).issuedAt : null, this.newestTokens.get(key) ?? null);
      if (issuedAt && floor && issuedAt < floor) return undefined;
      // Never older than the sealed one it replaces: kept copies are ordered by seenAt (keptNewer). Broke: a sign-in that
      // lost the write to another and wrote again kept its request's start, below the other's; the other's kept copy was
      // then "newer", and a key's next look wrote it back (two tokens at once, the older one's wider set restored).
      const after = stored && !unsealed ? readWrittenInstant(stored.value.seenAt, now.getTime()) : kept ? readWrittenInstant(kept.seenAt, now.getTime()) : null;
      const seenAt = new Date(after !== null && after >= now.getTime() ? after + 1 : now.getTime()).toISOString();
      const record = await sealSighting({ id: personSightingRecordId(person), tenantId, type: 'person-sighting', person, rightsSet, seenAt, ...(issuedAt ? { issuedAt } : {}), ...(await this.carried(tenantId, rightsSet, stored?.value ?? null, unsealed ? now : null)) }, this.sealing);
      const written = stored ? (await this.records.replace(record, stored.etag)) === 'replaced' : (await this.records.create(record)) === 'created';
      if (!written) return CHANGED;
      this.remember(key, issuedAt);
      // A change of set is kept in storage too, after the record's write (a blob is only a sighting the archive wrote):
      // keptNewer undoes one written back over it, and four eyes read it beside the stored one. Refreshes of the same set
      // keep none. A first sign-in, and one written over a record not the archive's, are kept too. Broke: a first one
      // had nothing kept, so deleting the record in Cosmos DB hid the set it claimed from four eyes.
      if (!stored || unsealed || stored.value.rightsSet !== rightsSet) await this.keep(record, now);
      return undefined;
    }, SIGHTING_WRITE_ATTEMPTS);
  }

  /**
   * Nothing to write: a token older than the stored one's, or the same set seen within the day by a token no newer than
   * the stored one's (its token time remembered). A newer token of the same set is written (once per token): the store
   * kept the older token's time, and a wider token issued between the two, used afterwards on another instance (whose
   * memory had not seen the newer one), was recorded over that newer sign-in, its set given back to her keys.
   */
  private settled(key: string, known: Seen, rightsSet: string, now: Date, issuedAt: string | null): boolean {
    if (issuedAt && known.issuedAt && issuedAt < known.issuedAt) {
      this.remember(key, known.issuedAt);
      return true;
    }
    if (known.rightsSet === rightsSet && now.getTime() - known.seenAt < REFRESH_MS && (issuedAt === null || (known.issuedAt !== null && issuedAt <= known.issuedAt))) {
      this.remember(key, known.issuedAt);
      return true;
    }
    return false;
  }

  /** Keeps `record` as a create-only locked blob; a failure is logged and the sign-in goes on (its record is written). */
  private async keep(record: PersonSightingRecord, now: Date): Promise<void> {
    try {
      await keepSighting(this.blobs, record, now);
    } catch (err) {
      this.sealing.log.error(PERSON_SIGHTING_NOT_KEPT, { tenantId: record.tenantId, id: record.id, error: String(err) });
    }
  }

  /** As lastSighting, through the instance's cache (the sign-in's hot path), for a decision on a key's rights. */
  async lastForKey(tenantId: string, person: string, now: Date): Promise<{ record: PersonSightingRecord; unsealed: string | null } | null> {
    const found = (await this.lastVersioned(tenantId, person, false))?.value ?? null;
    return judgedWithKept(tenantId, person, found, now, { ...this.sealing, tenantRecords: this.records, blobs: this.blobs, clock: { now: () => now } });
  }

  /** `fresh`: as stored now, for a write made over it (the instance's cache of tenant records is for reads). */
  private async lastVersioned(tenantId: string, person: string, fresh = true): Promise<VersionedRecord<PersonSightingRecord> | null> {
    const found = await this.records.get<PersonSightingRecord>(tenantId, personSightingRecordId(person), 'person-sighting', { fresh });
    // Only this person's own sighting (ids are unique per person, and the record says whose it is).
    return found?.value.person === person ? found : null;
  }

  /**
   * What a rewritten sighting keeps of who gave the person rights through the set their earlier sign-ins claimed
   * (rights-records.ts `carriedGivings`): four eyes follow a chain of givers through it (rights-given.ts), and a claim
   * that names another set now must not hide who widened the one it named when the person gave rights through it.
   * `unsealedAt`: the stored one is not the archive's (edited, or from before the seal), so what it carries may have
   * lost givings: written sealed now, it says givings were dropped then (givenBeforeDroppedAt), so four eyes on an act
   * not later do not judge the chain through it. Broke: carried as found, a sign-in sealed the edit's dropped givings.
   */
  private async carried(tenantId: string, rightsSet: string, stored: PersonSightingRecord | null, unsealedAt: Date | null): Promise<GivenBefore> {
    if (!stored) return {};
    const given = await this.carriedAsFound(tenantId, rightsSet, stored);
    if (!unsealedAt) return given;
    const dropped = given.givenBeforeDroppedAt !== undefined && given.givenBeforeDroppedAt > unsealedAt.toISOString() ? given.givenBeforeDroppedAt : unsealedAt.toISOString();
    return { ...given, givenBeforeDroppedAt: dropped };
  }

  private async carriedAsFound(tenantId: string, rightsSet: string, stored: PersonSightingRecord): Promise<GivenBefore> {
    const named = stored.rightsSet !== rightsSet && RIGHTS_SET_NAME.test(stored.rightsSet) && !isBuiltIn(stored.rightsSet);
    const set = named ? await this.records.get<RightsSetRecord>(tenantId, rightsSetRecordId(stored.rightsSet), 'rights-set', { fresh: true }) : null;
    return carriedGivings([{ record: stored }, ...(set ? [{ giving: setGiving(set.value), record: set.value }] : [])]);
  }

  private remember(key: string, issuedAt: string | null): void {
    this.newestTokens.delete(key);
    if (this.newestTokens.size >= MAX_REMEMBERED) this.newestTokens.delete(this.newestTokens.keys().next().value!);
    this.newestTokens.set(key, issuedAt);
  }
}

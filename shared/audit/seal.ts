import type { Deps } from '../deps';
import { AuditSeal, CHAIN_ALG, type ChainProblem, ChainKeyUnavailable, ChainKeyVersion, ChainReport, ChainVerifier, entryId } from '../kernel/audit-chain';
import { AUDIT_OUTBOX_GRACE_MS, type AuditEntry, auditMonth } from '../kernel/audit';
import { ArchiveError } from '../kernel/errors';
import { sealWith, unsealedBecause } from '../kernel/archive-seal';
import { readKeptBlob } from '../kept-blobs';
import { flushSuppressedRefusals } from './suppressed-refusals';

/** Seals live in the tenant's WORM container, beside its documents: `audit-seals/<yyyy-mm>/<seq>.json`. */
const SEAL_PREFIX = 'audit-seals';
/** How long a seal blob is immutable. */
export const AUDIT_SEAL_RETENTION_YEARS = 10;

type SealDeps = Pick<Deps, 'audit' | 'auditOutbox' | 'blobs' | 'log' | 'refusals'>;

/** Outbox items one sealing run appends at most (each costs a lookup, an append and a removal); the next run takes the rest. */
export const AUDIT_OUTBOX_DRAIN_MAX = 500;

export const sealBlobName = (month: string, seq: number) => `${SEAL_PREFIX}/${month}/${entryId(seq)}.json`;
/**
 * A name the archive gives a seal (sealBlobName: 12 digits, so names sort by number). Broke: any `<digits>.json` was
 * taken, read newest first as text: a genuine older seal copied under `40.json` sorted above the last one, was read
 * first and taken as the last seal, so a chain cut behind its last seal was sealed without an alert.
 */
const SEAL_NAME = /\/\d{12}\.json$/;

/** Operators are alerted on this exact phrase (infra/main.bicep, auditChainBehindSealAlert). */
export const AUDIT_CHAIN_BEHIND_SEAL = 'audit chain behind its seal';

/** Operators are alerted on this exact phrase (infra/main.bicep, auditSealUnsealedAlert): a blob in a seal folder the archive did not seal. */
export const AUDIT_SEAL_UNSEALED = 'audit seal in storage not sealed by the archive';

/**
 * Operators are alerted on this exact phrase (infra/main.bicep, auditPendingUnsealedAlert): a parked batch of audit
 * entries without the archive's seal (kernel/audit-outbox-seal.ts), written into Cosmos DB by someone without Key Vault
 * (a forged entry to witness a change nobody made), edited, or parked before batches were sealed. Its entries are
 * appended marked (kernel/audit.ts OUTBOX_UNSEALED_DETAIL), never as witnesses.
 */
export const AUDIT_PENDING_UNSEALED = 'parked audit entries not sealed by the archive';

/** The purpose seals are sealed under (kernel/archive-seal.ts). */
const SEAL_PURPOSE = 'audit-seal';

/**
 * Seals a sealing run reads at most, newest first, looking for the archive's last one (each a small bounded read): as
 * many above the chain's end and as many at or below it, so blobs planted ahead of the chain cannot push the archive's
 * last seal out of the run's sight (16 of them made every unsealed one count as from before seals were sealed).
 */
const SEAL_READS_MAX = 16;

/**
 * Blobs of a month's seal folder a sealing run lists at once, at most: above the 8,928 seals a 31-day month holds at the
 * default schedule (AUDIT_SEAL_SCHEDULE). Broke: the folder was listed whole every run, so a storage role (no Key Vault)
 * planting millions of blobs in one tenant's folder made the timer, which serves every tenant, list them all each time.
 */
export const AUDIT_SEAL_FOLDER_LISTED = 10_000;

/**
 * Past AUDIT_SEAL_FOLDER_LISTED the archive's last seal is looked for by number, down from the chain's end: requests a
 * run makes at most (each a listing of one block of numbers, at most AUDIT_SEAL_BLOCK_LISTED names, or a point look at
 * one number), whatever is planted. Past them the month is not sealed that run (AUDIT_SEAL_UNSEALED).
 */
export const AUDIT_SEAL_LOOKS_MAX = 40;
const AUDIT_SEAL_BLOCK_LISTED = 100;

/**
 * The most of a seal blob read: a seal is a few hundred bytes. Verification reads every blob of a month's seal folder,
 * where a storage role can put any number of blobs; read at once to KEPT_BLOB_MAX_BYTES each, a few hundred 4 MiB blobs
 * took the instance's memory on a request's path. Also read SEAL_READS_AT_ONCE at a time.
 */
const SEAL_MAX_BYTES = 16 * 1024;
const SEAL_READS_AT_ONCE = 8;

type SealRead = { blob: string; seq: number; seal: AuditSeal | null; sealed: boolean; reason: string | null };

/**
 * One blob of a month's seal folder: the seal it holds, and whether the archive sealed it (its MAC under the chain key
 * version it names, kernel/archive-seal.ts). At most SEAL_MAX_BYTES is read: a blob of any size planted under a seal's
 * name is not read whole, by the sealing timer (which serves every tenant) or a verification.
 */
async function readSealBlob(tenantId: string, month: string, blob: string, deps: Pick<Deps, 'blobs' | 'audit'>): Promise<SealRead> {
  const seq = Number(/\/(\d+)\.json$/.exec(blob)?.[1] ?? NaN);
  const read = await readKeptBlob(deps.blobs, tenantId, blob, SEAL_MAX_BYTES);
  const parsed = read ? parseSeal(read.bytes.toString('utf8')) : null;
  if (!parsed || parsed.seal.partition !== `${tenantId}:${month}` || parsed.seal.seq !== seq) return { blob, seq, seal: null, sealed: false, reason: 'not a seal of this month' };
  if (parsed.mac === undefined) return { blob, seq, seal: parsed.seal, sealed: false, reason: null };
  const reason = await unsealedBecause(SEAL_PURPOSE, { ...parsed.seal, mac: parsed.mac }, read!.createdOn, deps.audit.chainKeys);
  return { blob, seq, seal: reason === null ? parsed.seal : null, sealed: reason === null, reason };
}

/**
 * Whether a seal without the archive's MAC is one the archive wrote before seals were sealed: only below every sealed
 * seal of its month (the archive writes a month's seals in order, and none unsealed since). One above a sealed seal was
 * planted by whoever can write the container. In a month sealed only before seals were sealed it cannot be told from one
 * planted, and counts (README *Keyed hash chain*).
 */
const legacySeal = (r: SealRead, lowestSealed: number): boolean => r.seal !== null && !r.sealed && r.reason === null && r.seq < lowestSealed;

/**
 * Write the chain head of one partition as an immutable blob (create-only, WORM), sealed by the archive, if the chain
 * grew since the last seal. Re-running it does nothing new.
 *
 * Entries are never deleted, so a chain that ends before its last seal, or holds another entry at the sealed number,
 * lost entries the seal had fixed: the audit container restored to an earlier point (README *Backups and restore*) or
 * cut. The run logs AUDIT_CHAIN_BEHIND_SEAL for the operators' alert each time it finds it, and goes on sealing what is
 * written after (the seals keep both). Only a seal of the archive counts: one planted ahead of the chain by whoever
 * can write the container (a storage role, no access to Cosmos DB) raised that alert falsely on every run and stopped
 * the month being sealed again; it is logged AUDIT_SEAL_UNSEALED and passed over. A chain ending exactly under a seal
 * is looked at for its passed marker (passedMarkerName): cut back to a number the archive sealed and passed, it has one.
 */
export async function sealPartition(tenantId: string, month: string, now: Date, deps: SealDeps): Promise<AuditSeal | null> {
  const end = await deps.audit.end(tenantId, month);
  if (end.seq === 0) return null;
  const atEnd = sealBlobName(month, end.seq);
  if (await deps.blobs.exists(tenantId, atEnd)) {
    // A month whose chain no longer grows keeps its last seal unread (every partition, every run). In the months it grows
    // in, the blob under the number the chain has reached is read: a storage role can take the numbers ahead of the
    // chain, and the run, finding the name, sealed nothing of the month and said nothing.
    if (month < auditMonth(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)))) return checkNotPassed(tenantId, month, end.seq, deps);
    const r = await readSealBlob(tenantId, month, atEnd, deps);
    if (r.seal !== null && r.seal.hash === end.hash && (r.sealed || r.reason === null)) return checkNotPassed(tenantId, month, end.seq, deps);
    if (r.sealed) deps.log.error(AUDIT_CHAIN_BEHIND_SEAL, { tenantId, month, chainEnd: end.seq, sealed: atEnd, differs: true });
    else deps.log.error(AUDIT_SEAL_UNSEALED, { tenantId, month, blob: atEnd, reason: r.reason ?? 'no seal of the archive, under the number the chain has reached: the month cannot be sealed there' });
    return null;
  }
  // The archive's last seal, newest first: a sealed one, or (none sealed among those read) the newest from before seals
  // were sealed. Those not the archive's are logged, each run they are met. Above the chain's end first (a restore or a
  // cut put it behind the last seal), then at or below it, each up to SEAL_READS_MAX.
  // The folder is listed up to AUDIT_SEAL_FOLDER_LISTED; one holding more (only a storage role fills it so) is walked
  // down by number from the chain's end instead, and said so once a run. Seals above the chain's end are then looked
  // for only among the names listed (verification still reports a chain behind its seal).
  const seqOf = (blob: string) => Number(/\/(\d+)\.json$/.exec(blob)![1]);
  const folder = `${SEAL_PREFIX}/${month}/`;
  const listed = await deps.blobs.listedBlobs(tenantId, folder, AUDIT_SEAL_FOLDER_LISTED + 1);
  const names = listed.slice(0, AUDIT_SEAL_FOLDER_LISTED).map((b) => b.name).filter((n) => SEAL_NAME.test(n)).sort().reverse();
  const whole = listed.length <= AUDIT_SEAL_FOLDER_LISTED;
  const walk = { looks: AUDIT_SEAL_LOOKS_MAX, exhausted: false };
  const reads: SealRead[] = [];
  // Whether the reads at or below the chain's end stopped at SEAL_READS_MAX before a sealed one: one may lie below.
  let belowUnread = false;
  for (const [side, blobs] of [names.filter((n) => seqOf(n) > end.seq), whole ? names.filter((n) => seqOf(n) <= end.seq) : sealNamesDownFrom(tenantId, month, end.seq, deps, walk)].entries()) {
    let n = 0;
    for await (const blob of blobs) {
      const r = await readSealBlob(tenantId, month, blob, deps);
      reads.push(r);
      if (r.sealed) break;
      if (++n >= SEAL_READS_MAX) {
        belowUnread ||= side === 1;
        break;
      }
    }
  }
  const unfound = walk.exhausted && !reads.some((r) => r.sealed);
  if (!whole) deps.log.error(AUDIT_SEAL_UNSEALED, { tenantId, month, blob: folder, reason: `more blobs in the seal folder than a sealing run lists (${AUDIT_SEAL_FOLDER_LISTED}): ${unfound ? `the archive's last seal not found in ${AUDIT_SEAL_LOOKS_MAX} looks down from the chain's end, the month is not sealed this run` : "the archive's last seal looked for by number"}` });
  if (unfound) return null;
  const lowestSealed = Math.min(...reads.filter((r) => r.sealed).map((r) => r.seq));
  // One without the archive's MAC counts (from before seals were sealed) only below every sealed one read, at a number the
  // chain has reached, and fixing the hash the chain holds there (a point read each, newest first, until one counts): a
  // storage role cannot know the hash of an entry no seal names yet, so what it plants (ahead of the chain, or under the
  // numbers the chain has passed since the archive's last seal) never counts, however many fill the run's reads. Every
  // blob read before the one that counts and not counted is logged, each run it is met.
  let last: AuditSeal | null = null;
  let legacy = false;
  for (const r of reads) {
    if (r.sealed) {
      last = r.seal;
      break;
    }
    // Broke: whoever also reads Cosmos DB knows the hash the chain holds at any number. Sixteen unsealed seals so planted
    // above the archive's last seal filled the reads, the newest counted, and a chain cut behind that seal and grown
    // again was sealed without a word (test/unit/faults/round23-attacks.test.ts). Counted only with none unread below it.
    if (r.seal !== null && r.reason === null && r.seq < lowestSealed && r.seq <= end.seq && !belowUnread && (await deps.audit.hashAt(tenantId, month, r.seq)) === r.seal.hash) {
      [last, legacy] = [r.seal, true];
      break;
    }
    const why = r.reason ?? (r.seq > lowestSealed ? 'no seal of the archive, above one that has it' : r.seq > end.seq ? 'no seal of the archive, ahead of the chain' : belowUnread ? `no seal of the archive, and more below it than a sealing run reads (${SEAL_READS_MAX})` : 'no seal of the archive, and not the hash the chain holds at its number');
    deps.log.error(AUDIT_SEAL_UNSEALED, { tenantId, month, blob: r.blob, reason: why });
  }
  if (last && last.seq > end.seq) {
    // Nothing newer than the seal to fix: sealed again once the chain passes it.
    deps.log.error(AUDIT_CHAIN_BEHIND_SEAL, { tenantId, month, chainEnd: end.seq, sealed: sealBlobName(month, last.seq) });
    return null;
  }
  if (last && !legacy && (await deps.audit.hashAt(tenantId, month, last.seq)) !== last.hash) {
    // Grown since: the entry the last seal fixed must still be the one it fixed (one read, only when grown).
    deps.log.error(AUDIT_CHAIN_BEHIND_SEAL, { tenantId, month, chainEnd: end.seq, sealed: sealBlobName(month, last.seq), differs: true });
  }
  // Sealed under the chain key version current now (from memory, no round trip), which it names: after a rotation, the
  // first seal naming the new version shows every entry before it fixed (README *Rotate the audit chain key*).
  const seal: AuditSeal = await sealWith(SEAL_PURPOSE, { partition: `${tenantId}:${month}`, seq: end.seq, hash: end.hash, sealedAt: now.toISOString() }, deps.audit.chainKeys);
  const retainUntil = new Date(now);
  retainUntil.setUTCFullYear(retainUntil.getUTCFullYear() + AUDIT_SEAL_RETENTION_YEARS);
  const worm = { retainUntil: retainUntil.toISOString(), legalHold: false };
  await deps.blobs.prepareTenant(tenantId);
  // Before the seal: a run that stops between them leaves a marker of a pass that is true (entries are never deleted),
  // never a seal whose pass no marker says. One already there (a run before that stopped) stands: create-only.
  // Two runs at once could leave a gap: B, finding A's marker here naming A's seal below B's end, would seal past A's
  // seal with no marker at it. None overlap: only the main app registers the timer (functions/registrations.ts), the
  // Functions host runs it as a singleton, and the local host skips a tick while its run goes (local/timers.ts).
  if (last && !legacy) {
    const passed: PassedMarker = await sealWith(PASSED_PURPOSE, { partition: `${tenantId}:${month}`, seq: last.seq, next: end.seq, hash: end.hash, sealedAt: now.toISOString() }, deps.audit.chainKeys);
    const blob = passedMarkerName(month, last.seq);
    // Broke: a blob a storage role put first under the name answered 'different', unread, and the seal was written; the
    // role then deleted its blob (not WORM) and cut the chain back to last.seq, which no marker then said (red team 26).
    // Not sealed past last.seq until the archive's marker stands there (one of its own, from a run that stopped, does).
    if ((await deps.blobs.putCreateOnly(tenantId, blob, Buffer.from(JSON.stringify(passed)), 'application/json', worm, {})) !== 'created') {
      const { reason } = await judgePassedMarker(tenantId, month, last.seq, deps);
      if (reason !== null) {
        deps.log.error(AUDIT_SEAL_UNSEALED, { tenantId, month, blob, reason: `${reason}: the month is not sealed past ${last.seq} until it is removed` });
        return null;
      }
    }
  }
  // Broke: a blob put under the seal's name between the run's look and its write answered 'different', unread, and the
  // run counted the month sealed (red team 26). Said now, unless it is the archive's seal of the same chain end (a run
  // beside this one, which the timer's runs never are: see the marker above; kept so as not to alert falsely if one were).
  if ((await deps.blobs.putCreateOnly(tenantId, atEnd, Buffer.from(JSON.stringify(seal)), 'application/json', worm, {})) !== 'created') {
    const r = await readSealBlob(tenantId, month, atEnd, deps);
    if (!r.sealed || r.seal?.hash !== end.hash) {
      deps.log.error(AUDIT_SEAL_UNSEALED, { tenantId, month, blob: atEnd, reason: r.reason ?? 'not the seal of the chain end it names, put under its name before the archive wrote it' });
      return null;
    }
  }
  return seal;
}

/**
 * Names of a month's seal folder named as seals at or below `endSeq`, highest first, without listing the folder: names
 * are the 12-digit zero-padded number (entryId), listed in ascending order only, so the numbers below the chain's end are
 * taken in blocks sharing a prefix, highest block first (the 10 numbers beside the end, then blocks of 10, 100, ...
 * below it), each listed to AUDIT_SEAL_BLOCK_LISTED; a block holding more is taken as its ten smaller blocks, and a
 * single number looked at by name (a flood of names sharing its digits cannot hide it). Each listing or look costs one
 * of `walk.looks`; with none left it stops, `walk.exhausted`.
 */
async function* sealNamesDownFrom(tenantId: string, month: string, endSeq: number, deps: Pick<Deps, 'blobs'>, walk: { looks: number; exhausted: boolean }): AsyncGenerator<string> {
  const folder = `${SEAL_PREFIX}/${month}/`;
  const id = entryId(endSeq);
  // A stack: the block beside the end on top, then the lower ones, each level's highest first.
  const blocks: string[] = [];
  for (let l = 0; l < id.length - 1; l++) for (let c = 0; c < Number(id[l]); c++) blocks.push(id.slice(0, l) + String(c));
  blocks.push(id.slice(0, -1));
  while (blocks.length > 0) {
    const block = blocks.pop()!;
    if (block.length === id.length && Number(block) > endSeq) continue;
    if (walk.looks-- <= 0) {
      walk.exhausted = true;
      return;
    }
    if (block.length === id.length) {
      if (await deps.blobs.exists(tenantId, `${folder}${block}.json`)) yield `${folder}${block}.json`;
      continue;
    }
    const listed = await deps.blobs.listedBlobs(tenantId, folder + block, AUDIT_SEAL_BLOCK_LISTED + 1);
    if (listed.length > AUDIT_SEAL_BLOCK_LISTED) {
      for (let c = 0; c <= 9; c++) blocks.push(block + String(c));
      continue;
    }
    const named = listed.map((b) => b.name).filter((n) => SEAL_NAME.test(n) && Number(n.slice(folder.length, -5)) <= endSeq);
    yield* named.sort().reverse();
  }
}

/**
 * Where the sealing run says a month's chain passed a seal of the archive: `audit-seals/passed/<yyyy-mm>/<seq>.json`,
 * `seq` the number sealed, outside the month's seal folder (`audit-seals/<yyyy-mm>/`, which verification reads whole
 * and where a name that is no seal's is reported as planted).
 */
export const passedMarkerName = (month: string, seq: number) => `${SEAL_PREFIX}/passed/${month}/${entryId(seq)}.json`;

/** The purpose passed markers are sealed under: a seal cannot pass for a marker, nor a marker for a seal. */
const PASSED_PURPOSE = 'audit-seal-passed';

/** A passed marker: the chain of `partition` was sealed at `next` (its hash there) past the archive's seal at `seq`. */
type PassedMarker = { partition: string; seq: number; next: number; hash: string; sealedAt: string; keyVersion?: string; mac: string };

/**
 * A chain ending exactly under a seal, at `endSeq`, that the archive has seen pass it: cut back (or restored) to a number
 * the archive had sealed. Broke: the seal at the end exists and matches, so the timer said nothing; it alerted only once
 * the chain grew again past a later seal, and in a month no longer written only `GET /audit/verify` saw it. One point
 * look a run (every partition, every run), the marker read only where it is there. Its MAC covers the partition and the
 * number, so one copied from another month or number is not this one's. A chain cut back to a number whose next seal was
 * written before markers were (none) is seen only by `GET /audit/verify`.
 */
async function checkNotPassed(tenantId: string, month: string, endSeq: number, deps: Pick<Deps, 'blobs' | 'audit' | 'log'>): Promise<null> {
  const blob = passedMarkerName(month, endSeq);
  if (!(await deps.blobs.exists(tenantId, blob))) return null;
  const { reason, next } = await judgePassedMarker(tenantId, month, endSeq, deps);
  if (reason === null) deps.log.error(AUDIT_CHAIN_BEHIND_SEAL, { tenantId, month, chainEnd: endSeq, sealed: sealBlobName(month, next!), passed: blob });
  else deps.log.error(AUDIT_SEAL_UNSEALED, { tenantId, month, blob, reason });
  return null;
}

/** Why the blob under the passed marker's name at `seq` is not the archive's marker of this chain there (null: it is, `next` the seal it names). */
async function judgePassedMarker(tenantId: string, month: string, seq: number, deps: Pick<Deps, 'blobs' | 'audit'>): Promise<{ reason: string | null; next?: number }> {
  const read = await readKeptBlob(deps.blobs, tenantId, passedMarkerName(month, seq), SEAL_MAX_BYTES);
  const marker = read ? parsePassed(read.bytes.toString('utf8')) : null;
  const ours = marker !== null && marker.partition === `${tenantId}:${month}` && marker.seq === seq && marker.next > seq;
  return { reason: !ours ? 'not a passed marker of this chain at this number' : await unsealedBecause(PASSED_PURPOSE, marker, read!.createdOn, deps.audit.chainKeys), ...(ours ? { next: marker.next } : {}) };
}

/** A passed marker as stored (its MAC unchecked), or null: not one. */
function parsePassed(text: string): PassedMarker | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  const m = (typeof v === 'object' && v !== null ? v : {}) as Partial<Record<keyof PassedMarker, unknown>>;
  const valid = typeof m.partition === 'string' && Number.isSafeInteger(m.seq) && Number.isSafeInteger(m.next) && typeof m.hash === 'string' && typeof m.sealedAt === 'string' && typeof m.mac === 'string' && (m.keyVersion === undefined || typeof m.keyVersion === 'string');
  return valid ? (m as PassedMarker) : null;
}

/**
 * Timer: seal every partition that grew. One failing step or partition does not stop the rest, but the
 * run then fails, naming them, so the hosts log the alerted `timer failed` (functions/timers.ts): a
 * month that can no longer be sealed, or entries of completed changes that no longer reach the chain
 * (an outbox or parked entry the log keeps refusing), were only ever an error line nobody was told of.
 */
export async function sealAuditLog({ now, deps }: { now: Date; deps: SealDeps }): Promise<{ sealed: AuditSeal[] }> {
  const sealed: AuditSeal[] = [];
  const failed: string[] = [];
  // Entries of completed changes go in before the seal: those an instance left in the audit
  // outbox (it stopped, or the log refused them), and those parked when the log refused them;
  // and this instance's counts of suppressed refusals (a principal that flooded and went quiet).
  await flushSuppressedRefusals(now, deps);
  try {
    await deps.auditOutbox.drain(new Date(now.getTime() - AUDIT_OUTBOX_GRACE_MS), AUDIT_OUTBOX_DRAIN_MAX);
  } catch (err) {
    failed.push('audit outbox');
    deps.log.error('appending audit outbox entries failed', { error: err instanceof Error ? err.message : String(err) });
  }
  try {
    await deps.audit.unsafeAppendPending(({ id, ...batch }) => deps.log.error(AUDIT_PENDING_UNSEALED, { batch: id, ...batch }));
  } catch (err) {
    failed.push('parked audit entries');
    deps.log.error('appending parked audit entries failed', { error: err instanceof Error ? err.message : String(err) });
  }
  for (const { tenantId, month } of await deps.audit.unsafeListPartitions()) {
    try {
      const seal = await sealPartition(tenantId, month, now, deps);
      if (seal) sealed.push(seal);
    } catch (err) {
      failed.push(`${tenantId}:${month}`);
      deps.log.error('audit seal failed', { tenantId, month, error: err instanceof Error ? err.message : String(err) });
    }
  }
  if (failed.length > 0) throw new Error(`audit log not fully sealed (${sealed.length} sealed): ${failed.slice(0, 20).join(', ')}${failed.length > 20 ? `, and ${failed.length - 20} more` : ''}`);
  return { sealed };
}

/**
 * Blobs of a month's seal folder a verification lists, at most. The archive writes one seal a partition per sealing run
 * that finds it grown (sealPartition; nothing else writes there): every 5 minutes by default (AUDIT_SEAL_SCHEDULE), at
 * most 8,928 in a 31-day month, 44,640 were it run every minute. Broke: listed whole, and every blob read, so a storage
 * role (no Key Vault) planting millions of blobs there made each `GET /audit/verify` list and read them all.
 */
export const AUDIT_SEALS_LISTED = 50_000;

/**
 * Blobs named as seals (`<seq>.json`) a verification reads, at most, lowest number first: above the 8,928 a month the
 * default schedule writes (README `AUDIT_SEAL_SCHEDULE`: one more often than every 3 minutes can write more).
 */
export const AUDIT_SEAL_READS = 20_000;

/**
 * A month's seals, and the blobs in its seal folder that are no seal of the archive (not JSON, without a seal's
 * fields, of another month or number, or not sealed by the archive: legacySeal). Those are named, not thrown: only
 * someone with write access to storage puts one there, which is itself what verification exists to report, and the
 * rest of the month must still be verified. A name no seal has is named unread.
 *
 * `unjudged`: blobs named as seals left unread (past AUDIT_SEAL_READS), and whether the folder holds more than
 * AUDIT_SEALS_LISTED: the month's seals cannot be judged whole (each found among those read still counts: names sort
 * by number, so those read are the lowest, and one found the archive's, or from before seals were sealed, is that
 * whatever lies above it). Null when the folder was read whole.
 */
export async function readSeals(tenantId: string, month: string, deps: Pick<Deps, 'blobs' | 'audit'>): Promise<{ seals: AuditSeal[]; unreadable: string[]; unjudged: { unread: number; moreListed: boolean } | null }> {
  const listed = await deps.blobs.listedBlobs(tenantId, `${SEAL_PREFIX}/${month}/`, AUDIT_SEALS_LISTED + 1);
  const names = listed.slice(0, AUDIT_SEALS_LISTED).map((b) => b.name).sort();
  const named = names.filter((n) => SEAL_NAME.test(n));
  const toRead = named.slice(0, AUDIT_SEAL_READS);
  const read: SealRead[] = [];
  for (let i = 0; i < toRead.length; i += SEAL_READS_AT_ONCE) read.push(...(await Promise.all(toRead.slice(i, i + SEAL_READS_AT_ONCE).map((blob) => readSealBlob(tenantId, month, blob, deps)))));
  const lowestSealed = Math.min(...read.filter((r) => r.sealed).map((r) => r.seq));
  const counted = (r: SealRead) => r.sealed || legacySeal(r, lowestSealed);
  const moreListed = listed.length > AUDIT_SEALS_LISTED;
  const unread = named.length - toRead.length;
  return {
    seals: read.filter(counted).map((r) => r.seal!).sort((a, b) => a.seq - b.seq),
    unreadable: [...names.filter((n) => !SEAL_NAME.test(n)), ...read.filter((r) => !counted(r)).map((r) => r.blob)],
    unjudged: moreListed || unread > 0 ? { unread, moreListed } : null,
  };
}

/** A seal as stored, and the archive's MAC over it if it carries one. */
function parseSeal(text: string): { seal: AuditSeal; mac: string | undefined } | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  const s = (typeof v === 'object' && v !== null ? v : {}) as Partial<Record<keyof AuditSeal | 'mac', unknown>>;
  const valid = typeof s.partition === 'string' && Number.isSafeInteger(s.seq) && typeof s.hash === 'string' && typeof s.sealedAt === 'string';
  if (!valid) return null;
  const seal: AuditSeal = { partition: s.partition as string, seq: s.seq as number, hash: s.hash as string, sealedAt: s.sealedAt as string, ...(typeof s.keyVersion === 'string' ? { keyVersion: s.keyVersion } : {}) };
  return { seal, mac: s.mac === undefined ? undefined : typeof s.mac === 'string' ? s.mac : '' };
}

/** Verifications under way, per audit log (one per instance), by tenant-month: concurrent callers share one. */
type Verifications = Map<string, { tenantId: string; report: Promise<MonthReport> }>;
const verifying = new WeakMap<object, Verifications>();

/**
 * Months of one tenant verified at once per instance. Each reads its whole month from the audit container, whose
 * throughput every tenant shares: one auditor asking for every month of seven years at once started as many scans.
 * A further month waits for one of these (429 too_many_verifications, with Retry-After).
 */
export const AUDIT_VERIFY_MAX_PER_TENANT = 2;

type MonthReport = ChainReport & { month: string; seals: number };

/**
 * `GET /audit/verify`: recompute a tenant's month against its seals. The month is read a page at a time
 * (a busy tenant's month holds millions of entries: read at once, one request could fill the instance's
 * memory), and at most one verification of a tenant-month runs per instance: callers that ask while it
 * runs get its report. Nothing is kept after it ends.
 */
export function verifyAuditMonth(tenantId: string, month: string, deps: VerifyDeps, keyedSince?: string): Promise<MonthReport> {
  let running = verifying.get(deps.audit);
  if (!running) verifying.set(deps.audit, (running = new Map() as Verifications));
  const key = `${tenantId}:${month}:${keyedSince ?? ''}`;
  const shared = running.get(key);
  if (shared) return shared.report;
  const ofTenant = [...running.values()].filter((v) => v.tenantId === tenantId).length;
  if (ofTenant >= AUDIT_VERIFY_MAX_PER_TENANT) {
    return Promise.reject(
      new ArchiveError('too_many_verifications', {
        detail: `${ofTenant} months of this tenant's audit log are being verified, as many as may be at once (${AUDIT_VERIFY_MAX_PER_TENANT}); ask for ${month} when one of them has finished.`,
        retryAfterSeconds: 10,
        extensions: { running: ofTenant, maxRunning: AUDIT_VERIFY_MAX_PER_TENANT },
      }),
    );
  }
  const report = verifyMonth(tenantId, month, deps, keyedSince).finally(() => running.delete(key));
  running.set(key, { tenantId, report });
  return report;
}

type VerifyDeps = Pick<Deps, 'audit' | 'blobs' | 'log'>;

async function verifyMonth(tenantId: string, month: string, deps: VerifyDeps, keyedSince?: string): Promise<MonthReport> {
  const [{ seals, unreadable, unjudged }, headSeq] = await Promise.all([readSeals(tenantId, month, deps), deps.audit.headSeq(tenantId, month)]);
  // Only a storage role fills a seal folder past the bounds: the month is not reported verified, and said so once a verification.
  if (unjudged) deps.log.error(AUDIT_SEAL_UNSEALED, { tenantId, month, blob: `${SEAL_PREFIX}/${month}/`, reason: `more blobs in the seal folder than a verification judges (${AUDIT_SEALS_LISTED} listed, ${AUDIT_SEAL_READS} read): the month's seals cannot be judged`, ...unjudged });
  // The key versions the entries name, resolved a page at a time before the page is checked (each read once per
  // instance and kept): a version that cannot be read (disabled) is null, "key unavailable" in the report.
  const versions = new Map<string, ChainKeyVersion | null>();
  const resolve = async (page: AuditEntry[]): Promise<void> => {
    const named = new Set(page.filter((e) => e.alg === CHAIN_ALG).map((e) => (typeof e.keyVersion === 'string' ? e.keyVersion : null)));
    await Promise.all([...named].filter((v) => !versions.has(v ?? '')).map(async (v) => {
      try {
        versions.set(v ?? '', await deps.audit.chainKeys.version(v));
      } catch (err) {
        if (!(err instanceof ChainKeyUnavailable)) throw err;
        versions.set(v ?? '', null);
      }
    }));
  };
  // Unset: every month was written keyed (a deployment with months from before keying names the first keyed one).
  // Taking unset as "any month may be unkeyed" let whoever can write the audit container rewrite a month not yet
  // sealed as plain-sha256 entries "from before keying", and it verified.
  const requireKeyed = keyedSince === undefined || month >= keyedSince;
  const marks = { headSeq, keys: (v: string | null) => versions.get(v ?? ''), requireKeyed };
  const verifier = new ChainVerifier(`${tenantId}:${month}`, seals, marks);
  // What this instance wrote or saw, taken once the read has waited for its writer and before its first page is asked
  // for: every entry up to it was stored before any page was read. Taken at the end, entries written while a long month
  // was read claimed a cut tail; taken with the first page in hand, so did an append answered while that page was on its
  // way (a month of one page, read while its tenant's requests were being audited: a false `truncated`).
  let highWater: number | undefined;
  const begun = () => void (highWater ??= deps.audit.highWater(tenantId, month));
  for await (const page of deps.audit.inChainOrder(tenantId, month, { begun })) {
    await resolve(page);
    for (const e of page) verifier.add(e);
  }
  // A store that never called `begun` must not leave the tail unchecked: a late mark can only claim too much, never hide a cut.
  begun();
  const leading: ChainProblem[] = [...(unjudged ? [{ kind: 'unjudged-seals' as const, ...unjudged }] : []), ...unreadable.map((blob) => ({ kind: 'unreadable-seal' as const, blob }))];
  const report = verifier.finish({ leading, highWater });
  return { month, seals: seals.length, ...report };
}

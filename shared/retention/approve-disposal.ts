import type { Deps } from '../deps';
import { assertMayApproveDisposal, madeSecondBy, type RightsGiven, samePerson } from '../auth/sod';
import { rightsGivenTo, rightsGivenToPerson } from '../auth/rights-sets/rights-given';
import { sodPolicyAsKept } from '../auth/rights-sets/settings-blobs';
import { personOf, type Principal } from '../kernel/principal';
import { ArchiveError } from '../kernel/errors';
import { CHANGED, withFreshReads } from '../kernel/concurrency';
import { idFromIdempotencyKey, uuidv7 } from '../ids';
import type { TenantRecord } from '../ports';
import { type Actor, approvalAnswered, type DisposalApproval } from '../kernel/retention';
import { sealedWithSuperseded, sealWith, unsealedBecause } from '../kernel/archive-seal';
import type { ArchivedDocument } from '../kernel/document';
import { actorOf, updateDocument } from './update';
import { type AuditEntry, type AuditStaging, auditMonth, auditMonthsFrom } from '../kernel/audit';
import { stagedWithFirstChange, writeWithAuditEntry } from '../audit/outbox';
import { APPROVAL_LEAD_DAYS, approvedForDisposal, CATALOG_RULES, heldNow, latestApprovable, satisfies } from '../kernel/retention-rules';
import { blobLayout } from '../kernel/blob-layout';
import { openHoldQueries } from './holds/place-holds-by-query';
import { keyReader, samePersonUpTheKeys, withKeyPerson } from '../auth/api-keys/verify-api-key';
import { auditHolds, keyedEntries } from '../audit/audit-pages';
import { uploadWitness } from './uploader-witness';

export const MAX_APPROVALS_PER_REQUEST = 500;

/** What an approval's audit entry names. */
export const approvalTarget = (approvalId: string) => `approval:${approvalId}`;

/**
 * Logged (error) for a document the sweep found approved by an approval the keyed audit log does not hold, or one not
 * sealed to that document (`reason` in the fields says which); alerted.
 */
export const DISPOSAL_APPROVAL_UNAUDITED = 'disposal approval without its audit entry';
/** What this instance has reported, by phrase and what it is about: each alerted line once, not every sweep run or retry. */
const reported = new Set<string>();

function reportOnce(log: Deps['log'], phrase: string, key: string, fields: Record<string, string>): void {
  const at = `${phrase}\n${key}`;
  if (reported.has(at)) return;
  if (reported.size >= 10_000) reported.clear();
  reported.add(at);
  log.error(phrase, fields);
}

const reportUnaudited = (log: Deps['log'], key: string, fields: Record<string, string>): void => reportOnce(log, DISPOSAL_APPROVAL_UNAUDITED, key, fields);

/**
 * An approval the sweep cannot check against its own witness (given before AUDIT_CHAIN_KEYED_SINCE, or unsealed) stands,
 * once that witness has begun, only for a document falling due after it began, less this grace: a genuine one for a
 * document due earlier had it disposed of by the sweep then (one storage refused, or given in the last days before the
 * witness began and not swept by then, is kept and alerted: approved again).
 */
export const UNWITNESSED_APPROVAL_GRACE_MS = 30 * 86_400_000;
const dueSince = (approval: DisposalApproval, since: string, now: Date): boolean => Date.parse(since) > now.getTime() || Date.parse(approval.retainUntil) >= Date.parse(since) - UNWITNESSED_APPROVAL_GRACE_MS;

/** The seal's purpose (kernel/archive-seal.ts): an approval's seal passes for no other kind of sealed content. */
const APPROVAL_SEAL = 'disposal-approval';

/** What an approval's seal covers: the tenant and document it approves, and the approval's own fields. */
function approvalSealed(tenantId: string, documentId: string, a: DisposalApproval): object {
  const { approvalId, approvedAt, approvedBy, reason, retainUntil } = a;
  return { tenantId, documentId, approvalId, approvedAt, approvedBy, reason, retainUntil, ...(a.keyVersion !== undefined ? { keyVersion: a.keyVersion } : {}), ...(a.mac !== undefined ? { mac: a.mac } : {}) };
}

/**
 * The approval sealed to the document it approves. Its audit entry names no document: a genuine approval, copied in
 * Cosmos DB onto another document whose retention had ended (not its approver's upload), disposed of that one too.
 */
export async function sealApproval(tenantId: string, documentId: string, approval: DisposalApproval, keys: Deps['audit']['chainKeys']): Promise<DisposalApproval> {
  const { keyVersion, mac } = await sealWith(APPROVAL_SEAL, approvalSealed(tenantId, documentId, approvalAnswered(approval)), keys);
  return { ...approvalAnswered(approval), ...(keyVersion !== undefined ? { keyVersion } : {}), mac };
}

/**
 * Whether the keyed audit log holds `approval`'s own entry (`retention.approve` on its target, a success, by its
 * approver): the four eyes a tenant's policy requires before a disposal, which cannot be undone. Read from the catalog
 * item alone, an approval written into Cosmos DB by whoever can write it (not Key Vault) disposed of documents whose
 * retention had ended, with no second person, and named someone as their approver on the tombstone. Given in a month
 * before AUDIT_CHAIN_KEYED_SINCE, it is taken as given (its entry could not be keyed). Reported once per approval.
 */
export async function approvalAudited(tenantId: string, approval: DisposalApproval, deps: Pick<Deps, 'audit' | 'clock' | 'config' | 'log'>, sealed = false): Promise<boolean> {
  const since = deps.config.AUDIT_CHAIN_KEYED_SINCE;
  // Only for a document falling due after keying began (less the grace): nothing vouches for an approval's date, and one
  // written into Cosmos DB dated before the month stood as given on a document due for years that nobody had approved.
  // Never for a sealed one (`sealed`): seals are made with the chain key, after it keyed entries, so none is from before.
  // Broke: one the old version's holder sealed after a rotation, dated before keying began, stood without its entry.
  if (!sealed && since !== undefined && typeof approval.approvedAt === 'string' && approval.approvedAt.slice(0, 7) < since && dueSince(approval, `${since}-01T00:00:00.000Z`, deps.clock.now())) return true;
  const by = approval.approvedBy?.subject;
  // Its person too (whom four eyes compare): matched on the subject alone, an approval given through a key named anyone
  // as its person in Cosmos DB, and the sweep took it for a document that person's key had uploaded.
  const person = typeof by === 'string' ? personOf(approval.approvedBy) : undefined;
  const held = typeof approval.approvalId === 'string' && (await auditHolds(deps.audit, tenantId, { target: approvalTarget(approval.approvalId), action: 'retention.approve' }, [approval.approvedAt], (e) => e.outcome === 'success' && e.actor.subject === by && personOf(e.actor) === person));
  if (!held) reportUnaudited(deps.log, `${tenantId}/${String(approval.approvalId)}`, { tenantId, approvalId: String(approval.approvalId), reason: 'not in the audit log' });
  return held;
}

/**
 * The sweep's judgement of the approval a document carries, per tenant and run (null: it stands; else why not). Its audit
 * entry is looked up once per approval, approver (subject and person) and month (what approvalAudited looks it up by).
 * Broke: looked up by the approval's id alone, a copy of a genuine approval naming another approver passed once the
 * genuine one was judged first in the run (and a copy judged first kept the genuine one's documents). The entry names no document: a genuine approval
 * copied onto its approver's own upload (one the approval skipped, four eyes) was taken; the uploader rule is applied
 * here again, on the uploader as approveDisposal reads them. An approval sealed to the document (sealApproval) stands on
 * its seal, no audit read needed; one copied onto another document does not check there. An unsealed one given after
 * ARCHIVE_APPROVALS_SEALED_SINCE is refused (approvals are sealed since: a copy); one before stands on its audit entry.
 */
export function approvalChecks(tenantId: string, deps: Pick<Deps, 'audit' | 'blobs' | 'clock' | 'config' | 'log' | 'rights' | 'tenantRecords'>): (doc: ArchivedDocument, opts?: { claimFound?: boolean }) => Promise<string | null> {
  const audited = new Map<string, Promise<boolean>>();
  const withdrawals = withdrawalsReader(tenantId, deps);
  const keys = keyReader(tenantId, deps);
  const uploads = uploadWitness(tenantId, deps);
  let sod: ReturnType<Deps['rights']['policy']> | undefined;
  // Read once per approver and month of upload in a run (from the month's start: a giving since the upload is in it).
  const givings = new Map<string, Promise<RightsGiven[]>>();
  const givenOnce = (person: string, uploadedAt: string): Promise<RightsGiven[]> => {
    const month = Number.isNaN(Date.parse(uploadedAt)) ? undefined : `${auditMonth(new Date(uploadedAt))}-01T00:00:00.000Z`;
    const key = JSON.stringify([person, month ?? null]);
    if (!givings.has(key)) givings.set(key, rightsGivenToPerson(tenantId, person, deps, month));
    return givings.get(key)!;
  };
  const auditedOnce = (approval: DisposalApproval, at: string, sealed = false): Promise<boolean> => {
    const month = Number.isNaN(Date.parse(at)) ? '' : auditMonth(new Date(at));
    const key = JSON.stringify([String(approval.approvalId), String(approval.approvedBy?.subject), String(approval.approvedBy?.person), at.slice(0, 7), month, sealed]);
    if (!audited.has(key)) audited.set(key, approvalAudited(tenantId, approval, deps, sealed));
    return audited.get(key)!;
  };
  return async (doc, opts) => {
    const approval = doc.disposalApproval!;
    const at = String(approval.approvedAt);
    const fields = { tenantId, approvalId: String(approval.approvalId), documentId: doc.id };
    if (approval.mac !== undefined) {
      const why = await unsealedBecause(APPROVAL_SEAL, approvalSealed(tenantId, doc.id, approval), at, deps.audit.chainKeys);
      // Key Vault unreachable is no forgery: the document waits for a later run, unalerted.
      if (why && why !== 'key unavailable') reportUnaudited(deps.log, `${tenantId}/${fields.approvalId}/${doc.id}`, { ...fields, reason: why });
      if (why) return `its approval is not sealed to it (${why})`;
      // Sealed with a superseded key version: judged by its approvedAt, one the old key's holder sealed after the
      // rotation, dated before it, stood. Its keyed entry, which that holder cannot make now, is its witness.
      if ((await sealedWithSuperseded(approval, deps.audit.chainKeys)) && !(await auditedOnce(approval, at, true))) return 'its approval was sealed with a superseded key version and is not in the audit log';
    } else {
      const since = deps.config.ARCHIVE_APPROVALS_SEALED_SINCE;
      if (since !== undefined && !(Date.parse(at) < Date.parse(since))) {
        reportUnaudited(deps.log, `${tenantId}/${fields.approvalId}/${doc.id}`, { ...fields, reason: 'not sealed, given after ARCHIVE_APPROVALS_SEALED_SINCE' });
        return 'its approval is not sealed to it, and was given after ARCHIVE_APPROVALS_SEALED_SINCE';
      }
      // Dated before the seals, for a document due long before them: the sweep would have disposed of it then. Broke: a
      // copy (its entry names no document) or a forgery dated back stood on a document left awaiting an approval for years.
      if (since !== undefined && !dueSince(approval, since, deps.clock.now())) {
        reportUnaudited(deps.log, `${tenantId}/${fields.approvalId}/${doc.id}`, { ...fields, reason: 'not sealed, for a document due before ARCHIVE_APPROVALS_SEALED_SINCE' });
        return 'its approval is not sealed to it, and is for a document due before ARCHIVE_APPROVALS_SEALED_SINCE';
      }
      if (!(await auditedOnce(approval, at))) return 'its approval is not in the audit log';
    }
    if (typeof approval.approvedBy?.subject !== 'string') return 'its approver cannot be read';
    if (await withdrawnByHold(doc, approval, withdrawals, deps.clock.now())) {
      reportUnaudited(deps.log, `${tenantId}/${fields.approvalId}/${doc.id}`, { ...fields, reason: 'withdrawn by a legal hold' });
      return 'its approval was withdrawn by a legal hold';
    }
    // As kept in storage too where Cosmos DB's lets the uploader approve (settings-blobs.ts sodPolicyAsKept).
    if (!(await (sod ??= deps.rights.policy(tenantId).then((p) => sodPolicyAsKept(tenantId, p, deps)))).uploaderCannotApproveDisposal) return null;
    // The uploader as the manifest the archive kept says (uploadWitness): one its catalog item names otherwise, the
    // approver's own upload edited in Cosmos DB to name another, was disposed of. Without that witness it is kept (its
    // fixity check, or manifestByArchive, alerts the manifest).
    const upload = await uploads.of(doc);
    // A claim found whose manifest is gone: its deletion had begun (only the disposer deletes, WORM keeps it from anyone
    // else before its retain-until), under the check made when it was claimed. Broke: kept `disposing` half deleted.
    if (!upload && opts?.claimFound && !(await deps.blobs.exists(tenantId, blobLayout.manifest(doc.id)))) return null;
    if (!upload) return 'its uploader is not witnessed by its manifest';
    // The approver read up the keys too (samePersonUpTheKeys). Broke: one given through a key minted through a key before
    // persons were kept names that key's maker (`apikey:<id>`) as its person, and the uploader's own approval through it stood.
    if (await samePersonUpTheKeys(approval.approvedBy, upload.createdBy, keys)) return 'its approver uploaded it';
    // Nor one the uploader gave rights after the upload (madeSecondBy), as the request path refuses. Broke: an approval
    // that stands on its entry alone (unsealed: before ARCHIVE_APPROVALS_SEALED_SINCE, or with it unset), by the
    // uploader's second identity for other documents, copied in Cosmos DB onto the uploader's own, was disposed of.
    // Givings after the approval do not count: its approver was a second person when they approved.
    const approver = personOf(await withKeyPerson(approval.approvedBy, keys));
    const given = (await givenOnce(approver, String(upload.createdAt))).filter((g) => g.at === '' || g.at <= at);
    const madeSecond = madeSecondBy(given, await withKeyPerson(upload.createdBy, keys), String(upload.createdAt));
    // Unresolved (a chain too long, a record not sealed by the archive): not shown as the uploader's giving, which it may not be.
    if (madeSecond) return madeSecond.unresolved ? `who gave its approver rights cannot be told (${madeSecond.through})` : `its approver was given rights by its uploader after the upload (${madeSecond.through})`;
    return null;
  };
}

/**
 * The audit months from the one before `from`'s to `now`'s. An entry is in the month of its `at`, when its request began:
 * a placement begun before midnight at a month's end and stored on the document after an approval given just past it is
 * in the month before the approval's. Broke: read from the approval's month, that withdrawal was not seen.
 */
const monthsFrom = (from: string, now: Date): string[] => auditMonthsFrom(from, now, 1);

/** The actions whose keyed entry names an approval a hold withdrew: a placement, the reconciler recording a hold storage kept. */
const WITHDRAWING_ACTIONS = ['legal-hold.place', 'document.reindex'] as const;
const WITHDRAWN = 'approval-withdrawn=';
/** A placement's entry stored with its change (legal-hold.ts holdAuditDetail). */
const HOLD_PLACED = 'hold=';
/** A reindexing entry recording a hold storage kept: the reconciler's (recordRestoredHold), a rebuild from the manifest's. */
const HOLD_RECORDED = ['legal-hold-restored=', 'legal-hold='];

/** What a month's keyed entries of one withdrawing action say of a document: the approvals they name, and the latest placement. */
type Withdrawals = { named: Set<string>; latest: number };

/**
 * Per sweep run: for each withdrawing action and month, which approvals each document's keyed entries say a hold
 * withdrew, and when a hold was last placed on it. One walk of a month serves every document the run judges: asked per
 * document, a bulk approval of a year's documents cost two queries per document per month since its approval.
 */
function withdrawalsReader(tenantId: string, deps: Pick<Deps, 'audit'>): (action: (typeof WITHDRAWING_ACTIONS)[number], month: string) => Promise<Map<string, Withdrawals>> {
  const months = new Map<string, Promise<Map<string, Withdrawals>>>();
  const parts = (detail: unknown): string[] => (typeof detail === 'string' ? detail.split(';') : []);
  const named = (detail: unknown): string[] => parts(detail).filter((part) => part.startsWith(WITHDRAWN)).map((part) => part.slice(WITHDRAWN.length));
  // A placement withdraws whatever approval the document carries; of the reconciler's entries only one recording a hold
  // does. A placement's entry names its hold (`hold=<id>`); a request that placed nothing (a retry of one with its
  // Idempotency-Key, the hold long released: functions/legal-holds.ts `;replayed`) has one on the document too.
  const places = (e: AuditEntry) => {
    const found = parts(e.detail);
    return !found.includes('replayed') && found.some((part) => part.startsWith(WITHDRAWN) || (e.action === 'legal-hold.place' ? part.startsWith(HOLD_PLACED) : HOLD_RECORDED.some((p) => part.startsWith(p))));
  };
  const read = async (action: (typeof WITHDRAWING_ACTIONS)[number], month: string) => {
    const byTarget = new Map<string, Withdrawals>();
    for (const entry of await keyedEntries(deps.audit, tenantId, month, { action }, (e) => typeof e.target === 'string' && e.outcome === 'success' && places(e))) {
      if (typeof entry.target !== 'string') continue;
      const found = byTarget.get(entry.target) ?? { named: new Set<string>(), latest: -Infinity };
      for (const id of named(entry.detail)) found.named.add(id);
      const at = Date.parse(entry.at);
      if (at > found.latest) found.latest = at;
      byTarget.set(entry.target, found);
    }
    return byTarget;
  };
  return (action, month) => {
    const key = `${action}\n${month}`;
    let found = months.get(key);
    if (!found) months.set(key, (found = read(action, month)));
    return found;
  };
}

/**
 * Whether a hold placed on the document since `approval` was given withdrew it: the keyed entry of the placement (or of
 * the reconciler recording a hold storage kept) names it (`approval-withdrawn=<id>`), or was written at or after the
 * approval's time. Broke: the withdrawal was kept only on the catalog item, and the approval, its seal included, written
 * back by a writer of Cosmos DB after the release disposed of the document unreviewed (a hold's release asks for the
 * review again, which the seal cannot tell). And by the name alone: the entry names what the catalog item carried when
 * the hold was placed, so the approval taken off the document (or its id changed) in Cosmos DB before the placement,
 * and written back after the release, stood.
 */
async function withdrawnByHold(doc: ArchivedDocument, approval: DisposalApproval, withdrawals: ReturnType<typeof withdrawalsReader>, now: Date): Promise<boolean> {
  // A hold placed on the document after the approval was given (its entry, below, says so too; a hold by query's request
  // from before each document had its own entry only here): the placing withdrew every approval the document carried then.
  // An unsealed one's approvedAt is anyone's who writes Cosmos DB, within the month its entry is looked for in: from that
  // month's start. Broke: taken off the document before a placement (whose entry then names none) and written back after
  // the release dated after the placement, it stood. A genuine one given in a month a hold was placed in is approved again.
  const at = Date.parse(String(approval.approvedAt));
  const given = approval.mac !== undefined || Number.isNaN(at) ? at : Date.UTC(new Date(at).getUTCFullYear(), new Date(at).getUTCMonth(), 1);
  if ((doc.holds ?? []).some((h) => h.withdrewDisposalApproval?.approvalId === approval.approvalId || !(Date.parse(String(h.extendedAt ?? h.placedAt)) < given))) return true;
  for (const month of monthsFrom(String(approval.approvedAt), now)) {
    for (const action of WITHDRAWING_ACTIONS) {
      const found = (await withdrawals(action, month)).get(doc.id);
      if (found && (found.named.has(String(approval.approvalId)) || found.latest >= given)) return true;
    }
  }
  return false;
}

type ApprovalResult = { approved: string[]; skipped: { id: string; reason: string }[]; more: boolean };

/**
 * A keyed approval's request and, once given, its answer: what a retry with the same Idempotency-Key is compared with
 * and answered. Made before any document is approved, so a request with the key sent at once finds it (and is refused
 * there if it asks for something else); `result` stays null when that request did not finish, and a retry finishes it.
 */
export interface DisposalApprovalRecord extends TenantRecord {
  type: 'disposal-approval';
  approvalId: string;
  approvedBy: Actor;
  createdAt: string;
  request: { before: string; reason: string; documentIds: string[] | null };
  result: ApprovalResult | null;
  /** The archive's seal over the record (sealedRecord); absent on records from before it, which no retry is answered from. */
  keyVersion?: string;
  mac?: string;
}
export const disposalApprovalRecordId = (approvalId: string) => `disposal-approval:${approvalId}`;

/** Logged (error) for a keyed approval's record whose seal does not check (forged or edited in Cosmos DB); alerted. */
export const DISPOSAL_APPROVAL_RECORD_UNSEALED = 'disposal approval record not sealed by the archive';
const RECORD_SEAL = 'disposal-approval-record';

/** What a keyed approval's record is sealed over: all of it (as stored: JSON, no undefined). */
const recordSealed = (r: DisposalApprovalRecord): object => {
  const { tenantId, id, type, approvalId, approvedBy, createdAt, request, result, keyVersion, mac } = r;
  return JSON.parse(JSON.stringify({ tenantId, id, type, approvalId, approvedBy, createdAt, request, result, keyVersion, mac })) as object;
};

/**
 * The record sealed (kernel/archive-seal.ts). It decides no disposal (each document carries its own sealed approval),
 * only what a retry is answered, and a retry answers a result before any check: unsealed, a writer of Cosmos DB set a
 * result claiming documents approved that were not (or on a request that had not finished), the retry approved nothing
 * and answered that, and the client took them as approved for disposal and closed its review; the sweep never disposed them.
 */
async function sealedRecord(r: DisposalApprovalRecord, keys: Deps['audit']['chainKeys']): Promise<DisposalApprovalRecord> {
  const { keyVersion: _v, mac: _m, ...rest } = r;
  const { keyVersion, mac } = await sealWith(RECORD_SEAL, recordSealed(rest), keys);
  return { ...rest, ...(keyVersion !== undefined ? { keyVersion } : {}), mac };
}

/**
 * Whether a retry may be answered from `r` (its request compared, its result answered): sealed by the archive. One that
 * is not is passed over, and the retry finishes the request itself (idempotent: the documents it approved already are
 * its own), so the answer is only ever what the documents carry. One from before the seal (no `mac`) is passed over
 * unreported; one whose seal does not check is reported once.
 */
async function keptRecord(r: DisposalApprovalRecord, deps: Pick<Deps, 'audit' | 'log'>): Promise<boolean> {
  return (await recordVerdict(r, deps)) === 'kept';
}

/**
 * keptRecord's verdict, and whether a record passed over is still the archive's own request (`passedOver`: from before the
 * seal, or sealed with a superseded key version), whose request a retry is compared with: refusing only, it answers nothing.
 */
async function recordVerdict(r: DisposalApprovalRecord, deps: Pick<Deps, 'audit' | 'log'>): Promise<'kept' | 'passedOver' | 'unsealed'> {
  if (r.mac === undefined) return 'passedOver';
  const why = await unsealedBecause(RECORD_SEAL, recordSealed(r), typeof r.createdAt === 'string' ? r.createdAt : null, deps.audit.chainKeys);
  // Sealed with a superseded key version: its createdAt is no witness (whoever writes the record dates it), nor its
  // request's entry (which names no result). Broke: one the old version's holder sealed after a rotation, dated before
  // it, answered a retry with documents approved that were not. Passed over, unreported, as one from before the seal: the
  // retry finishes the request itself (a bulk one as due by its `before` now).
  if (why === null && (await sealedWithSuperseded(r, deps.audit.chainKeys))) return 'passedOver';
  if (why !== null && why !== 'key unavailable') reportOnce(deps.log, DISPOSAL_APPROVAL_RECORD_UNSEALED, `${r.tenantId}/${r.id}/${String(r.mac)}`, { tenantId: r.tenantId, approvalId: String(r.approvalId), reason: why });
  return why === null ? 'kept' : 'unsealed';
}

/**
 * Approves the disposal of documents due by `before` (all of them, or the listed ones),
 * pinned to their current retain-until: an extension afterwards voids the approval.
 * `before` may lie at most APPROVAL_LEAD_DAYS ahead. Held documents are skipped (an open hold by query's too, before it reaches them). At most MAX_APPROVALS_PER_REQUEST per call (`more` says so).
 * `idempotencyKey` (validated, ids.ts idempotencyKeyOf): the approval's id is derived from it and the accountable
 * person, so a retry whose answer was lost is answered the first result (`replayed`) and approves nothing again, one
 * sent at once approves the same documents under the same approval, and the same key with another `before`, reason
 * or documents is a 422. A bulk approval's retry answers what the first approved then, not what is due now.
 */
export async function approveDisposal(cmd: { principal: Principal; before: string; reason: string; documentIds?: string[]; audit?: AuditStaging; idempotencyKey?: string | null }, deps: Pick<Deps, 'retention' | 'clock' | 'rights' | 'catalog' | 'tenantRecords' | 'audit' | 'log' | 'blobs'>): Promise<{ approvalId: string; replayed: boolean } & ApprovalResult> {
  const tenantId = cmd.principal.tenantId;
  const before = new Date(cmd.before).toISOString();
  const latest = latestApprovable(deps.clock.now());
  if (before > latest.toISOString()) {
    const message = `is ${before}; an approval covers documents falling due within ${APPROVAL_LEAD_DAYS} days, by ${latest.toISOString()} at the latest`;
    throw new ArchiveError('bad_request', { detail: `before ${message}. Approve later ones when they come closer.`, extensions: { errors: [{ path: 'before', message }] } });
  }
  const request: DisposalApprovalRecord['request'] = { before, reason: cmd.reason, documentIds: cmd.documentIds ?? null };
  const keyed = cmd.idempotencyKey ? idFromIdempotencyKey(tenantId, personOf(cmd.principal), cmd.idempotencyKey, 'disposal-approval') : null;
  // A record the archive did not seal is none to answer from (keptRecord); `existed` still says the key was used before.
  let existed = false;
  const readRecord = async () => {
    const found = keyed ? ((await deps.tenantRecords.get<DisposalApprovalRecord>(tenantId, disposalApprovalRecordId(keyed), 'disposal-approval'))?.value ?? null) : null;
    existed ||= found !== null;
    const verdict = found && (await recordVerdict(found, deps));
    // One passed over is still compared: a request with its key asking for something else is a 422, as with a kept one.
    // Broke: after a rotation (its seal superseded) the same key with other documents, `before` or reason approved them
    // under the first approval's id, and its record was replaced by theirs (the first request's retry then refused).
    if (found && verdict === 'passedOver') sameApprovalRequest(found, request);
    return found && verdict === 'kept' ? found : null;
  };
  // A finished one is answered before the checks of a new approval: its documents were approved once, and are not again.
  let earlier = await readRecord();
  if (earlier?.result) return { approvalId: earlier.approvalId, ...(await answeredAsNow(sameApprovalRequest(earlier, request), deps)), replayed: true };
  // Segregation of duties (issue #5): the uploader of a document cannot approve its disposal. Named
  // documents are checked before anything is written (403 naming the rule); a bulk approval skips them.
  // Nor someone the uploader gave rights to after the upload (a second identity of theirs), as four eyes ask.
  // The uploader rule as storage keeps it too: one turned off in Cosmos DB alone stays on (settings-blobs.ts sodPolicyAsKept).
  const sod = await sodPolicyAsKept(tenantId, await deps.rights.policy(tenantId, { fresh: true }), deps);
  const named: ArchivedDocument[] = [];
  for (const id of new Set(cmd.documentIds ?? [])) {
    const doc = await deps.catalog.get(tenantId, id);
    if (doc) named.push(doc);
  }
  // Who uploaded each document and when, as its manifest says (uploadWitness), not its catalog item: edited in Cosmos
  // DB to name another uploader, or an upload time past the rights its uploader gave the approver, the approver's own
  // upload was approved. One without that witness is skipped (`uploader-unwitnessed`), named or not: who uploaded it
  // cannot be told, so no rule is known broken (a 403 would name one) and the others named are approved.
  const uploads = uploadWitness(tenantId, deps);
  if (sod.uploaderCannotApproveDisposal) await uploads.readAhead(named);
  // Named documents are the only ones approved: givings before the earliest of their uploads cannot make the approver
  // an uploader's second identity, so the chain of givers is followed from there (rights-given.ts `since`). A bulk
  // approval does not know its documents in advance and follows it whole.
  let since: string | undefined;
  if (cmd.documentIds) {
    since = '\uffff';
    for (const doc of named) {
      const at = sod.uploaderCannotApproveDisposal ? (await uploads.of(doc))?.createdAt : doc.createdAt;
      if (at !== undefined && at < since) since = at;
    }
  }
  const given = sod.uploaderCannotApproveDisposal ? await rightsGivenTo(cmd.principal, deps, since) : [];
  const madeSecond = (uploader: ArchivedDocument['createdBy'], upload: { createdAt: string }) => madeSecondBy(given, uploader, upload.createdAt);
  // Who uploaded it, a document from before persons were kept uploaded through a key included (withKeyPerson): read as
  // the key, its person approved the disposal of their own upload. The keys are read once each for the request.
  const keys = keyReader(tenantId, deps);
  if (sod.uploaderCannotApproveDisposal) {
    for (const doc of named) {
      const upload = await uploads.of(doc);
      if (!upload) continue; // skipped below
      const uploader = await withKeyPerson(upload.createdBy, keys);
      assertMayApproveDisposal(cmd.principal, uploader, sod, madeSecond(uploader, upload));
    }
  }
  const approvalId = keyed ?? uuidv7(deps.clock.now().getTime());
  const entry = stagedWithFirstChange(cmd.audit, approvalTarget(approvalId));
  if (keyed && !earlier) {
    const record = await sealedRecord({ id: disposalApprovalRecordId(keyed), tenantId, type: 'disposal-approval', approvalId, approvedBy: actorOf(cmd.principal), createdAt: deps.clock.now().toISOString(), request, result: null }, deps.audit.chainKeys);
    // The request's entry goes with the record: stored before any document is approved under it.
    const created = await writeWithAuditEntry(entry.staging, {}, (outbox) => deps.tenantRecords.create(record, outbox), (r) => r === 'created');
    if (created === 'exists') earlier = await readRecord(); // the same key sent at once made it first
  }
  if (earlier) {
    sameApprovalRequest(earlier, request);
    if (earlier.result) return { approvalId, ...(await answeredAsNow(earlier, deps)), replayed: true };
  }
  const wanted = cmd.documentIds ? new Set(cmd.documentIds) : null;
  // A document an open hold by query matches is held, though the reconciler has not reached it yet (disposalBlocker;
  // the disposal review shows it held). Approved, it kept the approval: the release everywhere does not touch a document
  // the hold never reached, so once released it went with an approval given while it was held, never reviewed again. A
  // hold by query placed after this read reaches the documents itself and withdraws what this approves (holdPlaced).
  const openHolds = await openHoldQueries(tenantId, deps);
  const held = (d: ArchivedDocument) => heldNow(d, openHolds, deps.clock.now());
  // A hold withdrew this very approval from the document: a retry with its key (its record unfinished, or passed over
  // after a rotation) gives it again only to be refused by the sweep, which reads the withdrawal by the approval's id
  // (withdrawnByHold). Broke: approved again under the withdrawn id after the release, the document was kept and
  // alerted at every run, and a new approval passed it over as approved: never disposed of. A new request approves it.
  const withdrawnHere = (d: ArchivedDocument) => (d.holds ?? []).some((h) => h.withdrewDisposalApproval?.approvalId === approvalId);
  const approved: string[] = [];
  const skipped: { id: string; reason: string }[] = [];
  let token: string | undefined;
  let more = false;
  let approvedNow = 0;
  // Named documents are the ones read by id above that are due (CATALOG_RULES.due), in the store's order: soonest first.
  // Broke: a named approval walked every page of what was due until its end, to meet at most 500 named documents.
  const namedDue = wanted && named.filter((d) => satisfies(d, CATALOG_RULES.due, { before })).sort((a, b) => (a.retention.retainUntil === b.retention.retainUntil ? (a.id < b.id ? -1 : 1) : a.retention.retainUntil < b.retention.retainUntil ? -1 : 1));
  outer: do {
    const page = namedDue ? { items: namedDue, continuationToken: null } : await deps.retention.catalog.due(tenantId, before, 100, token);
    // The manifests of the page's documents that may be approved, a few at once, as many as may still be approved.
    if (sod.uploaderCannotApproveDisposal) await uploads.readAhead(page.items.filter((d) => (!wanted || wanted.has(d.id)) && !approvedForDisposal(d) && !held(d) && !withdrawnHere(d)).slice(0, MAX_APPROVALS_PER_REQUEST - approved.length));
    for (const doc of page.items) {
      if (wanted && !wanted.has(doc.id)) continue;
      const ours = doc.disposalApproval?.approvalId === approvalId;
      // Standing under another approval: a named one is said so. Broke: labelled `not-due` below, as if its retention ran on.
      if (approvedForDisposal(doc) && !ours) {
        if (wanted) skipped.push({ id: doc.id, reason: 'already-approved' });
        continue;
      }
      if (approved.length >= MAX_APPROVALS_PER_REQUEST) {
        more = true;
        break outer;
      }
      // Approved under this approval already (by a request with its key that did not finish, or one sent at once): its result.
      if (ours && approvedForDisposal(doc)) {
        approved.push(doc.id);
        continue;
      }
      if (held(doc)) {
        skipped.push({ id: doc.id, reason: 'legal-hold' });
        continue;
      }
      if (withdrawnHere(doc)) {
        skipped.push({ id: doc.id, reason: 'approval-withdrawn' });
        continue;
      }
      if (sod.uploaderCannotApproveDisposal) {
        const upload = await uploads.of(doc);
        if (!upload) {
          skipped.push({ id: doc.id, reason: 'uploader-unwitnessed' });
          continue;
        }
        const uploader = await withKeyPerson(upload.createdBy, keys);
        if (samePerson(cmd.principal, uploader) || madeSecond(uploader, upload)) {
          skipped.push({ id: doc.id, reason: 'segregation-of-duties:uploader-approves-disposal' });
          continue;
        }
      }
      const approval = await sealApproval(tenantId, doc.id, { approvalId, approvedAt: deps.clock.now().toISOString(), approvedBy: actorOf(cmd.principal), reason: cmd.reason, retainUntil: doc.retention.retainUntil }, deps.audit.chainKeys);
      // Decided again on the item as stored: an approval another request wrote since the page was read stays
      // (as one seen on the page does), instead of being overwritten while both requests report the document approved.
      const outcome = await updateDocument<'approved' | 'ours' | 'already' | 'changed'>(tenantId, doc.id, deps, (d) => {
        if (approvedForDisposal(d)) return { next: null, result: d.disposalApproval?.approvalId === approvalId ? 'ours' : 'already' };
        // Sealed for the retain-until the page showed: one changed since is skipped as changed (a retry approves it).
        if (held(d) || withdrawnHere(d) || d.retention.retainUntil > before || d.retention.retainUntil !== approval.retainUntil) return { next: null, result: 'changed' };
        return { next: { ...d, disposalApproval: approval }, result: 'approved' };
      }, entry.staging).catch((err: unknown) => {
        if (err instanceof ArchiveError && err.code === 'document_disposed') return 'changed' as const;
        throw err;
      });
      if (outcome === 'approved' || outcome === 'ours') approved.push(doc.id);
      if (outcome === 'approved') approvedNow++;
      else if (outcome === 'changed') skipped.push({ id: doc.id, reason: 'changed' });
      else if (outcome === 'already' && wanted) skipped.push({ id: doc.id, reason: 'already-approved' });
    }
    token = page.continuationToken ?? undefined;
  } while (token);
  for (const id of wanted ?? []) if (!approved.includes(id) && !skipped.some((s) => s.id === id)) skipped.push({ id, reason: 'not-due' });
  const result: ApprovalResult = { approved, skipped, more };
  if (!keyed) return { approvalId, ...result, replayed: false };
  // The first answer, kept for retries; one sent at once that finished first has kept its own (the same documents). A
  // record the archive did not seal is replaced by this request's own.
  await withFreshReads('The approval', async () => {
    const stored = await deps.tenantRecords.get<DisposalApprovalRecord>(tenantId, disposalApprovalRecordId(keyed), 'disposal-approval');
    if (!stored) return undefined;
    const kept = await keptRecord(stored.value, deps);
    if (kept && stored.value.result) return undefined;
    const base: DisposalApprovalRecord = kept ? stored.value : { id: disposalApprovalRecordId(keyed), tenantId, type: 'disposal-approval', approvalId, approvedBy: actorOf(cmd.principal), createdAt: deps.clock.now().toISOString(), request, result: null };
    return (await deps.tenantRecords.replace(await sealedRecord({ ...base, result }, deps.audit.chainKeys), stored.etag)) === 'replaced' ? undefined : CHANGED;
  });
  // Found begun by another request with the key, and nothing left for this one to approve: it answered that one's work.
  return { approvalId, ...result, replayed: (earlier !== null || existed) && approvedNow === 0 };
}

/**
 * A finished record's answer as its documents stand now: one a legal hold withdrew this approval from since (the
 * document carries it no more, or its hold names it withdrawn) is skipped `approval-withdrawn`; one whose retain-until
 * an extension moved since (the approval is void: approvedForDisposal) is skipped `changed`. The record stays as it was.
 * Broke: the retry answered the document approved, and a client closed its review on a document the sweep keeps. A bulk
 * one is read as the request read it, by pages of what is due by its `before`, until every document it approved is met,
 * within as many pages as it approved hundreds and one more; one not met (extended past `before`, disposed of, or
 * further down) is read by its id.
 */
async function answeredAsNow(r: DisposalApprovalRecord, deps: Pick<Deps, 'retention' | 'catalog'>): Promise<ApprovalResult> {
  const result = r.result!;
  const unmet = new Set(result.approved);
  const dropped = new Map<string, string>();
  // Judged on the item alone: the sweep's reading of the audit log for withdrawals (withdrawnByHold) walks whole months
  // of a tenant's placements, and a retry is anyone's with the key to repeat at will. An approval written back onto the
  // item with its hold's trace removed too (a writer of Cosmos DB) is answered approved here and refused by the sweep.
  const judge = (doc: ArchivedDocument) => {
    if (doc.status === 'disposed') return; // disposed of on it (or on another): the approval was carried out
    const withdrawn = (doc.holds ?? []).some((h) => h.withdrewDisposalApproval?.approvalId === r.approvalId) || doc.disposalApproval?.approvalId !== r.approvalId;
    if (withdrawn) dropped.set(doc.id, 'approval-withdrawn');
    else if (!approvedForDisposal(doc)) dropped.set(doc.id, 'changed');
  };
  // A bulk one's: pages of what is due, soonest first, as the request took them (dense in its documents), as many as it
  // approved hundreds and one more; the rest, and a named approval's documents, by their ids.
  let token: string | undefined;
  for (let pages = r.request.documentIds ? 0 : Math.ceil(unmet.size / 100) + 1; unmet.size > 0 && pages > 0; pages--) {
    const page = await deps.retention.catalog.due(r.tenantId, r.request.before, 100, token);
    for (const doc of page.items) if (unmet.delete(doc.id)) judge(doc);
    token = page.continuationToken ?? undefined;
    if (!token) break;
  }
  for (const id of unmet) {
    const doc = await deps.catalog.get(r.tenantId, id);
    if (doc) judge(doc);
  }
  if (dropped.size === 0) return result;
  return { ...result, approved: result.approved.filter((id) => !dropped.has(id)), skipped: [...result.skipped, ...[...dropped].map(([id, reason]) => ({ id, reason }))] };
}

/** The approval a retry with the same Idempotency-Key made, if it asked for the same; another request with the key is a 422. */
function sameApprovalRequest(earlier: DisposalApprovalRecord, asked: DisposalApprovalRecord['request']): DisposalApprovalRecord {
  // The same documents named in another order are the same request.
  const same = (r: DisposalApprovalRecord['request']) => ({ ...r, documentIds: r.documentIds ? [...new Set(r.documentIds)].sort() : null });
  const differences = (['before', 'reason', 'documentIds'] as const).filter((k) => JSON.stringify(same(earlier.request)[k]) !== JSON.stringify(same(asked)[k]));
  if (differences.length > 0) {
    throw new ArchiveError('idempotency_key_reused', { detail: `This Idempotency-Key already made approval ${earlier.approvalId} with another ${differences.join(', ')}; nothing was approved.`, extensions: { approvalId: earlier.approvalId, differences } });
  }
  return earlier;
}

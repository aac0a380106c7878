import type { Deps } from '../deps';
import { StorageRefusal, type AuditInput, type Versioned } from '../ports';
import { auditMonth, auditOutboxItem, type AuditOutboxItem } from '../kernel/audit';
import { keyedEntries } from '../audit/audit-pages';
import { type ArchivedDocument, tombstoneHistory, tombstoneHolds, tombstoneMetadata } from '../kernel/document';
import type { Actor, DisposalRecord } from '../kernel/retention';
import { approvedForDisposal, type Blocker, disposalBlocker, isHeld, type OpenHoldQuery, retentionOver } from '../kernel/retention-rules';
import { sealFieldUnsealedBecause, sealOver, type UnsealedReason } from '../kernel/archive-seal';
import { DOCUMENT_CHECK_FAILED } from './unchecked';
import { blobNamesOf } from './update';

export const SWEEP_ACTOR: Actor = { subject: 'system:retention-sweep', kind: 'system' };

/** The tombstone: what stays when the document is gone. Hashes, dates, class, who and why; no content, no names. */
export function tombstoneOf(doc: ArchivedDocument, disposal: DisposalRecord): ArchivedDocument {
  // No blob is left whose hold flags could still need clearing or a resync: a release racing the claim left its mark.
  const { fixity: _f, disposalApproval: _d, disposalRefused: _r, holdFlagsToClear: _c, holdResync: _h, unrecordedHoldSeenAt: _u, retentionBehindSeenAt: _b, ...rest } = doc;
  return {
    ...rest,
    status: 'disposed',
    metadata: tombstoneMetadata(doc.metadata),
    // Each correction kept the whole metadata and its changes: only what the tombstone keeps stays (GET …/metadata/history reads it).
    ...(doc.metadataHistory ? { metadataHistory: tombstoneHistory(doc.metadataHistory) } : {}),
    // A hold by query on the counterparty kept its name on the document (GET /documents/{id} showed it): the hold stays, not the name.
    ...(doc.holds ? { holds: tombstoneHolds(doc.holds) } : {}),
    original: { ...doc.original, fileName: null },
    originals: doc.originals.map((o) => ({ ...o, fileName: null })),
    legalHold: false,
    disposal,
  };
}

export type DisposeOutcome = 'disposed' | 'completed' | { blocked: Blocker | 'storage-refused' | 'changed' | 'claim-not-sealed'; detail?: string };

export interface DisposalContext {
  now: Date;
  runId: string;
  requireApproval: boolean;
  /** The tenant's open holds by query, read as the run came to the tenant: what they match is kept though not reached yet. */
  openHolds?: readonly OpenHoldQuery[];
  /** Why the approval the document carries does not stand (approve-disposal.ts approvalChecks), null when it does; unasked: it does. */
  approvalRefused?: (doc: ArchivedDocument, opts?: { claimFound?: boolean }) => Promise<string | null>;
}

/** A disposal whose blobs are gone; its audit entry and its tombstone are still to be written. */
export interface PreparedDisposal {
  tenantId: string;
  id: string;
  /** The catalog item as this run last wrote or read it (`disposing`, or an unaudited tombstone of an earlier version). */
  doc: ArchivedDocument;
  etag: string;
  /** The record the tombstone will carry (planned at claim time, so a resumed run writes the same). */
  disposal: DisposalRecord;
  /** Started by an earlier run (or by another run under way): an entry appended by an earlier version may exist already. */
  resumed: boolean;
}

/**
 * The disposal record a claim carries: when, by which run, why, under which approval. Only an approval that covers
 * this disposal (given for the retain-until it ends, within APPROVAL_LEAD_DAYS of it: `approvedForDisposal`) is named.
 * Where the tenant does not require approval, a document keeps one voided since (given for a retain-until an extension
 * or correction moved, or given too long before it), and the tombstone and its audit entry named that person as the
 * approver of a disposal they never approved.
 */
function planDisposal(doc: ArchivedDocument, ctx: DisposalContext): DisposalRecord {
  const approval = approvedForDisposal(doc) ? doc.disposalApproval : undefined;
  return {
    at: ctx.now.toISOString(),
    by: SWEEP_ACTOR,
    reason: `retention ended: class ${doc.retention.class}, retain-until ${doc.retention.retainUntil}`,
    runId: ctx.runId,
    ...(approval ? { approval } : {}),
    audited: false,
  };
}

/** The seal's purpose (kernel/archive-seal.ts): a claim's seal passes for no other kind of sealed content. */
const CLAIM_SEAL = 'disposal-claim';

/**
 * What a claim's seal covers: the tenant and document, the planned record (when, by, why, which run, under which
 * approval) and the retain-until it was judged against (an extension or a correction since voids it).
 */
function claimSealed(tenantId: string, doc: ArchivedDocument, d: DisposalRecord): object {
  const approvalId: unknown = d.approval?.approvalId ?? null;
  const retainUntil: unknown = (doc.retention as Partial<ArchivedDocument['retention']> | undefined)?.retainUntil ?? null;
  return { tenantId, documentId: doc.id, at: d.at, by: d.by, reason: d.reason, runId: d.runId, approvalId, retainUntil };
}

async function sealedClaim(tenantId: string, doc: ArchivedDocument, plan: DisposalRecord, keys: Deps['audit']['chainKeys']): Promise<DisposalRecord> {
  return { ...plan, seal: await sealOver(CLAIM_SEAL, claimSealed(tenantId, doc, plan), keys) };
}

/**
 * Why a found claim is not one the archive made (null: it is). Its creation time is not told: a claim sealed with a
 * superseded key version counts as unsealed (an intact one goes back to active and is judged again: nothing lost).
 */
async function claimUnsealedBecause(tenantId: string, doc: ArchivedDocument, keys: Deps['audit']['chainKeys']): Promise<UnsealedReason | 'no seal' | null> {
  if (!doc.disposal) return 'no seal';
  return sealFieldUnsealedBecause(CLAIM_SEAL, claimSealed(tenantId, doc, doc.disposal), doc.disposal.seal, null, keys);
}

/** Whether every blob the document names is still stored: nothing of it deleted yet (the disposer deletes the manifest last). */
async function wholeInStorage(tenantId: string, doc: ArchivedDocument, deps: Pick<Deps, 'blobs'>): Promise<boolean> {
  return (await Promise.all(blobNamesOf(doc).map((name) => deps.blobs.exists(tenantId, name)))).every(Boolean);
}

/** Operators are alerted on this exact phrase (infra/main.bicep, disposalClaimUnsealedAlert). */
export const DISPOSAL_CLAIM_UNSEALED = 'disposal claim not made by the archive: document put back to active';

/** Operators are alerted on this exact phrase (infra/main.bicep, disposalRefusedAlert). */
export const DISPOSAL_REFUSED = 'disposal refused by storage past its grace: blobs kept longer than the catalog says';
/** How long storage may refuse a due document's disposal before it is alerted: WORM's rounding, and a daily sweep's two runs. */
export const DISPOSAL_REFUSAL_GRACE_MS = 2 * 86400_000;

/**
 * First half of a disposal, crash-safe and idempotent: claim (status `disposing`, with the
 * planned disposal record, so a concurrent hold sees it and a resumed run writes the same
 * tombstone) → delete every blob version. Uses the etag each write returns; no re-reads.
 * Resumes a claim or an unaudited tombstone an earlier (crashed) run left.
 */
export async function prepareDisposal(
  tenantId: string,
  id: string,
  ctx: DisposalContext,
  deps: Pick<Deps, 'retention' | 'log' | 'audit' | 'blobs'>,
  /** The item as the sweep's query just returned it: saves a read; if it changed since, the claim fails and the item is read again. */
  listed?: Versioned<ArchivedDocument>,
): Promise<PreparedDisposal | Exclude<DisposeOutcome, 'disposed' | 'completed'>> {
  const { catalog, disposer } = deps.retention;
  const current = listed ?? (await catalog.getVersioned(tenantId, id));
  if (!current) return { blocked: 'changed', detail: 'gone from the catalog' };
  let doc = current.item;
  let etag = current.etag;
  const resumed = doc.status !== 'active';

  if (doc.status === 'active') {
    const blocker = disposalBlocker(doc, ctx.now, ctx.requireApproval, ctx.openHolds);
    // Kept, and named for an operator (alerted as any document a walk could not check): the sweep goes on with the others.
    if (blocker === 'retention-unreadable') deps.log.error(`retention sweep ${DOCUMENT_CHECK_FAILED}`, { tenantId, documentId: id, error: `retain-until ${JSON.stringify(doc.retention?.retainUntil) ?? 'missing'} is not an instant` });
    if (blocker) return { blocked: blocker };
    const refused = ctx.requireApproval && doc.disposalApproval && ctx.approvalRefused ? await ctx.approvalRefused(doc) : null;
    if (refused) return { blocked: 'approval-required', detail: refused };
    const claimed: ArchivedDocument = { ...doc, status: 'disposing', disposal: await sealedClaim(tenantId, doc, planDisposal(doc, ctx), deps.audit.chainKeys) };
    const written = await catalog.replace(claimed, etag);
    if (written === 'conflict') return listed ? prepareDisposal(tenantId, id, ctx, deps) : { blocked: 'changed', detail: 'changed while being claimed' };
    doc = claimed;
    etag = written.etag;
  }

  if (doc.status === 'disposing') {
    // A claim found (not made by this run) is finished only as the archive made it: sealed when claimed, over the plan and
    // the retain-until it was judged against. Broke: a found claim was judged on nothing but holds (and approval where
    // required), so whoever could write Cosmos DB set a due document `disposing`, or one whose retention had not ended,
    // and the next run deleted its blobs and wrote a tombstone and audit entry saying "retention-ended". Judged before
    // its holds: one not sealed goes back to active held or not (held, it stayed hidden from the fixity check and exports).
    let sealed = false;
    let logged = true;
    if (resumed) {
      const unsealed = await claimUnsealedBecause(tenantId, doc, deps.audit.chainKeys);
      // Key Vault unreachable is no forgery: the claim waits for a later run, as it is.
      if (unsealed === 'key unavailable') return { blocked: 'claim-not-sealed', detail: 'its seal cannot be checked now (key unavailable)' };
      sealed = unsealed === null;
      // Due, whatever the seal says: nothing is deleted before its retain-until.
      const due = retentionOver(doc, ctx.now);
      if (!sealed || !due) {
        // Nothing deleted yet: back to active (its plan dropped), judged afresh by the next run as any active document.
        // One half deleted is a crash of a version before claims were sealed: finished below by the rules it had. So is one
        // whose disposal entry the archive keyed (a version that appended it before the tombstone): put back, the document
        // was disposed of again under a second entry, and the log said it disposed of it twice.
        logged = !sealed && (await disposalEntryLogged(deps, tenantId, doc));
        if (!sealed && !logged && (await wholeInStorage(tenantId, doc, deps))) {
          const { disposal: _planned, ...active } = doc;
          if ((await catalog.replace({ ...active, status: 'active' }, etag)) === 'conflict') return { blocked: 'changed', detail: 'changed while its claim was put back' };
          deps.log.error(DISPOSAL_CLAIM_UNSEALED, { tenantId, documentId: id, reason: unsealed ?? 'no seal' });
          return { blocked: 'claim-not-sealed', detail: `put back to active (${unsealed ?? 'no seal'})` };
        }
        if (!due) {
          deps.log.error(`retention sweep ${DOCUMENT_CHECK_FAILED}`, { tenantId, documentId: id, error: `a disposal claim found before its retain-until ${JSON.stringify(doc.retention?.retainUntil) ?? 'missing'}` });
          return { blocked: 'not-expired', detail: 'a disposal claim found before its retain-until' };
        }
        // One not sealed is finished under this run's plan, not its own (unless the archive keyed its entry already: no
        // other is appended). Broke: its plan was taken as written, so whoever could write Cosmos DB planted a claim naming
        // a made-up blob (never "whole", so finished) and the archive keyed an entry saying a person of their choosing
        // disposed of the document, when they chose, under an approval id they made up.
        if (!sealed && !logged) doc = { ...doc, disposal: planDisposal(doc, ctx) };
      }
    }
    // Its holds as well as its flag: a claim whose item has an open hold but no flag (half written, restored, edited by
    // hand) had its blobs deleted, as only `legalHold` was read here.
    if (isHeld(doc, ctx.now)) return { blocked: 'legal-hold' };
    // A claim found is judged for approval again where the tenant requires it, unless the archive sealed it without one:
    // the claiming run found approval not required then, and its judgement stands (kept `disposing` for ever otherwise,
    // a crash's claim made before approval became required). Broke: any claim was finished unjudged, so whoever could
    // write Cosmos DB set a due, unapproved document `disposing` and the next run deleted it: four eyes on disposal skipped.
    // Left `disposing` and named for an operator.
    if (resumed && ctx.requireApproval && !(sealed && !doc.disposal?.approval)) {
      const refused = !approvedForDisposal(doc) ? 'claimed without an approval for its retain-until' : ctx.approvalRefused ? await ctx.approvalRefused(doc, { claimFound: true }) : null;
      if (refused) {
        deps.log.error(`retention sweep ${DOCUMENT_CHECK_FAILED}`, { tenantId, documentId: id, error: `a disposal claim found without an approval that stands: ${refused}` });
        return { blocked: 'approval-required', detail: refused };
      }
    }
    try {
      await disposer.deleteDocument(tenantId, id, blobNamesOf(doc), ctx.now);
    } catch (err) {
      const code = err instanceof StorageRefusal ? err.code : String(err);
      deps.log.warn('disposal refused by storage', { tenantId, documentId: id, code });
      // The store protects a blob (retention extended or hold set at storage level), found before any delete
      // with every blob still there: the catalog goes back to active. Otherwise some blobs may be gone: the
      // item stays `disposing`, never shown whole again, and the next run finishes (or is refused again).
      if (err instanceof StorageRefusal && err.intact) {
        const { disposal: _planned, ...active } = doc;
        const refused = doc.disposalRefused?.retainUntil === doc.retention.retainUntil ? doc.disposalRefused : { since: ctx.now.toISOString(), retainUntil: doc.retention.retainUntil };
        // A refusal past WORM's rounding and a run or two is no race: storage keeps a document the catalog says is due.
        // Kept longer than the law asks, unknown to the catalog: an operator decides (a lost extension, or a stray lock).
        if (ctx.now.getTime() - Date.parse(refused.since) >= DISPOSAL_REFUSAL_GRACE_MS) deps.log.error(DISPOSAL_REFUSED, { tenantId, documentId: id, code, refusedSince: refused.since, retainUntil: refused.retainUntil });
        await catalog.replace({ ...active, status: 'active', disposalRefused: refused }, etag);
      }
      return { blocked: 'storage-refused', detail: code };
    }
    // A claim written before claims carried the plan gets one now.
    return { tenantId, id, doc, etag, disposal: doc.disposal ?? planDisposal(doc, ctx), resumed };
  }

  if (doc.status === 'disposed' && doc.disposal && !doc.disposal.audited) {
    // Why: an earlier version wrote the tombstone before its entry, and a file could outlive it (a delete that raced a
    // write into the folder). Finishing only the entry audited a disposal whose bytes were still stored, and the item
    // never came back to the sweep. The folder is emptied again (gone blobs count as deleted); a transient failure
    // leaves the tombstone unaudited for the next run, a blob storage still protects is left to the reconciler's
    // orphan listing (alerted) as the disposal itself is done.
    try {
      await disposer.deleteDocument(tenantId, id, blobNamesOf(doc), ctx.now);
    } catch (err) {
      const code = err instanceof StorageRefusal ? err.code : String(err);
      deps.log.warn('disposal refused by storage', { tenantId, documentId: id, code });
      if (!(err instanceof StorageRefusal)) return { blocked: 'storage-refused', detail: code };
    }
    return { tenantId, id, doc, etag, disposal: doc.disposal, resumed };
  }
  return { blocked: 'not-active' };
}

/**
 * The disposal's own request id: the claiming run's id (planned at claim time) and the document. Every run
 * that finishes the disposal uses the same one, and no two disposals of a run share it, so the sealing
 * timer's take-over of an entry left in the outbox (appendOnce, by request id) appends each once.
 */
export const disposalRequestId = (p: Pick<PreparedDisposal, 'id' | 'disposal'>): string => `${p.disposal.runId}:${p.id}`;

function disposalEntry(p: PreparedDisposal): AuditInput {
  return {
    tenantId: p.tenantId,
    at: p.disposal.at,
    actor: p.disposal.by,
    action: 'document.dispose',
    target: p.id,
    outcome: 'success',
    status: 200,
    requestId: disposalRequestId(p),
    clientIp: null,
    userAgent: null,
    detail: p.disposal.approval ? `retention-ended;approval=${p.disposal.approval.approvalId}` : 'retention-ended',
  };
}

/** The entry as an audit outbox item, stored with the tombstone; `at` is when it is written (the sealing timer's grace runs from then). */
function disposalOutboxItem(p: PreparedDisposal, writtenAt: string): AuditOutboxItem {
  return auditOutboxItem([disposalEntry(p)], { at: writtenAt });
}

/**
 * Second half, for a batch of one tenant's prepared disposals: each tombstone (`audited: true`) is
 * written over the version this run holds, with its audit entry in the same batch (the audit outbox),
 * then the stored entries are appended, one batch per audit partition. Two runs finishing one disposal
 * at once (an expired timer lease, `npm run sweep` beside the host's timer) store one tombstone, the
 * other's write is a conflict, so one entry: appended before the tombstone, as it was, both runs could
 * log it. A crash before the tombstone leaves the item `disposing` and no entry; one after it leaves the
 * entry to the sealing timer (appended once). A resumed disposal whose entry an earlier version already
 * appended (before its tombstone) gets its tombstone without a second one.
 */
export async function finishDisposals(prepared: PreparedDisposal[], deps: Pick<Deps, 'retention' | 'audit' | 'auditOutbox' | 'clock'>): Promise<DisposeOutcome[]> {
  const writtenAt = deps.clock.now().toISOString();
  const stored: (AuditOutboxItem | undefined)[] = [];
  const outcomes = await Promise.all(
    prepared.map(async (p, i): Promise<DisposeOutcome> => {
      // Only a resumed disposal can have logged already: the query is skipped on the common path.
      const logged = p.resumed && (await hasDisposalEntry(deps, p.tenantId, p.id, new Date(p.disposal.at)));
      const item = logged ? undefined : disposalOutboxItem(p, writtenAt);
      const disposal: DisposalRecord = { ...p.disposal, audited: true };
      const next = p.doc.status === 'disposing' ? tombstoneOf(p.doc, disposal) : { ...p.doc, disposal };
      if ((await deps.retention.catalog.replace(next, p.etag, item)) === 'conflict') return { blocked: 'changed', detail: 'changed while blobs were deleted' };
      stored[i] = item;
      // The bytes are gone: they may be archived again. (A crash before this leaves a marker naming a tombstone, which the duplicate check ignores.)
      await deps.retention.catalog.dropContentMarker(p.tenantId, p.doc.contentKey, p.id);
      return p.resumed ? 'completed' : 'disposed';
    }),
  );
  // In the batch's order (by document id), as they were appended before.
  await deps.auditOutbox.releaseAllNow(stored.filter((item): item is AuditOutboxItem => item !== undefined));
  return outcomes;
}

/** Whether the archive keyed a disposal entry for a found claim's document in its plan's month (a legacy claim's, appended first). */
async function disposalEntryLogged(deps: Pick<Deps, 'audit'>, tenantId: string, doc: ArchivedDocument): Promise<boolean> {
  const at = new Date(typeof doc.disposal?.at === 'string' ? doc.disposal.at : NaN);
  return !Number.isNaN(at.getTime()) && (await hasDisposalEntry(deps, tenantId, doc.id, at));
}

/**
 * A disposal an earlier version logged before it crashed (it appended before writing the tombstone) is not logged twice.
 * Only an entry the archive keyed counts (keyedEntries): any did, so a `document.dispose` written into Cosmos DB by
 * whoever can write it stood for a resumed disposal's entry, which was never appended (the log lost the disposal).
 */
async function hasDisposalEntry(deps: Pick<Deps, 'audit'>, tenantId: string, id: string, at: Date): Promise<boolean> {
  return (await keyedEntries(deps.audit, tenantId, auditMonth(at), { action: 'document.dispose', target: id }, () => true)).length > 0;
}

/**
 * A blob a writer stored beside a document the sweep claimed meanwhile (a validation report, a kept correction): the
 * writer read the document active, but the sweep may have emptied the folder before the blob landed, and nothing else
 * deletes it (the reconciler lists it as orphaned blobs and alerts). A claimed folder is deleted whole, as its disposal
 * does (retain-until is past, or the sweep would not have claimed it); storage refusing that is left to the reconciler.
 */
export async function removeStrayBlob(tenantId: string, documentId: string, what: string, now: Date, deps: Pick<Deps, 'retention' | 'log'>): Promise<void> {
  const doc = (await deps.retention.catalog.getVersioned(tenantId, documentId))?.item;
  if (doc?.status !== 'disposing' && doc?.status !== 'disposed') return;
  await deps.retention.disposer.deleteDocument(doc.tenantId, doc.id, [], now).catch((err: unknown) => {
    deps.log.warn(`${what} stored beside a disposed document left to the reconciler`, { tenantId: doc.tenantId, documentId: doc.id, error: String(err) });
  });
}

import type { Deps } from '../../deps';
import { ownChangeStaging } from '../../audit/outbox';
import type { Actor, LegalHold } from '../../kernel/retention';
import { heldByQuery, matchesHoldQuery } from '../../kernel/retention-rules';
import { updateDocument } from '../update';
import { type HoldDeps, skippedDocument } from './legal-hold';
import { holdPlaced } from './place-hold';
import { HOLD_BY_QUERY_ACTOR, openHoldsByQuery, releasedMeanwhile, type HoldByQueryRecord } from './place-holds-by-query';
import { DOCUMENT_CHECK_FAILED, type UncheckedDocuments } from '../unchecked';

/**
 * A document an open hold by query matches that cannot carry it (MAX_HOLDS): under the phrase operators are alerted on
 * for documents a timer could not check (infra/main.bicep, documentCheckFailedAlert).
 */
export const HOLD_NOT_EXTENDED = `reconciler ${DOCUMENT_CHECK_FAILED}: an open hold by query cannot reach it, as it carries as many legal holds as one document keeps`;

/** Documents read per query while extending one hold. */
const EXTEND_BATCH = 50;

export interface ExtendedHold {
  tenantId: string;
  documentId: string;
  holdId: string;
}

/**
 * An open hold by query holds what its query matches while it is open, not only what matched as it was placed: a tax
 * audit's hold on a fiscal year must hold a receipt of that year archived (or corrected into it) a month later. Each
 * run gives every open hold of the tenant to the documents it has yet to reach (active, matching, with no entry of the
 * hold: one released from it by four eyes stays released), at most `max` of them. The hold on such a document is the
 * hold as placed (who, when, why: four eyes judge its release by it), with `extendedAt`; its audit entry is the
 * reconciler's (`legal-hold.place`, detail `hold=<id>;extended`). Until a run reaches a document, the sweep disposes
 * of none that an open hold's query matches (dispose.ts).
 */
export async function extendHoldsByQuery(
  tenantId: string,
  input: {
    now: Date;
    max: number;
    actor: Actor;
    /** The reconciler's: a document the run cannot hold (its blobs' flags refused) is named for an operator and skipped, not the run's end for every tenant behind it. */
    unchecked?: Pick<UncheckedDocuments, 'check'>;
  },
  deps: HoldDeps & Pick<Deps, 'auditOutbox'>): Promise<ExtendedHold[]> {
  const extended: ExtendedHold[] = [];
  for (const record of await openHoldsByQuery(tenantId, deps)) {
    let after = '';
    while (extended.length < input.max) {
      const batch = await deps.retention.catalog.matchingNotUnder(tenantId, record.request.query, record.holdId, after, Math.min(EXTEND_BATCH, input.max - extended.length));
      if (batch.length === 0) break;
      const placedOn: string[] = [];
      for (const doc of batch) {
        after = doc.id;
        // Not one of the run's unchecked documents when it carries as many holds as a document keeps: a tenant's pile
        // of them must not stop the run for every tenant behind it.
        const reach = () => extendTo(record, doc.id, input, deps, 'leave');
        // Skipped, it stays unreached: the sweep keeps it meanwhile (heldByQuery), and the next run tries it again.
        if (await (input.unchecked ? input.unchecked.check(tenantId, doc.id, reach, false) : reach())) placedOn.push(doc.id);
      }
      extended.push(...placedOn.map((documentId) => ({ tenantId, documentId, holdId: record.holdId })));
      // Released everywhere since this run read it open: what it placed after the release went by is released as it was.
      await releasedMeanwhile(tenantId, record.holdId, placedOn, input.actor, deps);
    }
  }
  return extended;
}

/**
 * Around a correction of a document's metadata: the open holds by query it matches as it is now, and has yet to be
 * reached by, are placed on it, audited as `system:legal-hold-by-query`'s. Before the correction, because a correction
 * never lifts a hold: a document archived into a hold's query and corrected out of it before the reconciler came by
 * escaped the hold (a receipt of the dispute's counterparty, relabelled at once, disposed of years later while the
 * dispute was still open). After it, for a document corrected into a hold's query.
 */
export async function reachOpenHoldsByQuery(
  tenantId: string,
  documentId: string,
  /** A document carrying as many holds as one keeps: `refuse` (before a correction, which could take it out of the query) or `leave` it to the sweep. */
  whenFull: WhenFull,
  deps: HoldDeps & Pick<Deps, 'auditOutbox'>,
): Promise<string[]> {
  const open = await openHoldsByQuery(tenantId, deps);
  if (open.length === 0) return [];
  const doc = (await deps.retention.catalog.getVersioned(tenantId, documentId))?.item;
  if (!doc) return [];
  const reached: string[] = [];
  for (const record of open) {
    if (!heldByQuery(doc, [{ holdId: record.holdId, query: record.request.query }])) continue;
    if (!(await extendTo(record, documentId, { now: deps.clock.now(), actor: HOLD_BY_QUERY_ACTOR }, deps, whenFull))) continue;
    reached.push(record.holdId);
    await releasedMeanwhile(tenantId, record.holdId, [documentId], HOLD_BY_QUERY_ACTOR, deps);
  }
  return reached;
}

/**
 * What reaching a document that carries MAX_HOLDS holds does: `refuse` (409 too_many_holds), or `leave` it unreached,
 * which the sweep keeps while the hold's query matches it (heldByQuery), and tell an operator.
 */
type WhenFull = 'refuse' | 'leave';

/** Places the hold as placed on one document, audited as `input.actor`'s; false when it is not (or no longer) one to reach. */
async function extendTo(record: HoldByQueryRecord, documentId: string, input: { now: Date; actor: Actor }, deps: HoldDeps & Pick<Deps, 'auditOutbox'>, whenFull: WhenFull): Promise<boolean> {
  const hold: LegalHold = {
    id: record.holdId,
    reason: record.request.reason,
    caseReference: record.request.caseReference,
    placedAt: record.createdAt,
    placedBy: record.placedBy,
    query: record.request.query,
    extendedAt: input.now.toISOString(),
  };
  const entry = ownChangeStaging(deps.auditOutbox, { tenantId: record.tenantId, at: input.now.toISOString(), actor: input.actor, action: 'legal-hold.place', requestId: `hold-extended:${record.holdId}:${documentId}` });
  const placed = await updateDocument(record.tenantId, documentId, deps, (doc) => {
    // Read again as it is now: held meanwhile (a retry of the placing, another run), or corrected out of the query.
    if ((doc.holds ?? []).some((h) => h.id === record.holdId) || !matchesHoldQuery(doc, record.request.query)) return { next: null, result: false };
    return { ...holdPlaced(doc, hold, deps, ';extended'), result: true };
  }, entry.staging).catch((err: unknown) => {
    // Disposed of meanwhile (the sweep claimed it before this run's read): nothing to hold. Claimed after the hold reached
    // its blobs: storage keeps it, and the next run reaches it in the catalog.
    const skipped = skippedDocument(documentId, err, whenFull === 'leave' ? ['document_disposed', 'document_not_found', 'document_being_disposed', 'too_many_holds'] : ['document_disposed', 'document_not_found', 'document_being_disposed']);
    if (skipped.reason === 'too_many_holds') deps.log.error(HOLD_NOT_EXTENDED, { tenantId: record.tenantId, documentId, holdId: record.holdId });
    return false;
  });
  await entry.appended();
  return placed;
}

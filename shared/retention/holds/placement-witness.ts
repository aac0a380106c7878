import { type AuditEntry, auditMonth, auditMonthsFrom, AUDIT_OUTBOX_GRACE_MS, AUDIT_OUTBOX_SEND_WITHIN_MS } from '../../kernel/audit';
import { ArchiveError } from '../../kernel/errors';
import type { Actor, LegalHold } from '../../kernel/retention';
import type { Deps } from '../../deps';
import type { HoldDeps } from './legal-hold';
import { keyedEntries } from '../../audit/audit-pages';
import { holdAuditDetail } from './legal-hold';

/**
 * A release judged without the placement's keyed audit entry (operators are alerted): refused, or, for a hold stored as
 * placed before the chain was keyed, judged as stored.
 */
export const HOLD_PLACEMENT_UNWITNESSED = 'legal hold release without a placement audit entry';

/** Who placed a hold and when, as four eyes on its release judge it. */
export type Placement = Pick<LegalHold, 'placedBy' | 'placedAt'>;

/** A witnessed placement; `document`: the one document its entry placed the hold on (a `legal-hold.place`), if so. */
export type WitnessedPlacement = Placement & { document?: string };

/**
 * The placement of hold `holdId` as its keyed audit entry (success) says: its actor and its time. `documentId`: the
 * document released (its `legal-hold.place` entry naming the hold); null: a release everywhere, which reads any
 * document's. A hold by query (`byQuery`) is looked up by its own placement entry first (the documents the reconciler
 * reached later carry the reconciler's entry, which names no placer). Looked up in the months of `times` (the stored
 * placings), the next and the one before. Null: none found.
 */
async function witnessedPlacement(tenantId: string, holdId: string, documentId: string | null, stored: { byQuery: boolean; bySystem: boolean }, times: readonly string[], deps: Pick<Deps, 'audit'>): Promise<WitnessedPlacement | null> {
  // Its own month first, then the next and the one before: a placement's entry is stamped as its request began, and one
  // begun just before midnight at a month's end names the next month in `placedAt` (a genuine release was refused).
  const months = new Set<string>();
  for (const time of times) {
    const at = new Date(typeof time === 'string' ? time : NaN);
    if (Number.isNaN(at.getTime())) continue;
    for (const shift of [0, 1, -1]) months.add(auditMonth(new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + shift, 1))));
  }
  const find = async (filter: { action: 'legal-hold.place' | 'legal-hold.place-by-query' | 'document.reindex'; target?: string }, matches: (e: AuditEntry) => boolean) => {
    for (const month of months) {
      const [first] = await keyedEntries(deps.audit, tenantId, month, filter, (e) => e.outcome === 'success' && matches(e));
      if (first) return first;
    }
    return undefined;
  };
  const target = documentId !== null ? { target: documentId } : {};
  // A hold the archive restored from the blobs' flags (the reconciler, a catalog rebuild): its `document.reindex` entry
  // names it, by a system actor. Looked for only where Cosmos DB says so: a person's hold renamed to one finds none.
  if (stored.bySystem) {
    const parts = (e: AuditEntry) => (e.detail ?? '').split(';');
    const entry = await find({ action: 'document.reindex', ...target }, (e) => e.actor.kind === 'system' && (parts(e).includes(`legal-hold=${holdId}`) || parts(e).includes(`legal-hold-restored=${holdId}`)));
    // A restored hold's id is new to the one document it was restored on (rebuild-catalog.ts, reconcile.ts).
    return entry ? (typeof entry.target === 'string' ? { ...placementOf(entry), document: entry.target } : placementOf(entry)) : null;
  }
  // A document's own entry: `hold=<id>` (with the approval it withdrew); not a replay's (no placing) nor the reconciler's (`;extended`).
  const placedHere = (e: AuditEntry) => {
    const detail = e.detail ?? '';
    return (detail === holdAuditDetail(holdId) || detail.startsWith(`${holdAuditDetail(holdId)};approval-withdrawn=`)) && e.actor.kind !== 'system';
  };
  const byQuery = stored.byQuery ? await find({ action: 'legal-hold.place-by-query', target: holdId }, () => true) : undefined;
  if (byQuery) return placementOf(byQuery);
  const entry = await find({ action: 'legal-hold.place', ...target }, placedHere);
  // A hold by query's own entry on each document it reached (place-holds-by-query.ts, request id `hold-placed:`) places
  // it on many; any other places it on that one document only.
  if (!entry) return null;
  return typeof entry.target === 'string' && !entry.requestId.startsWith(`hold-placed:${holdId}:`) ? { ...placementOf(entry), document: entry.target } : placementOf(entry);
}

/**
 * Whether the log holds hold `holdId`'s release on `documentId` (keyed, success) from `since`'s month to `now`'s: the
 * hold that entry placed there is released, so an open one of that id there is another, renamed (a hold's id is placed on
 * a document once). Costs one query per month since the placement.
 */
async function releasedSince(tenantId: string, holdId: string, documentId: string, since: string, now: Date, deps: Pick<Deps, 'audit'>): Promise<boolean> {
  for (const month of auditMonthsFrom(since, now)) {
    if ((await keyedEntries(deps.audit, tenantId, month, { action: 'legal-hold.release', target: documentId }, ofHold(holdId))).length > 0) return true;
  }
  return false;
}

/** A successful entry of hold `holdId` on one document: its detail `hold=<id>`, alone or with more after it. */
const ofHold = (holdId: string) => (e: AuditEntry) =>
  e.outcome === 'success' && typeof e.target === 'string' && ((e.detail ?? '') === holdAuditDetail(holdId) || (e.detail ?? '').startsWith(`${holdAuditDetail(holdId)};`));

/** A document carrying a hold open, with the hold as stored on it. */
export interface Carrier {
  documentId: string;
  hold: Placement & Pick<LegalHold, 'extendedAt'>;
}

/**
 * The documents hold `holdId`'s keyed per-document entries name from `since`'s month to `now`'s: those it was placed on
 * (a hold by query's own, request id `hold-placed:<id>:<document>`, and the reconciler's extensions,
 * `hold-extended:<id>:<document>`, earlier `reconcile:hold:…`: matched by their detail, `hold=<id>`, which only a
 * placement of that hold on that document writes), and, unless `target` names the one document asked about, those it
 * was released from. One listing walk per month and action, whatever the number of documents (the list filters by
 * exact request id only, so entries are matched here).
 */
async function reachedSince(tenantId: string, holdId: string, since: string, now: Date, deps: Pick<Deps, 'audit'>, target?: string): Promise<{ placed: Set<string>; released: Set<string> }> {
  const placed = new Set<string>();
  const released = new Set<string>();
  const only = target !== undefined ? { target } : {};
  for (const month of auditMonthsFrom(since, now)) {
    for (const e of await keyedEntries(deps.audit, tenantId, month, { action: 'legal-hold.place', ...only }, ofHold(holdId))) placed.add(e.target as string);
    if (target === undefined) for (const e of await keyedEntries(deps.audit, tenantId, month, { action: 'legal-hold.release' }, ofHold(holdId))) released.add(e.target as string);
  }
  return { placed, released };
}

/**
 * The carriers of a hold whose witnessed placement names no one document (a hold by query's) that its keyed entries do
 * not show reached by it, or show released from it since. Broke: whoever can write Cosmos DB renamed their own hold on
 * a document to the id of another person's hold by query (one that never reached the document, or was released from it
 * since), and released that hold everywhere past four eyes, judged by the other person's placement: their own hold went
 * with it, its blobs' flags cleared. Its stored time moments ago: this instance's appends are awaited and the log read
 * once more (its entry on its way). `target`: the one document a release names (its release is looked for by
 * releasedSince).
 */
export async function unreachedCarriers(tenantId: string, holdId: string, placement: WitnessedPlacement, carrying: readonly Carrier[], deps: Pick<Deps, 'audit' | 'auditOutbox'> & Pick<HoldDeps, 'clock'>, target?: string): Promise<Carrier[]> {
  if (placement.document !== undefined || carrying.length === 0) return [];
  const read = () => reachedSince(tenantId, holdId, placement.placedAt, deps.clock.now(), deps, target);
  let reached = await read();
  const unreached = () => carrying.filter((c) => !reached.placed.has(c.documentId) || reached.released.has(c.documentId));
  if (unreached().some((c) => placedMomentsAgo([{ placedBy: c.hold.placedBy, placedAt: c.hold.extendedAt ?? c.hold.placedAt }], deps.clock.now()))) {
    await deps.auditOutbox.flush();
    reached = await read();
  }
  return unreached();
}

/** A release refused: the placement entry found is of another hold than the one stored under its id (alerted). */
function renamedHold(fields: { tenantId: string; holdId: string; documentId?: string }, reason: string, deps: Pick<HoldDeps, 'log'>): never {
  deps.log.error(HOLD_PLACEMENT_UNWITNESSED, { ...fields, reason });
  throw new ArchiveError('hold_placement_unwitnessed', {
    detail: 'The audit log\'s placement of this hold is not of the hold stored under its id, so who placed it cannot be told: it is not released. An operator has been alerted.',
    extensions: { holdId: fields.holdId },
  });
}

/**
 * The placement a release is judged by (judgedPlacement over witnessedPlacement). One placed moments ago whose entry is
 * not found yet: this instance's appends under way are awaited (the placement's own, when it was placed here) and the
 * entry looked for once more.
 */
export async function placementForRelease(tenantId: string, holdId: string, documentId: string | null, stored: { byQuery: boolean; bySystem: boolean }, placings: readonly (Placement & Pick<LegalHold, 'extendedAt'>)[], deps: Pick<Deps, 'audit' | 'config' | 'auditOutbox'> & Pick<HoldDeps, 'log' | 'clock'>, carrying: readonly string[] = []): Promise<WitnessedPlacement | null> {
  const look = () => witnessedPlacement(tenantId, holdId, documentId, stored, placings.map((p) => p.placedAt), deps);
  let witnessed = await look();
  if (!witnessed && placedMomentsAgo(placings, deps.clock.now())) {
    await deps.auditOutbox.flush();
    witnessed = await look();
  }
  // A hold is known to its witness only by its id. Broke: whoever can write Cosmos DB renamed a placer's own hold to
  // the id of another person's hold (one released since on that document, or open on another document), and the
  // placer released it past four eyes, judged by the other person's placement.
  // A hold by query's placement covers many documents: only where the release names one is it looked for released there.
  const fields = { tenantId, holdId, ...(documentId !== null ? { documentId } : {}) };
  const document = witnessed?.document;
  if (document !== undefined) {
    const elsewhere = (documentId !== null ? [documentId] : carrying).filter((d) => d !== document);
    if (elsewhere.length > 0) renamedHold(fields, `placed on one document, stored on ${elsewhere.length} other(s)`, deps);
  }
  const releasedOn = documentId ?? document;
  if (witnessed && releasedOn !== undefined && (await releasedSince(tenantId, holdId, releasedOn, witnessed.placedAt, deps.clock.now(), deps))) renamedHold(fields, 'released since its placement, stored open', deps);
  // A hold by query's placement names no document: the one released must be among those its entries show it reached
  // (a release everywhere skips each that is not: release-hold-everywhere.ts).
  if (witnessed && documentId !== null && placings[0] && (await unreachedCarriers(tenantId, holdId, witnessed, [{ documentId, hold: placings[0] }], deps, documentId)).length > 0) renamedHold(fields, 'never placed on this document', deps);
  return judgedPlacement(witnessed, placings, { tenantId, holdId, ...(documentId !== null ? { documentId } : {}) }, deps);
}

/** Whether a placing is recent enough for its entry to be still on its way (the audit outbox's send, or its drain). */
const placedMomentsAgo = (placings: readonly Placement[], now: Date) => placings.some((p) => typeof p.placedAt === 'string' && Math.abs(now.getTime() - Date.parse(p.placedAt)) <= AUDIT_OUTBOX_GRACE_MS + AUDIT_OUTBOX_SEND_WITHIN_MS);

/** The entry's actor (as a stored one) and time. */
function placementOf(entry: AuditEntry): Placement {
  const { subject, kind, person } = entry.actor;
  const placedBy: Actor = { subject, kind, ...(person !== undefined ? { person } : {}) };
  return { placedBy, placedAt: entry.at };
}

/**
 * The placement four eyes judge a release by: the witnessed one; without one, for a hold every stored placing of which
 * is dated before AUDIT_CHAIN_KEYED_SINCE's month (its entry could not be keyed), as stored (`stored`), alerted; else a
 * 409, alerted. Broke: judged by the placer and time Cosmos DB holds, which nothing seals, whoever could write it named
 * another placer on their own hold (or dated it before they gave the releaser rights) and released it through the API.
 */
function judgedPlacement(witnessed: Placement | null, stored: readonly Placement[], fields: { tenantId: string; holdId: string; documentId?: string }, deps: Pick<HoldDeps, 'log' | 'clock'> & Pick<Deps, 'config'>): Placement | null {
  if (witnessed) return witnessed;
  // Placed moments ago: its entry goes into the chain after the placement's answer (the audit outbox), within
  // AUDIT_OUTBOX_SEND_WITHIN_MS, or from the outbox by the sealing timer after AUDIT_OUTBOX_GRACE_MS. Refused without an
  // alert (a writer of Cosmos DB dating a hold so gains nothing: it is refused). Broke: a release sent right after the
  // placement (a script, a fast reviewer) was refused and alerted as a hold with no placement.
  if (placedMomentsAgo(stored, deps.clock.now())) {
    deps.log.warn('legal hold release before its placement entry reached the audit log; refused', fields);
    throw new ArchiveError('hold_placement_unwitnessed', {
      detail: 'The audit entry of this hold\'s placement is not in the audit log yet; try the release again in a few minutes.',
      extensions: { holdId: fields.holdId, pending: true },
    });
  }
  const since = deps.config.AUDIT_CHAIN_KEYED_SINCE;
  if (since !== undefined && stored.length > 0 && stored.every((p) => typeof p.placedAt === 'string' && p.placedAt.slice(0, 7) < since)) {
    deps.log.error(HOLD_PLACEMENT_UNWITNESSED, { ...fields, reason: 'placed before keying; judged as stored' });
    return null;
  }
  deps.log.error(HOLD_PLACEMENT_UNWITNESSED, { ...fields, reason: 'not in the audit log; refused' });
  throw new ArchiveError('hold_placement_unwitnessed', {
    detail: 'The audit log holds no entry of this hold\'s placement, so who placed it cannot be told: it is not released. An operator has been alerted.',
    extensions: { holdId: fields.holdId },
  });
}

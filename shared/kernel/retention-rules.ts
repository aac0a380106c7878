/**
 * The retention rules, stated once. The use cases check them on a document in memory
 * (`disposalBlocker`, `isHeld`, `satisfies`); the catalog adapter turns the same rules into its
 * query (`CATALOG_RULES` → SQL), so the sweep's query and the sweep's check cannot drift apart.
 */
import type { ArchivedDocument } from './document';
import { readInstant, readWrittenInstant } from './instant';
import type { HoldQuery } from './search';
import { searchKey } from './search-keys';

/**
 * A document is held while its `legalHold` flag is set or any of its holds is open: released only with a readable
 * `releasedAt` (the archive writes the release's time). Read as truthy, text that is no instant, a number or `true`
 * (restored, half written, edited by hand) released the hold, and with the flag off the sweep disposed of the document.
 * So did a release time far ahead of `now` (readWrittenInstant: more than the tolerated skew), which no release writes:
 * only a hand edit or a restore does, and the sweep cannot be undone, so it is read as no release.
 */
export const isHeld = (doc: ArchivedDocument, now: Date): boolean => doc.legalHold || (doc.holds ?? []).some((h) => !isReleased(h, now));

/**
 * Whether a hold (a document's, or a hold by query's record) is released: by the rule isHeld reads, for every reader.
 * Read as truthy elsewhere, a release time that is no instant (`soon`) made a hold isHeld kept open unreleasable
 * ("already released"), and a hold by query with `releasedAt` null or far ahead was not open (the query asked only
 * whether the field was there): the sweep disposed of documents it had yet to reach.
 */
export const isReleased = (hold: { releasedAt?: unknown }, now: Date): boolean => readWrittenInstant(hold.releasedAt, now.getTime()) !== null;

/**
 * The document's retain-until in milliseconds, or null when its item holds none the archive can read (missing, null, a
 * number, `'10'`, `'2019'`: kernel/instant.ts readInstant). Read with `new Date`, `null` was 1970 and `'10'` 2001, both
 * over, and the sweep's query (text ≤ now) listed `'10'` and `'2019'`: such a document was disposed of.
 */
export const retainUntilOf = (doc: ArchivedDocument): number | null => readInstant((doc.retention as Partial<ArchivedDocument['retention']> | undefined)?.retainUntil);

/** Retention is over once `retainUntil` is at or before `now`; never while it cannot be read. */
export const retentionOver = (doc: ArchivedDocument, now: Date): boolean => {
  const until = retainUntilOf(doc);
  return until !== null && until <= now.getTime();
};

/**
 * A document must stay locked at least this long after it is archived or its retention is extended: storage cannot
 * lock a file until a past date (Azure refuses the immutability policy, a 500), and there is nothing to keep it for.
 */
export const MIN_REMAINING_RETENTION_MS = 24 * 3_600_000;

/** `retention-unreadable`: the item holds no retain-until the archive can read; kept, and reported (an operator sets it right). */
export type Blocker = 'not-expired' | 'legal-hold' | 'approval-required' | 'not-active' | 'retention-unreadable';

/**
 * An approval covers documents falling due within this many days of it (a yearly review), no
 * further: approving decades ahead would be switching the approval requirement off, which the
 * approver-lowers-safeguards rule refuses to anyone holding retention:approve.
 */
export const APPROVAL_LEAD_DAYS = 366;
const LEAD_MS = APPROVAL_LEAD_DAYS * 86_400_000;

/** The latest due date an approval given at `at` may cover. */
export const latestApprovable = (at: Date): Date => new Date(at.getTime() + LEAD_MS);

/** The document carries an approval for its current retain-until, given no earlier than APPROVAL_LEAD_DAYS before it. */
export function approvedForDisposal(doc: ArchivedDocument): boolean {
  const approval = doc.disposalApproval;
  if (!approval || approval.retainUntil !== doc.retention.retainUntil) return false;
  return new Date(approval.approvedAt).getTime() >= new Date(doc.retention.retainUntil).getTime() - LEAD_MS;
}

/**
 * What an open hold by query holds: every active document of its fiscal year and/or counterparty, those archived or
 * corrected into it later too (the catalog's `matching` query reads the same). The counterparty is compared by its
 * search key (search-keys.ts), as a search by it finds it: `ACME GmbH`, `acme  gmbh`, `Acmé GmbH` and full-width
 * `Ａｃｍｅ GmbH` are the dispute's `Acme GmbH` to the person who placed the hold and to GET /documents. Compared as
 * stored, a receipt archived under another spelling was neither held nor kept from the sweep while the hold was open.
 */
export const matchesHoldQuery = (doc: ArchivedDocument, q: HoldQuery): boolean =>
  doc.status === 'active' &&
  (q.fiscalYear !== undefined || q.counterparty !== undefined) &&
  (q.fiscalYear === undefined || doc.fiscalYear === q.fiscalYear) &&
  (q.counterparty === undefined || (doc.metadata.counterparty !== undefined && searchKey(doc.metadata.counterparty) === searchKey(q.counterparty)));

/** An open hold by query of the tenant: its id and what it holds. */
export interface OpenHoldQuery {
  holdId: string;
  query: HoldQuery;
}

/** An open hold by query holds the document, though it has not reached it yet: it matches and carries no entry of it (one released from it by four eyes stays released). */
export const heldByQuery = (doc: ArchivedDocument, open: readonly OpenHoldQuery[]): boolean =>
  open.some((h) => matchesHoldQuery(doc, h.query) && !(doc.holds ?? []).some((x) => x.id === h.holdId));

/** Held for disposal's sake: an open hold of its own, or an open hold by query that has yet to reach it. */
export const heldNow = (doc: ArchivedDocument, openHolds: readonly OpenHoldQuery[], now: Date): boolean => isHeld(doc, now) || heldByQuery(doc, openHolds);

/**
 * Why a document may not be disposed of now, or null when it may. `openHolds`: the tenant's open holds by query; a
 * document one matches is held although the hold has not reached it yet (archived or corrected into its query since
 * the reconciler last extended it).
 */
export function disposalBlocker(doc: ArchivedDocument, now: Date, requireApproval: boolean, openHolds: readonly OpenHoldQuery[] = []): Blocker | null {
  if (doc.status === 'disposed') return 'not-active';
  if (heldNow(doc, openHolds, now)) return 'legal-hold';
  if (retainUntilOf(doc) === null) return 'retention-unreadable';
  if (!retentionOver(doc, now)) return 'not-expired';
  if (requireApproval && !approvedForDisposal(doc)) return 'approval-required';
  return null;
}

/** One condition on a catalog item; `retainUntilBy` compares with an instant the caller names (`now`, `before`). */
export type Condition =
  | { status: ArchivedDocument['status'] }
  | { legalHold: boolean }
  | { disposalAudited: boolean }
  | { retainUntilBy: string }
  /** It carries an approval given for its current retain-until (`approvedForDisposal` checks the approval's lead too). */
  | { approvedForRetainUntil: true };

/** Any one of the groups, every condition of a group. */
export type CatalogRule = readonly (readonly Condition[])[];

export const CATALOG_RULES = {
  /** What the sweep has work for: retention over and not held, or a disposal a crash left unfinished (claimed, or gone but not audited). */
  sweepWork: [[{ status: 'active' }, { retainUntilBy: 'now' }, { legalHold: false }], [{ status: 'disposing' }], [{ status: 'disposed' }, { disposalAudited: false }]],
  /**
   * The same where the tenant requires approval: an active document only with an approval for its retain-until. Those
   * awaiting one are no work for the sweep; listed, a tenant's pile of them (never approved) filled every run's budget
   * and the tenants after it were swept only once the walk had passed over all of them, every time round.
   */
  sweepWorkApproved: [[{ status: 'active' }, { retainUntilBy: 'now' }, { legalHold: false }, { approvedForRetainUntil: true }], [{ status: 'disposing' }], [{ status: 'disposed' }, { disposalAudited: false }]],
  /** Due for the disposal review: active, retention over by `before`. */
  due: [[{ status: 'active' }, { retainUntilBy: 'before' }]],
  /** Under at least one open legal hold. */
  held: [[{ status: 'active' }, { legalHold: true }]],
  /** Still archived (fixity check, reconciler, hold queries). */
  active: [[{ status: 'active' }]],
} as const satisfies Record<string, CatalogRule>;

/** The in-memory reading of a catalog rule (used by tests and fakes to keep the query honest). */
export function satisfies(doc: ArchivedDocument, rule: CatalogRule, instants: Record<string, string>): boolean {
  return rule.some((group) =>
    group.every((c) => {
      if ('status' in c) return doc.status === c.status;
      if ('legalHold' in c) return doc.legalHold === c.legalHold;
      if ('disposalAudited' in c) return doc.disposal?.audited === c.disposalAudited;
      if ('approvedForRetainUntil' in c) return doc.disposalApproval !== undefined && doc.disposalApproval.retainUntil === doc.retention.retainUntil;
      const by = instants[c.retainUntilBy];
      return by !== undefined && doc.retention.retainUntil <= by;
    }),
  );
}

import { isReleased } from '../../kernel/retention-rules';
import { madeSecondBy, type RightsGiven, samePerson } from '../../auth/sod';
import { rightsGivenTo } from '../../auth/rights-sets/rights-given';
import { ArchiveError } from '../../kernel/errors';
import { personOf, type Principal } from '../../kernel/principal';
import type { LegalHold } from '../../kernel/retention';
import type { AuditStaging } from '../../kernel/audit';
import { actorOf, updateDocument } from '../update';
import { clearBlobHoldsAfterRelease, flagsInLine, HoldDeps, holdAuditDetail } from './legal-hold';
import type { ArchivedDocument } from '../../kernel/document';
import type { Versioned } from '../../ports';
import type { Deps } from '../../deps';
import { keyReader, namesPerson, withKeyPerson } from '../../auth/api-keys/verify-api-key';
import { madeThroughKey } from '../../auth/api-keys/api-key';
import { HOLD_PLACEMENT_UNWITNESSED, type Placement, placementForRelease } from './placement-witness';

/** A release's ports: a hold's, and the config that says since when the audit log is keyed (placement-witness.ts). */
export type ReleaseDeps = HoldDeps & Pick<Deps, 'config' | 'auditOutbox'>;

/**
 * The hold with its placer as `known` read them (withKeyPerson: one from before persons were kept, placed through a key,
 * stands for that key's person), when it names the same stored placer; else as stored, or, placed through a key with no
 * person `known` read, unknown (''), whom `samePerson` takes for anyone. Broke: taken as stored, a hold that reached the
 * document after the release read it (a hold by query placed through a key before persons were kept, extended
 * meanwhile) stood for the key, and the key's person released their own hold.
 */
export function placedAsKnown<H extends Pick<LegalHold, 'placedBy'>>(hold: H, known: readonly LegalHold['placedBy'][]): H {
  if (namesPerson(hold.placedBy.person)) return hold;
  const placer = known.find((k) => k.subject === hold.placedBy.subject && k.kind === hold.placedBy.kind);
  if (placer) return { ...hold, placedBy: placer };
  return madeThroughKey(hold.placedBy) ? { ...hold, placedBy: { ...hold.placedBy, person: '' } } : hold;
}

/**
 * Four eyes on a release: not the person who placed the hold (an API key acts for its creator), nor
 * someone that person gave rights to after placing it (`releaser`: how the releasing person came by their rights).
 */
export function assertMayRelease(principal: Principal, releaser: readonly RightsGiven[], hold: Pick<LegalHold, 'placedBy' | 'placedAt'>): void {
  const made = samePerson(principal, hold.placedBy) ? null : madeSecondBy(releaser, hold.placedBy, hold.placedAt);
  if (!samePerson(principal, hold.placedBy) && !made) return;
  throw new ArchiveError('four_eyes_required', {
    detail: 'Four-eyes rule: a legal hold must be released by a different person than the one who placed it (an API key acts for the person who created it; someone the placer gave rights to after placing it, or someone such a person gave rights to since, does not count as different).',
    // Who made the releaser no second person, as the other four-eyes refusals name them: the reader can tell why.
    extensions: { rule: 'four-eyes:legal-hold-release', placedBy: hold.placedBy.subject, ...(made ? { approverRightsGivenBy: personOf(made.by), approverRightsGivenAt: made.at, approverRightsGivenThrough: made.through } : {}) },
  });
}

/**
 * Releases one hold. Four eyes: the principal who placed it cannot release it. The
 * catalog is written first; the blobs' flag is cleared only when no other hold is open, and
 * never over a hold placed meanwhile (legal-hold.ts `clearBlobHoldsAfterRelease`).
 */
export async function releaseHold(
  cmd: {
    principal: Principal;
    documentId: string;
    holdId: string;
    reason: string;
    audit?: AuditStaging;
    /** How the releasing person came by their rights, when the caller read it already (release everywhere, which notes the release in a hold by query's record itself). */
    releaser?: readonly RightsGiven[];
    /** The hold's placers with their persons (withKeyPerson), when the caller read them already (release everywhere). */
    placers?: readonly LegalHold['placedBy'][];
    /** The placement four eyes judge by (placement-witness.ts), when the caller judged it already (release everywhere): null, as stored. */
    placement?: Placement | null;
  },
  deps: ReleaseDeps,
): Promise<LegalHold> {
  const tenantId = cmd.principal.tenantId;
  // A hold by query's record is not marked: releasing one document of it leaves the hold open for the others and for
  // those archived into its query later (extend-holds-by-query.ts); this document stays released (its entry says so).
  const asRead = cmd.placement !== undefined ? undefined : (await deps.retention.catalog.getVersioned(tenantId, cmd.documentId))?.item.holds?.find((h) => h.id === cmd.holdId);
  // Who placed it and when, as the placement's keyed audit entry says (placement-witness.ts). Broke: judged by the hold's
  // placedBy and placedAt, which anyone who can write Cosmos DB edits, a placer renamed their hold's placer and released
  // it themselves. Judged only for an open hold: a released or missing one is answered so below.
  const placement = cmd.placement !== undefined ? cmd.placement : asRead && !isReleased(asRead, deps.clock.now())
    ? await placementForRelease(tenantId, cmd.holdId, cmd.documentId, { byQuery: asRead.query !== undefined, bySystem: asRead.placedBy?.kind === 'system' }, [asRead], deps)
    : undefined;
  // Followed up from the hold's placing on (rights-given.ts `since`): a hold's placedAt never changes.
  const releaser = cmd.releaser ?? (await rightsGivenTo(cmd.principal, deps, (placement ?? asRead)?.placedAt));
  // Who placed it, one from before persons were kept placed through a key included: read as the key, its person released their own hold.
  const placer = (placement ?? asRead)?.placedBy;
  const placers = cmd.placers ?? (placer ? [await withKeyPerson(placer, keyReader(tenantId, deps))] : []);
  return updateDocument(tenantId, cmd.documentId, deps, (doc) => {
    const hold = openHoldOf(doc, cmd.holdId, deps);
    // Open now but not when read above (placed since): judged by no placement, it is not released.
    if (placement === undefined) throw new ArchiveError('hold_placement_unwitnessed', { detail: 'The hold was placed while this release was read: send it again.', extensions: { holdId: cmd.holdId } });
    assertMayRelease(cmd.principal, releaser, placedAsKnown(placement ? { ...hold, placedBy: placement.placedBy, placedAt: placement.placedAt } : hold, placers));
    return holdReleased(doc, { ...hold, releasedAt: deps.clock.now().toISOString(), releasedBy: actorOf(cmd.principal), releaseReason: cmd.reason }, deps);
  }, cmd.audit);
}

/**
 * The hold as answered to its releaser. One that may not read documents (a set with holds:release alone) is told the
 * hold it released, not the disposal approval the hold withdrew and who gave it: another person's act on a document it
 * could not read otherwise, which the hold's placement already keeps from a placer without documents:read
 * (place-hold.ts answeredTo); the hold's audit entry names the approval.
 */
export function releasedHoldAnsweredTo(principal: Pick<Principal, 'permissions'>, hold: LegalHold): LegalHold {
  if (principal.permissions.has('documents:read')) return hold;
  const { withdrewDisposalApproval: _w, ...released } = hold;
  return released;
}

/**
 * The hold `holdId` the document carries open; 404 or 409 otherwise. A document carrying more than one hold of the id
 * (the archive places an id on a document once) is refused, alerted: a release set every hold of the id released, so
 * whoever can write Cosmos DB renamed their own hold to the id of another person's open there, released that one as a
 * second person, and their own went with it, the blobs' flags cleared.
 */
function openHoldOf(doc: ArchivedDocument, holdId: string, deps: Pick<HoldDeps, 'clock' | 'log'>): LegalHold {
  const now = deps.clock.now();
  const holds = (doc.holds ?? []).filter((h) => h.id === holdId);
  if (holds.length > 1) {
    deps.log.error(HOLD_PLACEMENT_UNWITNESSED, { tenantId: doc.tenantId, holdId, documentId: doc.id, reason: `${holds.length} holds of this id on the document` });
    throw new ArchiveError('hold_placement_unwitnessed', { detail: 'The document carries more than one legal hold of this id, so which one was placed by whom cannot be told: it is not released. An operator has been alerted.', extensions: { holdId } });
  }
  const hold = holds[0];
  if (!hold) throw new ArchiveError('hold_not_found', { detail: `Document ${doc.id} has no legal hold ${holdId.slice(0, 64)}.` });
  if (isReleased(hold, now)) throw new ArchiveError('hold_already_released', { detail: `The hold was released at ${hold.releasedAt}.`, extensions: { releasedAt: hold.releasedAt } });
  return hold;
}

/** The document with its hold `released` (who, when, why set on it); the blobs' flags cleared after, when no hold is left open. */
function holdReleased(doc: ArchivedDocument, released: LegalHold, deps: HoldDeps, detail = '') {
  const next = (doc.holds ?? []).map((h) => (h.id === released.id ? released : h));
  const stillHeld = next.some((h) => !isReleased(h, deps.clock.now()));
  return {
    next: { ...flagsInLine(doc), holds: next, legalHold: stillHeld, ...(stillHeld ? {} : { holdFlagsToClear: true as const }) },
    result: released,
    // A document may carry several holds: the entry names the one released (the placement's names it too).
    auditDetail: holdAuditDetail(released.id) + detail,
    ...(stillHeld ? {} : { after: (written: Versioned<ArchivedDocument>) => clearBlobHoldsAfterRelease(deps, written) }),
  };
}

/**
 * A hold by query released everywhere reached this document after the release went over the documents carrying it (the
 * reconciler extending it, or a retry of its placing, read it open before): released here as it was everywhere, by
 * the same person, at the same instant, for the same reason. Nothing if the document does not carry it open.
 */
export async function releaseAsEverywhere(tenantId: string, documentId: string, release: Required<Pick<LegalHold, 'id' | 'releasedAt' | 'releasedBy' | 'releaseReason'>>, deps: HoldDeps, audit?: AuditStaging): Promise<boolean> {
  return updateDocument(tenantId, documentId, deps, (doc) => {
    const hold = (doc.holds ?? []).find((h) => h.id === release.id);
    if (!hold || isReleased(hold, deps.clock.now())) return { next: null, result: false };
    return { ...holdReleased(doc, { ...hold, releasedAt: release.releasedAt, releasedBy: release.releasedBy, releaseReason: release.releaseReason }, deps, ';released-everywhere'), result: true };
  }, audit);
}

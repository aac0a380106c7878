import { madeSecondBy, type RightsGiven, samePerson } from '../../auth/sod';
import { rightsGivenTo } from '../../auth/rights-sets/rights-given';
import { ArchiveError } from '../../kernel/errors';
import { personOf, type Principal } from '../../kernel/principal';
import type { LegalHold } from '../../kernel/retention';
import type { AuditStaging } from '../../kernel/audit';
import { actorOf, updateDocument } from '../update';
import { clearBlobHoldsAfterRelease, flagsInLine, HoldDeps, holdAuditDetail } from './legal-hold';
import { markHoldByQueryReleased } from './place-holds-by-query';

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
  },
  deps: HoldDeps,
): Promise<LegalHold> {
  const tenantId = cmd.principal.tenantId;
  // Followed up from the hold's placing on (rights-given.ts `since`): a hold's placedAt never changes.
  const asRead = cmd.releaser ? undefined : (await deps.retention.catalog.getVersioned(tenantId, cmd.documentId))?.item.holds?.find((h) => h.id === cmd.holdId);
  const releaser = cmd.releaser ?? (await rightsGivenTo(cmd.principal, deps, asRead?.placedAt));
  if (asRead?.query && !asRead.releasedAt) {
    // A hold by query: its record notes the release first, as a release everywhere does (release-hold-everywhere.ts), so
    // its retry never extends it again, even once this document is disposed of; judged first, as below.
    assertMayRelease(cmd.principal, releaser, asRead);
    await markHoldByQueryReleased(tenantId, asRead.id, actorOf(cmd.principal), deps.clock.now().toISOString(), deps);
  }
  return updateDocument(tenantId, cmd.documentId, deps, (doc) => {
    const holds = doc.holds ?? [];
    const hold = holds.find((h) => h.id === cmd.holdId);
    if (!hold) throw new ArchiveError('hold_not_found', { detail: `Document ${doc.id} has no legal hold ${cmd.holdId.slice(0, 64)}.` });
    if (hold.releasedAt) throw new ArchiveError('hold_already_released', { detail: `The hold was released at ${hold.releasedAt}.`, extensions: { releasedAt: hold.releasedAt } });
    assertMayRelease(cmd.principal, releaser, hold);
    const released: LegalHold = { ...hold, releasedAt: deps.clock.now().toISOString(), releasedBy: actorOf(cmd.principal), releaseReason: cmd.reason };
    const next = holds.map((h) => (h.id === hold.id ? released : h));
    const stillHeld = next.some((h) => !h.releasedAt);
    return {
      next: { ...flagsInLine(doc), holds: next, legalHold: stillHeld, ...(stillHeld ? {} : { holdFlagsToClear: true as const }) },
      result: released,
      // A document may carry several holds: the entry names the one released (the placement's names it too).
      auditDetail: holdAuditDetail(hold.id),
      ...(stillHeld ? {} : { after: (written) => clearBlobHoldsAfterRelease(deps, written) }),
    };
  }, cmd.audit);
}

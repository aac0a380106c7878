import { idFromIdempotencyKey, uuidv7 } from '../../ids';
import { personOf, type Principal } from '../../kernel/principal';
import { approvalAnswered, type LegalHold } from '../../kernel/retention';
import type { ArchivedDocument } from '../../kernel/document';
import type { AuditStaging } from '../../kernel/audit';
import { ArchiveError } from '../../kernel/errors';
import { actorOf, protection, updateDocument } from '../update';
import { flagsInLine, HoldDeps, holdAuditDetail, PlaceHold } from './legal-hold';

export interface PlacedHold {
  hold: LegalHold;
  /** The document carried this hold already (a retry with the same Idempotency-Key, or a hold by query run again): nothing changed. */
  replayed: boolean;
}

/**
 * Places a legal hold. The blobs' legal-hold flag is set first, then the catalog: if the
 * second write fails the store is still protected (fail closed), and a retry is harmless.
 * A disposal approval given before the hold is withdrawn with it: what the hold is about (an
 * audit, a dispute) was not known to the approver, so after its release the document is
 * reviewed again instead of being disposed of on the old approval.
 *
 * `holdId` given (a hold by query's), or derived from `idempotencyKey`: a document that carries that hold already
 * is answered with it, unchanged, when it was placed for the same reason, case and query; for another it is a 422,
 * since a retry that is not the same request must not be told its hold stands.
 */
export async function placeHoldOn(
  cmd: PlaceHold & { holdId?: string; query?: LegalHold['query']; /** Validated (ids.ts idempotencyKeyOf): the hold's id is derived from it, so a retry places the same hold. */ idempotencyKey?: string | null; /** One document's hold: its audit entry is stored with it (the audit outbox). */ audit?: AuditStaging },
  deps: HoldDeps,
): Promise<PlacedHold> {
  const tenantId = cmd.principal.tenantId;
  // The document is part of the id: the same key sent to another document placed the first hold, under its id, there too
  // (201, one hold id then naming two requests, released together everywhere). It is another request: its own hold.
  const keyed = cmd.idempotencyKey ? idFromIdempotencyKey(tenantId, personOf(cmd.principal), cmd.idempotencyKey, 'legal-hold', cmd.documentId) : undefined;
  // As ids were derived before: a retry of a hold placed then is still recognised on its document (a hold by query's
  // documents carry its own id, `holdId`, which never named one).
  const keyedBefore = cmd.idempotencyKey && !cmd.holdId ? idFromIdempotencyKey(tenantId, personOf(cmd.principal), cmd.idempotencyKey, 'legal-hold') : undefined;
  const hold: LegalHold = {
    id: cmd.holdId ?? keyed ?? uuidv7(deps.clock.now().getTime()),
    reason: cmd.reason,
    caseReference: cmd.caseReference,
    placedAt: deps.clock.now().toISOString(),
    placedBy: actorOf(cmd.principal),
    ...(cmd.query ? { query: cmd.query } : {}),
  };
  return updateDocument<PlacedHold>(tenantId, cmd.documentId, deps, (doc) => {
    const earlier = (doc.holds ?? []).find((h) => h.id === hold.id || (keyedBefore !== undefined && h.id === keyedBefore));
    if (earlier) {
      if (earlier.reason !== hold.reason || earlier.caseReference !== hold.caseReference || JSON.stringify(earlier.query ?? null) !== JSON.stringify(hold.query ?? null)) {
        throw new ArchiveError('idempotency_key_reused', { detail: `This Idempotency-Key already placed hold ${earlier.id} on document ${doc.id} with another reason, case reference or query; nothing was changed.`, extensions: { holdId: earlier.id } });
      }
      return { next: null, result: { hold: answeredTo(cmd.principal, earlier), replayed: true } };
    }
    const step = holdPlaced(doc, hold, deps);
    return { ...step, result: { hold: answeredTo(cmd.principal, step.placed), replayed: false } };
  }, cmd.audit);
}

/**
 * Holds one document keeps, open and released. Each is stored whole in the catalog item (who, why, the case, its
 * release: up to ~5 kB), and Cosmos refuses an item over 2 MB: a document held and released a few hundred times by
 * whoever holds both rights (or by holds by query placed and released everywhere) took no write any more, a legal hold
 * and its disposal included, and the sweep stopped at it. Far more than any real document is held.
 */
export const MAX_HOLDS = 100;

/**
 * The document with `hold` placed (placeHoldOn, and the reconciler extending an open hold by query): the blobs' flags
 * set first, the disposal approval it carried withdrawn and kept on the hold.
 */
export function holdPlaced(doc: ArchivedDocument, hold: LegalHold, deps: HoldDeps, detail = '') {
  if ((doc.holds ?? []).length >= MAX_HOLDS) {
    throw new ArchiveError('too_many_holds', { detail: `Document ${doc.id} has carried ${MAX_HOLDS} legal holds, as many as the archive keeps on one document; nothing was changed.`, extensions: { maxHolds: MAX_HOLDS } });
  }
  // Its flags are set: nothing is left for a release's clearing to do.
  const { disposalApproval: withdrawn, ...unapproved } = flagsInLine(doc);
  // Without its seal: the hold is answered to clients, and a withdrawn approval never disposes of anything again.
  const placed: LegalHold = withdrawn ? { ...hold, withdrewDisposalApproval: approvalAnswered(withdrawn) } : hold;
  const flags = protection(deps, doc, (name) => deps.blobs.setLegalHold(doc.tenantId, name, true));
  return {
    next: { ...unapproved, legalHold: true, holds: [...(doc.holds ?? []), placed] } satisfies ArchivedDocument,
    placed,
    adds: 'legal hold',
    // A document may carry several holds: the entry names the one placed, so the chain alone pairs it with its release
    // (four eyes), and the approval it withdrew, which the approval's own entry (naming no documents) cannot show.
    auditDetail: (withdrawn ? `${holdAuditDetail(hold.id)};approval-withdrawn=${withdrawn.approvalId}` : holdAuditDetail(hold.id)) + detail,
    before: flags.before,
    after: flags.after,
  };
}

/**
 * The hold as answered to its placer. One that may not read documents nor their holds (a key with holds:place alone) is
 * told what it placed: not who released it since and why (a replay), nor the disposal approval it withdrew and who
 * gave that (other people's acts on a document it could not read otherwise; the hold's audit entry names the approval),
 * as an upload replayed to a write-only key is the document as ingested (documents/ingest.ts firstAnswer).
 */
function answeredTo(principal: Principal, hold: LegalHold): LegalHold {
  if (principal.permissions.has('documents:read')) return hold;
  const { releasedAt: _a, releasedBy: _b, releaseReason: _r, withdrewDisposalApproval: _w, ...placed } = hold;
  return placed;
}

/** `placeHoldOn`, for a caller that needs only the hold. */
export async function placeHold(cmd: Parameters<typeof placeHoldOn>[0], deps: HoldDeps): Promise<LegalHold> {
  return (await placeHoldOn(cmd, deps)).hold;
}

import { uuidv7 } from '../../ids';
import type { LegalHold } from '../../kernel/retention';
import type { AuditStaging } from '../../kernel/audit';
import { actorOf, blobNamesOf, updateDocument } from '../update';
import { flagsInLine, HoldDeps, holdAuditDetail, PlaceHold, setBlobHolds } from './legal-hold';

/**
 * Places a legal hold. The blobs' legal-hold flag is set first, then the catalog: if the
 * second write fails the store is still protected (fail closed), and a retry is harmless.
 * A disposal approval given before the hold is withdrawn with it: what the hold is about (an
 * audit, a dispute) was not known to the approver, so after its release the document is
 * reviewed again instead of being disposed of on the old approval.
 */
export async function placeHold(cmd: PlaceHold & { holdId?: string; query?: LegalHold['query']; /** One document's hold: its audit entry is stored with it (the audit outbox). */ audit?: AuditStaging }, deps: HoldDeps): Promise<LegalHold> {
  const tenantId = cmd.principal.tenantId;
  const hold: LegalHold = {
    id: cmd.holdId ?? uuidv7(deps.clock.now().getTime()),
    reason: cmd.reason,
    caseReference: cmd.caseReference,
    placedAt: deps.clock.now().toISOString(),
    placedBy: actorOf(cmd.principal),
    ...(cmd.query ? { query: cmd.query } : {}),
  };
  return updateDocument(tenantId, cmd.documentId, deps, (doc) => {
    if ((doc.holds ?? []).some((h) => h.id === hold.id)) return { next: null, result: hold };
    // Its flags are set: nothing is left for a release's clearing to do.
    const { disposalApproval: withdrawn, ...unapproved } = flagsInLine(doc);
    const placed: LegalHold = withdrawn ? { ...hold, withdrewDisposalApproval: withdrawn } : hold;
    return {
      next: { ...unapproved, legalHold: true, holds: [...(doc.holds ?? []), placed] },
      result: placed,
      // A document may carry several holds: the entry names the one placed, so the chain alone pairs it with its release
      // (four eyes), and the approval it withdrew, which the approval's own entry (naming no documents) cannot show.
      auditDetail: withdrawn ? `${holdAuditDetail(hold.id)};approval-withdrawn=${withdrawn.approvalId}` : holdAuditDetail(hold.id),
      before: () => setBlobHolds(deps, tenantId, blobNamesOf(doc), true),
    };
  }, cmd.audit);
}

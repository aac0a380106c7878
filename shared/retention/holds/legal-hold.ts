import type { Deps } from '../../deps';
import type { Principal } from '../../kernel/principal';
import { ArchiveError } from '../../kernel/errors';
import type { ArchivedDocument } from '../../kernel/document';
import { isHeld } from '../../kernel/retention-rules';
import type { Versioned } from '../../ports';
import { DOCUMENT_BEING_DISPOSED, protectEach } from '../update';

/** What the legal-hold operations share: the command to place one, their ports, and the blobs' hold flag. */
export interface PlaceHold {
  principal: Principal;
  documentId: string;
  reason: string;
  caseReference: string;
}

export type HoldDeps = Pick<Deps, 'retention' | 'blobs' | 'clock' | 'tenantRecords' | 'log' | 'audit'>;

/** The detail of a hold's entry on one document: which hold (the entry's target is the document). */
export const holdAuditDetail = (holdId: string) => `hold=${holdId}`;

/** Every protected blob of the document (its files and kept corrections) with the legal-hold flag `hold`. */
export async function setBlobHolds(deps: HoldDeps, doc: ArchivedDocument, hold: boolean): Promise<void> {
  await protectEach(deps, doc, (name) => deps.blobs.setLegalHold(doc.tenantId, name, hold));
}

/** The item once its blobs' flags agree with it: no release's clearing left to do, no unexplained flag seen. */
export function flagsInLine(doc: ArchivedDocument): ArchivedDocument {
  const { holdFlagsToClear: _done, holdResync: _resynced, unrecordedHoldSeenAt: _seen, ...rest } = doc;
  return rest;
}

/**
 * After a release was written (`released`: the item and the etag of that write): the blobs' flags
 * cleared, then the item rewritten over that etag (its `holdFlagsToClear` gone). A hold placed meanwhile set its flags
 * before its catalog write: if that write came first, the rewrite fails and the flags are set again as
 * the catalog now says; if it comes after, it fails over the rewrite, retries and sets them again. So
 * a release never leaves a newer hold's blobs unflagged (clearing without looking did, until the
 * reconciler ran). A document that keeps changing keeps its flags set (fail closed); the reconciler
 * clears them once the catalog records why.
 */
export async function clearBlobHoldsAfterRelease(deps: HoldDeps, released: Versioned<ArchivedDocument>): Promise<void> {
  const { tenantId, id } = released.item;
  let current: Versioned<ArchivedDocument> | null = released;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (!current || current.item.status !== 'active') return;
    await setBlobHolds(deps, current.item, isHeld(current.item, deps.clock.now()));
    if ((await deps.retention.catalog.replace(flagsInLine(current.item), current.etag)) !== 'conflict') return;
    current = await deps.retention.catalog.getVersioned(tenantId, id);
  }
  if (current?.item.status === 'active') await setBlobHolds(deps, current.item, true);
}

/** A document a hold by query (or its release everywhere) passed over, and why. */
export interface SkippedDocument {
  documentId: string;
  /**
   * The refusal's code: `document_disposed` (claimed by the sweep meanwhile), `document_not_found`,
   * `hold_already_released`; or `document_being_disposed`: claimed by the sweep after the hold reached its blobs, which
   * keep it (storage refuses the disposal), and the open hold reaches it in the catalog with the reconciler's next run;
   * or `too_many_holds`: the document has carried MAX_HOLDS holds (the sweep still keeps what an open hold's query matches);
   * or `hold_placement_unwitnessed` (a release everywhere): the audit log does not show the hold placed on it, so the hold
   * it carries under that id is another's, renamed (operators are alerted); it stays held.
   */
  reason: 'document_disposed' | 'document_not_found' | 'hold_already_released' | 'document_being_disposed' | 'too_many_holds' | 'hold_placement_unwitnessed';
}

/** `err` as a skipped document when its code is one of `expected`; anything else is rethrown (the request fails). */
export function skippedDocument(documentId: string, err: unknown, expected: readonly SkippedDocument['reason'][]): SkippedDocument {
  if (err instanceof ArchiveError && expected.includes('document_being_disposed') && err.code === 'dependency_unavailable' && err.extensions.reason === DOCUMENT_BEING_DISPOSED) return { documentId, reason: 'document_being_disposed' };
  if (err instanceof ArchiveError && (expected as readonly string[]).includes(err.code)) return { documentId, reason: err.code as SkippedDocument['reason'] };
  throw err;
}

import type { Deps } from '../../deps';
import type { Principal } from '../../kernel/principal';
import { ArchiveError } from '../../kernel/errors';

/** What the legal-hold operations share: the command to place one, their ports, and the blobs' hold flag. */
export interface PlaceHold {
  principal: Principal;
  documentId: string;
  reason: string;
  caseReference: string;
}

export type HoldDeps = Pick<Deps, 'retention' | 'blobs' | 'clock' | 'tenantRecords'>;

export async function setBlobHolds(deps: HoldDeps, tenantId: string, names: string[], hold: boolean): Promise<void> {
  for (const name of names) await deps.blobs.setLegalHold(tenantId, name, hold);
}

/** A document a hold by query (or its release everywhere) passed over, and why. */
export interface SkippedDocument {
  documentId: string;
  /** The refusal's code: `document_disposed` (claimed by the sweep meanwhile), `document_not_found`, `hold_already_released`. */
  reason: 'document_disposed' | 'document_not_found' | 'hold_already_released';
}

/** `err` as a skipped document when its code is one of `expected`; anything else is rethrown (the request fails). */
export function skippedDocument(documentId: string, err: unknown, expected: readonly SkippedDocument['reason'][]): SkippedDocument {
  if (err instanceof ArchiveError && (expected as readonly string[]).includes(err.code)) return { documentId, reason: err.code as SkippedDocument['reason'] };
  throw err;
}

import type { Deps } from '../../deps';
import type { Principal } from '../../kernel/principal';

/** What the legal-hold operations share: the command to place one, their ports, and the blobs' hold flag. */
export interface PlaceHold {
  principal: Principal;
  documentId: string;
  reason: string;
  caseReference: string;
}

export type HoldDeps = Pick<Deps, 'retention' | 'blobs' | 'clock'>;

export async function setBlobHolds(deps: HoldDeps, tenantId: string, names: string[], hold: boolean): Promise<void> {
  for (const name of names) await deps.blobs.setLegalHold(tenantId, name, hold);
}

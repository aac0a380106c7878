import { ArchiveError } from '../../kernel/errors';
import type { Principal } from '../../kernel/principal';
import type { HoldDeps } from './legal-hold';
import { releaseHold } from './release-hold';
import type { AuditStaging } from '../../kernel/audit';
import { stagedWithFirstChange } from '../../audit/outbox';

/**
 * Releases a hold on every document that carries it (a hold placed by query). Four eyes
 * as for one document. Documents without that open hold are left alone.
 */
export async function releaseHoldEverywhere(cmd: { principal: Principal; holdId: string; reason: string; audit?: AuditStaging }, deps: HoldDeps): Promise<{ holdId: string; documentIds: string[] }> {
  const carrying: string[] = [];
  let token: string | undefined;
  do {
    const page = await deps.retention.catalog.held(cmd.principal.tenantId, 100, token);
    for (const doc of page.items) if ((doc.holds ?? []).some((h) => h.id === cmd.holdId && !h.releasedAt)) carrying.push(doc.id);
    token = page.continuationToken ?? undefined;
  } while (token);
  if (carrying.length === 0) throw new ArchiveError('hold_not_found', { detail: `No document carries an open legal hold ${cmd.holdId.slice(0, 64)}.` });
  const entry = stagedWithFirstChange(cmd.audit, cmd.holdId);
  for (const documentId of carrying) await releaseHold({ ...cmd, documentId, audit: entry.staging }, deps);
  return { holdId: cmd.holdId, documentIds: carrying };
}

import type { Deps } from '../deps';
import type { ArchivedDocument } from '../kernel/document';
import type { Page } from '../ports';
import { approvedForDisposal, disposalBlocker, heldByQuery } from '../kernel/retention-rules';
import { openHoldQueries } from './holds/place-holds-by-query';
import { tenantPolicy } from './tenant-policy';

export interface DueItem {
  id: string;
  retention: ArchivedDocument['retention'];
  fiscalYear: number;
  kind: string | null;
  legalHold: boolean;
  approved: boolean;
  /** What keeps it from the next sweep, or null if the sweep would dispose of it now. */
  blockedBy: string | null;
}

/** Disposal review: documents whose retention ends by `before`, with what the sweep would do. */
export async function listDueDocuments(tenantId: string, q: { before: string; limit: number; continuationToken?: string }, deps: Pick<Deps, 'retention' | 'clock' | 'tenantRecords'>): Promise<Page<DueItem> & { requireDisposalApproval: boolean }> {
  const policy = await tenantPolicy(tenantId, deps);
  const page = await deps.retention.catalog.due(tenantId, new Date(q.before).toISOString(), q.limit, q.continuationToken);
  const at = new Date(Math.max(new Date(q.before).getTime(), deps.clock.now().getTime()));
  // A document an open hold by query has yet to reach is held as the sweep sees it.
  const openHolds = await openHoldQueries(tenantId, deps);
  return {
    requireDisposalApproval: policy.requireDisposalApproval,
    continuationToken: page.continuationToken,
    items: page.items.map((d) => ({
      id: d.id,
      retention: d.retention,
      fiscalYear: d.fiscalYear,
      kind: d.metadata.kind ?? null,
      legalHold: d.legalHold || heldByQuery(d, openHolds),
      approved: approvedForDisposal(d),
      blockedBy: disposalBlocker(d, at, policy.requireDisposalApproval, openHolds),
    })),
  };
}

import type { Deps } from '../deps';
import type { ArchivedDocument } from '../kernel/document';

/**
 * Asks the worker to validate a stored rendition. Never fails the caller: the write is done, the
 * document shows `validation: pending`, and `requeuePendingValidations` asks again later.
 */
export async function requestValidation(doc: ArchivedDocument, deps: Pick<Deps, 'validationQueue' | 'log'>): Promise<boolean> {
  try {
    await deps.validationQueue.send({ tenantId: doc.tenantId, documentId: doc.id, renditionSha256: doc.rendition.sha256 });
    return true;
  } catch (err) {
    deps.log.warn('rendition validation not requested; the maintenance pass asks again', { tenantId: doc.tenantId, documentId: doc.id, error: String(err) });
    return false;
  }
}

/**
 * Maintenance: every active document whose validation is still pending after `olderThanSeconds`
 * (since upload, or since it was last asked for) is put on the queue again. Cross-tenant (a timer).
 */
export async function requeuePendingValidations(input: { now: Date; olderThanSeconds: number; max: number; /** Tests: one tenant's documents (filtered in the query itself). */ onlyTenant?: string }, deps: Pick<Deps, 'retention' | 'validationQueue' | 'log'>): Promise<{ requeued: number }> {
  const cutoff = new Date(input.now.getTime() - input.olderThanSeconds * 1000).toISOString();
  const resources = await deps.retention.catalog.pendingValidations({ cutoff, max: input.max, ...(input.onlyTenant ? { onlyTenant: input.onlyTenant } : {}) });
  let requeued = 0;
  for (const { id, tenantId } of resources.slice(0, input.max)) {
    const current = await deps.retention.catalog.getVersioned(tenantId, id);
    if (!current || current.item.status !== 'active' || (current.item.validation && current.item.validation.status !== 'pending')) continue;
    if (!(await requestValidation(current.item, deps))) break; // the queue is down: try on the next pass
    // A lost race here only means one more request; the worker is idempotent.
    await deps.retention.catalog.replace({ ...current.item, validation: { status: 'pending', requestedAt: input.now.toISOString() } }, current.etag);
    requeued++;
  }
  return { requeued };
}

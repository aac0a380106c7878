import type { ArchivedDocument } from '../kernel/document';
import { ValidationRequest, VALIDATION_REQUESTS_PER_MESSAGE } from '../kernel/validation';
import type { Logger, RetentionCatalogPort, ValidationQueuePort, Versioned } from '../ports';
import { Gathered } from '../gathered';

const requestOf = (doc: ArchivedDocument): ValidationRequest => ({ tenantId: doc.tenantId, documentId: doc.id, renditionSha256: doc.rendition.sha256 });

/**
 * This instance's validation requests, gathered: an upload's request waits up to `lingerMs` and
 * goes in one queue message with those of other uploads (at most VALIDATION_REQUESTS_PER_MESSAGE),
 * after the upload has been answered. A queue message per upload cost every ingest a round trip
 * and the queue's own CPU. The catalog item says `validation: pending` from the start, so a request
 * lost with its instance (or refused by the queue) is asked again by `requeuePendingValidations`.
 */
export class ValidationRequests {
  private readonly requests: Gathered<ValidationRequest>;

  constructor(deps: { validationQueue: ValidationQueuePort; log: Logger }, lingerMs: number) {
    const send = (batch: ValidationRequest[]) =>
      deps.validationQueue.send(batch).catch((err: unknown) => {
        deps.log.warn('rendition validation not requested; the maintenance pass asks again', { requests: batch, error: String(err) });
      });
    this.requests = new Gathered(send, VALIDATION_REQUESTS_PER_MESSAGE, lingerMs);
  }

  /** Asks for the document's rendition to be validated. Never fails and never waits: the document is stored either way. */
  add(doc: ArchivedDocument): void {
    this.requests.add(requestOf(doc));
  }

  /** Sends what is waiting now and waits for every send under way (host shutdown, tests). */
  flush(): Promise<void> {
    return this.requests.flush();
  }
}

/** How often the maintenance pass asks again for one document's validation before it gives up. */
export const MAX_VALIDATION_REQUESTS = 5;

/** Logged (error) once per document when the maintenance pass gives up; the poison alert matches it. */
export const VALIDATION_ABANDONED = 'rendition validation abandoned';

/**
 * Maintenance: every active document whose validation is still pending after `olderThanSeconds`
 * (since upload, or since it was last asked for) is put on the queue again, several per message.
 * After MAX_VALIDATION_REQUESTS it gives up on the document (logged for the alert, `gaveUpAt` kept):
 * a rendition the validator fails on every time (each request retried and poisoned) was asked for
 * again on every pass, for ever, with a poison alert each time.
 * Cross-tenant (a timer).
 */
export async function requeuePendingValidations(input: { now: Date; olderThanSeconds: number; max: number; /** Tests: one tenant's documents (filtered in the query itself). */ onlyTenant?: string }, deps: { retention: { catalog: RetentionCatalogPort }; validationQueue: ValidationQueuePort; log: Logger }): Promise<{ requeued: number; abandoned: number }> {
  const cutoff = new Date(input.now.getTime() - input.olderThanSeconds * 1000).toISOString();
  const resources = await deps.retention.catalog.pendingValidations({ cutoff, max: input.max, ...(input.onlyTenant ? { onlyTenant: input.onlyTenant } : {}) });
  let requeued = 0;
  let abandoned = 0;
  const still: Versioned<ArchivedDocument>[] = [];
  for (const { id, tenantId } of resources.slice(0, input.max)) {
    const current = await deps.retention.catalog.getVersioned(tenantId, id);
    const validation = current?.item.validation;
    if (!current || current.item.status !== 'active' || (validation && validation.status !== 'pending')) continue;
    const requests = validation?.status === 'pending' ? (validation.requests ?? 0) : 0;
    if (validation?.status === 'pending' && validation.gaveUpAt) continue;
    if (requests >= MAX_VALIDATION_REQUESTS) {
      const written = await deps.retention.catalog.replace({ ...current.item, validation: { ...validation!, status: 'pending', gaveUpAt: input.now.toISOString() } }, current.etag);
      if (written === 'conflict') continue; // changed meanwhile (validated, disposed): the next pass looks again
      deps.log.error(VALIDATION_ABANDONED, { tenantId, documentId: id, requests });
      abandoned++;
      continue;
    }
    still.push(current);
  }
  for (let i = 0; i < still.length; i += VALIDATION_REQUESTS_PER_MESSAGE) {
    const batch = still.slice(i, i + VALIDATION_REQUESTS_PER_MESSAGE);
    try {
      await deps.validationQueue.send(batch.map((c) => requestOf(c.item)));
    } catch (err) {
      deps.log.warn('pending validations not requested again; the next pass tries again', { error: String(err) });
      break; // the queue is down: try on the next pass
    }
    for (const current of batch) {
      // A lost race here only means one more request; the worker is idempotent.
      const asked = current.item.validation?.status === 'pending' ? (current.item.validation.requests ?? 0) : 0;
      await deps.retention.catalog.replace({ ...current.item, validation: { status: 'pending', requestedAt: input.now.toISOString(), requests: asked + 1 } }, current.etag);
      requeued++;
    }
  }
  return { requeued, abandoned };
}

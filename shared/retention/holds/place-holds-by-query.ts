import type { Deps } from '../../deps';
import { ArchiveError } from '../../kernel/errors';
import type { HoldQuery } from '../../kernel/search';
import { idFromIdempotencyKey, uuidv7 } from '../../ids';
import { personOf } from '../../kernel/principal';
import type { HoldDeps, PlaceHold } from './legal-hold';
import { placeHoldOn } from './place-hold';
import type { AuditStaging } from '../../kernel/audit';
import { stagedWithFirstChange } from '../../audit/outbox';
import { skippedDocument, type SkippedDocument } from './legal-hold';

/**
 * One hold over every active document matching the query (a tax audit of a year, a dispute with
 * a counterparty). At most ARCHIVE_HOLD_QUERY_MAX_DOCUMENTS documents: the matches are collected
 * first, and a broader query is refused (400 `invalid_query`, with `matched` and `limit`) before
 * any hold is placed; the caller narrows it (a counterparty within a year) or holds in parts.
 * A match the sweep claimed (or disposed of) between the query and its turn is reported in
 * `skipped`, and the hold goes on to the rest: one such document must not leave every later
 * match unheld for the next sweep to dispose of.
 */
export async function placeHoldsByQuery(cmd: Omit<PlaceHold, 'documentId'> & { query: HoldQuery; audit?: AuditStaging; /** Validated (ids.ts idempotencyKeyOf): the hold's id is derived from it, so a retry places the same hold. */ idempotencyKey?: string | null }, deps: HoldDeps & Pick<Deps, 'config'>): Promise<{ holdId: string; documentIds: string[]; skipped: SkippedDocument[]; replayed: boolean }> {
  const tenantId = cmd.principal.tenantId;
  // With a key, a retry (its answer lost) places the same hold: documents that carry it already are left as they are, and
  // documents that match the query only now get it too, as the request asks; without one, a retry would place a second
  // hold, each to be released by four eyes.
  const holdId = cmd.idempotencyKey ? idFromIdempotencyKey(tenantId, personOf(cmd.principal), cmd.idempotencyKey, 'legal-hold-by-query') : uuidv7(deps.clock.now().getTime());
  const limit = deps.config.ARCHIVE_HOLD_QUERY_MAX_DOCUMENTS;
  const documentIds: string[] = [];
  // Documents the same request held before (its answer lost) are looked at first: a retry that is not the same request
  // is refused (422) before it holds anything.
  const carrying: string[] = [];
  let token: string | undefined;
  do {
    const page = await deps.retention.catalog.matching(tenantId, cmd.query, 100, token);
    for (const d of page.items) (d.holds?.some((h) => h.id === holdId) ? carrying : documentIds).push(d.id);
    if (carrying.length + documentIds.length > limit) {
      const matched = await deps.retention.catalog.countMatching(tenantId, cmd.query);
      throw new ArchiveError('invalid_query', {
        detail: `The query matches ${matched} documents; one legal hold by query covers at most ${limit}. Nothing was held: narrow the query (e.g. a counterparty within a fiscal year) or place the hold in parts.`,
        extensions: { reason: 'hold-query-too-broad', matched, limit },
      });
    }
    token = page.continuationToken ?? undefined;
  } while (token);
  const entry = stagedWithFirstChange(cmd.audit, holdId);
  const held: string[] = [];
  const skipped: SkippedDocument[] = [];
  let placedNow = 0;
  for (const documentId of [...carrying, ...documentIds]) {
    try {
      const { replayed } = await placeHoldOn({ principal: cmd.principal, reason: cmd.reason, caseReference: cmd.caseReference, documentId, holdId, query: cmd.query, audit: entry.staging }, deps);
      if (!replayed) placedNow++;
      held.push(documentId);
    } catch (err) {
      skipped.push(skippedDocument(documentId, err, ['document_disposed', 'document_not_found']));
    }
  }
  return { holdId, documentIds: held, skipped, replayed: held.length > 0 && placedNow === 0 };
}

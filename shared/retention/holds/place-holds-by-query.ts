import type { Deps } from '../../deps';
import { ArchiveError } from '../../kernel/errors';
import type { HoldQuery } from '../../kernel/search';
import { uuidv7 } from '../../ids';
import type { HoldDeps, PlaceHold } from './legal-hold';
import { placeHold } from './place-hold';
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
export async function placeHoldsByQuery(cmd: Omit<PlaceHold, 'documentId'> & { query: HoldQuery; audit?: AuditStaging }, deps: HoldDeps & Pick<Deps, 'config'>): Promise<{ holdId: string; documentIds: string[]; skipped: SkippedDocument[] }> {
  const tenantId = cmd.principal.tenantId;
  const limit = deps.config.ARCHIVE_HOLD_QUERY_MAX_DOCUMENTS;
  const documentIds: string[] = [];
  let token: string | undefined;
  do {
    const page = await deps.retention.catalog.matching(tenantId, cmd.query, 100, token);
    documentIds.push(...page.items.map((d) => d.id));
    if (documentIds.length > limit) {
      const matched = await deps.retention.catalog.countMatching(tenantId, cmd.query);
      throw new ArchiveError('invalid_query', {
        detail: `The query matches ${matched} documents; one legal hold by query covers at most ${limit}. Nothing was held: narrow the query (e.g. a counterparty within a fiscal year) or place the hold in parts.`,
        extensions: { reason: 'hold-query-too-broad', matched, limit },
      });
    }
    token = page.continuationToken ?? undefined;
  } while (token);
  const holdId = uuidv7(deps.clock.now().getTime());
  const entry = stagedWithFirstChange(cmd.audit, holdId);
  const held: string[] = [];
  const skipped: SkippedDocument[] = [];
  for (const documentId of documentIds) {
    try {
      await placeHold({ principal: cmd.principal, reason: cmd.reason, caseReference: cmd.caseReference, documentId, holdId, query: cmd.query, audit: entry.staging }, deps);
      held.push(documentId);
    } catch (err) {
      skipped.push(skippedDocument(documentId, err, ['document_disposed', 'document_not_found']));
    }
  }
  return { holdId, documentIds: held, skipped };
}

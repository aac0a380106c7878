import type { Deps } from '../../deps';
import { ArchiveError } from '../../kernel/errors';
import type { HoldQuery } from '../../kernel/search';
import { idFromIdempotencyKey, uuidv7 } from '../../ids';
import { personOf } from '../../kernel/principal';
import type { HoldDeps, PlaceHold } from './legal-hold';
import { placeHoldOn } from './place-hold';
import type { AuditStaging } from '../../kernel/audit';
import { stagedWithFirstChange, writeWithAuditEntry } from '../../audit/outbox';
import { skippedDocument, type SkippedDocument } from './legal-hold';
import type { TenantRecord } from '../../ports';
import type { Actor, LegalHold } from '../../kernel/retention';
import { actorOf } from '../update';
import { canonicalJson } from '../../kernel/audit-chain';
import { CHANGED, withFreshReads } from '../../kernel/concurrency';

/**
 * A keyed hold by query's request: what a retry with the same Idempotency-Key is compared with. The documents that
 * carry the hold cannot say it: a request with the key and another query matches none of them, and placed the first
 * hold, under the first request's id, on the documents of its own query (the same hold then meant two requests).
 * Made before any document is held, so a request with the key sent at once finds it.
 */
export interface HoldByQueryRecord extends TenantRecord {
  type: 'legal-hold-by-query';
  holdId: string;
  placedBy: Actor;
  createdAt: string;
  request: Pick<LegalHold, 'reason' | 'caseReference'> & { query: HoldQuery };
  /**
   * The hold's first release (on one of its documents, or everywhere): a retry then holds nothing more. The documents
   * cannot say it once those released were disposed of, and a retry placed the hold two people ended anew.
   */
  releasedAt?: string;
  releasedBy?: Actor;
}
export const holdByQueryRecordId = (holdId: string) => `legal-hold-by-query:${holdId}`;

/** Notes a release of a keyed hold by query in its record (none: an unkeyed hold, which no retry names). */
export async function markHoldByQueryReleased(tenantId: string, holdId: string, by: Actor, at: string, deps: Pick<HoldDeps, 'tenantRecords'>): Promise<void> {
  await withFreshReads('The legal hold', async () => {
    const found = await deps.tenantRecords.get<HoldByQueryRecord>(tenantId, holdByQueryRecordId(holdId), 'legal-hold-by-query', { fresh: true });
    if (!found || found.value.releasedAt) return undefined;
    return (await deps.tenantRecords.replace({ ...found.value, releasedAt: at, releasedBy: by }, found.etag)) === 'replaced' ? undefined : CHANGED;
  });
}

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
  // documents that match the query only now get it too, as the request asks (not once the hold was released: below); without one, a retry would place a second
  // hold, each to be released by four eyes.
  const holdId = cmd.idempotencyKey ? idFromIdempotencyKey(tenantId, personOf(cmd.principal), cmd.idempotencyKey, 'legal-hold-by-query') : uuidv7(deps.clock.now().getTime());
  const limit = deps.config.ARCHIVE_HOLD_QUERY_MAX_DOCUMENTS;
  const documentIds: string[] = [];
  // Documents the same request held before (its answer lost) are looked at first: a retry that is not the same request
  // is refused (422) before it holds anything.
  const carrying: string[] = [];
  let carried: LegalHold | undefined;
  let released = false;
  const stillHeld: string[] = [];
  let token: string | undefined;
  do {
    const page = await deps.retention.catalog.matching(tenantId, cmd.query, 100, token);
    for (const d of page.items) {
      const h = d.holds?.find((x) => x.id === holdId);
      if (h) carried ??= h;
      if (h?.releasedAt) released = true;
      else if (h) stillHeld.push(d.id);
      (h ? carrying : documentIds).push(d.id);
    }
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
  if (cmd.idempotencyKey) {
    const asked: HoldByQueryRecord['request'] = { reason: cmd.reason, caseReference: cmd.caseReference, query: cmd.query };
    const readRecord = async () => (await deps.tenantRecords.get<HoldByQueryRecord>(tenantId, holdByQueryRecordId(holdId), 'legal-hold-by-query'))?.value ?? null;
    let earlier = await readRecord();
    // Placed before requests kept a record: a document that carries the hold says what it was placed for.
    const placedFor = earlier?.request ?? (carried ? { reason: carried.reason, caseReference: carried.caseReference, query: carried.query ?? {} } : null);
    if (placedFor) sameHoldRequest(holdId, placedFor, asked);
    // Released (everywhere, or on one of its documents, by four eyes): its retry is answered, the documents it still
    // holds, and holds nothing more. Extended to documents matching only now, the hold two people ended came back.
    if (released || earlier?.releasedAt) return { holdId, documentIds: stillHeld, skipped: [], replayed: true };
    if (!earlier) {
      const record: HoldByQueryRecord = { id: holdByQueryRecordId(holdId), tenantId, type: 'legal-hold-by-query', holdId, placedBy: actorOf(cmd.principal), createdAt: deps.clock.now().toISOString(), request: asked };
      // The request's entry goes with the record: stored before any document is held under it.
      const created = await writeWithAuditEntry(entry.staging, {}, (outbox) => deps.tenantRecords.create(record, outbox), (r) => r === 'created');
      if (created === 'exists') earlier = await readRecord(); // the same key sent at once made it first
      if (earlier) sameHoldRequest(holdId, earlier.request, asked);
    }
  }
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

/** Another request with the key of a hold by query is a 422: it must neither be told the first hold stands nor extend it to its own query. */
function sameHoldRequest(holdId: string, earlier: HoldByQueryRecord['request'], asked: HoldByQueryRecord['request']): void {
  const differences = (['reason', 'caseReference', 'query'] as const).filter((k) => canonicalJson(earlier[k]) !== canonicalJson(asked[k]));
  if (differences.length > 0) {
    throw new ArchiveError('idempotency_key_reused', { detail: `This Idempotency-Key already placed hold ${holdId} with another ${differences.join(', ')}; nothing was held.`, extensions: { holdId, differences } });
  }
}

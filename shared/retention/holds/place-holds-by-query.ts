import { isReleased } from '../../kernel/retention-rules';
import { WRITTEN_AHEAD_TOLERANCE_MS } from '../../kernel/instant';
import type { Deps } from '../../deps';
import { ArchiveError } from '../../kernel/errors';
import type { HoldQuery } from '../../kernel/search';
import { idFromIdempotencyKey, uuidv7 } from '../../ids';
import { personOf } from '../../kernel/principal';
import type { HoldDeps, PlaceHold } from './legal-hold';
import { placeHoldOn } from './place-hold';
import type { AuditOutboxItem, AuditStaging } from '../../kernel/audit';
import { ownChangeStaging, stagedWithFirstChange, writeWithAuditEntry } from '../../audit/outbox';
import { skippedDocument, type SkippedDocument } from './legal-hold';
import type { TenantRecord } from '../../ports';
import type { Actor, LegalHold } from '../../kernel/retention';
import type { OpenHoldQuery } from '../../kernel/retention-rules';
import { actorOf } from '../update';
import { canonicalJson } from '../../kernel/audit-chain';
import { CHANGED, withFreshReads } from '../../kernel/concurrency';
import { releaseAsEverywhere } from './release-hold';
import { assertWithinTenantLimit } from '../../auth/tenant-limits';
import { gateMoved, underTenantGate } from '../../auth/rights-gate';

/**
 * A hold by query, as placed: the record every hold by query has (keyed or not; before holds by query were live, only
 * keyed ones had one). Open (no `releasedAt`), it holds what its query matches from then on: the reconciler extends it
 * to documents archived or corrected into the query since (extend-holds-by-query.ts), and the sweep disposes of none of
 * them meanwhile. With an Idempotency-Key, it is what a retry is compared with: the documents that carry the hold
 * cannot say it (a request with the key and another query matches none of them). Made before any document is held, so
 * a request with the key sent at once finds it.
 */
export interface HoldByQueryRecord extends TenantRecord {
  type: 'legal-hold-by-query';
  holdId: string;
  placedBy: Actor;
  createdAt: string;
  request: Pick<LegalHold, 'reason' | 'caseReference'> & { query: HoldQuery };
  /**
   * The hold's release everywhere: it holds nothing new from then on, and a retry holds nothing more. (Set by the
   * release of any one of its documents before holds by query were live: such a hold stays as it was then.)
   */
  releasedAt?: string;
  releasedBy?: Actor;
  releaseReason?: string;
}
export const holdByQueryRecordId = (holdId: string) => `legal-hold-by-query:${holdId}`;
/** The tenant's gate its holds by query are counted under (rights-gate.ts underTenantGate). */
export const HOLDS_BY_QUERY_GATE_ID = 'holds-by-query-gate';

/** Notes a hold by query's release everywhere in its record: it reaches no document more. */
export async function markHoldByQueryReleased(tenantId: string, holdId: string, release: { by: Actor; at: string; reason: string }, deps: Pick<HoldDeps, 'tenantRecords' | 'clock'>, audit?: AuditStaging): Promise<void> {
  await withFreshReads('The legal hold', async () => {
    const found = await deps.tenantRecords.get<HoldByQueryRecord>(tenantId, holdByQueryRecordId(holdId), 'legal-hold-by-query', { fresh: true });
    if (!found || isReleased(found.value, deps.clock.now())) return undefined;
    const marked = { ...found.value, releasedAt: release.at, releasedBy: release.by, releaseReason: release.reason };
    // The release's entry goes with the mark: stored before any document is released (and when none carries it open).
    return (await writeWithAuditEntry(audit, {}, (outbox) => deps.tenantRecords.replace(marked, found.etag, outbox), (r) => r === 'replaced')) === 'replaced' ? undefined : CHANGED;
  });
}

/** The tenant's open holds by query, as stored now (never a cached copy: what they hold is decided from it). */
export async function openHoldsByQuery(tenantId: string, deps: Pick<HoldDeps, 'tenantRecords' | 'clock'>): Promise<HoldByQueryRecord[]> {
  const now = deps.clock.now();
  // The query takes every record isReleased may call open (no time, not text, not as the archive writes one, or far
  // ahead), never the released ones a tenant piles up; isReleased then decides.
  const ahead = new Date(now.getTime() + WRITTEN_AHEAD_TOLERANCE_MS).toISOString();
  const maybeOpen = await deps.tenantRecords.list<HoldByQueryRecord>(tenantId, 'legal-hold-by-query', MAYBE_UNRELEASED_SQL, [{ name: '@written', value: RELEASE_AS_WRITTEN }, { name: '@ahead', value: ahead }]);
  return maybeOpen.filter((r) => !isReleased(r, now));
}

/**
 * An instant as the archive writes one (24 characters), on the calendar, hours to 23 and seconds to 59: text readInstant
 * reads, in time order as text. 29 February is left to isReleased (taken as maybe open). Asked only for 24 characters,
 * `2025-02-30T00:00:00.000Z` or `…T25:00:00.000Z` sorting before now was left out as released, while isReleased reads
 * no instant in it and holds the hold open: the sweep disposed of the documents the hold had yet to reach.
 */
export const RELEASE_AS_WRITTEN = '^\\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)|02-(?:0[1-9]|1\\d|2[0-8]))T(?:[01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d\\.\\d{3}Z$';

/** Records whose `releasedAt` may not be a release (isReleased): anything but an instant as written (@written), not ahead of @ahead. */
export const MAYBE_UNRELEASED_SQL = '(NOT IS_DEFINED(c.releasedAt) OR NOT IS_STRING(c.releasedAt) OR NOT RegexMatch(c.releasedAt, @written) OR c.releasedAt > @ahead)';

/** The tenant's open holds by query as the sweep, the disposal review and approvals judge documents by them. */
export async function openHoldQueries(tenantId: string, deps: Pick<HoldDeps, 'tenantRecords' | 'clock'>): Promise<OpenHoldQuery[]> {
  return (await openHoldsByQuery(tenantId, deps)).map((r) => ({ holdId: r.holdId, query: r.request.query }));
}

/** The hold's record as stored now, or null (a hold by query placed before records, unkeyed). */
export async function holdByQueryRecord(tenantId: string, holdId: string, deps: Pick<HoldDeps, 'tenantRecords'>): Promise<HoldByQueryRecord | null> {
  return (await deps.tenantRecords.get<HoldByQueryRecord>(tenantId, holdByQueryRecordId(holdId), 'legal-hold-by-query', { fresh: true }))?.value ?? null;
}

/** Who releases, as it was released everywhere, what a retry of a hold's placing placed after the release went by. */
export const HOLD_BY_QUERY_ACTOR: Actor = { subject: 'system:legal-hold-by-query', kind: 'system' };

/**
 * After placing a hold by query on documents read while the hold was open: if its release everywhere was noted since,
 * that release may have gone over the documents carrying it before these got it, so each is released here as it was
 * everywhere (held too long for a moment, never held after the hold ended), audited as `actor`'s.
 */
export async function releasedMeanwhile(tenantId: string, holdId: string, placedOn: readonly string[], actor: Actor, deps: HoldDeps & Pick<Deps, 'auditOutbox'>): Promise<void> {
  if (placedOn.length === 0) return;
  const record = await holdByQueryRecord(tenantId, holdId, deps);
  if (!record?.releasedAt || !isReleased(record, deps.clock.now()) || !record.releasedBy) return;
  const release = { id: holdId, releasedAt: record.releasedAt, releasedBy: record.releasedBy, releaseReason: record.releaseReason ?? 'released everywhere' };
  for (const documentId of placedOn) {
    const entry = ownChangeStaging(deps.auditOutbox, { tenantId, at: deps.clock.now().toISOString(), actor, action: 'legal-hold.release', requestId: `hold-released-everywhere:${holdId}:${documentId}` });
    await releaseAsEverywhere(tenantId, documentId, release, deps, entry.staging).catch((err: unknown) => {
      if (!(err instanceof ArchiveError && (err.code === 'document_disposed' || err.code === 'document_not_found'))) throw err;
    });
    await entry.appended();
  }
}

/** A hold by query's documents' placement entries appended together (placeHoldsByQuery), at most, and at the latest after. */
const ENTRIES_PER_RELEASE = 100;
const RELEASE_WITHIN_MS = 60_000;

/**
 * One hold over every active document matching the query (a tax audit of a year, a dispute with
 * a counterparty). At most ARCHIVE_HOLD_QUERY_MAX_DOCUMENTS documents: the matches are collected
 * first, and a broader query is refused (400 `invalid_query`, with `matched` and `limit`) before
 * any hold is placed; the caller narrows it (a counterparty within a year) or holds in parts.
 * A match the sweep claimed (or disposed of) between the query and its turn is reported in
 * `skipped`, and the hold goes on to the rest: one such document must not leave every later
 * match unheld for the next sweep to dispose of.
 */
export async function placeHoldsByQuery(cmd: Omit<PlaceHold, 'documentId'> & { query: HoldQuery; audit?: AuditStaging; /** Validated (ids.ts idempotencyKeyOf): the hold's id is derived from it, so a retry places the same hold. */ idempotencyKey?: string | null }, deps: HoldDeps & Pick<Deps, 'config' | 'auditOutbox'>): Promise<{ holdId: string; documentIds: string[]; skipped: SkippedDocument[]; replayed: boolean }> {
  const tenantId = cmd.principal.tenantId;
  // With a key, a retry (its answer lost) places the same hold: documents that carry it already are left as they are, and
  // documents that match the query only now get it too, as the reconciler would give it them (not once the hold was
  // released everywhere: below); without one, a retry would place a second hold, each to be released by four eyes.
  const holdId = cmd.idempotencyKey ? idFromIdempotencyKey(tenantId, personOf(cmd.principal), cmd.idempotencyKey, 'legal-hold-by-query') : uuidv7(deps.clock.now().getTime());
  const limit = deps.config.ARCHIVE_HOLD_QUERY_MAX_DOCUMENTS;
  const documentIds: string[] = [];
  // Documents the same request held before (its answer lost) are looked at first: a retry that is not the same request
  // is refused (422) before it holds anything. One whose hold was released (by four eyes) stays released.
  const carrying: string[] = [];
  const releasedOn: string[] = [];
  let carried: LegalHold | undefined;
  let token: string | undefined;
  do {
    const page = await deps.retention.catalog.matching(tenantId, cmd.query, 100, token);
    for (const d of page.items) {
      const h = d.holds?.find((x) => x.id === holdId);
      if (h) carried ??= h;
      (h && isReleased(h, deps.clock.now()) ? releasedOn : h ? carrying : documentIds).push(d.id);
    }
    if (carrying.length + releasedOn.length + documentIds.length > limit) {
      const matched = await deps.retention.catalog.countMatching(tenantId, cmd.query);
      throw new ArchiveError('invalid_query', {
        detail: `The query matches ${matched} documents; one legal hold by query covers at most ${limit}. Nothing was held: narrow the query (e.g. a counterparty within a fiscal year) or place the hold in parts.`,
        extensions: { reason: 'hold-query-too-broad', matched, limit },
      });
    }
    token = page.continuationToken ?? undefined;
  } while (token);
  const entry = stagedWithFirstChange(cmd.audit, holdId);
  const asked: HoldByQueryRecord['request'] = { reason: cmd.reason, caseReference: cmd.caseReference, query: cmd.query };
  let earlier = cmd.idempotencyKey ? await holdByQueryRecord(tenantId, holdId, deps) : null;
  if (cmd.idempotencyKey) {
    // Placed before requests kept a record: a document that carries the hold says what it was placed for.
    const placedFor = earlier?.request ?? (carried ? { reason: carried.reason, caseReference: carried.caseReference, query: carried.query ?? {} } : null);
    if (placedFor) sameHoldRequest(holdId, placedFor, asked);
    // Released everywhere (by four eyes): its retry is answered the documents it still holds, and holds nothing more.
    // Extended to documents matching only now, the hold two people ended came back. A hold placed before records whose
    // documents say it was released anywhere is taken as ended too, as it was then.
    if ((earlier && isReleased(earlier, deps.clock.now())) || (!earlier && releasedOn.length > 0)) return { holdId, documentIds: carrying, skipped: [], replayed: true };
  }
  // Made by this request (not a retry of one that made it): nothing it answers is a replay.
  let madeNow = false;
  if (!earlier) {
    const record: HoldByQueryRecord = { id: holdByQueryRecordId(holdId), tenantId, type: 'legal-hold-by-query', holdId, placedBy: actorOf(cmd.principal), createdAt: deps.clock.now().toISOString(), request: asked };
    // Every open one is searched for new documents by each reconciler run: a tenant's number of them is bounded. Counted
    // under the tenant's gate of holds by query, which the record's batch moves: of two placed at once into the last
    // room, the second finds the gate moved, counts again and is refused (counted before and written after, both passed).
    const created = await underTenantGate(HOLDS_BY_QUERY_GATE_ID, 'The legal holds by query', tenantId, deps, async (gate) => {
      assertWithinTenantLimit('holds-by-query', (await openHoldsByQuery(tenantId, deps)).length, deps.config.ARCHIVE_MAX_OPEN_HOLDS_BY_QUERY);
      // The request's entry goes with the record: stored before any document is held under it.
      const written = await writeWithAuditEntry(entry.staging, {}, (outbox) => deps.tenantRecords.batch(tenantId, [gateMoved(gate, record.id), { op: 'create', record }], outbox), (r) => r === 'written');
      if (written === 'written') return 'created' as const;
      // The same key sent at once made it first, or another hold by query moved the gate: count again.
      return (await holdByQueryRecord(tenantId, holdId, deps)) ? ('exists' as const) : CHANGED;
    });
    madeNow = created === 'created';
    if (created === 'exists') earlier = await holdByQueryRecord(tenantId, holdId, deps); // the same key sent at once made it first
    if (earlier) sameHoldRequest(holdId, earlier.request, asked);
  }
  const held: string[] = [];
  const placedNow: string[] = [];
  /**
   * The documents' placement entries, stored with their changes, appended in batches (below) and whatever is left once
   * the loop is done (or fails). Broke: appended and removed one by one, awaited before the next document, a hold by query at its
   * limit (up to 10,000 documents) took that many more sequential round trips in one request. Sent in batches of
   * ENTRIES_PER_RELEASE, and before the oldest waits RELEASE_WITHIN_MS: an item must be sent within
   * AUDIT_OUTBOX_SEND_WITHIN_MS of its change, or the sealing timer appends it as well (the same entry twice).
   */
  const entries: AuditOutboxItem[] = [];
  const release = async () => {
    const batch = entries.splice(0);
    if (batch.length > 0) await deps.auditOutbox.releaseAllNow(batch);
  };
  const skipped: SkippedDocument[] = [];
  const place = async (documentId: string, last: boolean): Promise<boolean> => {
    // Each document it reaches its own entry (as the reconciler's extension writes), naming the approval it withdrew; the
    // first change stored carries the request's too. Broke: the request's one entry, on the hold, named no document, and
    // a withdrawn approval written back after the release, the hold taken off the document, stood (the sweep had only
    // the document's holds to go by, which a writer of Cosmos DB edits).
    // Appended in batches (`release`), not one by one: each is stored with its change (the outbox) either way.
    const own = ownChangeStaging(deps.auditOutbox, { tenantId, at: deps.clock.now().toISOString(), actor: actorOf(cmd.principal), action: 'legal-hold.place', requestId: `hold-placed:${holdId}:${documentId}` }).staging;
    const request = entry.staging;
    const audit: AuditStaging = request
      ? {
          item: (target, detail) => {
            // One item is appended to one audit partition: the document's entry at the request's time.
            const first = request.item();
            return { ...first, entries: [...first.entries, ...own.item(target, detail).entries.map((e) => ({ ...e, at: first.at }))] };
          },
          stored: (item) => request.stored(item),
        }
      : { item: (target, detail) => own.item(target, detail), stored: (item) => void entries.push(item) };
    try {
      const { replayed } = await placeHoldOn({ principal: cmd.principal, reason: cmd.reason, caseReference: cmd.caseReference, documentId, holdId, query: cmd.query, audit }, deps);
      if (!replayed) placedNow.push(documentId);
      held.push(documentId);
    } catch (err) {
      const passed = skippedDocument(documentId, err, ['document_disposed', 'document_not_found', 'document_being_disposed', 'too_many_holds']);
      if (passed.reason === 'document_being_disposed' && !last) return false;
      skipped.push(passed);
    } finally {
      if (entries.length >= ENTRIES_PER_RELEASE || deps.clock.now().getTime() - Date.parse(entries[0]?.at ?? '') >= RELEASE_WITHIN_MS) await release();
    }
    return true;
  };
  // A document the sweep claimed after the hold reached its blobs is tried again after the others: storage refuses its
  // disposal meanwhile and it is active again. Still claimed then, it is skipped (the open hold reaches it with the reconciler).
  const again: string[] = [];
  try {
    for (const documentId of [...carrying, ...documentIds]) if (!(await place(documentId, false))) again.push(documentId);
    for (const documentId of again) await place(documentId, true);
  } finally {
    await release();
  }
  // Released everywhere while this request went over its documents (the hold's id is listed as soon as one carries it;
  // a retry's is known from the start): what it placed after the release went by is released as it was.
  await releasedMeanwhile(tenantId, holdId, placedNow, HOLD_BY_QUERY_ACTOR, deps);
  // A document the reconciler reached first (the hold is open from its record on) is no replay of this request's.
  return { holdId, documentIds: held, skipped, replayed: !madeNow && held.length > 0 && placedNow.length === 0 };
}

/** Another request with the key of a hold by query is a 422: it must neither be told the first hold stands nor extend it to its own query. */
function sameHoldRequest(holdId: string, earlier: HoldByQueryRecord['request'], asked: HoldByQueryRecord['request']): void {
  const differences = (['reason', 'caseReference', 'query'] as const).filter((k) => canonicalJson(earlier[k]) !== canonicalJson(asked[k]));
  if (differences.length > 0) {
    throw new ArchiveError('idempotency_key_reused', { detail: `This Idempotency-Key already placed hold ${holdId} with another ${differences.join(', ')}; nothing was held.`, extensions: { holdId, differences } });
  }
}

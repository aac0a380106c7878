import { z } from 'zod';
import { numberInUrl } from '../shared/kernel/url-number';
import { shownText } from '../shared/kernel/text';
import { pageToken, ZContinuationToken } from '../shared/kernel/page-token';
import { operation, reply } from '../shared/http/operation';
import { ZHoldByQuery, ZHoldsResult, ZId, ZLegalHold } from '../shared/http/schemas';
import { placeHoldOn } from '../shared/retention/holds/place-hold';
import { openHoldsByQuery, placeHoldsByQuery } from '../shared/retention/holds/place-holds-by-query';
import { mapLimit } from '../shared/kernel/concurrency';
import { releaseHold, releasedHoldAnsweredTo } from '../shared/retention/holds/release-hold';
import { releaseHoldEverywhere } from '../shared/retention/holds/release-hold-everywhere';

const ZPlaceHold = z.strictObject({ reason: shownText('prose', 500), caseReference: shownText('line', 200) });
const ZPlaceHoldsByQuery = ZPlaceHold.extend({
  query: z
    .strictObject({ fiscalYear: z.number().int().min(1900).max(2200).optional(), counterparty: shownText('line', 200).optional() })
    .refine((q) => q.fiscalYear !== undefined || q.counterparty !== undefined, 'name a fiscalYear and/or a counterparty'),
});
const ZReleaseHold = z.strictObject({ reason: shownText('prose', 500) });

/** The example the other definitions follow: everything about one operation, in one place. */
export const placeDocumentHold = operation({
  name: 'placeLegalHold', method: 'POST', route: 'documents/{id}/legal-holds', tags: ['retention'],
  summary: 'Place a legal hold on a document',
  description: '`Idempotency-Key` makes a retry safe: the hold\'s id is derived from it, the accountable person and the document, so a retry answers the hold already placed (`Idempotent-Replayed: true`) instead of placing a second one; the same key with another reason or case reference is a 422, on another document a hold of its own.',
  auth: 'tenant', permission: 'holds:place', action: 'legal-hold.place', idempotencyKey: true,
  params: z.strictObject({ id: ZId }), paramsError: 'document_not_found',
  body: { json: ZPlaceHold, example: { reason: 'Tax audit 2024', caseReference: 'FA-2024-117' } },
  responses: { 201: { description: 'Placed; Location names the hold', json: ZLegalHold, headers: ['Location', 'Idempotent-Replayed'] } },
  errors: ['document_not_found', 'document_disposed', 'too_many_holds', 'document_record_full', 'worm_unavailable', 'idempotency_key_reused'],
  handler: async ({ params, body, idempotencyKey, principal, audit }, deps) => {
    const { hold, replayed } = await placeHoldOn({ principal, documentId: params.id, ...body, idempotencyKey, audit: audit.staging(201) }, deps);
    if (replayed) audit.detail = `hold=${hold.id};replayed`;
    return reply(201, hold, { Location: `${deps.config.ARCHIVE_PUBLIC_BASE_PATH}/documents/${params.id}/legal-holds/${hold.id}`, ...(replayed ? { 'Idempotent-Replayed': 'true' } : {}) });
  },
});

export const placeQueryHold = operation({
  name: 'placeLegalHoldsByQuery', method: 'POST', route: 'legal-holds', tags: ['retention'],
  summary: 'Place a legal hold on every document matching a search (at most ARCHIVE_HOLD_QUERY_MAX_DOCUMENTS), and on those archived or corrected into it while the hold is open',
  description: 'The hold is live until it is released everywhere: the reconciler places it on documents archived or corrected into the query later (`extendedAt` on the hold; within ARCHIVE_RECONCILE_SCHEDULE), and until then the retention sweep disposes of none that the query matches. A document released from it alone stays released. `Idempotency-Key` makes a retry safe: the hold\'s id is derived from it and the accountable person, so a retry places the same hold (documents that carry it already are left as they are, those released from it stay released; `Idempotent-Replayed: true` when none needed it) instead of a second one; once the hold was released everywhere a retry is answered the documents it still holds (`Idempotent-Replayed: true`) and holds no more; the same key with another reason, case reference or query is a 422.',
  auth: 'tenant', permission: 'holds:place', action: 'legal-hold.place-by-query', idempotencyKey: true,
  body: { json: ZPlaceHoldsByQuery, example: { reason: 'Litigation', caseReference: 'LG-9', query: { counterparty: 'ACME GmbH' } } },
  responses: { 201: { description: 'Placed on every matching document but those in `skipped` (disposed of meanwhile)', json: ZHoldsResult, headers: ['Idempotent-Replayed'] } },
  errors: ['invalid_query', 'tenant_limit_reached', 'worm_unavailable', 'idempotency_key_reused'],
  handler: async ({ body, idempotencyKey, principal, audit }, deps) => {
    const result = await placeHoldsByQuery({ principal, ...body, idempotencyKey, audit: audit.staging(201) }, deps);
    audit.target = result.holdId;
    if (result.replayed) audit.detail = 'replayed';
    return reply(201, { holdId: result.holdId, documents: result.documentIds.length, documentIds: result.documentIds, skipped: result.skipped }, result.replayed ? { 'Idempotent-Replayed': 'true' } : undefined);
  },
});

export const releaseDocumentHold = operation({
  name: 'releaseLegalHold', method: 'DELETE', route: 'documents/{id}/legal-holds/{holdId}', tags: ['retention'],
  summary: 'Release a legal hold (four eyes: not by the person who placed it, nor through their API key)',
  auth: 'tenant', permission: 'holds:release', action: 'legal-hold.release',
  params: z.strictObject({ id: ZId, holdId: ZId }), paramsError: 'hold_not_found',
  body: { json: ZReleaseHold, example: { reason: 'Audit closed' } },
  responses: { 200: { description: 'Released; the hold as it is now (to a principal without documents:read, without the disposal approval it withdrew)', json: ZLegalHold } },
  errors: ['document_not_found', 'hold_not_found', 'hold_already_released', 'four_eyes_required', 'hold_placement_unwitnessed', 'worm_unavailable'],
  handler: async ({ params, body, principal, audit }, deps) => reply(200, releasedHoldAnsweredTo(principal, await releaseHold({ principal, documentId: params.id, holdId: params.holdId, reason: body.reason, audit: audit.staging(200) }, deps))),
});

export const releaseQueryHold = operation({
  name: 'releaseLegalHoldEverywhere', method: 'DELETE', route: 'legal-holds/{holdId}', tags: ['retention'],
  summary: 'Release a hold on every document it covers; a hold by query then reaches no document more (also one that holds none yet)',
  auth: 'tenant', permission: 'holds:release', action: 'legal-hold.release',
  params: z.strictObject({ holdId: ZId }), paramsError: 'hold_not_found',
  target: (p) => p.holdId,
  body: { json: ZReleaseHold },
  responses: { 200: { description: 'Released on every document carrying it but those in `skipped` (released by another request meanwhile)', json: ZHoldsResult } },
  errors: ['hold_not_found', 'hold_already_released', 'four_eyes_required', 'hold_placement_unwitnessed', 'worm_unavailable'],
  handler: async ({ params, body, principal, audit }, deps) => {
    const result = await releaseHoldEverywhere({ principal, holdId: params.holdId, reason: body.reason, audit: audit.staging(200) }, deps);
    return reply(200, { holdId: result.holdId, documents: result.documentIds.length, documentIds: result.documentIds, skipped: result.skipped });
  },
});

const ZListHolds = z.strictObject({
  status: z.literal('open'),
  limit: numberInUrl((n) => n.int().min(1).max(200).default(50)),
  continuationToken: ZContinuationToken.optional(),
});

/** `GET /legal-holds?status=open`: every open hold, per document under it, paged by document. */
export const listOpenHolds = operation({
  name: 'listLegalHolds', method: 'GET', route: 'legal-holds', tags: ['legal holds'], summary: 'Open legal holds (one item per held document and hold), paged by document',
  auth: 'tenant', permission: 'documents:read', action: 'legal-hold.list',
  query: ZListHolds,
  responses: { 200: { description: 'A page of open holds', json: z.strictObject({ items: z.array(ZLegalHold.extend({ documentId: z.string() })), continuationToken: z.string().nullable() }) } },
  errors: [],
  handler: async ({ query, principal }, deps) => {
    const scope = { list: 'legal-holds', tenantId: principal.tenantId, status: query.status };
    const page = await deps.retention.catalog.held(principal.tenantId, query.limit, pageToken.decode(query.continuationToken, scope));
    const items = page.items.flatMap((d) => (d.holds ?? []).filter((h) => !h.releasedAt).map((hold) => ({ documentId: d.id, ...hold })));
    return reply(200, { items, continuationToken: pageToken.encode(page.continuationToken, scope) });
  },
});

/**
 * `GET /legal-holds/by-query`: the open holds by query. Each holds what its query matches until it is released
 * everywhere, also while no document carries it (placed on a year with none yet, or each released alone), which the
 * per-document list cannot show.
 */
export const listOpenHoldsByQuery = operation({
  name: 'listLegalHoldsByQuery', method: 'GET', route: 'legal-holds/by-query', tags: ['legal holds'], summary: 'Open holds by query (live until released everywhere), newest first',
  auth: 'tenant', permission: 'documents:read', action: 'legal-hold.list',
  responses: { 200: { description: 'Every open hold by query of the tenant', json: z.strictObject({ items: z.array(ZHoldByQuery) }) } },
  errors: [],
  handler: async ({ principal }, deps) => {
    const open = await openHoldsByQuery(principal.tenantId, deps);
    // One count query each (at most ARCHIVE_MAX_OPEN_HOLDS_BY_QUERY), a few at a time.
    const counts = await mapLimit(open, 8, (r) => deps.retention.catalog.countCarryingOpen(principal.tenantId, r.holdId));
    const items = open
      .map((r, i) => ({ holdId: r.holdId, reason: r.request.reason, caseReference: r.request.caseReference, query: r.request.query, placedAt: r.createdAt, placedBy: r.placedBy, documents: counts[i]! }))
      .sort((a, b) => (a.placedAt === b.placedAt ? (a.holdId < b.holdId ? 1 : -1) : a.placedAt < b.placedAt ? 1 : -1));
    return reply(200, { items });
  },
});

export const legalHoldRoutes = [listOpenHolds, listOpenHoldsByQuery, placeDocumentHold, releaseDocumentHold, releaseQueryHold, placeQueryHold];

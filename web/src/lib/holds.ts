/** The holds screen's list: the per-document holds grouped into holds, and the live holds by query beside them. */
import type { paths } from '../../../cli/api/openapi-types';

type HeldItem = paths['/legal-holds']['get']['responses'][200]['content']['application/json']['items'][number];
type HoldByQuery = paths['/legal-holds/by-query']['get']['responses'][200]['content']['application/json']['items'][number];
export interface Hold {
  id: string;
  reason: string;
  caseReference: string;
  placedAt: string;
  placedBy: HeldItem['placedBy'];
  /** Documents carrying it that the screen has read (every page of GET /legal-holds, up to its bound), for links. */
  documentIds: string[];
  /** How many documents carry it now: for a hold by query the archive's count, else those read. */
  documents: number;
  /** A live hold by query (listed by GET /legal-holds/by-query): it also holds documents archived into it later. */
  query?: HoldByQuery['query'];
}

/** The API lists one item per document and hold; a person thinks of one hold covering documents. */
export function groupHolds(items: HeldItem[]): Hold[] {
  const byId = new Map<string, Hold>();
  for (const item of items) {
    const hold = byId.get(item.id) ?? { id: item.id, reason: item.reason, caseReference: item.caseReference, placedAt: item.placedAt, placedBy: item.placedBy, documentIds: [], documents: 0 };
    hold.documentIds.push(item.documentId);
    hold.documents = hold.documentIds.length;
    byId.set(item.id, hold);
  }
  return [...byId.values()].sort((a, b) => b.placedAt.localeCompare(a.placedAt));
}

/**
 * The open holds by query (one no document carries yet included), each with the documents that carry it now,
 * and beside them the per-document holds that are not among them, as before; newest first.
 */
export function mergeHolds(perDocument: Hold[], byQuery: HoldByQuery[]): Hold[] {
  const carried = new Map(perDocument.map((h) => [h.id, h.documentIds]));
  const live: Hold[] = byQuery.map((q) => ({ id: q.holdId, reason: q.reason, caseReference: q.caseReference, placedAt: q.placedAt, placedBy: q.placedBy, documentIds: carried.get(q.holdId) ?? [], documents: q.documents, query: q.query }));
  const liveIds = new Set(live.map((h) => h.id));
  return [...live, ...perDocument.filter((h) => !liveIds.has(h.id))].sort((a, b) => b.placedAt.localeCompare(a.placedAt));
}

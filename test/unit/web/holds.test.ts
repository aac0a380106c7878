/** The holds screen's list: live holds by query with the archive's count of the documents carrying them, one no document carries yet included. */
import { groupHolds, mergeHolds } from '../../../web/src/lib/holds';

const by = { subject: 'ada', kind: 'user' };
const item = (id: string, documentId: string, placedAt: string) => ({ id, documentId, reason: 'r', caseReference: `C-${id}`, placedAt, placedBy: by });

it('lists each open hold by query with the documents that carry it now, and the other holds as before, newest first', () => {
  const perDocument = groupHolds([item('q1', 'd1', '2026-01-02T00:00:00Z'), item('q1', 'd2', '2026-01-02T00:00:00Z'), item('doc', 'd3', '2026-01-01T00:00:00Z')]);
  const merged = mergeHolds(perDocument, [
    { holdId: 'q1', reason: 'audit', caseReference: 'BD-1', query: { fiscalYear: 2024 }, placedAt: '2026-01-02T00:00:00Z', placedBy: by, documents: 250 },
    { holdId: 'q2', reason: 'audit', caseReference: 'BD-2', query: { counterparty: 'ACME' }, placedAt: '2026-01-03T00:00:00Z', placedBy: by, documents: 0 },
  ]);
  // q1's count is the archive's (more than the first page of the per-document list read), its links those read.
  expect(merged.map((h) => [h.id, h.documentIds, h.documents, h.query])).toEqual([
    ['q2', [], 0, { counterparty: 'ACME' }],
    ['q1', ['d1', 'd2'], 250, { fiscalYear: 2024 }],
    ['doc', ['d3'], 1, undefined],
  ]);
});

it('shows a per-document hold the by-query list does not name as before (a hold placed on one document)', () => {
  expect(mergeHolds(groupHolds([item('doc', 'd3', '2026-01-01T00:00:00Z')]), [])).toEqual([{ id: 'doc', reason: 'r', caseReference: 'C-doc', placedAt: '2026-01-01T00:00:00Z', placedBy: by, documentIds: ['d3'], documents: 1 }]);
});

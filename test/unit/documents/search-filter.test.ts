import fc from 'fast-check';
import { ZListQuery } from '../../../shared/documents/list-documents';
import { DOCUMENT_KINDS } from '../../../shared/kernel/document';
import { ZExportRequest } from '../../../shared/kernel/export';
import { ZSearchFilter } from '../../../shared/kernel/search';

const day = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2030, 0, 1) }).map((t) => new Date(t).toISOString().slice(0, 10));
const word = fc.stringMatching(/^[a-z0-9-]{1,20}$/);
const filter = fc.record(
  {
    fiscalYear: fc.integer({ min: 1900, max: 2200 }),
    from: day,
    to: day,
    kind: fc.constantFrom(...DOCUMENT_KINDS),
    counterparty: word,
    amountMin: fc.integer({ min: -1e6, max: 1e6 }),
    amountMax: fc.integer({ min: -1e6, max: 1e6 }),
    currency: fc.constantFrom('EUR', 'USD', 'CHF'),
    reference: word,
    tags: fc.uniqueArray(word, { minLength: 1, maxLength: 10 }),
    correctedSince: fc.oneof(day, fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2030, 0, 1) }).map((t) => new Date(t).toISOString().replace('Z', '+00:00'))),
  },
  { requiredKeys: [] },
);

describe('one search filter', () => {
  it('a search means the same in a URL (GET /documents) and in a body (POST /exports)', () => {
    fc.assert(
      fc.property(filter, (f) => {
        const params = Object.fromEntries(Object.entries(f).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)]));
        const { sort: _s, order: _o, limit: _l, continuationToken: _c, ...fromUrl } = ZListQuery.parse(params);
        const { includeOriginals: _i, csv: _csv, ...fromBody } = ZExportRequest.parse(f);
        expect(fromUrl).toEqual(ZSearchFilter.parse(f));
        expect(fromBody).toEqual(ZSearchFilter.parse(f));
      }),
    );
  });
});

it.each([' ', '   ', '\u0301', ' \u0308 '])('refuses a counterparty or reference %j that would match every document (a prefix of every key)', (text) => {
  for (const field of ['counterparty', 'reference']) {
    expect(ZListQuery.safeParse({ [field]: text }).success).toBe(false);
    expect(ZExportRequest.safeParse({ [field]: text }).success).toBe(false);
  }
  expect(ZListQuery.safeParse({ counterparty: ' é' }).success).toBe(true);
});

import { z } from 'zod';
import { OUTSIDE_STORED_YEARS, withinStoredYears } from './instant';
import { DOCUMENT_KINDS } from './document';
import { amountOf } from './metadata';
import { searchKey } from './search-keys';
import { shownText } from './text';
import { numberInUrl } from './url-number';

const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD');
/**
 * A counterparty or reference to search by: a prefix of the normalised key (search-keys.ts). Text whose
 * key is empty (spaces, combining marks only) is a prefix of every key: it matched every document that
 * has one, and an export "of one counterparty" held them all.
 */
const prefix = shownText('line', 200).refine((s) => searchKey(s) !== '', 'must contain a letter, digit or sign other than space');

/**
 * A moment to search from: an ISO 8601 instant with its offset, or a date (its start, UTC). As the archive stores
 * its instants (UTC, milliseconds), so the catalog compares them as text in time order.
 */
const since = z
  .union([z.iso.datetime({ offset: true }), z.iso.datetime({ offset: true, precision: -1 }), z.iso.date()], { error: 'must be a date (YYYY-MM-DD) or an instant with its offset, e.g. 2025-03-14T09:30Z' })
  .refine(withinStoredYears, OUTSIDE_STORED_YEARS)
  .transform((s) => new Date(s.length === 10 ? `${s}T00:00:00Z` : s).toISOString())
  // What it stands for once read (an export keeps it, and answers it): an instant, for the described answers too.
  .pipe(z.string().meta({ format: 'date-time' }));

/**
 * The one search filter over the catalog (GET /documents, POST /exports, the catalog port).
 * Stated once; `query` reads it from a URL (numbers as text, tags comma-separated), `json`
 * from a request body. Both parse to the same `SearchFilter`.
 */
export function searchFilterShape(encoding: 'query' | 'json') {
  // In a URL every number is text (numberInUrl); in JSON it is a number.
  const number = <T extends z.ZodType>(build: (n: z.ZodNumber) => T, digits: 'integer' | 'decimal') => (encoding === 'query' ? numberInUrl(build, digits) : build(z.number()));
  // What metadata may hold (kernel/metadata.ts): an export keeps its filter and shows it to others.
  const tags = z.array(shownText('line', 50)).min(1).max(10);
  return {
    fiscalYear: number((n) => n.int().min(1900).max(2200).optional(), 'integer'),
    from: date.optional(),
    to: date.optional(),
    kind: z.enum(DOCUMENT_KINDS).optional(),
    counterparty: prefix.optional(),
    amountMin: number((n) => amountOf(n).optional(), 'decimal'),
    amountMax: number((n) => amountOf(n).optional(), 'decimal'),
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR').optional(),
    reference: prefix.optional(),
    /**
     * Documents whose metadata was corrected at or after this moment (an export's `createdAt`: what changed since it).
     * With `fiscalYear`, a document corrected out of that year matches too: the year's earlier export held it.
     */
    correctedSince: since.optional(),
    /** Every tag must be present (in a URL: comma-separated). */
    tags: (encoding === 'query'
      ? z
        .string()
        // Bounded as the list is (10 tags of 50, commas, some blanks): unbounded, the description let a client send a
        // query longer than a server reads as its request line (the local host's 16 KiB: a 431).
        .max(600)
        .transform((s) => s.split(',').map((t) => t.trim()).filter(Boolean))
        .pipe(tags)
      : tags
    ).optional(),
  };
}

export const ZSearchFilter = z.strictObject(searchFilterShape('json'));
export type SearchFilter = z.infer<typeof ZSearchFilter>;

/** A bulk legal hold names its documents by a narrower search: fiscal year and/or counterparty. */
export type HoldQuery = Pick<SearchFilter, 'fiscalYear' | 'counterparty'>;

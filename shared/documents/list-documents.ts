import { z } from 'zod';
import { numberInUrl } from '../kernel/url-number';
import type { Deps } from '../deps';
import { ArchiveError } from '../kernel/errors';
import { DOCUMENT_SORT_KEYS, Page } from '../ports';
import type { ArchivedDocument } from '../kernel/document';
import { searchFilterShape } from '../kernel/search';
import { invalidPageToken, pageToken, type PageScope, ZContinuationToken } from '../kernel/page-token';

export const ZListQuery = z.strictObject({
  ...searchFilterShape('query'),
  sort: z.enum(DOCUMENT_SORT_KEYS).default('createdAt'),
  order: z.enum(['asc', 'desc']).default('desc'),
  limit: numberInUrl((n) => n.int().min(1).max(200).default(50)),
  continuationToken: ZContinuationToken.optional(),
});
export type TListQuery = z.infer<typeof ZListQuery>;

/** The tenant's documents matching a search, sorted (newest first by default), paged with an opaque continuation token. */
export async function listDocuments(tenantId: string, q: TListQuery, deps: Pick<Deps, 'catalog'>): Promise<Page<ArchivedDocument>> {
  if (q.amountMin !== undefined && q.amountMax !== undefined && q.amountMin > q.amountMax) {
    throw new ArchiveError('invalid_query', { detail: 'amountMin must not be greater than amountMax.' });
  }
  const { continuationToken, limit: _limit, ...search } = q;
  // The page size may change between pages; the search and sort may not.
  const scope = { list: 'documents', tenantId, ...search };
  const token = continuationToken ? decodeToken(continuationToken, scope) : undefined;
  const page = await deps.catalog.list(tenantId, { ...q, continuationToken: token });
  return { items: page.items, continuationToken: pageToken.encode(page.continuationToken, scope) };
}

function decodeToken(token: string, scope: PageScope): string {
  const raw = pageToken.decode(token, scope)!;
  try {
    JSON.parse(raw);
  } catch {
    throw invalidPageToken();
  }
  return raw;
}

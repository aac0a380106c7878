import { z } from 'zod';
import type { Deps } from '../app';
import { ArchiveError } from '../http/errors';
import type { Page } from '../storage/catalog';
import { ArchivedDocument, DOCUMENT_KINDS } from './types';

const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD');
export const ZListQuery = z.strictObject({
  fiscalYear: z.coerce.number().int().min(1900).max(2200).optional(),
  from: date.optional(),
  to: date.optional(),
  kind: z.enum(DOCUMENT_KINDS).optional(),
  counterparty: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  continuationToken: z.string().min(1).max(4000).optional(),
});
export type TListQuery = z.infer<typeof ZListQuery>;

export function parseQuery<T extends z.ZodType>(schema: T, params: URLSearchParams): z.infer<T> {
  const parsed = schema.safeParse(Object.fromEntries(params));
  if (!parsed.success) {
    throw new ArchiveError('invalid_query', { detail: parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; ') });
  }
  return parsed.data;
}

/** The tenant's documents, newest first, paged with an opaque continuation token. */
export async function listDocuments(tenantId: string, q: TListQuery, deps: Pick<Deps, 'catalog'>): Promise<Page<ArchivedDocument>> {
  const token = q.continuationToken ? decodeToken(q.continuationToken) : undefined;
  const page = await deps.catalog.list(tenantId, { ...q, continuationToken: token });
  return { items: page.items, continuationToken: page.continuationToken ? Buffer.from(page.continuationToken).toString('base64url') : null };
}

function decodeToken(token: string): string {
  const raw = Buffer.from(token, 'base64url').toString('utf8');
  try {
    JSON.parse(raw);
  } catch {
    throw new ArchiveError('invalid_query', { detail: 'The continuation token is not valid.' });
  }
  return raw;
}

/**
 * A continuation token resumes only the query it was issued for. The store's token says where to
 * resume, not in which query: replayed with another sort, search or tenant it resumed there
 * silently (a createdAt token under `sort=documentDate&order=asc` answered an empty last page, as
 * if nothing matched). Now such a token is a 400 invalid_query; the page size may still change.
 */
import { listDocuments, ZListQuery } from '../../../shared/documents/list-documents';
import type { ArchivedDocument } from '../../../shared/kernel/document';
import { ArchiveError } from '../../../shared/kernel/errors';
import type { CatalogPort, DocumentQuery, Page } from '../../../shared/ports';

const STORE_TOKEN = '{"token":"+RID:x#RT:1#TRC:2","range":{"min":"","max":"FF"}}';

/** One page of nothing with a store token; records the token each call was given. */
class PagingCatalog {
  readonly given: (string | undefined)[] = [];
  async list(_tenantId: string, q: DocumentQuery): Promise<Page<ArchivedDocument>> {
    this.given.push(q.continuationToken);
    return { items: [], continuationToken: STORE_TOKEN };
  }
}

const query = (params: Record<string, string>) => ZListQuery.parse(params);

async function firstToken(catalog: PagingCatalog, tenant: string, params: Record<string, string>): Promise<string> {
  return (await listDocuments(tenant, query(params), { catalog: catalog as unknown as CatalogPort })).continuationToken!;
}

it('resumes the same search, sort and tenant, with any page size', async () => {
  const catalog = new PagingCatalog();
  const token = await firstToken(catalog, 'acme', { counterparty: 'Bakkerij', sort: 'amount', limit: '10' });
  await listDocuments('acme', query({ counterparty: 'Bakkerij', sort: 'amount', order: 'desc', limit: '50', continuationToken: token }), { catalog: catalog as unknown as CatalogPort });
  expect(catalog.given).toEqual([undefined, STORE_TOKEN]);
});

it.each([
  ['another sort', 'acme', { sort: 'documentDate' }],
  ['another order', 'acme', { order: 'asc' }],
  ['another filter', 'acme', { counterparty: 'Other' }],
  ['one more filter', 'acme', { fiscalYear: '2024' }],
  ['no filter', 'acme', { counterparty: undefined }],
  ['another tenant', 'other', {}],
])('refuses a token replayed with %s (400 invalid_query), and asks the store nothing', async (_, tenant, change) => {
  const catalog = new PagingCatalog();
  const first = { counterparty: 'Bakkerij' };
  const token = await firstToken(catalog, 'acme', first);
  const params = Object.fromEntries(Object.entries({ ...first, ...change, continuationToken: token }).filter(([, v]) => v !== undefined)) as Record<string, string>;
  const err = await listDocuments(tenant, query(params), { catalog: catalog as unknown as CatalogPort }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ArchiveError);
  expect((err as ArchiveError).code).toBe('invalid_query');
  expect(catalog.given).toEqual([undefined]);
});

it.each([
  ['the bare store token', Buffer.from(STORE_TOKEN).toString('base64url')],
  ['no scope', Buffer.from(JSON.stringify({ c: STORE_TOKEN })).toString('base64url')],
  ['not JSON', 'bm9wZQ'],
  ['a store token of other characters', Buffer.from(JSON.stringify({ s: 'x', c: '€' })).toString('base64url')],
])('refuses %s as not valid (400 invalid_query)', async (_, token) => {
  const catalog = new PagingCatalog();
  const err = await listDocuments('acme', query({ continuationToken: token }), { catalog: catalog as unknown as CatalogPort }).catch((e: unknown) => e);
  expect((err as ArchiveError).code).toBe('invalid_query');
  expect(catalog.given).toEqual([]);
});

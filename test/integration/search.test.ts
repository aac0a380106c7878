/** GET /documents as a search: filters, sort orders and continuation paging over a few hundred documents. */
import type { ArchivedDocument } from '../../shared/kernel/document';
import { call } from '../support/http';
import { newTenant, startTestArchive, TestArchive } from '../support/harness';
import { seedMany, SeedSpec } from '../support/seed';

const KINDS = ['invoice', 'receipt', 'credit-note', 'other'] as const;
const COUNTERPARTIES = ['Alpha BV', 'Beta NV', 'Gamma & Zn', 'Delta', 'Épicerie Ève'];
const N = 300;

let archive: TestArchive;
let tenant: string;
let token: string;
let docs: ArchivedDocument[];

function spec(i: number): SeedSpec {
  const year = i % 3 === 0 ? 2023 : 2024;
  const date = `${year}-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`;
  return {
    metadata: {
      documentDate: date,
      kind: KINDS[i % KINDS.length],
      counterparty: COUNTERPARTIES[i % COUNTERPARTIES.length],
      amount: Math.round(i * 1.5 * 100) / 100,
      currency: 'EUR',
      reference: `REF-${i}`,
      tags: i % 2 ? ['q1', 'paid'] : ['open'],
    },
    createdAt: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString(),
  };
}

/** Every page of a search, following continuation tokens. */
async function all(query: string, limit: number): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let pages = 0;
  let cont: string | null = null;
  do {
    const url: string = `${archive.url}/documents?${query}&limit=${limit}${cont ? `&continuationToken=${encodeURIComponent(cont)}` : ''}`;
    const r = await call(url, { token });
    expect(r.status).toBe(200);
    expect(r.json.items.length).toBeLessThanOrEqual(limit);
    ids.push(...r.json.items.map((d: { id: string }) => d.id));
    cont = r.json.continuationToken;
    pages++;
  } while (cont && pages < 100);
  return { ids, pages };
}

const byKey = (key: (d: ArchivedDocument) => string | number, dir: 1 | -1) => (a: ArchivedDocument, b: ArchivedDocument) => {
  const ka = key(a);
  const kb = key(b);
  if (ka !== kb) return (ka < kb ? -1 : 1) * dir;
  return (a.id < b.id ? -1 : 1) * dir;
};

beforeAll(async () => {
  archive = await startTestArchive();
  tenant = newTenant('search');
  token = await archive.token({ tenant, sub: 'accountant@search.example', rights: 'accountant' });
  docs = await seedMany(archive.host.deps, tenant, Array.from({ length: N }, (_, i) => spec(i)));
});
afterAll(() => archive.stop());

describe('GET /documents search', () => {
  it('filters by fiscal year and kind, sorts by amount ascending, pages with continuation tokens', async () => {
    const expected = docs.filter((d) => d.fiscalYear === 2024 && d.metadata.kind === 'invoice').sort(byKey((d) => d.metadata.amount!, 1));
    const { ids, pages } = await all('fiscalYear=2024&kind=invoice&sort=amount&order=asc', 7);
    expect(ids).toEqual(expected.map((d) => d.id));
    expect(pages).toBeGreaterThan(5);
  });

  it('combines date range, counterparty, amount range and tags, sorted by document date descending', async () => {
    const expected = docs
      .filter((d) => d.metadata.documentDate! >= '2024-03-01' && d.metadata.documentDate! <= '2024-09-30')
      .filter((d) => d.metadata.counterparty === 'Beta NV' && d.metadata.amount! >= 50 && d.metadata.amount! <= 400)
      .filter((d) => d.metadata.tags!.includes('paid') && d.metadata.tags!.includes('q1'))
      .sort(byKey((d) => d.metadata.documentDate!, -1));
    expect(expected.length).toBeGreaterThan(3);
    const q = `from=2024-03-01&to=2024-09-30&counterparty=${encodeURIComponent('Beta NV')}&amountMin=50&amountMax=400&tags=q1,paid&sort=documentDate&order=desc`;
    expect((await all(q, 3)).ids).toEqual(expected.map((d) => d.id));
  });

  it('finds one document by reference, and non-ASCII counterparties exactly', async () => {
    const r = await call(`${archive.url}/documents?reference=REF-123`, { token });
    expect(r.json.items.map((d: { id: string }) => d.id)).toEqual([docs[123]!.id]);
    const eve = await all(`counterparty=${encodeURIComponent('Épicerie Ève')}&currency=EUR`, 200);
    expect(eve.ids.length).toBe(N / COUNTERPARTIES.length);
  });

  it('lists every document newest first by default, 200 at most per page', async () => {
    const { ids, pages } = await all('', 200);
    expect(pages).toBe(2);
    expect(ids).toEqual([...docs].sort(byKey((d) => d.createdAt, -1)).map((d) => d.id));
  });

  it('refuses bad searches with invalid_query', async () => {
    for (const q of ['sort=size', 'order=up', 'amountMin=10&amountMax=5', 'amountMin=ten', 'currency=eur', 'tags=', 'color=red', 'continuationToken=bm9wZQ']) {
      const r = await call(`${archive.url}/documents?${q}`, { token });
      expect([q, r.status, r.json.code]).toEqual([q, 400, 'invalid_query']);
    }
  });

  it('a continuation token no store could have issued is 400 invalid_query on every paged list, never a 500', async () => {
    const admin = await archive.token({ tenant, sub: 'admin@search.example', rights: 'tenant-admin' });
    const b64 = (s: string) => Buffer.from(s).toString('base64url');
    const month = archive.host.deps.clock.now().toISOString().slice(0, 7);
    // Characters an HTTP header cannot carry: the euro sign, and 0xFF (not UTF-8: decoded as U+FFFD).
    const bad = [b64('"€"'), b64('{"token":"€"}'), '_w', b64('€')];
    const lists = ['/documents?', '/exports?', '/legal-holds?status=open&', '/retention/due?', '/audit?'];
    for (const list of lists) {
      for (const token of [...bad, ...(list === '/audit?' ? [b64(JSON.stringify({ m: month, c: '€' }))] : [])]) {
        const r = await call(`${archive.url}${list}continuationToken=${token}`, { token: admin });
        expect([list, token, r.status, r.json?.code]).toEqual([list, token, 400, 'invalid_query']);
      }
    }
  });

  it('a continuation token resumes only the list, search and tenant it was issued for: any other is 400 invalid_query', async () => {
    // A store token says only where to resume: a createdAt token under another sort resumed there, silently.
    const first = await call(`${archive.url}/documents?counterparty=alpha&limit=5`, { token });
    const cont = encodeURIComponent(first.json.continuationToken);
    const same = await call(`${archive.url}/documents?counterparty=alpha&limit=7&continuationToken=${cont}`, { token });
    expect([same.status, same.json.items.length]).toEqual([200, 7]);
    const other = await archive.token({ tenant: newTenant('other'), sub: 'x', rights: 'tenant-admin' });
    const admin = await archive.token({ tenant, sub: 'admin@search.example', rights: 'tenant-admin' });
    const replays: [string, string][] = [
      ['/documents?counterparty=alpha&sort=documentDate&order=asc', token],
      ['/documents?counterparty=beta', token],
      ['/documents?', token],
      ['/documents?counterparty=alpha', other],
      ['/exports?', admin],
      ['/retention/due?', admin],
    ];
    for (const [list, as] of replays) {
      const r = await call(`${archive.url}${list}&continuationToken=${cont}`, { token: as });
      expect([list, r.status, r.json?.code]).toEqual([list, 400, 'invalid_query']);
    }
    const audit = await call(`${archive.url}/audit?action=document.list&limit=1`, { token: admin });
    expect(audit.json.continuationToken).toEqual(expect.any(String));
    const auditCont = encodeURIComponent(audit.json.continuationToken);
    expect((await call(`${archive.url}/audit?action=document.list&limit=1&continuationToken=${auditCont}`, { token: admin })).status).toBe(200);
    const elsewhere = await call(`${archive.url}/audit?action=document.read&limit=1&continuationToken=${auditCont}`, { token: admin });
    expect([elsewhere.status, elsewhere.json.code]).toEqual([400, 'invalid_query']);
  });

  it("never shows another tenant's documents", async () => {
    const other = await archive.token({ tenant: newTenant('other'), sub: 'x', rights: 'accountant' });
    const r = await call(`${archive.url}/documents?reference=REF-1`, { token: other });
    expect(r.json.items).toEqual([]);
  });
});

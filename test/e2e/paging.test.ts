/**
 * Paging the document search in a real browser, against a stand-in for GET /documents (Playwright's
 * route): it hands out tokens bound to the search and sort, as the API does, and refuses a token used
 * with another one (400 invalid_query). A new sort on page 2 must go to page 1 without ever sending
 * page 2's token (each refusal is a refused audit entry and part of the person's refusal budget), and
 * a token the API refuses all the same (issued before a deployment) restarts at page 1, not an error.
 */
import type { Browser, Page, Route } from 'playwright-core';
import { launchBrowser, openPage, signIn, until, type OpenedPage } from '../support/browser';
import { e2eTarget } from '../support/e2e-target';
import { newTenant } from '../support/harness';

const tenant = newTenant('e2e-page');
let browser: Browser;
let opened: OpenedPage;
let page: Page;

/** What the stand-in saw: every token sent, and those it refused. */
const sent: string[] = [];
const refused: string[] = [];
/** The sort of every search asked for, and its kind and from filters. */
const sorts: string[] = [];
const filters: string[] = [];
let refuseEveryToken = false;
/** While set, the stand-in answers only once it resolves (a slow API). */
let held: Promise<void> | null = null;

const doc = (reference: string) => ({
  id: `0000000000000000000000000${reference}`,
  tenantId: tenant,
  fiscalYear: 2025,
  createdAt: '2025-03-14T10:00:00.000Z',
  metadata: { reference, counterparty: 'Bakkerij de Vries', kind: 'invoice', documentDate: '2025-03-14', amount: 10, currency: 'EUR' },
});

async function documents(route: Route): Promise<void> {
  const url = new URL(route.request().url());
  const token = url.searchParams.get('continuationToken');
  sorts.push(url.searchParams.get('sort') ?? '');
  filters.push(`kind=${url.searchParams.get('kind') ?? ''} from=${url.searchParams.get('from') ?? ''}`);
  if (held) await held;
  url.searchParams.delete('continuationToken');
  url.searchParams.delete('limit');
  const scope = `tok:${[...url.searchParams.entries()].sort().map(([k, v]) => `${k}=${v}`).join('&')}`;
  const json = (status: number, body: unknown, type = 'application/json') => route.fulfill({ status, contentType: type, headers: { 'X-Request-Id': 'e2e' }, body: JSON.stringify(body) });
  if (token === null) return json(200, { items: [doc('PAGE-ONE')], continuationToken: scope });
  sent.push(token);
  if (refuseEveryToken || token !== scope) {
    refused.push(token);
    return json(400, { type: 'about:blank', title: 'The query parameters are invalid', status: 400, code: 'invalid_query', detail: 'The continuation token is not valid for this query.', requestId: 'e2e' }, 'application/problem+json');
  }
  return json(200, { items: [doc('PAGE-TWO')], continuationToken: null });
}

const rows = async () => (await page.locator('table.data tbody').textContent()) ?? '';
const pageLabel = async () => (await page.locator('nav.pager span').textContent()) ?? '';
/** Whether the search shown has been answered: its status line counts rows rather than saying it is loading. */
const answered = async () => /on this page\.$|^No documents match\.$/.test((await page.locator('main p.status-line').textContent()) ?? '');

beforeAll(async () => {
  browser = await launchBrowser();
  opened = await openPage(browser, { locale: 'en-GB' });
  page = opened.page;
  await page.route((url) => /\/documents$/.test(url.pathname) && url.pathname.includes('/api'), (route) => (route.request().method() === 'GET' ? documents(route) : route.continue()));
  await page.goto(e2eTarget().appUrl);
  await signIn(page, { tenant, person: 'carla@acme.example', rightsSet: 'accountant' });
  await page.waitForSelector('table.data tbody tr');
});
afterAll(async () => {
  await browser?.close();
});

it('goes to page 1 of a new sort without sending the old page\'s token', async () => {
  await until(page, async () => (await rows()).includes('PAGE-ONE'));
  await page.getByRole('button', { name: 'Next' }).click();
  await until(page, async () => (await rows()).includes('PAGE-TWO'));
  expect(await pageLabel()).toBe('Page 2');

  await page.getByRole('button', { name: /^Amount/ }).click();
  // Answered: any request the sort set off has reached the stand-in by now.
  await until(page, async () => (await rows()).includes('PAGE-ONE') && (await pageLabel()) === 'Page 1' && (await answered()));
  expect(sent.length).toBe(1);
  expect(refused).toEqual([]);
});

it('starts again at page 1 when the API refuses a page token, rather than showing an error', async () => {
  refuseEveryToken = true;
  await page.getByRole('button', { name: 'Next' }).click();
  await until(page, async () => refused.length > 0);
  await until(page, async () => (await pageLabel()) === 'Page 1' && (await rows()).includes('PAGE-ONE') && (await answered()));
  expect(await page.locator('[role=alert]').count()).toBe(0);
  expect(await pageLabel()).toBe('Page 1');
});

it('takes only a sort the API offers from a link: any other starts from the newest, not a refused search', async () => {
  sorts.length = 0;
  refuseEveryToken = false;
  await page.goto(new URL('/?sort=reference&order=asc', e2eTarget().appUrl).toString());
  await signIn(page, { tenant, person: 'carla@acme.example', rightsSet: 'accountant' });
  await page.waitForSelector('table.data tbody tr');
  await until(page, async () => (await rows()).includes('PAGE-ONE'));
  expect(sorts.length).toBeGreaterThan(0);
  expect(sorts.filter((s) => !['createdAt', 'documentDate', 'amount'].includes(s))).toEqual([]);
  expect(await page.locator('[role=alert]').count()).toBe(0);
});

it('sends a kind or date from a link only when it is one the search form can show', async () => {
  filters.length = 0;
  await page.goto(new URL('/?kind=bogus&from=yesterday', e2eTarget().appUrl).toString());
  await signIn(page, { tenant, person: 'carla@acme.example', rightsSet: 'accountant' });
  await page.waitForSelector('table.data tbody tr');
  await until(page, async () => filters.length > 0 && (await rows()).includes('PAGE-ONE') && (await answered()));
  expect(new Set(filters)).toEqual(new Set(['kind= from=']));
  expect(await page.locator('[role=alert]').count()).toBe(0);
});

it('keeps Next disabled while a new sort\'s first page loads, so the old sort\'s token is never sent with it', async () => {
  await until(page, async () => (await rows()).includes('PAGE-ONE') && (await answered()));
  const next = page.getByRole('button', { name: 'Next' });
  expect(await next.isEnabled()).toBe(true);
  sent.length = 0;
  refused.length = 0;
  let release!: () => void;
  held = new Promise<void>((resolve) => (release = resolve));
  const asked = sorts.length;
  await page.getByRole('button', { name: /^Amount/ }).click();
  await until(page, async () => sorts.includes('amount', asked));
  // The old sort's rows (and their token) stay up while the new one is held back: Next waits for its own.
  expect(await rows()).toContain('PAGE-ONE');
  expect(await next.isDisabled()).toBe(true);
  held = null;
  release();
  await until(page, async () => (await answered()) && (await next.isEnabled()));
  await next.click();
  await until(page, async () => (await rows()).includes('PAGE-TWO') && (await pageLabel()) === 'Page 2');
  expect(sent.length).toBe(1);
  expect(refused).toEqual([]);
});

it('shows the open holds of every page of GET /legal-holds, a hold counted over the pages, not the first page only', async () => {
  const by = { subject: 'bob@acme.example', kind: 'user' };
  const held = (id: string, documentId: string) => ({ id, documentId, reason: 'tax audit', caseReference: `CASE-${id}`, placedAt: '2026-01-02T00:00:00.000Z', placedBy: by });
  const tokens: (string | null)[] = [];
  const json = (route: Route, body: unknown) => route.fulfill({ status: 200, contentType: 'application/json', headers: { 'X-Request-Id': 'e2e' }, body: JSON.stringify(body) });
  // Paged by document as the API does: hold ONE carries a document on each page, hold TWO only one past the first.
  const api = (url: URL, path: string) => url.pathname.includes('/api') && url.pathname.endsWith(path);
  await page.route((url) => api(url, '/legal-holds/by-query'), (route) => json(route, { items: [] }));
  await page.route((url) => api(url, '/legal-holds'), (route) => {
    const token = new URL(route.request().url()).searchParams.get('continuationToken');
    tokens.push(token);
    return token === null ? json(route, { items: [held('ONE', 'd1')], continuationToken: 'held-2' }) : json(route, { items: [held('ONE', 'd2'), held('TWO', 'd3')], continuationToken: null });
  });
  await page.goto(new URL('/legal-holds', e2eTarget().appUrl).toString());
  await signIn(page, { tenant, person: 'carla@acme.example', rightsSet: 'tenant-admin' });
  const list = page.locator('ul.hold-list');
  await until(page, async () => ((await list.count()) > 0 && ((await list.textContent()) ?? '').includes('CASE-TWO')));
  expect(tokens).toEqual([null, 'held-2']);
  const one = page.locator('li.hold', { hasText: 'CASE-ONE' });
  expect(await one.textContent()).toContain('2 documents');
  await one.getByRole('button', { name: 'Release' }).click();
  expect(await page.getByRole('dialog').textContent()).toContain('The hold is lifted from 2 documents');
});

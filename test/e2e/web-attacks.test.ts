/**
 * The web app attacked from a valid account of the tenant, against another person who uses it, in a real browser:
 * - markup stored as metadata, a file name, a hold's reason and case reference and an API key's name is shown to the
 *   accountant and the admin as the text it is: no element of it in the page, no script run, no CSP violation;
 * - the person's token is kept in no storage or cookie a script could read later;
 * - an original named as a web page (a JPEG uploaded as `….html`) is saved by the verified download under the type
 *   the archive found in its bytes (`….html.jpg`), never as a page the browser would open as one;
 * - an address that names another origin as the return path after sign-in (`//host/…`, `/\host`) lands on `/` of the
 *   app; a link carrying a `code` and `state` the person did not ask for (a login CSRF) is never redeemed;
 * - a download above the streamed-answer cap, which the API answers with a 303 to a storage link, reaches storage
 *   without the person's token (fetch drops Authorization on a cross-origin redirect; the app adds it to API calls only);
 * - a rights set saved from a stale screen (another admin removed a permission meanwhile, or made a set of the new
 *   name) is refused and shown, never written over what the other admin did: the break this file found.
 */
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { startArchiveHost, type ArchiveHost } from '../../local/archive-host';
import { allowWebOriginsOnAzurite } from '../../local/emulators';
import { launchBrowser, openPage, openSignedIn, signIn, until, type OpenedPage } from '../support/browser';
import { e2eTarget } from '../support/e2e-target';
import { readEmulators } from '../support/emulators-file';
import { corpusFile, newTenant, quietLog, testEnv } from '../support/harness';
import { call, multipart } from '../support/http';
import { paddedJpeg } from '../support/large-jpeg';

const tenant = newTenant('e2e-atk');
const MARKUP = '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>';
/** A file name loses everything up to its last slash on upload, and FormData escapes its quotes: markup without either. */
const NAME_MARKUP = '<img src=x onerror=alert(1)><b onmouseover=alert(1)>';
const ADA = 'ada@acme.example';
const BERT = 'bert@acme.example';

let browser: Browser;
let documentId: string;

const open = (path: string, who: { person: string; rightsSet: string }): Promise<OpenedPage> => openSignedIn(browser, e2eTarget().appUrl, path, { tenant, ...who });
/** Elements the stored markup would have made, had it been parsed as HTML anywhere in the page. */
const injected = (opened: OpenedPage) => opened.page.locator('img[src="x"], main script, main b, [onerror], [onmouseover]').count();
/** What went wrong in the page but a refusal it shows as a sentence (the accountant's document screen asks for its audit trail: 403). */
const scriptProblems = (opened: OpenedPage) => opened.problems.filter((p) => !/Failed to load resource: the server responded with a status of 403/.test(p));

beforeAll(async () => {
  const target = e2eTarget();
  const uploader = await target.token({ tenant, sub: 'mallory@acme.example', rights: 'archivist' });
  const upload = await call(`${target.apiUrl}/documents`, {
    method: 'POST',
    token: uploader,
    body: multipart([{ bytes: corpusFile('img2pdf/normal.jpg'), name: `${NAME_MARKUP}statement.html`, type: 'image/jpeg' }], {
      counterparty: `${MARKUP} ACME`,
      reference: `javascript:alert(1)//${MARKUP}`,
      documentDate: '2024-03-01',
      kind: 'invoice',
      tags: [MARKUP.slice(0, 50)],
    }),
  });
  expect(upload.status).toBe(201);
  documentId = upload.json.id as string;
  const hold = await call(`${target.apiUrl}/documents/${documentId}/legal-holds`, {
    method: 'POST',
    token: uploader,
    headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'atk-hold-1' },
    body: JSON.stringify({ reason: MARKUP, caseReference: MARKUP.slice(0, 60) }),
  });
  expect(hold.status).toBe(201);
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

it('shows stored markup (metadata, file name, hold reason and case) to the accountant as text: nothing parsed, nothing run', async () => {
  const anna = await open('/', { person: 'anna@acme.example', rightsSet: 'accountant' });
  const row = anna.page.getByRole('row', { name: /ACME/ });
  await row.waitFor();
  expect(await row.textContent()).toContain(`${MARKUP} ACME`);
  await row.getByRole('link').first().click();
  await anna.page.getByRole('heading', { name: 'Originals' }).waitFor();
  await anna.page.getByText(`${NAME_MARKUP}statement.html`, { exact: true }).waitFor();
  await anna.page.getByText(`${MARKUP.slice(0, 60)} — ${MARKUP}`).first().waitFor(); // the hold's case and reason
  expect(await injected(anna)).toBe(0);
  expect(await anna.page.title()).not.toBe('pwned');
  // No link is built from a stored value: the reference stays text, never an href.
  expect(await anna.page.locator('a[href^="javascript:"]').count()).toBe(0);
  // Whatever a script might yet find: the token is in memory only, nowhere in the origin's storage or cookies.
  const kept = await anna.page.evaluate<string>('JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage), document.cookie])');
  expect(kept).not.toMatch(/eyJ|Bearer/);
  expect(await anna.context.cookies()).toEqual([]);
  expect(scriptProblems(anna)).toEqual([]);
  await anna.context.close();
});

it('saves an original uploaded as a web page under the type found in its bytes, verified', async () => {
  const anna = await open(`/documents/${documentId}`, { person: 'anna@acme.example', rightsSet: 'accountant' });
  const [download] = await Promise.all([anna.page.waitForEvent('download'), anna.page.getByRole('button', { name: 'Download original 1' }).click()]);
  expect(download.suggestedFilename()).toMatch(/statement\.html\.jpg$/);
  expect(scriptProblems(anna)).toEqual([]);
  await anna.context.close();
});

it('shows an API key named with markup to the admin as text', async () => {
  const target = e2eTarget();
  const admin = await target.token({ tenant, sub: BERT, rights: 'tenant-admin' });
  const key = await call(`${target.apiUrl}/api-keys`, { method: 'POST', token: admin, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: MARKUP.slice(0, 80), rightsSet: 'accountant' }) });
  expect(key.status).toBe(201);
  const ada = await open('/api-keys', { person: ADA, rightsSet: 'tenant-admin' });
  await ada.page.getByText(MARKUP.slice(0, 80), { exact: true }).first().waitFor();
  expect(await injected(ada)).toBe(0);
  expect(ada.problems).toEqual([]);
  await ada.context.close();
});

it('lands on the app\'s own / after signing in from an address whose path names another origin', async () => {
  const { appUrl } = e2eTarget();
  const app = new URL(appUrl);
  for (const path of ['//evil.example/steal', '/%2F%2Fevil.example/steal', '/\\evil.example/steal']) {
    const opened = await openPage(browser);
    await opened.page.goto(`${app.origin}${path}`);
    await signIn(opened.page, { tenant, person: 'anna@acme.example', rightsSet: 'accountant' });
    await opened.page.waitForSelector('main h1');
    const landed = new URL(opened.page.url());
    expect(landed.origin).toBe(app.origin);
    expect(landed.searchParams.has('code')).toBe(false);
    await opened.context.close();
  }
});

it('never redeems a code and state the person did not ask for (a link from someone else): it signs them in itself', async () => {
  const { appUrl, issuer } = e2eTarget();
  const opened = await openPage(browser);
  const redeemed: string[] = [];
  opened.page.on('request', (r) => {
    if (new URL(r.url()).pathname.endsWith('/token')) redeemed.push(r.url());
  });
  await opened.page.goto(new URL('/?code=planted-code&state=planted-state', appUrl).toString());
  await opened.page.waitForURL((url) => url.origin === new URL(issuer).origin && url.pathname === '/authorize');
  const asked = new URL(opened.page.url());
  expect(asked.searchParams.get('state')).not.toBe('planted-state');
  expect(redeemed).toEqual([]);
  await opened.context.close();
});

describe('a rights set saved from a stale screen', () => {
  let ada: OpenedPage;
  let bert: string;
  const sets = async () => (await call(`${e2eTarget().apiUrl}/rights-sets`, { token: bert })).json.items as { name: string; permissions: string[]; version?: string }[];
  const put = (name: string, permissions: string[], headers: Record<string, string>) =>
    call(`${e2eTarget().apiUrl}/rights-sets/${name}`, { method: 'PUT', token: bert, headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify({ permissions }) });

  beforeAll(async () => {
    bert = await e2eTarget().token({ tenant, sub: BERT, rights: 'tenant-admin' });
    expect((await put('clerks', ['documents:read', 'documents:download'], { 'If-None-Match': '*' })).status).toBe(200);
    ada = await open('/rights', { person: ADA, rightsSet: 'tenant-admin' });
  });
  afterAll(async () => {
    await ada?.context.close();
  });

  it('does not put back a permission another admin removed after the edit began: refused, said, and the set as it is now shown', async () => {
    const { page } = ada;
    await page.getByRole('button', { name: 'Edit clerks' }).click();
    await page.getByRole('heading', { name: 'Edit rights set clerks' }).waitFor();
    // Meanwhile Bert takes download away from the clerks.
    const read = (await sets()).find((s) => s.name === 'clerks')!;
    expect((await put('clerks', ['documents:read'], { 'If-Match': read.version! })).status).toBe(200);
    // Ada's screen still shows download; she adds exports and saves.
    await page.locator('[id="s-p-exports:create"]').check();
    await page.getByRole('button', { name: 'Save rights set' }).click();
    await page.getByRole('alert').getByText('Someone changed or deleted this rights set after you opened it', { exact: false }).waitFor();
    expect((await sets()).find((s) => s.name === 'clerks')!.permissions).toEqual(['documents:read']);
    const row = page.getByRole('row', { name: /clerks/ });
    await until(page, async () => (await row.locator('.tags li').allTextContents()).join() === 'Find and read documents');
    expect(await page.getByRole('heading', { name: 'Edit rights set clerks' }).count()).toBe(0);
    expect(ada.problems.filter((p) => !/status of 412/.test(p))).toEqual([]);
  });

  it('does not replace a set another admin made under the new set\'s name after the form was opened', async () => {
    const { page } = ada;
    await page.getByRole('button', { name: 'New rights set' }).click();
    await page.locator('#s-name').fill('external-auditors');
    await page.locator('[id="s-p-documents:download"]').check();
    expect((await put('external-auditors', ['audit:read', 'documents:read'], { 'If-None-Match': '*' })).status).toBe(200);
    await page.getByRole('button', { name: 'Save rights set' }).click();
    await page.getByRole('alert').getByText('A rights set of this name exists already', { exact: false }).waitFor();
    expect((await sets()).find((s) => s.name === 'external-auditors')!.permissions).toEqual(['audit:read', 'documents:read']);
  });
});

describe('a download sent to storage by a 303', () => {
  const CAP = 64 * 1024;
  let host: ArchiveHost;
  let id = '';

  beforeAll(async () => {
    const emulators = readEmulators();
    host = await startArchiveHost({ env: testEnv(emulators, { ARCHIVE_WEB_DIR: path.resolve(__dirname, '..', '..', 'web', 'dist'), ARCHIVE_STREAMED_ANSWER_MAX_BYTES: String(CAP) }), log: quietLog });
    await allowWebOriginsOnAzurite(emulators.storageConnectionString, [host.appUrl]);
    const writer = await e2eTarget().token({ tenant, sub: 'mallory@acme.example', rights: 'archivist' });
    const scan = paddedJpeg(corpusFile('img2pdf/normal.jpg'), 'e2e-web-attacks', 2 * CAP);
    const up = await call(`${host.url}/documents`, { method: 'POST', token: writer, body: multipart([{ bytes: scan, name: 'big.jpg', type: 'image/jpeg' }], { documentDate: '2025-04-01', kind: 'invoice' }) });
    expect(up.status).toBe(201);
    id = up.json.id as string;
  });
  afterAll(async () => {
    await host?.stop();
  });

  it('reaches storage without the person\'s bearer token, which only the archive\'s own API gets', async () => {
    const opened = await openSignedIn(browser, host.appUrl, `/documents/${id}`, { tenant, person: 'anna@acme.example', rightsSet: 'accountant' });
    const storage = `http://127.0.0.1:${readEmulators().azuritePort}/`;
    const sent: Promise<{ url: string; authorization: string | undefined }>[] = [];
    opened.page.on('request', (q) => sent.push(q.allHeaders().then((h) => ({ url: q.url(), authorization: h.authorization }))));
    await Promise.all([opened.page.waitForEvent('download'), opened.page.getByRole('button', { name: 'Download original 1' }).click()]);
    await opened.page.locator('.verified').first().waitFor();
    const all = await Promise.all(sent);
    const toStorage = all.filter((r) => r.url.startsWith(storage));
    expect(toStorage.length).toBeGreaterThan(0);
    expect(toStorage.map((r) => r.authorization)).toEqual(toStorage.map(() => undefined));
    // The API call before the 303 did carry it: the check above looks at the right header.
    expect(all.some((r) => new URL(r.url).pathname.endsWith(`/documents/${id}/originals/1`) && r.authorization?.startsWith('Bearer '))).toBe(true);
    await opened.context.close();
  });
});

/**
 * An accountant's year end in a real browser (Debian chromium): sign in, search with filters, open a
 * document (the rendition previewed by pdf.js), a verified download, a correction refused for want of
 * a reason, a fiscal-year export with its progress bar to completion and a verified ZIP, and the
 * Dutch locale's amounts. axe-core on every screen; screenshots in test/e2e/screenshots/.
 */
import * as fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import * as yauzl from 'yauzl';
import { checkA11y, holdGets, launchBrowser, openPage, screenshot, signIn, until, type OpenedPage, loseFirstAnswer } from '../support/browser';
import { e2eTarget } from '../support/e2e-target';
import { corpusFile, newTenant } from '../support/harness';
import { call, multipart, sha256hex } from '../support/http';

const tenant = newTenant('e2e-acc');
const seeds = [
  { file: 'img2pdf/normal.jpg', type: 'image/jpeg', metadata: { counterparty: 'Bakkerij de Vries', reference: 'INV-2025-001', amount: 1234.5, currency: 'EUR', documentDate: '2025-03-14', kind: 'invoice', tags: ['q1'] } },
  { file: 'img2pdf/normal.png', type: 'image/png', metadata: { counterparty: 'Van Dam Transport', reference: 'INV-2025-002', amount: 89.95, currency: 'EUR', documentDate: '2025-05-02', kind: 'invoice', tags: ['q2'] } },
  { file: 'img2pdf/gray.png', type: 'image/png', metadata: { counterparty: 'Hotel Centraal', reference: 'R-7781', amount: 245, currency: 'EUR', documentDate: '2025-06-20', kind: 'receipt' } },
];
const renditionHash = new Map<string, string>();

let browser: Browser;
let opened: OpenedPage;
let page: Page;

beforeAll(async () => {
  const target = e2eTarget();
  const token = await target.token({ tenant, sub: 'ann@acme.example', rights: 'archivist' });
  for (const s of seeds) {
    const answer = await call(`${target.apiUrl}/documents`, { method: 'POST', token, body: multipart([{ bytes: corpusFile(s.file), name: s.file.split('/')[1]!, type: s.type }], s.metadata) });
    expect(answer.status).toBe(201);
    renditionHash.set(s.metadata.reference, answer.json.rendition.sha256);
  }
  browser = await launchBrowser();
  opened = await openPage(browser, { locale: 'en-GB' });
  page = opened.page;
});
afterAll(async () => {
  await browser?.close();
});

it('signs the accountant in and shows the documents of the organisation', async () => {
  await page.goto(e2eTarget().appUrl);
  await signIn(page, { tenant, person: 'carla@acme.example', rightsSet: 'accountant' });
  await page.waitForSelector('table.data tbody tr');
  expect(await page.locator('h1').textContent()).toBe('Documents');
  expect(await page.locator('.who').textContent()).toContain(tenant);
  expect(await page.locator('table.data tbody tr').count()).toBe(3);
  expect(await page.evaluate('document.documentElement.lang')).toBe('en');
  await checkA11y(page, 'documents');
  await screenshot(page, 'accountant-1-documents');
});

it('filters as the accountant types and sorts by amount', async () => {
  await page.getByLabel('Counterparty').fill('Bakkerij');
  await until(page, async () => (await page.locator('table.data tbody tr').count()) === 1);
  expect(await page.locator('table.data tbody').textContent()).toContain('INV-2025-001');
  expect(new URL(page.url()).searchParams.get('counterparty')).toBe('Bakkerij');

  await page.getByRole('button', { name: 'Clear filters' }).click();
  await page.getByLabel('Kind').selectOption('invoice');
  await page.getByLabel('Amount from').fill('100');
  await until(page, async () => (await page.locator('table.data tbody tr').count()) === 1);
  expect(await page.locator('table.data tbody').textContent()).toContain('INV-2025-001');

  await page.getByRole('button', { name: 'Clear filters' }).click();
  await until(page, async () => (await page.locator('table.data tbody tr').count()) === 3);
  await page.getByRole('button', { name: /^Amount/ }).click(); // descending first
  await until(page, async () => ((await page.locator('table.data tbody tr').first().textContent()) ?? '').includes('INV-2025-001'));
  await page.getByRole('button', { name: /^Amount/ }).click();
  await until(page, async () => ((await page.locator('table.data tbody tr').first().textContent()) ?? '').includes('INV-2025-002'));
  expect(await page.locator('th[aria-sort]').textContent()).toContain('Amount');
  await checkA11y(page, 'documents sorted');
  await screenshot(page, 'accountant-2-documents-sorted');
});

it('opens a document: the rendition is previewed in the page, with its details and retention', async () => {
  await page.getByRole('link', { name: 'INV-2025-001' }).click();
  await page.waitForSelector('.pdf-preview[aria-busy="false"] canvas');
  const size = await page.evaluate<{ width: number; height: number }>("({ width: document.querySelector('canvas').width, height: document.querySelector('canvas').height })");
  expect(size.width).toBeGreaterThan(100);
  expect(size.height).toBeGreaterThan(100);
  expect(await page.locator('h1').textContent()).toBe('Document INV-2025-001');
  expect(await page.locator('#h-metadata + dl').textContent()).toContain('€1,234.50');
  expect(await page.locator('#h-retention + dl').textContent()).toContain('fiscal-7y');
  await checkA11y(page, 'document');
  await screenshot(page, 'accountant-3-document');
});

it('downloads the rendition and says "verified" only after checking its SHA-256', async () => {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download rendition (PDF)' }).click()]);
  const saved = fs.readFileSync((await download.path()));
  expect(sha256hex(saved)).toBe(renditionHash.get('INV-2025-001'));
  await page.waitForSelector('.verified');
  expect(await page.locator('.verified').first().textContent()).toMatch(/Verified: .* matches the archive's SHA-256 checksum/);
  await screenshot(page, 'accountant-4-verified');
});

it('refuses a metadata correction without a reason, with the sentence next to the field', async () => {
  await page.getByRole('button', { name: 'Correct details' }).click();
  await page.getByLabel('Counterparty').fill('Bakkerij De Vries B.V.');
  await page.getByRole('button', { name: 'Save correction' }).click();
  await page.waitForSelector('#c-reason-error');
  expect(await page.locator('#c-reason-error').textContent()).toBe('This is required.');
  expect(await page.locator('#c-reason').getAttribute('aria-invalid')).toBe('true');
  // The sentence is the field's description (FormField wires it), so a screen reader reads it with the field.
  expect((await page.locator('#c-reason').getAttribute('aria-describedby'))?.split(' ')).toContain('c-reason-error');
  expect(await page.locator('.problem').textContent()).toBe('Please check the marked fields.');
  await checkA11y(page, 'correction refused');
  await screenshot(page, 'accountant-5-correction-refused');

  await page.getByLabel(/Reason for the correction/).fill('Legal name on the chamber of commerce register');
  // An amount that is not a number is refused by name, not sent as null (which would remove the amount).
  await page.locator('#c-amount').fill('12abc');
  await page.getByRole('button', { name: 'Save correction' }).click();
  await page.waitForSelector('#c-amount-error');
  expect(await page.locator('#c-amount').getAttribute('aria-invalid')).toBe('true');
  expect(await page.locator('#h-metadata + dl').textContent()).not.toContain('Bakkerij De Vries B.V.');
  await page.locator('#c-amount').fill('1234.5');
  await page.getByRole('button', { name: 'Save correction' }).click();
  await page.waitForSelector('text=Saved as version 2 of the details.');
  expect(await page.locator('#h-metadata + dl').textContent()).toContain('Bakkerij De Vries B.V.');
});

it('starts a correction only from the document as the archive has it now, not the copy shown while it reloads', async () => {
  const documentId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
  // Someone else corrects the counterparty meanwhile (version 3).
  const target = e2eTarget();
  const ann = await target.token({ tenant, sub: 'ann@acme.example', rights: 'archivist' });
  const corrected = await call(`${target.apiUrl}/documents/${encodeURIComponent(documentId)}/metadata`, {
    method: 'PATCH',
    token: ann,
    headers: { 'Content-Type': 'application/merge-patch+json', 'If-Match': '"metadata-2"' },
    body: JSON.stringify({ counterparty: 'Bakkerij De Vries Holding B.V.', reason: 'Renamed' }),
  });
  expect(corrected.status).toBe(200);

  // Back to the document with its GET held: the copy read before is shown, and the correction waits for the answer.
  const { release } = await holdGets(page, `/documents/${encodeURIComponent(documentId)}`);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Documents', exact: true }).click();
  await page.getByRole('link', { name: 'INV-2025-001' }).click();
  await page.getByRole('heading', { level: 1, name: 'Document INV-2025-001' }).waitFor();
  const correct = page.getByRole('button', { name: 'Correct details' });
  expect(await correct.isDisabled()).toBe(true);
  await release();
  await correct.click();
  await page.locator('#c-counterparty').waitFor();
  expect(await page.locator('#c-counterparty').inputValue()).toBe('Bakkerij De Vries Holding B.V.');
  await page.getByLabel('Tags').fill('q1, bakery');
  await page.getByLabel(/Reason for the correction/).fill('Tagged by trade');
  await page.getByRole('button', { name: 'Save correction' }).click();
  await page.waitForSelector('text=Saved as version 4 of the details.');
  expect(await page.locator('#h-metadata + dl').textContent()).toContain('Bakkerij De Vries Holding B.V.');
  await page.getByRole('button', { name: 'Cancel' }).click();
});

it('holds Start export back for as long as a refusal\'s Retry-After says, and says so', async () => {
  await page.getByRole('link', { name: 'Exports' }).click();
  await page.getByLabel('Fiscal year').fill('2025');
  // The tenant's running exports at the cap: the archive answers 429 too_many_exports with Retry-After.
  const refused = { type: 'https://archive.example/problems/too-many-exports', title: 'Too many exports', status: 429, code: 'too_many_exports', requestId: 'e2e' };
  await page.route('**/api/exports', (route) => (route.request().method() === 'POST' ? route.fulfill({ status: 429, contentType: 'application/problem+json', headers: { 'Retry-After': '3' }, body: JSON.stringify(refused) }) : route.continue()));
  const start = page.getByRole('button', { name: 'Start export' });
  await start.click();
  await page.waitForSelector('.problem >> text=/Try again in [1-3] s\\./');
  expect(await start.isDisabled()).toBe(true);
  await checkA11y(page, 'export refused, waiting');
  await page.unroute('**/api/exports');
  await until(page, async () => await start.isEnabled());
  expect(await page.locator('.problem').textContent()).not.toContain('Try again in');
});

it('starts a fiscal-year export, shows its progress to completion and downloads the verified ZIP (a first answer lost on the way: Start export again gets that export, not a second)', async () => {
  // The archive starts the export; its answer never reaches the page.
  const lost = await loseFirstAnswer(page, '**/api/exports');
  await page.getByRole('button', { name: 'Start export' }).click();
  await page.waitForSelector('.problem');
  await page.getByRole('button', { name: 'Start export' }).click();
  await page.waitForSelector('.export-progress progress');
  await lost.stop();
  expect(lost.keys).toEqual([expect.stringMatching(/^[0-9a-f-]{36}$/), lost.keys[0]]);
  await checkA11y(page, 'export running');
  await screenshot(page, 'accountant-6-export-progress');
  await page.waitForSelector('.export-progress >> text=Completed — 3 of 3 documents', { timeout: 60_000 });
  expect(await page.evaluate("(() => { const p = document.querySelector('.export-progress progress'); return p.value === p.max; })()")).toBe(true);

  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('.export-progress').getByRole('button', { name: 'Download ZIP' }).click()]);
  await page.waitForSelector('.export-progress .verified');
  const entries = await zipEntries((await download.path()));
  expect(entries).toEqual(expect.arrayContaining(['manifest.json', 'manifest.csv']));
  expect(entries.filter((e) => e.endsWith('.pdf')).length).toBeGreaterThanOrEqual(3);
  await page.waitForSelector('table.data tbody tr');
  expect(await page.locator('table.data tbody tr').count()).toBe(1);
  await checkA11y(page, 'exports');
  await screenshot(page, 'accountant-7-exports');
});

it('after the export, "What changed since" finds only the documents corrected since it was made, in its fiscal year', async () => {
  const target = e2eTarget();
  const token = await target.token({ tenant, sub: 'carla@acme.example', rights: 'accountant' });
  const doc = (await call(`${target.apiUrl}/documents?reference=R-7781`, { token })).json.items[0];
  const fixed = await call(`${target.apiUrl}/documents/${doc.id}/metadata`, { method: 'PATCH', token, headers: { 'Content-Type': 'application/merge-patch+json', 'If-Match': `"metadata-${doc.metadataVersion}"` }, body: JSON.stringify({ reason: 'The tip was left out', amount: 250 }) });
  expect(fixed.status).toBe(200);
  await page.getByRole('link', { name: 'What changed since' }).click();
  await page.getByRole('heading', { level: 1, name: 'Documents' }).waitFor();
  // The corrections made before the export (the tests above) are in it: only this one is listed.
  await until(page, async () => (await page.locator('table.data tbody tr').count()) === 1 && /R-7781/.test((await page.locator('table.data tbody').textContent()) ?? ''));
  expect(await page.getByLabel('Details corrected since').inputValue()).toMatch(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/);
  expect(new URL(page.url()).searchParams.get('fiscalYear')).toBe(String(new Date().getFullYear() - 1));
  await checkA11y(page, 'changed since an export');
  await page.getByRole('link', { name: 'Exports' }).click();
  await page.getByRole('heading', { level: 1, name: 'Exports' }).waitFor();
});

it('shows amounts and dates in Dutch when the reader chooses Nederlands, and by default in a Dutch browser', async () => {
  await page.getByRole('link', { name: 'Documents' }).click();
  await page.waitForSelector('table.data tbody tr');
  await page.getByLabel('Language').selectOption('nl');
  await page.waitForSelector('h1 >> text=Documenten');
  expect(await page.evaluate('document.documentElement.lang')).toBe('nl');
  expect(await page.locator('table.data tbody').textContent()).toMatch(/€\s1\.234,50/);
  await checkA11y(page, 'documents (nl)');
  await screenshot(page, 'accountant-8-documents-nl');

  const dutch = await openPage(browser, { locale: 'nl-NL' });
  await dutch.page.goto(e2eTarget().appUrl);
  await signIn(dutch.page, { tenant, person: 'carla@acme.example', rightsSet: 'accountant' });
  await dutch.page.waitForSelector('table.data tbody tr');
  expect(await dutch.page.locator('h1').textContent()).toBe('Documenten');
  expect(await dutch.page.locator('table.data tbody').textContent()).toMatch(/€\s1\.234,50/);
  await dutch.context.close();
  // Nothing the CSP refused, no script errors (the accountant's 403 on the audit log, the 429 and the dropped connection this file answers itself are answers, not errors).
  expect(opened.problems.filter((p) => !/status of (40[03]|429)|ERR_CONNECTION_RESET/.test(p))).toEqual([]);
});

function zipEntries(file: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err ?? new Error('no zip'));
      const names: string[] = [];
      zip.on('entry', (e: yauzl.Entry) => {
        names.push(e.fileName);
        zip.readEntry();
      });
      zip.on('end', () => resolve(names));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

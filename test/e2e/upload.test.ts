/**
 * Archiving a scan and the retention jobs on one document, in a real browser (Debian chromium): an
 * archivist picks two PNG pages, puts them in order by keyboard, fills in the details (the API's own
 * schema refuses an amount without a currency beside the field), archives them and sees "Verified"
 * (SHA-256 in the browser equals the archive's) and 2 pages on the document; the same files again are
 * a duplicate, said with a link to the document; a text file is refused by name and nothing is
 * archived (checked through the API). On the document: a hold placed by the archivist is refused to
 * that same person as tenant admin (four eyes, as a sentence) and released by a second person;
 * retention is refused shorter (a sentence) and extended. axe-core and a screenshot on each state.
 */
import type { Browser, Page } from 'playwright-core';
import { checkA11y, goTo, launchBrowser, openSignedIn, screenshot, until, type OpenedPage } from '../support/browser';
import { e2eTarget } from '../support/e2e-target';
import { corpusFile, newTenant } from '../support/harness';
import { call } from '../support/http';

const tenant = newTenant('e2e-upl');
const ADA = 'ada@acme.example';
const BERT = 'bert@acme.example';
const PAGES = [
  { name: 'page-2.png', mimeType: 'image/png', buffer: corpusFile('img2pdf/gray.png') },
  { name: 'page-1.png', mimeType: 'image/png', buffer: corpusFile('img2pdf/normal.png') },
];

let browser: Browser;
let archivist: OpenedPage;
let page: Page;
let documentId = '';

const open = (path: string, who: { person: string; rightsSet: string }): Promise<OpenedPage> => openSignedIn(browser, e2eTarget().appUrl, path, { tenant, ...who });
const fileOrder = () => page.locator('.upload-files .file-name').allTextContents();

async function archivedCount(): Promise<number> {
  const target = e2eTarget();
  const token = await target.token({ tenant, sub: 'check@acme.example', rights: 'accountant' });
  const answer = await call(`${target.apiUrl}/documents?limit=50`, { token });
  expect(answer.status).toBe(200);
  return (answer.json as { items: unknown[] }).items.length;
}

beforeAll(async () => {
  browser = await launchBrowser();
  archivist = await open('/upload', { person: ADA, rightsSet: 'archivist' });
  page = archivist.page;
});
afterAll(async () => {
  await browser?.close();
});

it('archives two pages in the order set by keyboard, with the details checked, and says "Verified"', async () => {
  await page.getByRole('heading', { level: 1, name: 'Archive a scan' }).waitFor();
  await checkA11y(page, 'upload empty');
  await page.getByLabel('Choose files (or drop them here)').setInputFiles(PAGES);
  expect(await fileOrder()).toEqual(['page-2.png', 'page-1.png']);

  // By keyboard: page-1 up; the focus stays on page-1 (on its other button, now that it is first).
  await page.getByRole('button', { name: 'Move page-1.png up' }).focus();
  await page.keyboard.press('Enter');
  expect(await fileOrder()).toEqual(['page-1.png', 'page-2.png']);
  await until(page, async () => (await page.evaluate("document.activeElement?.getAttribute('aria-label')")) === 'Move page-1.png down');

  await page.getByLabel('Kind').selectOption('invoice');
  await page.getByLabel('Document date').fill('2024-05-02');
  await page.getByLabel('Counterparty').fill('Paper Mill BV');
  await page.getByLabel('Reference').fill('PM-77');
  await page.getByLabel('Amount').fill('1234.50');
  await page.getByLabel('Tags').fill('paper, q2');
  await page.getByRole('button', { name: 'Archive 2 pages as one document' }).click();
  // The API's schema, run in the page: an amount goes with a currency; nothing was sent.
  await page.getByText('An amount needs a currency.').waitFor();
  expect(await page.getByLabel('Currency').getAttribute('aria-invalid')).toBe('true');
  await checkA11y(page, 'upload field error');
  await screenshot(page, 'upload-1-field-error');

  await page.getByLabel('Currency').fill('eur');
  await checkA11y(page, 'upload ready');
  await screenshot(page, 'upload-2-ready');
  await page.getByRole('button', { name: 'Archive 2 pages as one document' }).click();
  await page.getByRole('heading', { level: 1, name: 'Archived' }).waitFor();
  await page.getByText('The document is archived (2 pages).').waitFor();
  expect(await page.locator('.verdict .badge').textContent()).toBe('Verified');
  expect(await page.locator('tbody .badge.success').count()).toBe(2);
  await checkA11y(page, 'upload archived');
  await screenshot(page, 'upload-3-archived');

  await page.getByRole('link', { name: 'Open the document' }).click();
  await page.getByRole('heading', { level: 1, name: 'Document PM-77' }).waitFor();
  documentId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
  const pages = page.locator('dl.facts div', { has: page.locator('dt', { hasText: /^Pages$/ }) }).first().locator('dd');
  expect(await pages.textContent()).toBe('2');
  expect(await page.locator('dl.facts dd', { hasText: '€1,234.50' }).count()).toBe(1);
  expect(await archivedCount()).toBe(1);
});

it('says the same files are already archived, with a link to that document', async () => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Archive a scan' }).click();
  await page.getByRole('heading', { level: 1, name: 'Archive a scan' }).waitFor();
  await page.getByLabel('Choose files (or drop them here)').setInputFiles([PAGES[1]!, PAGES[0]!]);
  await page.getByRole('button', { name: 'Archive 2 pages as one document' }).click();
  const alert = page.locator('.problem');
  await alert.waitFor();
  expect(await alert.textContent()).toBe('These files are already archived, so nothing new was archived. Open the document already archived');
  expect(await alert.getByRole('link').getAttribute('href')).toBe(`/documents/${encodeURIComponent(documentId)}`);
  await checkA11y(page, 'upload duplicate');
  await screenshot(page, 'upload-4-duplicate');
});

it('refuses a text file by name and archives nothing', async () => {
  await page.getByRole('button', { name: 'Remove page-1.png' }).click();
  await page.getByRole('button', { name: 'Remove page-2.png' }).click();
  await page.getByLabel('Choose files (or drop them here)').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('Not a scan, just some notes.\n') });
  await page.getByRole('button', { name: 'Archive', exact: true }).click();
  const alert = page.locator('.problem');
  await alert.waitFor();
  expect(await alert.textContent()).toBe('The archive refused notes.txt. This file type is not accepted.Nothing was archived. Remove or replace the file and try again.');
  await checkA11y(page, 'upload refused');
  await screenshot(page, 'upload-5-refused');
  expect(await archivedCount()).toBe(1);
});

it('places a hold on the document; the placer may not release it, a second person does', async () => {
  // As a person would: the list of documents, then the document (a reload would mean signing in again).
  await goTo(page, 'Documents', 'Documents');
  await page.getByRole('link', { name: /PM-77/ }).first().click();
  await openDocument(page);
  await page.getByRole('button', { name: 'Place a legal hold' }).click();
  await page.getByLabel('Reason for the hold').fill('Tax audit 2024');
  await page.getByLabel('Case reference').fill('FA-2024-117');
  await checkA11y(page, 'document place hold form');
  await page.getByRole('button', { name: 'Place hold' }).click();
  await page.getByText('The legal hold is placed', { exact: false }).waitFor();
  await page.locator('.holds li', { hasText: 'FA-2024-117' }).waitFor();
  // An archivist may place holds, not release them: no release control.
  expect(await page.getByRole('button', { name: 'Release the hold for case FA-2024-117' }).count()).toBe(0);
  await checkA11y(page, 'document hold placed');
  await screenshot(page, 'upload-6-hold-placed');

  // Ada as tenant admin may release holds, but not one she placed.
  const adaAdmin = await open(`/documents/${encodeURIComponent(documentId)}`, { person: ADA, rightsSet: 'tenant-admin' });
  await openDocument(adaAdmin.page);
  await release(adaAdmin.page, 'Audit closed');
  const refusal = adaAdmin.page.locator('.holds li .problem');
  await refusal.waitFor();
  expect(await refusal.textContent()).toBe('Four-eyes rule: another person must do this. You placed this legal hold yourself, so another person must release it (an API key of yours counts as you).');
  await checkA11y(adaAdmin.page, 'document hold four eyes');
  await screenshot(adaAdmin.page, 'upload-7-hold-four-eyes');
  await adaAdmin.context.close();

  const bert = await open(`/documents/${encodeURIComponent(documentId)}`, { person: BERT, rightsSet: 'tenant-admin' });
  await openDocument(bert.page);
  await release(bert.page, 'Audit closed');
  await bert.page.locator('.holds li', { hasText: `Released` }).waitFor();
  expect(await bert.page.locator('.facts div', { hasText: 'Under legal hold' }).locator('dd').textContent()).toBe('No');
  await checkA11y(bert.page, 'document hold released');
  await screenshot(bert.page, 'upload-8-hold-released');
  expect(bert.problems.filter((p) => /Content Security Policy/i.test(p))).toEqual([]);
  await bert.context.close();
});

it('refuses a shorter retention with a sentence and extends it to a later date', async () => {
  await openDocument(page);
  await page.getByRole('button', { name: 'Extend retention' }).click();
  await page.getByLabel('Keep until').fill('2030-01-01');
  await page.getByLabel('Reason for the extension').fill('Claim pending');
  await page.getByRole('button', { name: 'Extend', exact: true }).click();
  const refusal = page.locator('#extend-form .problem');
  await refusal.waitFor();
  expect(await refusal.textContent()).toBe('Retention can be extended, never shortened.');
  await checkA11y(page, 'document retention refused');
  await screenshot(page, 'upload-9-retention-refused');

  await page.getByLabel('Keep until').fill('2040-12-31');
  await page.getByRole('button', { name: 'Extend', exact: true }).click();
  await page.getByText('Retention extended: kept until 31 Dec 2040.').waitFor();
  expect(await page.locator('.facts div', { hasText: 'Kept until' }).locator('dd').textContent()).toBe('31 Dec 2040');
  await checkA11y(page, 'document retention extended');
  await screenshot(page, 'upload-10-retention-extended');
  expect(archivist.problems.filter((p) => /Content Security Policy/i.test(p))).toEqual([]);
});

async function openDocument(p: Page): Promise<void> {
  await p.getByRole('heading', { level: 1, name: 'Document PM-77' }).waitFor();
}

async function release(p: Page, reason: string): Promise<void> {
  await p.getByRole('button', { name: 'Release the hold for case FA-2024-117' }).click();
  const dialog = p.getByRole('dialog');
  await dialog.getByLabel('Reason for the release').fill(reason);
  await dialog.getByRole('button', { name: 'Release', exact: true }).click();
}

/**
 * An auditor in a real browser (Debian chromium): the menu shows only what an auditor may use, the
 * audit log lists this month's entries and filters by what happened, and "verify this month" says
 * plainly that the log is intact. axe-core and a screenshot on each screen; Dutch as well.
 */
import type { Browser, Page } from 'playwright-core';
import { checkA11y, launchBrowser, openPage, screenshot, signIn, type OpenedPage } from '../support/browser';
import { e2eTarget } from '../support/e2e-target';
import { corpusFile, newTenant } from '../support/harness';
import { call, multipart } from '../support/http';

const tenant = newTenant('e2e-aud');
let browser: Browser;
let opened: OpenedPage;
let page: Page;

beforeAll(async () => {
  const target = e2eTarget();
  const token = await target.token({ tenant, sub: 'otto@acme.example', rights: 'archivist' });
  const answer = await call(`${target.apiUrl}/documents`, { method: 'POST', token, body: multipart([{ bytes: corpusFile('img2pdf/normal.jpg'), name: 'normal.jpg', type: 'image/jpeg' }], { counterparty: 'Bakkerij de Vries', reference: 'INV-1', kind: 'invoice' }) });
  expect(answer.status).toBe(201);
  expect((await call(`${target.apiUrl}/documents/${answer.json.id}`, { token })).status).toBe(200);
  browser = await launchBrowser();
  opened = await openPage(browser, { locale: 'en-GB' });
  page = opened.page;
  await page.goto(new URL('/audit', target.appUrl).toString());
  await signIn(page, { tenant, person: 'ines@audit.example', rightsSet: 'auditor' });
  await page.waitForSelector('main h1');
});
afterAll(async () => {
  await browser?.close();
});

it('shows an auditor only the screens an auditor may use, and this month\'s audit log', async () => {
  expect(await page.locator('main h1').textContent()).toBe('Audit log');
  const menu = await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();
  expect(menu).toEqual(['Documents', 'Exports', 'Audit log']);
  await page.waitForSelector('table.data tbody tr');
  const text = await page.locator('table.data tbody').textContent();
  expect(text).toContain('Archived');
  expect(text).toContain('otto@acme.example');
  await checkA11y(page, 'audit log');
  await screenshot(page, 'auditor-1-audit-log');
});

/** Waits until the table's "What" column satisfies `test` (the page's CSP forbids evaluating strings, so locators are polled). */
async function whatColumn(test: (what: string[]) => boolean): Promise<void> {
  for (;;) {
    const what = await page.locator('table.data tbody tr td:nth-child(3)').allTextContents();
    if (what.length > 0 && test(what)) return;
    await page.waitForTimeout(100);
  }
}

it('filters by what happened', async () => {
  await page.getByLabel('What', { exact: true }).selectOption({ label: 'Opened' });
  await whatColumn((what) => what.every((w) => w === 'Opened'));
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await whatColumn((what) => what.includes('Archived'));
  await screenshot(page, 'auditor-2-audit-log-filtered');
});

it('verifies this month and says plainly that the log is intact', async () => {
  await page.getByRole('button', { name: 'Verify this month' }).click();
  const outcome = page.locator('.outcome');
  await outcome.waitFor();
  const month = new Intl.DateTimeFormat('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date());
  expect(await outcome.textContent()).toMatch(new RegExp(`^✓ OK: the audit log of ${month} is intact\\. \\d+ entr(y|ies) checked`));
  await checkA11y(page, 'audit verified');
  await screenshot(page, 'auditor-3-audit-verified');
});

it('reads the same in Dutch', async () => {
  await page.getByLabel('Language').selectOption('nl');
  await page.getByRole('heading', { level: 1, name: 'Auditlog', exact: true }).waitFor();
  await page.getByRole('button', { name: 'Deze maand controleren' }).click();
  await page.locator('.outcome', { hasText: /^✓ OK: het auditlog van [a-z]+ \d{4} is intact/ }).waitFor();
  await checkA11y(page, 'auditlog (nl)');
  await screenshot(page, 'auditor-4-auditlog-nl');
  expect(opened.problems.filter((p) => /Content Security Policy/i.test(p))).toEqual([]);
});

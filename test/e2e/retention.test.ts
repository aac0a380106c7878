/**
 * Retention and disposal in a real browser: a tenant admin adds a retention class of their own and
 * saves it; in the disposal review they look ahead to a date by which a document's retention has ended
 * and approve its disposal with a reason. The e2e host runs on the real clock, so nothing is disposed:
 * the document (fiscal year seven before this one, kept until 1 January next year) is seeded through
 * the API and the review is asked what is due by then (an approval reaches at most 366 days ahead);
 * the approval is recorded for the sweep to act on then.
 * axe-core and a screenshot on each state.
 */
import type { Browser, Page } from 'playwright-core';
import { checkA11y, goTo, holdGets, launchBrowser, openPage, screenshot, signIn, until, type OpenedPage } from '../support/browser';
import { e2eTarget } from '../support/e2e-target';
import { corpusFile, newTenant } from '../support/harness';

const THIS_YEAR = new Date().getUTCFullYear();
import { call, multipart } from '../support/http';

const tenant = newTenant('e2e-ret');

let browser: Browser;
let admin: OpenedPage;
let page: Page;
let documentId = '';


beforeAll(async () => {
  const target = e2eTarget();
  // Archived by someone else: whoever archived a document cannot approve its disposal.
  const token = await target.token({ tenant, sub: 'otto@acme.example', rights: 'archivist' });
  const answer = await call(`${target.apiUrl}/documents`, {
    method: 'POST',
    token,
    body: multipart([{ bytes: corpusFile('img2pdf/normal.jpg'), name: 'normal.jpg', type: 'image/jpeg' }], { counterparty: 'Old Supplier BV', reference: 'OLD-1', documentDate: `${THIS_YEAR - 7}-03-01`, kind: 'invoice' }),
  });
  expect(answer.status).toBe(201);
  documentId = (answer.json as { id: string }).id;
  browser = await launchBrowser();
  admin = await openPage(browser, { locale: 'en-GB' });
  page = admin.page;
  await page.goto(new URL('/retention', target.appUrl).toString());
  await signIn(page, { tenant, person: 'ada@acme.example', rightsSet: 'tenant-admin' });
  await page.getByRole('heading', { level: 1, name: 'Retention' }).waitFor();
});
afterAll(async () => {
  await browser?.close();
});

it('adds a retention class of the tenant\'s own and saves it', async () => {
  await page.getByRole('button', { name: 'Add a class' }).click();
  await page.locator('#c-0-name').fill('contracts-12y');
  await page.locator('#c-0-years').fill('12');
  await page.locator('#c-0-description').fill('Long-term contracts');
  await checkA11y(page, 'retention class draft');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await page.getByText('Saved.').waitFor();
  const inForce = page.locator('#h-effective ~ ul li');
  expect(await inForce.allTextContents()).toContain('contracts-12y — 12 years');
  await checkA11y(page, 'retention class saved');
  await screenshot(page, 'retention-1-class-saved');
});

it('approves the disposal of a document whose retention has ended by the chosen date', async () => {
  await goTo(page, 'Disposal', 'Disposal review');
  await page.getByText('No documents are due.').waitFor();
  await page.getByLabel('Retention ends before').fill(`${THIS_YEAR + 2}-01-01`);
  const row = page.getByRole('row', { name: new RegExp(documentId) });
  await row.waitFor();
  // The date to approve by, its list held back: the rows shown meanwhile are the previous date's, not to be chosen from.
  const { asked, release } = await holdGets(page, '/retention/due');
  await page.getByLabel('Retention ends before').fill(`${THIS_YEAR + 1}-01-01`);
  await asked;
  const select = row.getByRole('checkbox', { name: `Select ${documentId}` });
  expect(await select.isDisabled()).toBe(true);
  await release();
  await until(page, () => select.isEnabled());
  expect(await row.textContent()).toContain(`1 Jan ${THIS_YEAR + 1}`);
  await row.getByRole('checkbox', { name: `Select ${documentId}` }).check();
  await page.getByLabel('Reason', { exact: true }).fill('End of the statutory retention');
  await checkA11y(page, 'disposal selected');
  await screenshot(page, 'retention-2-disposal-selected');
  await page.getByRole('button', { name: 'Approve disposal of 1 document' }).click();
  await page.getByText('1 approved.').waitFor();
  await row.getByText('Approved', { exact: true }).waitFor();
  await checkA11y(page, 'disposal approved');
  await screenshot(page, 'retention-3-disposal-approved');
  expect(admin.problems.filter((p) => /Content Security Policy/i.test(p))).toEqual([]);
});

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
import { checkA11y, goTo, holdGets, launchBrowser, openPage, screenshot, signIn, until, type OpenedPage, loseFirstAnswer } from '../support/browser';
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

it('approves the disposal of a document whose retention has ended by the chosen date (a first answer lost on the way: Approve again answers that approval)', async () => {
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
  // The archive approves; its answer never reaches the page.
  const lost = await loseFirstAnswer(page, '**/api/retention/approvals');
  await page.getByRole('button', { name: 'Approve disposal of 1 document' }).click();
  await page.waitForSelector('.problem');
  await page.getByRole('button', { name: 'Approve disposal of 1 document' }).click();
  await page.getByText('1 approved.').waitFor();
  await lost.stop();
  expect(lost.keys).toEqual([expect.stringMatching(/^[0-9a-f-]{36}$/), lost.keys[0]]);
  await row.getByText('Approved', { exact: true }).waitFor();
  await checkA11y(page, 'disposal approved');
  await screenshot(page, 'retention-3-disposal-approved');
  expect(admin.problems.filter((p) => /Content Security Policy/i.test(p))).toEqual([]);
});

it('a save on a policy someone changed meanwhile stores nothing: it says so and shows the policy as it is now', async () => {
  await goTo(page, 'Retention', 'Retention');
  await page.getByRole('button', { name: 'Add a class' }).click();
  const rows = page.locator('fieldset.class-row');
  const added = rows.last();
  await added.locator('input').first().fill('leases-10y');
  await added.locator('input').nth(1).fill('10');
  // Another admin saves the policy (a class of theirs) while Ada's draft is open.
  const target = e2eTarget();
  const token = await target.token({ tenant, sub: 'otto@acme.example', rights: 'tenant-admin' });
  const read = await call(`${target.apiUrl}/retention/policy`, { token });
  const theirs = { ...read.json, classes: [...read.json.classes, { name: 'archive-15y', years: 15 }] };
  const saved = await call(`${target.apiUrl}/retention/policy`, { method: 'PUT', token, headers: { 'Content-Type': 'application/json', 'If-Match': read.headers.get('etag')! }, body: JSON.stringify(theirs) });
  expect(saved.status).toBe(200);

  await page.getByRole('button', { name: 'Save policy' }).click();
  await page.getByRole('alert').getByText('Someone changed the policy after you opened it, so your changes were not saved. The policy as it is now is shown: make your changes again.').waitFor();
  const inForce = page.locator('#h-effective ~ ul li');
  await until(page, async () => (await inForce.allTextContents()).includes('archive-15y — 15 years'));
  expect((await inForce.allTextContents()).some((c) => c.startsWith('leases-10y'))).toBe(false);
  // The form shows the stored classes, Ada's draft row gone.
  expect(await Promise.all((await rows.locator('input[id$="-name"]').all()).map((i) => i.inputValue()))).toEqual(['contracts-12y', 'archive-15y']);
  await checkA11y(page, 'retention changed meanwhile');
  await screenshot(page, 'retention-4-changed-meanwhile');
});

it('a lowering is only proposed; the admin, who approves disposals, cannot approve it; a second records manager does, and it applies', async () => {
  const target = e2eTarget();
  const ada = await target.token({ tenant, sub: 'ada@acme.example', rights: 'tenant-admin' });
  const asAda = (method: string, path: string, body: unknown, headers: Record<string, string> = {}) => call(`${target.apiUrl}/${path}`, { method, token: ada, headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const read = await call(`${target.apiUrl}/retention/policy`, { token: ada });
  const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, ...stored } = read.json;
  expect((await asAda('PUT', 'retention/policy', { ...stored, requireDisposalApproval: true }, { 'If-Match': read.headers.get('etag')! })).status).toBe(200);
  // Two records managers, appointed before anything is proposed: they manage retention, they approve no disposals.
  expect((await asAda('PUT', 'rights-sets/records', { permissions: ['documents:read', 'retention:manage'] })).status).toBe(200);
  for (const person of ['rita@acme.example', 'rob@acme.example']) expect((await asAda('PUT', `rights-assignments/${person}`, { rightsSet: 'records' })).status).toBe(200);
  const signedIn = async (person: string) => {
    const opened = await openPage(browser, { locale: 'en-GB' });
    await opened.page.goto(new URL('/retention', target.appUrl).toString());
    await signIn(opened.page, { tenant, person, rightsSet: 'auditor' });
    await opened.page.getByRole('heading', { level: 1, name: 'Retention' }).waitFor();
    return opened;
  };
  const lowered = 'Documents are then disposed of without anyone approving it';

  // Rita turns the approval of disposals off: only proposed.
  const rita = await signedIn('rita@acme.example');
  await rita.page.getByLabel('Documents are disposed of only after someone approved it').uncheck();
  await rita.page.getByRole('button', { name: 'Save policy' }).click();
  await rita.page.getByText('Proposed — it lowers a safeguard, so another person who manages retention (and does not approve disposals) must approve it before it applies.', { exact: false }).waitFor();
  await rita.page.getByText(lowered).waitFor();
  await rita.page.getByRole('button', { name: 'Withdraw' }).waitFor();
  expect(await rita.page.getByLabel('Documents are disposed of only after someone approved it').isChecked()).toBe(true);
  await checkA11y(rita.page, 'retention lowering proposed');
  await screenshot(rita.page, 'retention-5-lowering-proposed');

  // Ada approves disposals: her approval is refused, in words.
  await goTo(page, 'Disposal', 'Disposal review');
  await goTo(page, 'Retention', 'Retention');
  await page.getByText(lowered).waitFor();
  await page.getByLabel('Reason for approving').fill('Fine by me');
  await page.getByRole('button', { name: 'Approve', exact: true }).click();
  await page.getByText('Someone who approves disposals cannot weaken the retention safeguards.').waitFor();
  await checkA11y(page, 'retention approval refused');
  await screenshot(page, 'retention-6-approval-refused');

  // Rob, a second records manager, approves: it applies.
  const rob = await signedIn('rob@acme.example');
  await rob.page.getByText(lowered).waitFor();
  await rob.page.getByRole('button', { name: 'Reject' }).waitFor();
  await rob.page.getByLabel('Reason for approving').fill('The accountant approves disposals outside the archive now');
  await rob.page.getByRole('button', { name: 'Approve', exact: true }).click();
  await rob.page.getByText('Approved: the policy now applies as proposed.').waitFor();
  await rob.page.getByText('No proposed changes are waiting.').waitFor();
  await until(rob.page, async () => !(await rob.page.getByLabel('Documents are disposed of only after someone approved it').isChecked()));
  // The decided proposal stays listed: what it lowered, who proposed it, that it was approved, and why.
  const decided = rob.page.getByRole('table', { name: 'Decided earlier' });
  await until(rob.page, async () => (await decided.getByRole('row').count()) === 2);
  const row = (await decided.getByRole('row').nth(1).textContent()) ?? '';
  for (const part of [lowered, 'Proposed by rita@acme.example', 'Approved', 'The accountant approves disposals outside the archive now']) expect(row).toContain(part);
  await checkA11y(rob.page, 'retention lowering approved');
  await screenshot(rob.page, 'retention-7-lowering-approved');
  expect((await call(`${target.apiUrl}/retention/policy`, { token: ada })).json).toMatchObject({ requireDisposalApproval: false, updatedBy: { subject: 'rob@acme.example' } });
  await rita.page.context().close();
  await rob.page.context().close();
});

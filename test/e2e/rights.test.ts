/**
 * Rights and segregation of duties in a real browser: a tenant's own rights set created, edited and
 * deleted; a stronger SoD rule refused while someone holds the pair, naming who; a weakening only
 * proposed, refused to its proposer as a sentence, and applied once a second person approves it; a
 * proposal withdrawn (then listed by state among the decided ones). axe-core and a screenshot on each state.
 */
import type { Browser, Page } from 'playwright-core';
import { checkA11y, launchBrowser, openSignedIn, screenshot, until, type OpenedPage } from '../support/browser';
import { e2eTarget } from '../support/e2e-target';
import { newTenant } from '../support/harness';
import { call } from '../support/http';

const tenant = newTenant('e2e-sod');
const ADA = 'ada@acme.example';
const BERT = 'bert@acme.example';

let browser: Browser;
let ada: OpenedPage;
let page: Page;

const open = (path: string, who: { person: string; rightsSet: string }): Promise<OpenedPage> => openSignedIn(browser, e2eTarget().appUrl, path, { tenant, ...who });

beforeAll(async () => {
  browser = await launchBrowser();
  ada = await open('/rights', { person: ADA, rightsSet: 'tenant-admin' });
  page = ada.page;
  await page.getByRole('heading', { level: 2, name: 'Segregation of duties' }).waitFor();
});
afterAll(async () => {
  await browser?.close();
});

it('creates a rights set of the tenant\'s own, edits it and deletes it', async () => {
  await page.getByRole('button', { name: 'New rights set' }).click();
  await page.locator('#s-name').fill('bookkeeper');
  await page.locator('[id="s-p-documents:download"]').check();
  await page.getByRole('button', { name: 'Save rights set' }).click();
  const row = page.getByRole('row', { name: /bookkeeper/ });
  await row.getByText('Download documents').waitFor();

  await page.getByRole('button', { name: 'Edit bookkeeper' }).click();
  await page.getByRole('heading', { name: 'Edit rights set bookkeeper' }).waitFor();
  await page.locator('[id="s-p-exports:create"]').check();
  await checkA11y(page, 'rights set edit');
  await screenshot(page, 'rights-1-set-edit');
  await page.getByRole('button', { name: 'Save rights set' }).click();
  await row.getByText('Export a fiscal year').waitFor();
  expect(await row.locator('.tags li').allTextContents()).toEqual(['Find and read documents', 'Download documents', 'Export a fiscal year']);

  await page.getByRole('button', { name: 'Delete bookkeeper' }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete rights set bookkeeper?' });
  await dialog.waitFor();
  await checkA11y(page, 'rights set delete dialog');
  await screenshot(page, 'rights-2-set-delete-confirm');
  await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
  await row.waitFor({ state: 'detached' });
});

it('refuses a stronger rule while someone holds the pair, listing who holds it next to the form', async () => {
  await page.locator('#sod-a').selectOption('documents:read');
  await page.locator('#sod-b').selectOption('audit:read');
  await page.getByRole('button', { name: 'Add pair' }).click();
  await page.getByRole('button', { name: 'Save rules' }).click();
  const problem = page.locator('#h-sod ~ form .problem');
  await problem.waitFor();
  expect(await problem.locator('p').first().textContent()).toBe('Under these rules, rights that people or keys hold today would conflict; change those first.');
  expect(await problem.locator('li').allTextContents()).toEqual(['Administrator (tenant-admin) grants both Find and read documents (documents:read) and Read the audit log (audit:read); held by you.']);
  await checkA11y(page, 'sod conflicting holders');
  await screenshot(page, 'rights-3-sod-holders');
  await page.getByRole('button', { name: 'Undo changes' }).click();
  await problem.waitFor({ state: 'detached' });
});

it('only proposes a weakening; its proposer cannot approve it (a sentence); a second person approves, and the rules change', async () => {
  await page.getByRole('button', { name: 'Remove the pair documents:write and retention:approve' }).click();
  await page.getByRole('button', { name: 'Save rules' }).click();
  await page.getByText('Proposed — a second person must approve it before it applies.', { exact: false }).waitFor();
  // Nothing changed yet: the pair is still in force.
  expect(await page.locator('.pairs li span').allTextContents()).toEqual(['Archive documents (documents:write) — Approve disposal (retention:approve)']);
  const card = page.getByRole('article', { name: 'Proposal 1' });
  await card.waitFor();
  expect(await card.locator('p').first().textContent()).toMatch(/^Proposed by you on .+\. Lapses on .+ unless approved\.$/);
  expect(await card.locator('ul li').allTextContents()).toEqual(['Removes the pair Archive documents (documents:write) — Approve disposal (retention:approve)']);
  expect(await card.getByRole('button', { name: 'Withdraw' }).count()).toBe(1);
  await checkA11y(page, 'sod proposed');
  await screenshot(page, 'rights-4-sod-proposed');

  await card.getByLabel('Reason for approving').fill('Two-person office');
  await card.getByRole('button', { name: 'Approve', exact: true }).click();
  const refusal = card.locator('.problem');
  await refusal.waitFor();
  expect(await refusal.textContent()).toBe('Segregation of duties does not allow you to do this. You proposed this change of the segregation-of-duties rules yourself, so another person must approve it (an API key of yours counts as you).');
  await checkA11y(page, 'sod proposer refused');
  await screenshot(page, 'rights-5-sod-proposer-refused');

  const bert = await open('/rights', { person: BERT, rightsSet: 'tenant-admin' });
  const theirs = bert.page.getByRole('article', { name: 'Proposal 1' });
  await theirs.waitFor();
  expect(await theirs.locator('p').first().textContent()).toMatch(/^Proposed by ada@acme\.example on /);
  expect(await theirs.getByRole('button', { name: 'Reject' }).count()).toBe(1);
  await theirs.getByLabel('Reason for approving').fill('Two-person office; agreed with the auditor');
  await theirs.getByRole('button', { name: 'Approve', exact: true }).click();
  await bert.page.getByText('Approved: the rules now apply as proposed.').waitFor();
  await bert.page.getByText('No conflicting pairs.').waitFor();
  await bert.page.getByText('No proposed changes are waiting.').waitFor();
  const decided = bert.page.getByRole('table', { name: 'Decided earlier' });
  expect(await decided.getByRole('row').nth(1).textContent()).toContain('Two-person office; agreed with the auditor');
  await checkA11y(bert.page, 'sod approved');
  await screenshot(bert.page, 'rights-6-sod-approved');

  const token = await e2eTarget().token({ tenant, sub: 'otto@acme.example', rights: 'tenant-admin' });
  const policy = await call(`${e2eTarget().apiUrl}/sod-policy`, { token });
  expect((policy.json as { conflicts: unknown[] }).conflicts).toEqual([]);
  expect(bert.problems.filter((p) => /Content Security Policy/i.test(p))).toEqual([]);
  await bert.context.close();
});

it('lets the proposer withdraw a proposal', async () => {
  // Away and back: the screen reads the rules Bert changed (a reload would sign in again: tokens live in memory only).
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Rights', exact: true }).click();
  await page.getByText('No conflicting pairs.').waitFor();
  await page.getByLabel('Whoever archived a document cannot approve its disposal').uncheck();
  await page.getByRole('button', { name: 'Save rules' }).click();
  const card = page.getByRole('article', { name: 'Proposal 1' });
  await card.waitFor();
  expect(await card.locator('ul li').allTextContents()).toEqual(['Whoever archived a document may then approve its disposal']);
  await card.getByRole('button', { name: 'Withdraw' }).click();
  const dialog = page.getByRole('dialog', { name: 'Withdraw your proposal?' });
  await dialog.getByRole('button', { name: 'Withdraw', exact: true }).click();
  await page.getByText('Withdrawn: the rules stay as they are.').waitFor();
  expect(await page.getByText('Proposed — a second person must approve it', { exact: false }).count()).toBe(0);
  expect(await page.getByLabel('Whoever archived a document cannot approve its disposal').isChecked()).toBe(true);
  // The decided list pages by state: the withdrawn one alone among the withdrawn, the approved one alone among the approved.
  await page.getByLabel('Show').selectOption({ label: 'Withdrawn' });
  const decided = page.getByRole('table', { name: 'Decided earlier' });
  await until(page, async () => (await decided.getByRole('row').count()) === 2 && /Withdrawn/.test((await decided.getByRole('row').nth(1).textContent()) ?? ''));
  await page.getByLabel('Show').selectOption({ label: 'Approved' });
  await until(page, async () => (await decided.getByRole('row').count()) === 2 && /Two-person office/.test((await decided.getByRole('row').nth(1).textContent()) ?? ''));
  await checkA11y(page, 'sod withdrawn');
  await screenshot(page, 'rights-7-sod-withdrawn');
  expect(ada.problems.filter((p) => /Content Security Policy/i.test(p))).toEqual([]);
});

it('a save on rules someone changed meanwhile changes nothing: it says so and shows the rules as they are now', async () => {
  await page.getByText('No conflicting pairs.').waitFor();
  await page.locator('#sod-a').selectOption('audit:read');
  await page.locator('#sod-b').selectOption('holds:place');
  await page.getByRole('button', { name: 'Add pair' }).click();
  await page.getByText('Not saved yet.').waitFor();
  // Another admin stores a stronger rule while Ada's draft is open: her save would have dropped it.
  const target = e2eTarget();
  const token = await target.token({ tenant, sub: 'otto@acme.example', rights: 'tenant-admin' });
  const read = await call(`${target.apiUrl}/sod-policy`, { token });
  const theirs = await call(`${target.apiUrl}/sod-policy`, { method: 'PUT', token, headers: { 'Content-Type': 'application/json', 'If-Match': read.headers.get('etag')! }, body: JSON.stringify({ conflicts: [['documents:write', 'holds:place']], uploaderCannotApproveDisposal: true }) });
  expect(theirs.status).toBe(200);

  await page.getByRole('button', { name: 'Save rules' }).click();
  await page.getByRole('alert').getByText('Someone changed these rules after you opened them, so your changes were not saved. The rules as they are now are shown: make your changes again.').waitFor();
  await page.getByText(/^Last changed .* by otto@acme\.example\.$/).waitFor();
  expect(await page.locator('ul.pairs li').count()).toBe(1);
  expect(await page.getByRole('button', { name: 'Remove the pair documents:write and holds:place' }).count()).toBe(1);
  const policy = await call(`${target.apiUrl}/sod-policy`, { token });
  expect(policy.json.conflicts).toEqual([['documents:write', 'holds:place']]);
  await checkA11y(page, 'sod changed meanwhile');
  await screenshot(page, 'rights-8-sod-changed-meanwhile');
});

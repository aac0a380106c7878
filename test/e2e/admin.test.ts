/**
 * A tenant admin's screens in a real browser (Debian chromium): the menu by rights set, an API key
 * refused beyond the admin's own rights, then created with its secret shown once (copied, working),
 * and revoked after a confirmation (then listed with the revoked keys); rights assignments (oneself refused); support access
 * (granted, revoked, then listed with the revoked grants; one given through a since revoked key marked as giving no access); retention;
 * the disposal review; a legal hold placed by one person, refused to that same person under another
 * rights set (four eyes, as a sentence), and released by a second. axe-core and a screenshot on each.
 */
import type { Browser, Page } from 'playwright-core';
import { checkA11y, goTo, holdGets, launchBrowser, openPage, openSignedIn, screenshot, signIn, until, type OpenedPage, loseFirstAnswer } from '../support/browser';
import { e2eTarget } from '../support/e2e-target';
import { corpusFile, newTenant } from '../support/harness';
import { call, multipart } from '../support/http';

const tenant = newTenant('e2e-adm');
const ADMIN = 'ada@acme.example';
const SECOND = 'bert@acme.example';

let browser: Browser;
let admin: OpenedPage;
let page: Page;

const open = (path: string, who: { person: string; rightsSet: string }): Promise<OpenedPage> => openSignedIn(browser, e2eTarget().appUrl, path, { tenant, ...who });

/**
 * A fresh page (nothing cached) at `path` as the admin, with GET /rights-sets held back until `release`,
 * which resolves once the list has been answered.
 */
async function openWithSetsHeld(path: string, heading: string): Promise<{ fresh: OpenedPage; release: () => Promise<void> }> {
  const fresh = await openPage(browser);
  const { release } = await holdGets(fresh.page, '/rights-sets');
  await fresh.page.goto(new URL(path, e2eTarget().appUrl).toString());
  await signIn(fresh.page, { tenant, person: ADMIN, rightsSet: 'tenant-admin' });
  await fresh.page.getByRole('heading', { level: 1, name: heading, exact: true }).waitFor();
  return { fresh, release };
}

beforeAll(async () => {
  const target = e2eTarget();
  const token = await target.token({ tenant, sub: 'otto@acme.example', rights: 'archivist' });
  for (const [i, file] of ['img2pdf/normal.jpg', 'img2pdf/normal.png'].entries()) {
    const answer = await call(`${target.apiUrl}/documents`, {
      method: 'POST',
      token,
      body: multipart([{ bytes: corpusFile(file), name: file.split('/')[1]!, type: i === 0 ? 'image/jpeg' : 'image/png' }], { counterparty: 'ACME GmbH', reference: `LIT-${i}`, documentDate: '2024-04-0' + (i + 1), kind: 'invoice' }),
    });
    expect(answer.status).toBe(201);
  }
  browser = await launchBrowser();
  admin = await open('/api-keys', { person: ADMIN, rightsSet: 'tenant-admin' });
  page = admin.page;
  await admin.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(target.appUrl).origin });
});
afterAll(async () => {
  await browser?.close();
});

it('shows the admin every screen their rights allow, and lands on the one asked for', async () => {
  expect(await page.locator('main h1').textContent()).toBe('API keys');
  const menu = await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();
  expect(menu).toEqual(['Documents', 'Exports', 'Audit log', 'Legal holds', 'Disposal', 'Retention', 'API keys', 'Rights', 'Support access']);
  // The form starts on a set the admin may grant (within their own rights), not one the API would refuse,
  // once the organisation's sets have arrived.
  await until(page, () => page.locator('#k-set').isEnabled());
  expect(await page.locator('#k-set').inputValue()).toBe('accountant');
  await checkA11y(page, 'api keys');
  await screenshot(page, 'admin-1-api-keys');
});

it('creates a key only once the organisation\'s rights sets have arrived', async () => {
  // Hold the rights sets back: until they arrive neither the set nor Create key can be used, since the built-in
  // list in their place once started a person holding a set of the organisation's own on one beyond their rights.
  const { fresh, release } = await openWithSetsHeld('/api-keys', 'API keys');
  await fresh.page.getByLabel('Name', { exact: true }).fill('front desk');
  const create = fresh.page.getByRole('button', { name: 'Create key' });
  expect(await create.isDisabled()).toBe(true);
  expect(await fresh.page.locator('#k-set').isDisabled()).toBe(true);
  await release();
  await create.click();
  await fresh.page.locator('#k-secret').waitFor();
  expect(await fresh.page.locator('#h-secret').textContent()).toContain('front desk');
  await fresh.context.close();
});

it('refuses a key beyond the admin\'s own rights, with a sentence naming what is missing', async () => {
  await page.getByLabel('Name', { exact: true }).fill('scanner reception');
  await page.getByLabel('Rights set').selectOption('uploader');
  await page.getByRole('button', { name: 'Create key' }).click();
  const problem = page.locator('.problem');
  await problem.waitFor();
  expect(await problem.textContent()).toBe('Segregation of duties does not allow you to do this. You cannot grant a permission you do not hold yourself. Beyond your own rights: Archive documents (documents:write).');
  await checkA11y(page, 'api key refused');
  await screenshot(page, 'admin-2-api-key-refused');
});

let secret = '';

it('creates a key and shows its secret once, with a warning and a copy button; the key works', async () => {
  await page.getByLabel('Rights set').selectOption('auditor');
  await page.getByRole('button', { name: 'Create key' }).click();
  await page.waitForSelector('#k-secret');
  expect(await page.locator('.warning').first().textContent()).toMatch(/shown only this once/);
  // The admin's rights come from the sign-in (the rights claim): the key rests if they stop signing in, and the panel says so.
  expect(await page.locator('#k-idle-limit').textContent()).toMatch(/signed in to the archive within the last 30 days/);
  secret = await page.locator('#k-secret').inputValue();
  expect(secret.length).toBeGreaterThan(20);
  expect(await page.evaluate('document.activeElement?.id')).toBe('h-secret');
  await page.getByRole('button', { name: 'Copy', exact: true }).click();
  await page.getByText('Copied to the clipboard.').waitFor();
  expect(await page.evaluate('navigator.clipboard.readText()')).toBe(secret);
  await checkA11y(page, 'api key secret');
  await screenshot(page, 'admin-3-api-key-secret-once');

  const works = await call(`${e2eTarget().apiUrl}/documents`, { headers: { Authorization: `ApiKey ${secret}` } });
  expect(works.status).toBe(200);

  await page.getByRole('button', { name: 'I have stored the secret' }).click();
  await page.locator('#k-secret').waitFor({ state: 'detached' });
  await page.getByRole('row', { name: /scanner reception/ }).waitFor();
  // Once dismissed, the secret is nowhere on the page; the list shows its first characters only.
  expect(await page.content()).not.toContain(secret);
});

it('revokes the key after a confirmation; the key stops working', async () => {
  await page.getByRole('button', { name: 'Revoke scanner reception' }).click();
  const dialog = page.getByRole('dialog', { name: 'Revoke API key "scanner reception"?' });
  await dialog.waitFor();
  // The focus starts on Cancel, not on the irreversible button: a second Enter (or a key that repeats) on the
  // button that opened the dialog must not revoke.
  expect(await page.evaluate('document.activeElement?.textContent')).toBe('Cancel');
  await checkA11y(page, 'api key revoke dialog');
  await screenshot(page, 'admin-4-api-key-revoke-confirm');
  await dialog.getByRole('button', { name: 'Revoke', exact: true }).click();
  // The list shows the keys in use: the revoked key leaves it (the key made while the sets were held back stays),
  // and is listed with the revoked ones.
  await page.getByRole('row', { name: /scanner reception/ }).waitFor({ state: 'detached' });
  await page.getByRole('row', { name: /front desk/ }).waitFor();
  expect(await page.getByRole('button', { name: 'Revoke scanner reception' }).count()).toBe(0);
  await page.getByLabel('Show').selectOption({ label: 'Revoked keys' });
  await page.getByRole('row', { name: /scanner reception/ }).getByText('Revoked').waitFor();
  expect(await page.getByRole('button', { name: 'Revoke scanner reception' }).count()).toBe(0);
  const refused = await call(`${e2eTarget().apiUrl}/documents`, { headers: { Authorization: `ApiKey ${secret}` } });
  expect(refused.status).toBe(401);
  await screenshot(page, 'admin-5-api-key-revoked');
  // What the key did: the audit log, filtered to the key (its use before revocation, and the refused one after).
  await page.getByRole('link', { name: 'Audit log of scanner reception' }).click();
  await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
  const keySubject = `apikey:${secret.split('_')[2]}`;
  expect(await page.getByLabel('Who', { exact: true }).inputValue()).toBe(keySubject);
  await page.locator('tbody tr').first().waitFor();
  const actors = await page.locator('tbody tr').allTextContents();
  expect(actors.length).toBeGreaterThan(0);
  for (const row of actors) expect(row).toContain(keySubject);
  await goTo(page, 'API keys', 'API keys');
});

it('assigns a rights set to someone once the sets are listed, and refuses the admin their own, as a sentence', async () => {
  // Hold the sets back: until they arrive the choice is empty and Assign cannot send (it once sent a set
  // nobody had seen chosen).
  const { fresh, release } = await openWithSetsHeld('/rights', 'Rights');
  await fresh.page.getByLabel('Person', { exact: true }).fill('carla@acme.example');
  const assign = fresh.page.getByRole('button', { name: 'Assign', exact: true });
  expect(await assign.isDisabled()).toBe(true);
  await release();
  await fresh.page.locator('#r-set').selectOption('accountant');
  await assign.click();
  await fresh.page.getByRole('row', { name: /carla@acme\.example/ }).waitFor();
  await fresh.context.close();

  await goTo(page, 'Rights', 'Rights');
  // Carla holds a set now: the form says which before it replaces it, and replaces exactly that assignment.
  await page.getByLabel('Person', { exact: true }).fill('carla@acme.example');
  await page.getByText('carla@acme.example holds Accountant (accountant) now: assigning replaces it.').waitFor();
  await page.locator('#r-set').selectOption('auditor');
  await page.getByRole('button', { name: 'Replace', exact: true }).click();
  await page.getByRole('row', { name: /carla@acme\.example.*auditor/ }).waitFor();

  await page.getByLabel('Person', { exact: true }).fill(ADMIN);
  await page.locator('#r-set').selectOption('auditor');
  await page.getByRole('button', { name: 'Assign', exact: true }).click();
  await page.locator('.problem').first().waitFor();
  expect(await page.locator('.problem').first().textContent()).toBe('Segregation of duties does not allow you to do this. Nobody can assign rights to themselves.');
  await checkA11y(page, 'rights');
  await screenshot(page, 'admin-6-rights');
});

it('grants support access for a ticket and lists it, once the API has said the longest grant (a first answer lost on the way: Grant access again gets that grant, not a second)', async () => {
  // Hold the grant list (which carries the longest grant) back: until it arrives the form cannot send, since
  // a guessed limit once sent an end date the API refused as too far away.
  const { release } = await holdGets(page, '/support-grants');
  await goTo(page, 'Support access', 'Support access');
  await page.getByLabel('Ticket', { exact: true }).fill('SUP-4711');
  await page.getByLabel('Read, download and audit log').check();
  const send = page.getByRole('button', { name: 'Grant access' }).last();
  expect(await send.isDisabled()).toBe(true);
  await release();
  // The archive gives the grant; its answer never reaches the page.
  const lost = await loseFirstAnswer(page, '**/api/support-grants');
  await send.click();
  await page.waitForSelector('.problem');
  await send.click();
  await page.getByRole('row', { name: /SUP-4711/ }).getByText('Active').waitFor();
  await lost.stop();
  expect(lost.keys).toEqual([expect.stringMatching(/^[0-9a-f-]{36}$/), lost.keys[0]]);
  expect(await page.getByRole('row', { name: /SUP-4711/ }).count()).toBe(1);
  await checkA11y(page, 'support access');
  await screenshot(page, 'admin-7-support-access');
  // The list shows the active grants: a revoked grant leaves it, and is listed with the revoked ones.
  await page.getByRole('button', { name: 'Revoke access for SUP-4711' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke', exact: true }).click();
  await page.getByText('No grants in this list.').waitFor();
  await page.getByLabel('Show').selectOption({ label: 'Revoked grants' });
  await page.getByRole('row', { name: /SUP-4711/ }).getByText('Revoked').waitFor();
  expect(await page.getByRole('button', { name: 'Revoke access for SUP-4711' }).count()).toBe(0);
});

it('marks what a since revoked API key made: a grant and a key with no access, an assignment to review', async () => {
  const target = e2eTarget();
  const token = await target.token({ tenant, sub: ADMIN, rights: 'tenant-admin' });
  const json = { 'Content-Type': 'application/json' };
  const minted = await call(`${target.apiUrl}/api-keys`, { method: 'POST', token, headers: json, body: JSON.stringify({ name: 'support tool', rightsSet: 'tenant-admin' }) });
  expect(minted.status).toBe(201);
  const { id: keyId, key } = minted.json as { id: string; key: string };
  const expiresAt = new Date(Date.now() + 2 * 86_400_000).toISOString();
  const given = await call(`${target.apiUrl}/support-grants`, { method: 'POST', headers: { ...json, Authorization: `ApiKey ${key}` }, body: JSON.stringify({ ticket: 'SUP-KEY', scope: 'read-only', expiresAt }) });
  expect(given.status).toBe(201);
  // A key minted through it, too: it cannot act once its minter is revoked.
  const child = await call(`${target.apiUrl}/api-keys`, { method: 'POST', headers: { ...json, Authorization: `ApiKey ${key}` }, body: JSON.stringify({ name: 'minted by the tool', rightsSet: 'auditor' }) });
  expect(child.status).toBe(201);
  // And rights assigned through it: they stay, marked for review.
  const assigned = await call(`${target.apiUrl}/rights-assignments/${encodeURIComponent('eve@acme.example')}`, { method: 'PUT', headers: { ...json, Authorization: `ApiKey ${key}` }, body: JSON.stringify({ rightsSet: 'auditor' }) });
  expect(assigned.status).toBe(200);
  expect((await call(`${target.apiUrl}/api-keys/${keyId}`, { method: 'DELETE', token })).status).toBe(200);
  // A fresh page: the admin's page holds the list as it was before the grant.
  const fresh = await open('/support-access', { person: ADMIN, rightsSet: 'tenant-admin' });
  const row = fresh.page.getByRole('row', { name: /SUP-KEY/ });
  await row.getByText('No access').waitFor();
  expect(await row.textContent()).toContain(`Given through API key ${keyId}, which has been revoked or has expired`);
  expect(await fresh.page.getByRole('button', { name: 'Revoke access for SUP-KEY' }).count()).toBe(1);
  await goTo(fresh.page, 'API keys', 'API keys');
  const childRow = fresh.page.getByRole('row', { name: /minted by the tool/ });
  await childRow.getByText('No access').waitFor();
  expect(await childRow.textContent()).toContain(`Created with API key ${keyId}, which has been revoked or has expired`);
  await checkA11y(fresh.page, 'api key with no access');
  await goTo(fresh.page, 'Rights', 'Rights');
  const eveRow = fresh.page.getByRole('row', { name: /eve@acme\.example/ });
  await eveRow.getByText(`Assigned with API key ${keyId}, which has since been revoked or has expired`).waitFor();
  await fresh.context.close();
});

it('shows the retention policy and saves a stronger one', async () => {
  await goTo(page, 'Retention', 'Retention');
  expect(await page.locator('main').textContent()).toContain('fiscal-7y');
  await page.getByLabel('Documents are disposed of only after someone approved it').check();
  await page.getByRole('button', { name: 'Save policy' }).click();
  await page.getByText('Saved.').waitFor();
  await checkA11y(page, 'retention');
  await screenshot(page, 'admin-8-retention');
});

it('shows the disposal review (nothing due yet)', async () => {
  await goTo(page, 'Disposal', 'Disposal review');
  await page.getByText('No documents are due.').waitFor();
  await checkA11y(page, 'disposal');
  await screenshot(page, 'admin-9-disposal');
});

it('a legal hold placed by one person is refused to that same person, with a sentence, and released by another', async () => {
  // Ada, signed in as an archivist, places the hold.
  const archivist = await open('/legal-holds', { person: ADMIN, rightsSet: 'archivist' });
  const menu = await archivist.page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();
  expect(menu).toEqual(['Documents', 'Archive a scan', 'Legal holds']);
  await archivist.page.getByLabel('Counterparty', { exact: true }).fill('ACME GmbH');
  await archivist.page.getByLabel('Reason', { exact: true }).fill('Litigation with ACME');
  await archivist.page.getByLabel('Case reference').fill('LG-9');
  await archivist.page.getByRole('button', { name: 'Place hold' }).click();
  await archivist.page.getByText('Placed on 2 documents.').waitFor();
  await archivist.page.getByRole('heading', { name: 'Case LG-9' }).waitFor();
  await checkA11y(archivist.page, 'legal holds');
  await screenshot(archivist.page, 'admin-10-legal-hold-placed');
  await archivist.context.close();

  // Ada, now as tenant admin, may release holds, but not her own.
  await goTo(page, 'Legal holds', 'Legal holds');
  await page.getByRole('heading', { name: 'Case LG-9' }).waitFor();
  await page.getByRole('button', { name: 'Release the hold for case LG-9' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Reason for releasing').fill('Settled');
  await checkA11y(page, 'legal hold release dialog');
  await dialog.getByRole('button', { name: 'Release', exact: true }).click();
  const refusal = page.locator('.hold .problem');
  await refusal.waitFor();
  expect(await refusal.textContent()).toBe('Four-eyes rule: another person must do this. You placed this legal hold yourself, so another person must release it (an API key of yours counts as you).');
  await checkA11y(page, 'legal hold refused');
  await screenshot(page, 'admin-11-legal-hold-four-eyes');

  // Bert releases it.
  const second = await open('/legal-holds', { person: SECOND, rightsSet: 'tenant-admin' });
  await second.page.getByRole('button', { name: 'Release the hold for case LG-9' }).click();
  await second.page.getByRole('dialog').getByLabel('Reason for releasing').fill('Settled out of court');
  await second.page.getByRole('dialog').getByRole('button', { name: 'Release', exact: true }).click();
  await second.page.getByText('No open legal holds.').waitFor();
  await screenshot(second.page, 'admin-12-legal-hold-released');
  expect(admin.problems.filter((p) => /Content Security Policy/i.test(p))).toEqual([]);
  expect(second.problems.filter((p) => /Content Security Policy/i.test(p))).toEqual([]);
  await second.context.close();
});

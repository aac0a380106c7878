/**
 * A hold by query is live in the browser: placed on a fiscal year with no document yet, it is listed (no
 * document carries it yet, and the screen says it holds the documents archived into its selection later);
 * its placer cannot release it (four eyes, a sentence beside the hold); a document of that year archived
 * afterwards is reached by the reconciler (run in-process on this file's own host, as
 * test/integration/worm.test.ts does), counted on the holds screen and marked on the document's screen
 * as reached later; a second person releases it everywhere and it is gone from the list.
 * axe-core and a screenshot on each screen changed.
 */
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { startArchiveHost, type ArchiveHost } from '../../local/archive-host';
import { allowWebOriginsOnAzurite } from '../../local/emulators';
import { mintToken } from '../../local/oidc';
import { reconcile } from '../../shared/retention/reconcile';
import { checkA11y, launchBrowser, openSignedIn, screenshot, type OpenedPage } from '../support/browser';
import { readEmulators } from '../support/emulators-file';
import { corpusFile, depsForOnlyTenant, newTenant, quietLog, testEnv } from '../support/harness';
import { call, multipart } from '../support/http';

const WEB_DIR = path.resolve(__dirname, '..', '..', 'web', 'dist');
const tenant = newTenant('e2e-live');
const PLACER = 'ada@acme.example';
const SECOND = 'bert@acme.example';
const YEAR = 2019;

let host: ArchiveHost;
let browser: Browser;
const opened: OpenedPage[] = [];
const open = async (appPath: string, who: { person: string; rightsSet: string }): Promise<OpenedPage> => {
  const page = await openSignedIn(browser, host.appUrl, appPath, { tenant, ...who });
  opened.push(page);
  return page;
};

beforeAll(async () => {
  const emulators = readEmulators();
  // A host of this file's own: the reconciler runs in-process against its deps.
  host = await startArchiveHost({ env: testEnv(emulators, { ARCHIVE_WEB_DIR: WEB_DIR }), log: quietLog });
  await allowWebOriginsOnAzurite(emulators.storageConnectionString, [host.appUrl]);
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await host?.stop();
});

it('a hold by query on a year with no document holds the one archived later, until a second person releases it everywhere', async () => {
  // Ada, an archivist, places a hold on a fiscal year the tenant has no document of.
  const archivist = await open('/legal-holds', { person: PLACER, rightsSet: 'archivist' });
  const page = archivist.page;
  await page.getByLabel('Fiscal year', { exact: true }).fill(String(YEAR));
  await page.getByLabel('Reason', { exact: true }).fill(`Tax audit ${YEAR}`);
  await page.getByLabel('Case reference').fill('BD-19');
  await page.getByRole('button', { name: 'Place hold' }).click();
  await page.getByText('No document matches yet; the hold is placed all the same. It also holds the documents archived into this selection later, until it is released everywhere.').waitFor();
  const hold = page.locator('.hold', { has: page.getByRole('heading', { name: 'Case BD-19' }) });
  await hold.waitFor();
  expect(await hold.locator('dl').innerText()).toMatch(/Selection\s+Fiscal year 2019/);
  await hold.getByText('No document carries it yet.').waitFor();
  await hold.getByText('A hold by query: it also holds the documents archived (or corrected) into this selection later, until it is released everywhere.').waitFor();
  await checkA11y(page, 'live hold with no document yet');
  await screenshot(page, 'live-holds-1-placed-no-document');

  // Ada, as tenant admin, may release holds, but not her own: the refusal is a sentence beside the hold.
  const own = await open('/legal-holds', { person: PLACER, rightsSet: 'tenant-admin' });
  await own.page.getByRole('button', { name: 'Release the hold for case BD-19' }).click();
  const ownDialog = own.page.getByRole('dialog');
  await ownDialog.getByText('No document carries this hold yet. Released everywhere, it no longer holds the documents archived into its selection later.').waitFor();
  await ownDialog.getByLabel('Reason for releasing').fill('Audit closed');
  await checkA11y(own.page, 'live hold release dialog');
  await ownDialog.getByRole('button', { name: 'Release', exact: true }).click();
  const refusal = own.page.locator('.hold .problem');
  await refusal.waitFor();
  expect(await refusal.textContent()).toBe('Four-eyes rule: another person must do this. You placed this legal hold yourself, so another person must release it (an API key of yours counts as you).');
  await checkA11y(own.page, 'live hold refused to its placer');

  // A receipt of that year is archived; the reconciler places the hold on it.
  const writer = await mintToken(readEmulators().signingKey, readEmulators().issuer, { tenant, sub: 'otto@acme.example', rights: 'archivist' });
  const up = await call(`${host.url}/documents`, {
    method: 'POST',
    token: writer,
    body: multipart([{ bytes: corpusFile('img2pdf/normal.jpg'), name: 'receipt.jpg', type: 'image/jpeg' }], { counterparty: 'Belastingdienst', reference: 'R-19', documentDate: `${YEAR}-11-04`, fiscalYear: YEAR, kind: 'receipt' }),
  });
  expect(up.status).toBe(201);
  const documentId = up.json.id as string;
  const reconciled = await reconcile({ now: new Date(), maxItems: 100, continuation: null }, depsForOnlyTenant(host.deps, tenant));
  expect(reconciled.holdsExtended).toContainEqual({ tenantId: tenant, documentId, holdId: expect.any(String) });

  // The holds screen counts it, and its screen says the hold reached it later.
  const later = (await open('/legal-holds', { person: PLACER, rightsSet: 'archivist' })).page;
  const counted = later.locator('.hold', { has: later.getByRole('heading', { name: 'Case BD-19' }) });
  await counted.getByText('1 document:').waitFor();
  const link = counted.getByTitle(`Document ${documentId}`);
  expect(await link.count()).toBe(1);
  await checkA11y(later, 'live hold carried by one document');
  await screenshot(later, 'live-holds-2-reached-a-document');
  await link.click();
  await later.getByRole('heading', { level: 2, name: 'Retention and legal holds' }).waitFor();
  const row = later.locator('ul.holds li', { hasText: 'BD-19' });
  await row.getByText(/^This hold by query reached this document later, on .+: the document was archived or corrected into the hold's selection after the hold was placed\.$/).waitFor();
  await checkA11y(later, 'document reached by a live hold');
  await screenshot(later, 'live-holds-3-document-reached-later');

  // On the document's screen, a release is of this document only: the dialog says the hold stays open for the rest.
  const onDocument = (await open(`/documents/${encodeURIComponent(documentId)}`, { person: SECOND, rightsSet: 'tenant-admin' })).page;
  await onDocument.locator('ul.holds li', { hasText: 'BD-19' }).getByRole('button', { name: 'Release the hold for case BD-19' }).click();
  await onDocument.getByRole('dialog').getByText(/^This is a hold by query: it is released from this document only\. It stays open/).waitFor();
  await checkA11y(onDocument, 'releasing a live hold from one document');
  await onDocument.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();

  // Bert releases it everywhere; it is gone from the list.
  const second = await open('/legal-holds', { person: SECOND, rightsSet: 'tenant-admin' });
  await second.page.getByRole('button', { name: 'Release the hold for case BD-19' }).click();
  const dialog = second.page.getByRole('dialog');
  await dialog.getByText('The hold is lifted from 1 document; their retention applies again. Released everywhere, it no longer holds the documents archived into its selection later.').waitFor();
  await dialog.getByLabel('Reason for releasing').fill('Audit closed');
  await dialog.getByRole('button', { name: 'Release', exact: true }).click();
  await second.page.getByText('No open legal holds.').waitFor();
  await checkA11y(second.page, 'live hold released everywhere');
  await screenshot(second.page, 'live-holds-4-released');
  const listed = await call(`${host.url}/legal-holds/by-query`, { token: writer });
  expect(listed.json.items).toEqual([]);
  const reached = await call(`${host.url}/documents/${documentId}`, { token: writer });
  expect(reached.json.legalHold).toBe(false);

  for (const o of opened) expect(o.problems.filter((p) => /Content Security Policy/i.test(p))).toEqual([]);
});

/**
 * Downloads above ARCHIVE_STREAMED_ANSWER_MAX_BYTES in the browser, on an archive host of this file's own with a
 * small cap: the API answers 303 to an Azurite link, chromium's fetch follows it across origins (Azurite's CORS
 * for the app's origin, the CSP's connect-src) and the app checks the SHA-256 the document or export record gives
 * (the storage answer carries no Repr-Digest). Support, who get no links, fetch the same file in Range pieces.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { startArchiveHost, type ArchiveHost } from '../../local/archive-host';
import { allowWebOriginsOnAzurite } from '../../local/emulators';
import { mintToken } from '../../local/oidc';
import { launchBrowser, openSignedIn } from '../support/browser';
import { readEmulators } from '../support/emulators-file';
import { corpusFile, newTenant, quietLog, testEnv } from '../support/harness';
import { call, multipart, sha256hex } from '../support/http';
import { paddedJpeg } from '../support/large-jpeg';

const CAP = 64 * 1024;
const WEB_DIR = path.resolve(__dirname, '..', '..', 'web', 'dist');
const tenant = newTenant('e2e-big');
const scan = paddedJpeg(corpusFile('img2pdf/normal.jpg'), 'e2e-large-download', 3 * CAP);

let host: ArchiveHost;
let browser: Browser;
let documentId = '';
const token = (claims: Parameters<typeof mintToken>[2]) => {
  const emulators = readEmulators();
  return mintToken(emulators.signingKey, emulators.issuer, claims);
};

beforeAll(async () => {
  const emulators = readEmulators();
  host = await startArchiveHost({ env: testEnv(emulators, { ARCHIVE_WEB_DIR: WEB_DIR, ARCHIVE_STREAMED_ANSWER_MAX_BYTES: String(CAP) }), log: quietLog });
  await allowWebOriginsOnAzurite(emulators.storageConnectionString, [host.appUrl]);
  const writer = await token({ tenant, sub: 'ann@acme.example', rights: 'archivist' });
  const up = await call(`${host.url}/documents`, { method: 'POST', token: writer, body: multipart([{ bytes: scan, name: 'scan.jpg', type: 'image/jpeg' }], { documentDate: '2025-04-01', kind: 'invoice', counterparty: 'Groot Bestand BV' }) });
  expect(up.status).toBe(201);
  documentId = up.json.id;
  expect(up.json.originals[0].size).toBeGreaterThan(CAP);
  expect(up.json.rendition.size).toBeGreaterThan(CAP);
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await host?.stop();
});

async function verifiedSave(opened: Awaited<ReturnType<typeof openSignedIn>>, button: string, scope = 'main'): Promise<Buffer> {
  const { page } = opened;
  const hashers: string[] = [];
  page.on('worker', (worker) => {
    if (/\/assets\/sha256\.worker-[\w-]+\.js$/.test(new URL(worker.url()).pathname)) hashers.push(worker.url());
  });
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator(scope).getByRole('button', { name: button }).first().click()]);
  await page.locator(scope).locator('.verified').first().waitFor();
  // The checksum was worked out off the page's thread, in the app's own worker script (CSP worker-src 'self').
  expect(hashers).toHaveLength(1);
  return fs.readFileSync(await download.path());
}

// The document screen's audit trail is not the accountant's (nor support's) to read: its 403 is on the console, as in accountant.test.ts.
it('an accountant downloads an original above the cap from storage, and the app says "verified"', async () => {
  const opened = await openSignedIn(browser, host.appUrl, `/documents/${documentId}`, { tenant, person: 'carla@acme.example', rightsSet: 'accountant' });
  const fromStorage: string[] = [];
  opened.page.on('response', (r) => {
    if (r.url().startsWith(`http://127.0.0.1:${readEmulators().azuritePort}/`) && r.url().includes(`/${documentId}/original`)) fromStorage.push(`${r.request().method()} ${r.status()}`);
  });
  // The preview read the rendition (above the cap too) from storage as well.
  await opened.page.waitForSelector('.pdf-preview[aria-busy="false"] canvas');
  const saved = await verifiedSave(opened, 'Download original 1');
  expect(sha256hex(saved)).toBe(sha256hex(scan));
  expect(await opened.page.locator('.verified').first().textContent()).toMatch(/Verified: scan\.jpg matches the archive's SHA-256 checksum/);
  // The bytes came from Azurite (through the link), not through the API; no CORS or CSP refusal on the way.
  expect(fromStorage).toEqual(['GET 200']);
  expect(opened.problems.filter((p) => !/status of 403/.test(p))).toEqual([]);
  await opened.context.close();
});

it('an accountant downloads an export ZIP above the cap from the exports screen, verified', async () => {
  const accountant = await token({ tenant, sub: 'carla@acme.example', rights: 'accountant' });
  const started = await call(`${host.url}/exports`, { method: 'POST', token: accountant, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ fiscalYear: 2025, includeOriginals: true }) });
  expect(started.status).toBe(202);
  let done = started.json;
  for (let i = 0; i < 300 && done.status === 'running'; i++) {
    await new Promise((res) => setTimeout(res, 100));
    done = (await call(`${host.url}/exports/${started.json.id}`, { token: accountant })).json;
  }
  expect(done.archive.size).toBeGreaterThan(CAP);
  const opened = await openSignedIn(browser, host.appUrl, '/exports', { tenant, person: 'carla@acme.example', rightsSet: 'accountant' });
  await opened.page.waitForSelector('table.data tbody tr');
  const saved = await verifiedSave(opened, 'Download ZIP', 'table.data');
  expect(sha256hex(saved)).toBe(done.archive.sha256);
  expect(opened.problems).toEqual([]);
  await opened.context.close();
});

it('support staff, who get no links, download the same original in Range pieces, verified', async () => {
  const admin = await token({ tenant, sub: 'admin-1', rights: 'tenant-admin' });
  const grant = await call(`${host.url}/support-grants`, { method: 'POST', token: admin, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ticket: 'INC-42', expiresAt: new Date(Date.now() + 86_400_000).toISOString() }) });
  expect(grant.status).toBe(201);
  const opened = await openSignedIn(browser, host.appUrl, `/documents/${documentId}`, { tenant, person: 'staff-7', rightsSet: 'tenant-admin', kind: 'support' });
  const ranges: string[] = [];
  opened.page.on('request', (r) => {
    const range = r.headers().range;
    if (range && r.url().includes(`/api/documents/${documentId}/originals/1`)) ranges.push(range);
  });
  // The preview, too, reads the rendition in pieces.
  await opened.page.waitForSelector('.pdf-preview[aria-busy="false"] canvas');
  const saved = await verifiedSave(opened, 'Download original 1');
  expect(sha256hex(saved)).toBe(sha256hex(scan));
  expect(ranges).toEqual(Array.from({ length: Math.ceil(scan.length / CAP) }, (_, i) => `bytes=${i * CAP}-${Math.min(scan.length, (i + 1) * CAP) - 1}`));
  // The first answer refused the whole file (422 on the console is the browser's own note of it).
  expect(opened.problems.filter((p) => !/status of (403|422)/.test(p))).toEqual([]);
  await opened.context.close();
});

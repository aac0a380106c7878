/**
 * "Check a copy" on the exports screen, in a real browser (Debian chromium): an accountant without the CLI proves a
 * copy of an export as `archive verify --against-archive` does. The unpacked folder (picked as a folder, its own name
 * in front of every path) verifies against the archive; the same folder with a rendition edited and its SHA-256 and
 * size edited in manifest.json too verifies file by file but is NOT verified: manifest.json is not the one the archive
 * handed out. The ZIP itself verifies by the archive's record of it; a changed one does not. axe-core with each verdict.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import * as yauzl from 'yauzl';
import { checkA11y, launchBrowser, openSignedIn, screenshot, type OpenedPage } from '../support/browser';
import { e2eTarget } from '../support/e2e-target';
import { corpusFile, newTenant } from '../support/harness';
import { call, multipart, sha256hex } from '../support/http';

const tenant = newTenant('e2e-copy');
const seeds = [
  { file: 'img2pdf/normal.jpg', type: 'image/jpeg', metadata: { counterparty: 'Bakkerij de Vries', reference: 'INV-2025-101', amount: 12.5, currency: 'EUR', documentDate: '2025-03-14', kind: 'invoice' } },
  { file: 'img2pdf/gray.png', type: 'image/png', metadata: { counterparty: 'Hotel Centraal', reference: 'R-101', amount: 245, currency: 'EUR', documentDate: '2025-06-20', kind: 'receipt' } },
];

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-copy-check-'));
/** The folder an unzip tool makes, named as a person would name it. */
const genuineFolder = path.join(work, 'genuine', 'export-2025');
const editedFolder = path.join(work, 'edited', 'export-2025');
const genuineZip = path.join(work, 'export.zip');
const changedZip = path.join(work, 'changed', 'export.zip');

let browser: Browser;
let opened: OpenedPage;
let page: Page;
let exportId: string;

beforeAll(async () => {
  const target = e2eTarget();
  const archivist = await target.token({ tenant, sub: 'ann@acme.example', rights: 'archivist' });
  for (const s of seeds) {
    const answer = await call(`${target.apiUrl}/documents`, { method: 'POST', token: archivist, body: multipart([{ bytes: corpusFile(s.file), name: s.file.split('/')[1]!, type: s.type }], s.metadata) });
    expect(answer.status).toBe(201);
  }
  const accountant = await target.token({ tenant, sub: 'carla@acme.example', rights: 'accountant' });
  const started = await call(`${target.apiUrl}/exports`, { method: 'POST', token: accountant, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ fiscalYear: 2025, includeOriginals: true }) });
  expect(started.status).toBe(202);
  exportId = started.json.id;
  let job = started.json;
  for (let i = 0; i < 600 && job.status === 'running'; i++) {
    await new Promise((res) => setTimeout(res, 100));
    job = (await call(`${target.apiUrl}/exports/${exportId}`, { token: accountant })).json;
  }
  expect(job.status).toBe('completed');
  const zip = await call(`${target.apiUrl}/exports/${exportId}/download`, { token: accountant });
  expect(zip.status).toBe(200);
  expect(sha256hex(zip.bytes)).toBe(job.archive.sha256);
  fs.writeFileSync(genuineZip, zip.bytes);
  await unzip(genuineZip, genuineFolder);

  // A rendition edited, and its SHA-256 and size written into manifest.json too: offline, the folder verifies.
  fs.cpSync(genuineFolder, editedFolder, { recursive: true });
  const manifest = JSON.parse(fs.readFileSync(path.join(editedFolder, 'manifest.json'), 'utf8'));
  const rendition = manifest.documents[0].files.find((f: { path: string }) => f.path.endsWith('.pdf'));
  const edited = Buffer.concat([fs.readFileSync(path.join(editedFolder, rendition.path)), Buffer.from('\n% edited\n')]);
  fs.writeFileSync(path.join(editedFolder, rendition.path), edited);
  Object.assign(rendition, { sha256: sha256hex(edited), size: edited.length });
  fs.writeFileSync(path.join(editedFolder, 'manifest.json'), JSON.stringify(manifest, null, 2));

  // The ZIP with one byte changed in the middle: same size, another SHA-256.
  const changed = Buffer.from(zip.bytes);
  const middle = changed.length >> 1;
  changed[middle] = changed[middle]! ^ 0xff;
  fs.mkdirSync(path.dirname(changedZip), { recursive: true });
  fs.writeFileSync(changedZip, changed);

  browser = await launchBrowser();
  opened = await openSignedIn(browser, target.appUrl, '/exports', { tenant, person: 'carla@acme.example', rightsSet: 'accountant' }, { locale: 'en-GB' });
  page = opened.page;
  await page.waitForSelector('table.data tbody tr');
});
afterAll(async () => {
  await browser?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

const verdict = () => page.locator('.copy-verdict');

/**
 * Picks `what` in the input labelled `label` and waits for the verdict saying `expected` (each check here expects
 * another verdict than the one before, so an earlier verdict is never taken for it).
 */
async function check(label: string, what: string, expected: string): Promise<string> {
  await page.getByLabel(label, { exact: true }).setInputFiles(what);
  await verdict().filter({ hasText: expected }).waitFor({ timeout: 60_000 });
  return (await verdict().textContent()) ?? '';
}

it('before an export is chosen, checks the folder of any export: the one its manifest.json names is looked up', async () => {
  await page.getByRole('heading', { level: 2, name: 'Check a copy of an export' }).waitFor();
  // The screen does not move the focus to it as it opens.
  expect(await page.evaluate('document.activeElement?.id')).not.toBe('h-copy-check');
  const text = await check('Unpacked folder', genuineFolder, 'Verified against the archive: every file is what the archive handed out in this export.');
  expect(text).toContain('manifest.json is the one this export handed out on');
  expect(await page.getByLabel('ZIP file', { exact: true }).count()).toBe(0);
  await checkA11y(page, 'check a copy of any export');
});

it('opens "Check a copy" for the completed export, with both pickers', async () => {
  await page.getByRole('button', { name: /^Check a copy of the export started/ }).click();
  await page.getByRole('heading', { level: 2, name: /^Check a copy of the export started/ }).waitFor();
  expect(await page.getByLabel('Unpacked folder', { exact: true }).getAttribute('type')).toBe('file');
  expect(await page.getByLabel('Unpacked folder', { exact: true }).getAttribute('webkitdirectory')).not.toBeNull();
  expect(await verdict().getAttribute('aria-live')).toBe('polite');
  await checkA11y(page, 'check a copy');
});

it('verifies the unpacked folder against the archive', async () => {
  const text = await check('Unpacked folder', genuineFolder, 'Verified against the archive: every file is what the archive handed out in this export.');
  expect(await verdict().locator('.verified').count()).toBe(1);
  expect(text).toContain('2 documents, 4 files in manifest.json; 4 match their SHA-256 and size.');
  expect(text).toContain('manifest.csv matches its SHA-256 and size in manifest.json.');
  expect(text).toContain('manifest.json is the one this export handed out on');
  expect(await verdict().locator('li').count()).toBe(0);
  await checkA11y(page, 'copy verified');
  await screenshot(page, 'copy-check-1-folder-verified');
});

it('does not verify the folder with a rendition edited and its SHA-256 and size edited in manifest.json too', async () => {
  const text = await check('Unpacked folder', editedFolder, 'Not verified against the archive.');
  expect(await verdict().locator('.not-verified').count()).toBe(1);
  // File by file it matches its (edited) manifest.json: only the archive's record of manifest.json tells.
  expect(text).toContain('4 match their SHA-256 and size.');
  expect(text).toContain('manifest.json is not the one handed out: its SHA-256 and size differ from those the archive recorded');
  await checkA11y(page, 'copy not verified');
  await screenshot(page, 'copy-check-2-folder-not-verified');
});

it('verifies the ZIP itself by the archive\'s record of it, and not a changed one', async () => {
  await check('ZIP file', genuineZip, 'Verified against the archive: export.zip is the ZIP this export handed out');
  expect(await verdict().locator('.verified').count()).toBe(1);
  await check('ZIP file', changedZip, 'export.zip is not the ZIP this export handed out: its SHA-256 or size differs from the archive\'s record.');
  expect(await verdict().locator('.not-verified').count()).toBe(1);
  await checkA11y(page, 'zip not verified');
  await screenshot(page, 'copy-check-3-zip-not-verified');
});

it('says it in Dutch too', async () => {
  await page.getByLabel('Language').selectOption('nl');
  await page.getByRole('heading', { level: 1, name: 'Exports' }).waitFor();
  await check('Uitgepakte map', genuineFolder, 'Geverifieerd tegen het archief: elk bestand is wat het archief in deze export heeft uitgegeven.');
  await checkA11y(page, 'copy verified (nl)');
  await page.getByLabel('Taal').selectOption('en');
  // Nothing the CSP refused, no script errors.
  expect(opened.problems).toEqual([]);
});

/** The ZIP unpacked as an unzip tool does, into `dir`. */
function unzip(file: string, dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err ?? new Error('no zip'));
      zip.on('entry', (e: yauzl.Entry) => {
        if (e.fileName.endsWith('/')) return zip.readEntry();
        const target = path.join(dir, e.fileName);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        zip.openReadStream(e, (err2, stream) => {
          if (err2 || !stream) return reject(err2 ?? new Error('no stream'));
          stream.pipe(fs.createWriteStream(target)).on('finish', () => zip.readEntry()).on('error', reject);
        });
      });
      zip.on('end', () => resolve());
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

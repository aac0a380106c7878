/**
 * Downloads and their links attacked from a valid account, against the local host (what download-links, head,
 * streamed-answer-cap, isolation-sweep and the unit sweeps do not already hold).
 * - An uploader names a scan for another program (`statement.html`, `run.bat`): `archive get --original` saved the
 *   archive's verified bytes under that extension, so the accountant's double-click opened a JPEG as a web page or a
 *   batch file (a break, fixed in cli/core.ts documentFileNames: the extension is the type archived, as the archive's
 *   own Content-Disposition and the export's entry names have it).
 * - A link edited by its holder (a later `se`, more permissions, the container instead of the blob, another
 *   content type for the answer, a listing) is refused by storage: the signature covers what the archive signed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, getDocumentFiles, loadCliConfig, login } from '../../cli/core';
import { call, multipart, sha256hex } from '../support/http';
import { corpusFile, newTenant, startTestArchive, TestArchive } from '../support/harness';

let archive: TestArchive;
let tenant: string;
let work: string;
let uploader: string;
let accountant: string;
let client: Client;
const jpeg = corpusFile('ocrmypdf/baiona_color.jpg');
const png = corpusFile('img2pdf/normal.png');

beforeAll(async () => {
  archive = await startTestArchive();
  tenant = newTenant('dlatk');
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'download-attacks-'));
  uploader = await archive.token({ tenant, sub: 'uploader@dlatk.example', rights: 'uploader' });
  accountant = await archive.token({ tenant, sub: 'accountant@dlatk.example', rights: 'accountant' });
  login(path.join(work, 'config'), { url: archive.url, token: accountant });
  client = { config: loadCliConfig(path.join(work, 'config')), fetch: (url, init) => fetch(url, init) };
});
afterAll(async () => {
  await archive.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

async function upload(files: { bytes: Buffer; name: string }[], kind = 'invoice'): Promise<string> {
  const up = await call(`${archive.url}/documents`, { method: 'POST', token: uploader, body: multipart(files, { documentDate: '2024-03-01', kind }) });
  expect(up.status).toBe(201);
  return up.json.id as string;
}

describe('hostile file names meet `archive get --original`', () => {
  it('a scan named for another program is saved as the type archived, never under the name\'s extension', async () => {
    const id = await upload([{ bytes: jpeg, name: 'statement.html' }, { bytes: png, name: 'run.bat' }, { bytes: jpeg, name: 'p3.JPEG' }]);
    const out = path.join(work, 'hostile');
    const got = await getDocumentFiles(client, id, { original: true, outDir: out });
    expect(got.map((g) => path.basename(g.file))).toEqual(['statement.original-1.jpg', 'statement.original-2.png', 'statement.original-3.jpeg']);
    expect(got.map((g) => g.sha256)).toEqual([jpeg, png, jpeg].map(sha256hex));
    // The archive's own answer names the same type (shared/documents/download.ts savedAs), so the web app's save agrees.
    const first = await call(`${archive.url}/documents/${id}/originals/1`, { token: accountant });
    expect(first.headers.get('content-disposition')).toContain('filename="statement.html.jpg"');
  });
});

describe('a link edited by whoever holds it', () => {
  it('reads only what was signed: a later expiry, more permissions, the container, another content type or a listing are refused', async () => {
    const id = await upload([{ bytes: jpeg, name: 'receipt.jpg' }]);
    const r = await call(`${archive.url}/documents/${id}/original?delivery=redirect`, { token: accountant, redirect: 'manual' });
    expect(r.status).toBe(303);
    const link = new URL(r.headers.get('location')!);
    expect(sha256hex(Buffer.from(await (await fetch(link)).arrayBuffer()))).toBe(sha256hex(jpeg));
    const edited = (edit: (u: URL) => void) => {
      const u = new URL(link);
      edit(u);
      return u;
    };
    const attempts: [string, URL, RequestInit?][] = [
      ['a later expiry', edited((u) => u.searchParams.set('se', new Date(Date.parse(u.searchParams.get('se')!) + 86400_000).toISOString().replace(/\.\d{3}Z$/, 'Z')))],
      ['read-write-delete', edited((u) => u.searchParams.set('sp', 'rwd')), { method: 'PUT', body: 'x', headers: { 'x-ms-blob-type': 'BlockBlob' } }],
      ['the container', edited((u) => u.searchParams.set('sr', 'c'))],
      ['a listing of the container', edited((u) => {
        u.pathname = u.pathname.replace(/\/[^/]+\/[^/]+$/, '');
        u.searchParams.set('restype', 'container');
        u.searchParams.set('comp', 'list');
      })],
      ['an HTML content type', edited((u) => u.searchParams.set('rsct', 'text/html'))],
      ['another file name', edited((u) => u.searchParams.set('rscd', 'attachment; filename="receipt.html"'))],
    ];
    for (const [what, url, init] of attempts) {
      const got = await fetch(url, init);
      await got.arrayBuffer();
      expect([what, got.status]).toEqual([what, 403]);
    }
    // Still the one file, unchanged.
    const again = await call(`${archive.url}/documents/${id}/original`, { token: accountant });
    expect(sha256hex(again.bytes)).toBe(sha256hex(jpeg));
  });
});

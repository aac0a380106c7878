/**
 * ARCHIVE_STREAMED_ANSWER_MAX_BYTES through the local host: a file above the cap comes as a 303 to Azurite (the
 * bytes and their SHA-256 the archive's), as does a larger Range (storage serving the Range re-sent to it), to support
 * in Range pieces; Azurite lets the web app's origin read the link; the CLI follows either way, and resumes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { downloadTo, type Client, type FetchLike } from '../../cli/core';
import { BlobServiceClient } from '@azure/storage-blob';
import { allowWebOriginsOnAzurite } from '../../local/emulators';
import { breakingAfter, call, checkFetched, multipart, sha256hex } from '../support/http';
import { corpusFile, newTenant, startTestArchive, TestArchive } from '../support/harness';
import { paddedJpeg } from '../support/large-jpeg';

const CAP = 64 * 1024;
const inDays = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString();

let archive: TestArchive;
let tenant: string;
let token: string;
let doc: { id: string; originals: { sha256: string; size: number }[]; rendition: { sha256: string; size: number } };
const scan = paddedJpeg(corpusFile('img2pdf/normal.jpg'), 'streamed-answer-cap', 3 * CAP);

beforeAll(async () => {
  archive = await startTestArchive({ ARCHIVE_STREAMED_ANSWER_MAX_BYTES: String(CAP) });
  tenant = newTenant('bigdl');
  token = await archive.token({ tenant, sub: 'acc@bigdl.example', rights: 'archivist' });
  const up = await call(`${archive.url}/documents`, { method: 'POST', token, body: multipart([{ bytes: scan, name: 'scan.jpg', type: 'image/jpeg' }], { documentDate: '2024-05-05', kind: 'invoice' }) });
  expect(up.status).toBe(201);
  doc = up.json;
  expect(doc.originals[0]!.size).toBeGreaterThan(CAP);
});
afterAll(() => archive.stop());

/** Storage's answer to a link: raw fetch, not an archive operation. */
async function readLink(location: string, headers: Record<string, string> = {}): Promise<{ res: Response; bytes: Buffer }> {
  const res = await fetch(location, { headers });
  return { res, bytes: Buffer.from(await res.arrayBuffer()) };
}

describe('a file above ARCHIVE_STREAMED_ANSWER_MAX_BYTES', () => {
  it('is answered 303 to Azurite for a user, whose bytes are the archived ones, and the link is audited', async () => {
    const r = await call(`${archive.url}/documents/${doc.id}/originals/1`, { token, redirect: 'manual' });
    expect(r.status).toBe(303);
    expect(r.bytes.length).toBe(0);
    expect(r.headers.get('etag')).toBe(`"${doc.originals[0]!.sha256}"`);
    const location = new URL(r.headers.get('location')!);
    expect(location.origin).toBe(`http://127.0.0.1:${archive.emulators.azuritePort}`);
    expect(location.searchParams.get('sp')).toBe('r');
    const { res, bytes } = await readLink(location.toString());
    expect(res.status).toBe(200);
    expect(sha256hex(bytes)).toBe(doc.originals[0]!.sha256);
    expect(bytes.equals(scan)).toBe(true);
    expect(res.headers.get('content-disposition')).toContain('scan.jpg');

    // fetch following the redirect itself, as the web app's does.
    const followed = await fetch(`${archive.url}/documents/${doc.id}/rendition`, { headers: { Authorization: `Bearer ${token}` } });
    expect(followed.redirected).toBe(true);
    expect(new URL(followed.url).origin).toBe(location.origin);
    expect(sha256hex(Buffer.from(await followed.arrayBuffer()))).toBe(doc.rendition.sha256);

    const auditor = await archive.token({ tenant, sub: 'auditor-1', rights: 'auditor' });
    const entries = (await call(`${archive.url}/audit?limit=100`, { token: auditor })).json.items as { action: string; status: number; detail?: string }[];
    expect(entries.filter((e) => e.action.startsWith('document.download')).map((e) => [e.action, e.status, e.detail?.replace(/link-until=.*/, 'link-until=…')]).sort()).toEqual([
      ['document.download-original', 303, `sha256=${doc.originals[0]!.sha256};link-until=…`],
      ['document.download-rendition', 303, `sha256=${doc.rendition.sha256};link-until=…`],
    ]);
  });

  it('is served in Range pieces up to the cap; a larger range (a resume) is the 303 to the link, storage serving the Range re-sent there', async () => {
    const piece = await call(`${archive.url}/documents/${doc.id}/originals/1`, { token, headers: { Range: `bytes=${CAP}-${2 * CAP - 1}` } });
    expect(piece.status).toBe(206);
    expect(piece.bytes.equals(scan.subarray(CAP, 2 * CAP))).toBe(true);
    const etag = `"${doc.originals[0]!.sha256}"`;
    const resume = { Range: `bytes=${CAP + 7}-`, 'If-Range': etag };
    const big = await call(`${archive.url}/documents/${doc.id}/originals/1`, { token, headers: resume, redirect: 'manual' });
    expect(big.status).toBe(303);
    expect(big.headers.get('etag')).toBe(etag);
    // As curl -C - -L and a browser do: the same Range (and If-Range, which storage does not evaluate) on the redirect.
    const { res, bytes } = await readLink(big.headers.get('location')!, resume);
    expect([res.status, res.headers.get('content-range')]).toEqual([206, `bytes ${CAP + 7}-${scan.length - 1}/${scan.length}`]);
    expect(bytes.equals(scan.subarray(CAP + 7))).toBe(true);
    // fetch following the 303 itself keeps the Range (and drops the token: storage would refuse it).
    const followed = await fetch(`${archive.url}/documents/${doc.id}/originals/1`, { headers: { Authorization: `Bearer ${token}`, Range: `bytes=${2 * CAP}-` } });
    expect([followed.redirected, followed.status]).toEqual([true, 206]);
    expect(Buffer.from(await followed.arrayBuffer()).equals(scan.subarray(2 * CAP))).toBe(true);

    const auditor = await archive.token({ tenant, sub: 'auditor-1', rights: 'auditor' });
    const entries = (await call(`${archive.url}/audit?limit=100`, { token: auditor })).json.items as { action: string; status: number; detail?: string }[];
    expect(entries.filter((e) => e.detail?.includes(';bytes=') && e.status === 303).map((e) => e.detail?.replace(/link-until=.*/, 'link-until=…')).sort()).toEqual([
      `sha256=${doc.originals[0]!.sha256};bytes=${2 * CAP}-${scan.length - 1};link-until=…`,
      `sha256=${doc.originals[0]!.sha256};bytes=${CAP + 7}-${scan.length - 1};link-until=…`,
    ]);
  });

  it('comes to support in Range pieces: the whole file is refused naming the piece size, the pieces add up to the SHA-256', async () => {
    const admin = await archive.token({ tenant, sub: 'admin-1', rights: 'tenant-admin' });
    const grant = await call(`${archive.url}/support-grants`, { method: 'POST', token: admin, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ticket: 'INC-9', expiresAt: inDays(1) }) });
    expect(grant.status).toBe(201);
    const staff = await archive.token({ tenant, sub: 'staff-7', kind: 'support' });
    const whole = await call(`${archive.url}/documents/${doc.id}/originals/1`, { token: staff, redirect: 'manual' });
    expect(whole.status).toBe(422);
    expect(whole.headers.get('location')).toBeNull();
    const max = whole.json.maxRangeBytes as number;
    expect(max).toBe(CAP);
    const pieces: Buffer[] = [];
    let etag = '';
    for (let start = 0; start < whole.json.size; start += max) {
      const end = Math.min(whole.json.size, start + max) - 1;
      const r = await call(`${archive.url}/documents/${doc.id}/originals/1`, { token: staff, headers: { Range: `bytes=${start}-${end}`, ...(etag ? { 'If-Range': etag } : {}) } });
      expect([r.status, r.headers.get('content-range')]).toEqual([206, `bytes ${start}-${end}/${whole.json.size}`]);
      etag ||= r.headers.get('etag')!;
      pieces.push(r.bytes);
    }
    expect(sha256hex(Buffer.concat(pieces))).toBe(doc.originals[0]!.sha256);
  });

  it('export ZIPs alike: the download is a 303 whose bytes are the export\'s SHA-256', async () => {
    const accountant = await archive.token({ tenant, sub: 'carla@bigdl.example', rights: 'accountant' });
    const start = await call(`${archive.url}/exports`, { method: 'POST', token: accountant, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ fiscalYear: 2024, includeOriginals: true }) });
    expect(start.status).toBe(202);
    let done = start.json;
    for (let i = 0; i < 300 && done.status === 'running'; i++) {
      await new Promise((res) => setTimeout(res, 100));
      done = (await call(`${archive.url}/exports/${start.json.id}`, { token: accountant })).json;
    }
    expect(done.status).toBe('completed');
    expect(done.archive.size).toBeGreaterThan(CAP);
    const r = await call(`${archive.url}/exports/${done.id}/download`, { token: accountant, redirect: 'manual' });
    expect(r.status).toBe(303);
    const { res, bytes } = await readLink(r.headers.get('location')!);
    expect(res.status).toBe(200);
    expect(sha256hex(bytes)).toBe(done.archive.sha256);
  });
});

describe('Azurite\'s CORS for the web app (local/emulators.ts), as infra/main.bicep sets it on the archive account', () => {
  it('lets the local host\'s origin read a link, exposing the headers the app reads; not other origins, never with Authorization', async () => {
    const origin = new URL(archive.host.appUrl).origin;
    await allowWebOriginsOnAzurite(archive.emulators.storageConnectionString, [archive.host.appUrl]);
    const link = (await call(`${archive.url}/documents/${doc.id}/originals/1`, { token, redirect: 'manual' })).headers.get('location')!;
    const { res } = await readLink(link, { Origin: origin });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(origin);
    const exposed = res.headers.get('access-control-expose-headers')!.toLowerCase().split(',').map((h) => h.trim());
    expect(exposed).toEqual(expect.arrayContaining(['content-length', 'content-disposition', 'etag', 'content-md5']));
    expect(exposed.some((h) => h.startsWith('x-ms-'))).toBe(true);
    expect((await readLink(link, { Origin: 'http://127.0.0.1:1' })).res.headers.get('access-control-allow-origin')).toBeNull();

    const preflight = (method: string, headers: string) => fetch(link, { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': headers } });
    const ranged = await preflight('GET', 'range');
    expect(ranged.status).toBe(200);
    expect(ranged.headers.get('access-control-allow-origin')).toBe(origin);
    expect((await preflight('PUT', 'range')).status).toBe(403);
    // A browser that kept the API's token on the redirect: refused before the token reaches storage.
    expect((await preflight('GET', 'authorization')).status).toBe(403);
  });

  it('hosts sharing one Azurite that add their origins at the same time are all allowed (no write over another\'s read)', async () => {
    const cs = archive.emulators.storageConnectionString;
    const origins = ['http://127.0.0.1:40001', 'http://127.0.0.1:40002', 'http://127.0.0.1:40003'];
    await Promise.all(origins.map((o) => allowWebOriginsOnAzurite(cs, [o])));
    const rule = ((await BlobServiceClient.fromConnectionString(cs).getProperties()).cors ?? []).filter((r) => r.allowedMethods === 'GET,HEAD');
    expect(rule).toHaveLength(1);
    expect(rule[0]!.allowedOrigins.split(',')).toEqual(expect.arrayContaining(origins));
  });
});

describe('the CLI above the cap', () => {
  const seen: { url: string; headers: Record<string, string>; status: number }[] = [];
  /** Records every request; breaks the bodies after `cutAfter` bytes of all its answers together, like a dropped connection. */
  const fetching = (cutAfter: number | null = null): FetchLike => {
    const budget = { bytes: cutAfter ?? 0 };
    return async (url, init) => {
      const res = await fetch(url, init);
      seen.push({ url, headers: init?.headers ?? {}, status: res.status });
      if (url.startsWith(archive.url)) await checkFetched(url, init, res);
      return cutAfter === null ? res : breakingAfter(res, budget);
    };
  };
  const client = (tok: string, fetchLike: FetchLike): Client => ({ config: { url: archive.url, token: tok }, fetch: fetchLike });
  let work: string;
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-bigdl-'));
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('--via-archive: the archive\'s 303 is read from storage (without the token) and verified', async () => {
    seen.length = 0;
    const dest = path.join(work, 'user.jpg');
    const r = await downloadTo(client(token, fetching()), `/documents/${doc.id}/originals/1`, dest, 'user.jpg', { direct: false });
    expect(r).toMatchObject({ verified: true, sha256: doc.originals[0]!.sha256, size: scan.length });
    expect(seen.map((s) => s.status)).toEqual([303, 200]);
    expect(seen[1]!.url.startsWith(`http://127.0.0.1:${archive.emulators.azuritePort}/`)).toBe(true);
    expect(seen[1]!.headers.Authorization).toBeUndefined();
  });

  it('--via-archive, resumed after a cut: the archive answers the Range + If-Range with its link, storage serves the rest', async () => {
    const dest = path.join(work, 'user-resumed.jpg');
    await expect(downloadTo(client(token, fetching(CAP + CAP / 2)), `/documents/${doc.id}/originals/1`, dest, 'user-resumed.jpg', { direct: false })).rejects.toThrow(/connection reset/);
    const have = fs.statSync(`${dest}.part`).size;
    expect(have).toBeGreaterThan(0);
    expect(scan.length - have).toBeGreaterThan(CAP);
    seen.length = 0;
    const r = await downloadTo(client(token, fetching()), `/documents/${doc.id}/originals/1`, dest, 'user-resumed.jpg', { direct: false });
    expect(r).toMatchObject({ resumedFrom: have, verified: true, sha256: doc.originals[0]!.sha256, size: scan.length });
    expect(fs.readFileSync(dest).equals(scan)).toBe(true);
    // Before, the archive refused the rest (422, more than the cap) and the CLI fell back to pieces through it.
    expect(seen.map((s) => [s.status, s.url.startsWith(archive.url) ? 'archive' : 'storage', s.headers.Range ?? null, s.headers['If-Range'] ?? null])).toEqual([
      [303, 'archive', `bytes=${have}-`, `"${doc.originals[0]!.sha256}"`],
      [206, 'storage', `bytes=${have}-`, null],
    ]);
  });

  it('support: refused the whole file and the link, reads it in pieces, resumes them after a cut, and verifies', async () => {
    const staff = await archive.token({ tenant, sub: 'staff-7', kind: 'support' });
    const dest = path.join(work, 'support.jpg');
    await expect(downloadTo(client(staff, fetching(CAP + CAP / 2)), `/documents/${doc.id}/originals/1`, dest, 'support.jpg', { direct: true })).rejects.toThrow(/connection reset/);
    const have = fs.statSync(`${dest}.part`).size;
    expect(have).toBeGreaterThanOrEqual(CAP);
    expect(have).toBeLessThan(2 * CAP);
    seen.length = 0;
    const r = await downloadTo(client(staff, fetching()), `/documents/${doc.id}/originals/1`, dest, 'support.jpg', { direct: true });
    expect(r).toMatchObject({ resumedFrom: have, verified: true, sha256: doc.originals[0]!.sha256, size: scan.length });
    expect(fs.readFileSync(dest).equals(scan)).toBe(true);
    // Asked for a link (refused: support-no-links), then the rest (refused: more than the cap), then pieces of the cap.
    const etag = `"${doc.originals[0]!.sha256}"`;
    expect(seen.map((s) => [s.status, s.headers.Range ?? null, s.headers['If-Range'] ?? null])).toEqual([
      [403, null, null],
      [422, `bytes=${have}-`, etag],
      ...Array.from({ length: Math.ceil((scan.length - have) / CAP) }, (_, i) => [206, `bytes=${have + i * CAP}-${Math.min(scan.length, have + (i + 1) * CAP) - 1}`, etag]),
    ]);
  });
});

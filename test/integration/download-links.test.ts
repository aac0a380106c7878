/** `?delivery=redirect`: a 303 to a read-only, one-blob SAS that expires within the hour. */
import { BlobArchive } from '../../shared/adapters/azure/blobs';
import { call, rawUpload, sha256hex } from '../support/http';
import { corpusFile, newTenant, startTestArchive, TestArchive } from '../support/harness';

let archive: TestArchive;
let tenant: string;
let token: string;
let id: string;
const bytes = corpusFile('ocrmypdf/baiona_color.jpg');

beforeAll(async () => {
  archive = await startTestArchive();
  tenant = newTenant('links');
  token = await archive.token({ tenant, sub: 'acc@links.example', rights: 'archivist' });
  const up = await call(`${archive.url}/documents`, { ...rawUpload(bytes, 'image/jpeg', 'receipt.jpg'), token });
  expect(up.status).toBe(201);
  id = up.json.id;
});
afterAll(() => archive.stop());

async function redirect(path: string): Promise<URL> {
  const r = await call(`${archive.url}/documents/${id}/${path}?delivery=redirect`, { token, redirect: 'manual' });
  expect(r.status).toBe(303);
  expect(r.headers.get('repr-digest')).toBe(`sha-256=:${Buffer.from(sha256hex(bytes), 'hex').toString('base64')}:`);
  expect(r.headers.get('cache-control')).toBe('no-store');
  return new URL(r.headers.get('location')!);
}

describe('GET /documents/{id}/original?delivery=redirect', () => {
  it('redirects to a read-only link to exactly that blob, expiring within an hour, that serves the archived bytes', async () => {
    const before = Date.now();
    const link = await redirect('original');
    expect(link.pathname).toMatch(new RegExp(`^/devstoreaccount1/${BlobArchive.containerName(tenant)}/${id}/original\\.[a-z]+$`));
    expect(link.searchParams.get('sp')).toBe('r');
    expect(link.searchParams.get('sr')).toBe('b');
    const expires = Date.parse(link.searchParams.get('se')!);
    expect(expires).toBeGreaterThan(before);
    expect(expires - before).toBeLessThanOrEqual(3600_000 + 1000);
    // The link is Blob Storage's, not an archive operation: raw fetch, no contract to check.
    const got = await fetch(link);
    expect(got.status).toBe(200);
    expect(sha256hex(Buffer.from(await got.arrayBuffer()))).toBe(sha256hex(bytes));
    expect(got.headers.get('content-disposition')).toContain('receipt.jpg');
  });

  it('refuses writes, deletes and other blobs through the link', async () => {
    const link = await redirect('original');
    // Blob Storage itself answers these (raw fetch: not an archive operation).
    const put = await fetch(link, { method: 'PUT', body: 'overwritten', headers: { 'x-ms-blob-type': 'BlockBlob' } });
    expect(put.status).toBe(403);
    expect((await fetch(link, { method: 'DELETE' })).status).toBe(403);
    const other = new URL(link);
    other.pathname = other.pathname.replace(/original\.[a-z]+$/, 'rendition.pdf');
    expect((await fetch(other)).status).toBe(403);
    const still = await call(`${archive.url}/documents/${id}/original`, { token });
    expect(sha256hex(still.bytes)).toBe(sha256hex(bytes));
  });

  it('signs links that stop working when they expire', async () => {
    const { deps } = archive.host;
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    const { url } = await deps.links.readOnlyUrl(BlobArchive.containerName(tenant), `${id}/rendition.pdf`, { ttlSeconds: 3600 }, twoHoursAgo);
    // Blob Storage judges the signature (raw fetch: not an archive operation).
    expect((await fetch(url)).status).toBe(403);
    const fresh = await deps.links.readOnlyUrl(BlobArchive.containerName(tenant), `${id}/rendition.pdf`, { ttlSeconds: 7200 }, new Date());
    expect(Date.parse(new URL(fresh.url).searchParams.get('se')!) - Date.now()).toBeLessThanOrEqual(3600_000);
    expect((await fetch(fresh.url)).status).toBe(200);
  });

  it('never signs a link past the expiry of the token that asked for it', async () => {
    const shortLived = await archive.token({ tenant, sub: 'acc@links.example', rights: 'archivist', expiresIn: 120 });
    const exp = JSON.parse(Buffer.from(shortLived.split('.')[1]!, 'base64url').toString()).exp as number;
    const r = await call(`${archive.url}/documents/${id}/original?delivery=redirect`, { token: shortLived, redirect: 'manual' });
    expect(r.status).toBe(303);
    const linkExpires = Date.parse(r.headers.get('link-expires')!);
    expect(linkExpires).toBeLessThanOrEqual(exp * 1000);
    expect(linkExpires).toBeGreaterThan(exp * 1000 - 5000);
    expect(Date.parse(new URL(r.headers.get('location')!).searchParams.get('se')!)).toBeLessThanOrEqual(exp * 1000);
  });

  it('refuses an unknown delivery mode and other tenants', async () => {
    const bad = await call(`${archive.url}/documents/${id}/original?delivery=email`, { token });
    expect([bad.status, bad.json.code]).toEqual([400, 'invalid_query']);
    const other = await archive.token({ tenant: newTenant('links'), sub: 'x', rights: 'archivist' });
    const r = await call(`${archive.url}/documents/${id}/original?delivery=redirect`, { token: other, redirect: 'manual' });
    expect(r.status).toBe(404);
  });
});

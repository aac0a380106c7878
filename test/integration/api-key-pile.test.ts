/**
 * A tenant that creates and revokes API keys without end, over HTTP and the Cosmos store: each mint counts only the keys
 * in use (one count query), GET /api-keys answers those in use by default and pages any state, and a rights set only
 * revoked or expired keys name may be deleted. Each used to read, or answer, every key the tenant ever made.
 */
import { call } from '../support/http';
import { newTenant, startTestArchive, TestArchive } from '../support/harness';

let archive: TestArchive;
beforeAll(async () => {
  archive = await startTestArchive({ ARCHIVE_MAX_API_KEYS: '2' });
});
afterAll(() => archive.stop());

const jsonBody = (method: string, body: unknown): RequestInit => ({ method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
interface Key { id: string; name: string; revokedAt: string | null; expiresAt: string }

it('after many keys created and revoked: mints count the keys in use, the list pages each state, an expired key holds no set', async () => {
  const tenant = newTenant('key-pile');
  const admin = await archive.token({ tenant, sub: 'ada', rights: 'tenant-admin' });
  const mint = (name: string, rightsSet = 'accountant') => call(`${archive.url}/api-keys`, { ...jsonBody('POST', { name, rightsSet }), token: admin });
  const list = (query: string) => call(`${archive.url}/api-keys?${query}`, { token: admin });

  for (let i = 0; i < 25; i++) {
    const made = await mint(`pile-${i}`);
    expect(made.status).toBe(201);
    expect((await call(`${archive.url}/api-keys/${made.json.id}`, { method: 'DELETE', token: admin })).status).toBe(200);
  }
  // An expired key (none can be minted so: written as a past mint left it), holding a set of the tenant's own.
  expect((await call(`${archive.url}/rights-sets/scanners`, { ...jsonBody('PUT', { permissions: ['documents:read'] }), token: admin })).status).toBe(200);
  const old = await mint('old', 'scanners');
  expect(old.status).toBe(201);
  const stored = archive.host.deps.cosmos.tenants.item(`api-key:${old.json.id}`, tenant);
  const { resource } = await stored.read();
  await stored.replace({ ...resource, expiresAt: '2025-01-01T00:00:00.000Z' });

  // 27 keys stored, none in use: two fit (ARCHIVE_MAX_API_KEYS), a third is refused counting two.
  expect((await mint('a')).status).toBe(201);
  expect((await mint('b')).status).toBe(201);
  expect((await mint('c')).json).toMatchObject({ status: 409, code: 'tenant_limit_reached', count: 2, limit: 2 });

  const inUse = await list('');
  expect(inUse.status).toBe(200);
  expect(inUse.json).toEqual({ items: [expect.objectContaining({ name: 'b' }), expect.objectContaining({ name: 'a' })], continuationToken: null });
  expect((await list('state=expired')).json.items.map((k: Key) => k.name)).toEqual(['old']);

  // The revoked ones, ten a page, newest first, each once.
  const pages: Key[][] = [];
  let token: string | null = null;
  do {
    const page = await list(`state=revoked&limit=10${token ? `&continuationToken=${encodeURIComponent(token)}` : ''}`);
    expect(page.status).toBe(200);
    pages.push(page.json.items);
    token = page.json.continuationToken;
  } while (token && pages.length < 10);
  expect(pages.map((p) => p.length)).toEqual([10, 10, 5]);
  expect(pages.flat().map((k) => k.name)).toEqual(Array.from({ length: 25 }, (_, i) => `pile-${24 - i}`));
  expect(pages.flat().every((k) => k.revokedAt !== null)).toBe(true);

  const all = await list('state=all&limit=5');
  expect(all.json.items).toHaveLength(5);
  // A token is for the state it was issued for.
  const crossed = await list(`state=revoked&continuationToken=${encodeURIComponent(all.json.continuationToken)}`);
  expect(crossed.json).toMatchObject({ status: 400, code: 'invalid_query' });
  expect((await list('state=every')).status).toBe(400);

  // Only an expired key names the set: it never acts again, so the set may go.
  expect((await call(`${archive.url}/rights-sets/scanners`, { method: 'DELETE', token: admin })).status).toBe(204);
});

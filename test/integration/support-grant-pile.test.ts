/**
 * A tenant admin that grants and revokes support access without end, over HTTP and the Cosmos store: support staff still
 * find the grant in force (one query of one record, the one expiring last among those another person gave) and
 * GET /support-grants answers the grants in force by default and pages any state. Each used to read, or answer, every
 * grant the tenant ever gave.
 */
import { call, rawUpload } from '../support/http';
import { corpusFile, newTenant, startTestArchive, TestArchive } from '../support/harness';

let archive: TestArchive;
beforeAll(async () => {
  archive = await startTestArchive();
});
afterAll(() => archive.stop());

const jsonBody = (method: string, body: unknown): RequestInit => ({ method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
interface Grant { id: string; ticket: string; revokedAt: string | null }

it('after many grants given and revoked: support acts under the grant in force, the list pages each state', async () => {
  const tenant = newTenant('grant-pile');
  const admin = await archive.token({ tenant, sub: 'ada', rights: 'tenant-admin' });
  const writer = await archive.token({ tenant, sub: 'writer', rights: 'archivist' });
  const doc = (await call(`${archive.url}/documents`, { ...rawUpload(corpusFile('img2pdf/normal.jpg'), 'image/jpeg'), token: writer })).json.id;
  const staff = await archive.token({ tenant, sub: 'staff-7', kind: 'support' });
  // Ada is provider staff too: a grant she gave is not for her.
  const adaAsStaff = await archive.token({ tenant, sub: 'ada', kind: 'support' });
  const give = (ticket: string, days: number, scope = 'read-only') => call(`${archive.url}/support-grants`, { ...jsonBody('POST', { ticket, scope, expiresAt: inDays(days) }), token: admin });
  const list = (query: string) => call(`${archive.url}/support-grants?${query}`, { token: admin });

  for (let i = 0; i < 25; i++) {
    const made = await give(`pile-${i}`, 7);
    expect(made.status).toBe(201);
    expect((await call(`${archive.url}/support-grants/${made.json.id}`, { method: 'DELETE', token: admin })).status).toBe(200);
  }
  expect((await call(`${archive.url}/documents/${doc}`, { token: staff })).json.code).toBe('support_access_not_granted');

  // An expired grant (none can be given so: written as a past grant left it).
  const old = await give('old', 1);
  const stored = archive.host.deps.cosmos.tenants.item(`support-grant:${old.json.id}`, tenant);
  const { resource } = await stored.read();
  await stored.replace({ ...resource, expiresAt: '2025-01-01T00:00:00.000Z' });
  expect((await call(`${archive.url}/documents/${doc}`, { token: staff })).json.code).toBe('support_access_not_granted');

  // Two in force: staff act under the one expiring last; Ada is refused as having given them herself.
  const sooner = await give('sooner', 2, 'metadata-only');
  const later = await give('later', 5);
  expect((await call(`${archive.url}/documents/${doc}`, { token: staff })).status).toBe(200);
  expect((await call(`${archive.url}/documents/${doc}/rendition`, { token: staff })).status).toBe(200); // read-only: the later one's scope
  expect((await call(`${archive.url}/documents/${doc}`, { token: adaAsStaff })).json).toMatchObject({ code: 'segregation_of_duties', rule: 'support-self-granted' });
  expect((await call(`${archive.url}/support-grants/${later.json.id}`, { method: 'DELETE', token: admin })).status).toBe(200);
  expect((await call(`${archive.url}/documents/${doc}/rendition`, { token: staff })).status).toBe(403); // metadata-only now
  expect((await call(`${archive.url}/documents/${doc}`, { token: staff })).status).toBe(200);

  const active = await list('');
  expect(active.status).toBe(200);
  expect(active.json).toEqual({ items: [expect.objectContaining({ id: sooner.json.id })], continuationToken: null, maxDurationSeconds: 7 * 86_400 });
  expect((await list('state=expired')).json.items.map((g: Grant) => g.ticket)).toEqual(['old']);

  // The revoked ones, ten a page, newest first, each once.
  const pages: Grant[][] = [];
  let token: string | null = null;
  do {
    const page = await list(`state=revoked&limit=10${token ? `&continuationToken=${encodeURIComponent(token)}` : ''}`);
    expect(page.status).toBe(200);
    expect(page.json.maxDurationSeconds).toBe(7 * 86_400);
    pages.push(page.json.items);
    token = page.json.continuationToken;
  } while (token && pages.length < 10);
  expect(pages.map((p) => p.length)).toEqual([10, 10, 6]);
  expect(pages.flat().map((g) => g.ticket)).toEqual(['later', ...Array.from({ length: 25 }, (_, i) => `pile-${24 - i}`)]);
  expect(pages.flat().every((g) => g.revokedAt !== null)).toBe(true);

  const all = await list('state=all&limit=5');
  expect(all.json.items).toHaveLength(5);
  // A token is for the state it was issued for.
  const crossed = await list(`state=revoked&continuationToken=${encodeURIComponent(all.json.continuationToken)}`);
  expect(crossed.json).toMatchObject({ status: 400, code: 'invalid_query' });
  expect((await list('state=in-use')).status).toBe(400);
});

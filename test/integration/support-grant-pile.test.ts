/**
 * A tenant admin that grants and revokes support access without end, over HTTP and the Cosmos store: support staff still
 * find the grant in force (one query of one record, the one expiring last among those another person gave) and
 * GET /support-grants answers the grants in force by default and pages any state. Each used to read, or answer, every
 * grant the tenant ever gave. Grants carry `endsAt` (the earlier of expiry and revocation), which the store's queries
 * range over once the reconciler gave it to every grant from before it.
 */
import { randomBytes } from 'node:crypto';
import { reconcile } from '../../shared/retention/reconcile';
import { call, rawUpload } from '../support/http';
import { corpusFile, depsForOnlyTenant, newTenant, startTestArchive, TestArchive } from '../support/harness';
import type { SupportGrantRecord } from '../../shared/auth/support-grants/support-grant';
import { sealRecord } from '../../shared/auth/api-keys/key-seal';

let archive: TestArchive;
beforeAll(async () => {
  // A database of its own: the store's `endsAt` migration mark is one for the store, and a test here sets it.
  archive = await startTestArchive({ COSMOS_DATABASE: `grantpile-${randomBytes(4).toString('hex')}` });
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
  await stored.replace(await sealRecord({ ...resource, expiresAt: '2025-01-01T00:00:00.000Z', endsAt: '2025-01-01T00:00:00.000Z' } as SupportGrantRecord, archive.host.deps.audit.chainKeys));
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

it('grants from before endsAt: each state and support access answer alike before and after the reconciler gives them endsAt', async () => {
  const tenant = newTenant('grant-ends');
  const admin = await archive.token({ tenant, sub: 'ada', rights: 'tenant-admin' });
  const writer = await archive.token({ tenant, sub: 'writer', rights: 'archivist' });
  const doc = (await call(`${archive.url}/documents`, { ...rawUpload(corpusFile('img2pdf/normal.jpg'), 'image/jpeg'), token: writer })).json.id;
  const staff = await archive.token({ tenant, sub: 'staff-7', kind: 'support' });
  const give = (ticket: string, days: number, scope = 'read-only') => call(`${archive.url}/support-grants`, { ...jsonBody('POST', { ticket, scope, expiresAt: inDays(days) }), token: admin });
  const tickets = async (state: string) => (await call(`${archive.url}/support-grants?state=${state}`, { token: admin })).json.items.map((g: Grant) => g.ticket);
  const item = (id: string) => archive.host.deps.cosmos.tenants.item(`support-grant:${id}`, tenant);

  const made: Record<string, string> = {};
  for (const [ticket, days, scope] of [['revoked', 7, 'read-only'], ['old', 1, 'read-only'], ['live', 3, 'metadata-only']] as const) {
    const grant = await give(ticket, days, scope);
    expect(grant.status).toBe(201);
    made[ticket] = grant.json.id;
    expect((await item(grant.json.id).read()).resource.endsAt).toBe(grant.json.expiresAt);
    expect(grant.json).not.toHaveProperty('endsAt');
  }
  const revoked = await call(`${archive.url}/support-grants/${made.revoked}`, { method: 'DELETE', token: admin });
  expect((await item(made.revoked!).read()).resource.endsAt).toBe(revoked.json.revokedAt);
  // As grants were stored before endsAt: without it (and one expired, as a past grant left it).
  for (const id of Object.values(made)) {
    const { resource } = await item(id).read();
    delete resource.endsAt;
    if (id === made.old) resource.expiresAt = '2025-01-01T00:00:00.000Z';
    await item(id).replace(resource);
  }
  const expected = { active: ['live'], revoked: ['revoked'], expired: ['old'], read: 200, rendition: 403 };
  const answers = async () => ({
    active: await tickets('active'),
    revoked: await tickets('revoked'),
    expired: await tickets('expired'),
    // Staff act under the live grant, metadata-only.
    read: (await call(`${archive.url}/documents/${doc}`, { token: staff })).status,
    rendition: (await call(`${archive.url}/documents/${doc}/rendition`, { token: staff })).status,
  });
  expect(await answers()).toEqual(expected);

  // Every half hour: the store is marked by a run that finds none left an hour after the first run.
  const first = Date.now();
  const run = async (i: number) => (await reconcile({ now: new Date(first + i * 30 * 60_000), maxItems: 2, continuation: null, orphanGraceMinutes: 60 }, depsForOnlyTenant(archive.host.deps, tenant))).endsAtMigrated;
  const runs: string[][] = [];
  for (let i = 0; i < 3; i++) {
    runs.push(await run(i));
    expect(await answers()).toEqual(expected);
  }
  expect(runs.map((r) => r.length)).toEqual([2, 1, 0]);
  expect(await archive.host.deps.tenantRecords.endsAtMigrated()).toBe(true);
  for (const id of Object.values(made)) {
    const { resource } = await item(id).read();
    expect(resource.endsAt).toBe(resource.revokedAt ?? resource.expiresAt);
  }
  expect(await run(3)).toEqual([]);

  // Migrated: revoking the live grant ends the access at once.
  expect((await call(`${archive.url}/support-grants/${made.live}`, { method: 'DELETE', token: admin })).status).toBe(200);
  expect((await call(`${archive.url}/documents/${doc}`, { token: staff })).json.code).toBe('support_access_not_granted');
  expect(await tickets('active')).toEqual([]);
  expect(await tickets('revoked')).toEqual(['live', 'revoked']);
});

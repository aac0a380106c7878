/**
 * A tenant that creates and revokes API keys without end, over HTTP and the Cosmos store: each mint counts only the keys
 * in use (one count query), GET /api-keys answers those in use by default and pages any state, and a rights set only
 * revoked or expired keys name may be deleted. Each used to read, or answer, every key the tenant ever made.
 * Keys carry `endsAt` (the earlier of expiry and revocation), which the store's queries range over once the reconciler
 * gave it to every key from before it.
 */
import { randomBytes } from 'node:crypto';
import { reconcile } from '../../shared/retention/reconcile';
import { sealLegacySightings } from '../../shared/auth/person-sightings';
import { ENDS_AT_SETTLE_MS } from '../../shared/auth/ends-at';
import { TenantRecords } from '../../shared/adapters/azure/tenant-records';
import { call } from '../support/http';
import { depsForOnlyTenant, newTenant, startTestArchive, TestArchive } from '../support/harness';

let archive: TestArchive;
beforeAll(async () => {
  // A database of its own: the store's `endsAt` migration mark is one for the store, and a test here sets it.
  archive = await startTestArchive({ ARCHIVE_MAX_API_KEYS: '2', COSMOS_DATABASE: `keypile-${randomBytes(4).toString('hex')}` });
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
  await stored.replace({ ...resource, expiresAt: '2025-01-01T00:00:00.000Z', endsAt: '2025-01-01T00:00:00.000Z' });

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

it('keys from before endsAt: each state answers alike before and after the reconciler gives them endsAt, a bounded run at a time', async () => {
  const tenant = newTenant('key-ends');
  const admin = await archive.token({ tenant, sub: 'ada', rights: 'tenant-admin' });
  const mint = (name: string) => call(`${archive.url}/api-keys`, { ...jsonBody('POST', { name, rightsSet: 'accountant' }), token: admin });
  const names = async (state: string) => (await call(`${archive.url}/api-keys?state=${state}`, { token: admin })).json.items.map((k: Key) => k.name);
  const item = (id: string) => archive.host.deps.cosmos.tenants.item(`api-key:${id}`, tenant);
  const tenants = archive.host.deps.cosmos.tenants;

  const made: Record<string, string> = {};
  for (const name of ['r1', 'r2', 'r3', 'old', 'live']) {
    const key = await mint(name);
    expect(key.status).toBe(201);
    made[name] = key.json.id;
    // Stored with when it ends: its expiry, and once revoked its revocation.
    expect((await item(key.json.id).read()).resource.endsAt).toBe(key.json.expiresAt);
    if (name.startsWith('r')) {
      const revoked = await call(`${archive.url}/api-keys/${key.json.id}`, { method: 'DELETE', token: admin });
      expect((await item(key.json.id).read()).resource.endsAt).toBe(revoked.json.revokedAt);
      expect(revoked.json).not.toHaveProperty('endsAt');
    }
  }
  // As keys were stored before endsAt: without it (and one expired, as a past mint left it).
  for (const id of Object.values(made)) {
    const { resource } = await item(id).read();
    delete resource.endsAt;
    if (id === made.old) resource.expiresAt = '2025-01-01T00:00:00.000Z';
    await item(id).replace(resource);
  }
  const expected = { inUse: ['live'], revoked: ['r3', 'r2', 'r1'], expired: ['old'] };
  const answers = async () => ({ inUse: await names('in-use'), revoked: await names('revoked'), expired: await names('expired') });
  expect(await answers()).toEqual(expected);

  // The reconciler, every half hour: two keys a run (its bound), then a run that finds none left and, an hour after the
  // first run (no instance of the code from before left), marks the store; the same answers throughout.
  const first = Date.now();
  const at = (run: number) => new Date(first + run * 30 * 60_000);
  const runs: string[][] = [];
  for (let i = 0; i < 4; i++) {
    runs.push((await reconcile({ now: at(i), maxItems: 2, continuation: null, orphanGraceMinutes: 60 }, depsForOnlyTenant(archive.host.deps, tenant))).endsAtMigrated);
    expect(await answers()).toEqual(expected);
  }
  expect(runs.map((r) => r.length)).toEqual([2, 2, 1, 0]);
  expect(new Set(runs.flat())).toEqual(new Set(Object.values(made).map((id) => `${tenant}/api-key:${id}`)));
  expect(await archive.host.deps.tenantRecords.endsAtMigrated()).toBe(true);
  const { resources } = await tenants.items.query({ query: 'SELECT c.keyId, c.expiresAt, c.revokedAt, c.endsAt FROM c WHERE c.tenantId = @t AND c.type = "api-key"', parameters: [{ name: '@t', value: tenant }] }).fetchAll();
  for (const k of resources) expect(k.endsAt).toBe(k.revokedAt ?? k.expiresAt);

  // Run again: nothing left, nothing written.
  const etags = await Promise.all(Object.values(made).map(async (id) => (await item(id).read()).resource._etag));
  expect((await reconcile({ now: at(4), maxItems: 2, continuation: null, orphanGraceMinutes: 60 }, depsForOnlyTenant(archive.host.deps, tenant))).endsAtMigrated).toEqual([]);
  expect(await Promise.all(Object.values(made).map(async (id) => (await item(id).read()).resource._etag))).toEqual(etags);

  // Migrated: the count goes by endsAt (one key in use of two allowed), and a key revoked now stops counting.
  expect((await mint('next')).status).toBe(201);
  expect((await mint('one-too-many')).json).toMatchObject({ code: 'tenant_limit_reached', count: 2 });
  expect((await call(`${archive.url}/api-keys/${made.live}`, { method: 'DELETE', token: admin })).status).toBe(200);
  expect(await names('in-use')).toEqual(['next']);
  const after = await mint('after');
  expect(after.status).toBe(201);

  // A key the code from before writes after the mark (a deploy rolled back, then forward): missed in use until the
  // next run gives it endsAt, then counted again (two in use of two allowed).
  const { resource } = await item(after.json.id).read();
  delete resource.endsAt;
  await item(after.json.id).replace(resource);
  expect(await names('in-use')).toEqual(['next']);
  expect((await reconcile({ now: at(5), maxItems: 2, continuation: null, orphanGraceMinutes: 60 }, depsForOnlyTenant(archive.host.deps, tenant))).endsAtMigrated).toEqual([`${tenant}/api-key:${after.json.id}`]);
  expect(await names('in-use')).toEqual(['after', 'next']);
  expect((await mint('one-too-many')).json).toMatchObject({ code: 'tenant_limit_reached', count: 2 });
});

it('a key from before the seal: the reconciler seals it from its audit entry over the Cosmos store, and it acts on', async () => {
  const tenant = newTenant('key-seal');
  const admin = await archive.token({ tenant, sub: 'ada', rights: 'tenant-admin' });
  const made = await call(`${archive.url}/api-keys`, { ...jsonBody('POST', { name: 'old', rightsSet: 'accountant' }), token: admin });
  expect(made.status).toBe(201);
  await archive.host.deps.auditOutbox.flush();
  const item = archive.host.deps.cosmos.tenants.item(`api-key:${made.json.id}`, tenant);
  const { resource } = await item.read();
  delete resource.mac;
  delete resource.keyVersion;
  await item.replace(resource);
  const result = await reconcile({ now: new Date(), maxItems: 2, continuation: null, orphanGraceMinutes: 60 }, depsForOnlyTenant(archive.host.deps, tenant));
  expect([result.keysSealed, result.keysUnsealed]).toEqual([[`${tenant}/${made.json.id}`], []]);
  expect((await item.read()).resource.mac).toEqual(expect.any(String));
  expect((await call(`${archive.url}/documents`, { headers: { Authorization: `ApiKey ${made.json.key}` } })).status).toBe(200);
});

it("the reconciler's cross-tenant walk of keys sealed with another chain key version pages through every tenant, each key once", async () => {
  // resealSuperseded goes on from the store's token run after run; the Cosmos query is cross-partition.
  const { tenantRecords } = archive.host.deps;
  const at = new Date().toISOString();
  const mine = new Set<string>();
  for (const tenantId of [newTenant('reseal-a'), newTenant('reseal-b'), newTenant('reseal-c')]) {
    for (let i = 0; i < 2; i++) {
      const id = `api-key:reseal-${randomBytes(4).toString('hex')}`;
      mine.add(`${tenantId}/${id}`);
      await tenantRecords.create({ id, type: 'api-key', tenantId, mac: 'x', keyVersion: 'old', createdAt: at, expiresAt: '2999-01-01T00:00:00.000Z', revokedAt: null } as never);
    }
  }
  const seen: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await tenantRecords.unsafeKeysSealedNotWith('new', at, 2, token);
    expect(page.items.length).toBeLessThanOrEqual(2);
    seen.push(...page.items.map((k) => `${k.tenantId}/${k.id}`));
    token = page.continuationToken ?? undefined;
    pages++;
  } while (token && pages < 100);
  expect(new Set(seen).size).toBe(seen.length);
  expect(seen.filter((k) => mine.has(k)).sort()).toEqual([...mine].sort());
});

it('a sign-in record from before the seal: the reconciler finds it with its cross-tenant query, seals it over the Cosmos store as it stood, and the store is marked once none is left', async () => {
  const tenant = newTenant('sighting-seal');
  const { cosmos, tenantRecords, retention, audit } = archive.host.deps;
  const token = await archive.token({ tenant, sub: 'bo', rights: 'accountant' });
  expect((await call(`${archive.url}/documents`, { token })).status).toBe(200);
  const item = cosmos.tenants.item('person-sighting:bo', tenant);
  const { resource } = await item.read();
  delete resource.mac;
  delete resource.keyVersion;
  await item.replace(resource);
  expect(await tenantRecords.unsafeUnsealedSightings(200)).toContainEqual({ tenantId: tenant, id: 'person-sighting:bo' });
  // Judged as a store not yet marked (an earlier case's runs in this database may have marked it: the mark is one for the store).
  const unmarked = Object.assign(Object.create(tenantRecords) as typeof tenantRecords, { sightingsSealed: async () => false });
  const now = Date.now();
  const first = await sealLegacySightings({ tenantRecords: unmarked, audit, retention }, new Date(now), ENDS_AT_SETTLE_MS);
  expect(first).toEqual({ sealed: [`${tenant}/person-sighting:bo`], done: false });
  const sealed = (await item.read()).resource;
  expect(sealed).toMatchObject({ person: 'bo', rightsSet: resource.rightsSet, seenAt: resource.seenAt, mac: expect.any(String) });
  expect(await sealLegacySightings({ tenantRecords: unmarked, audit, retention }, new Date(now + 2 * ENDS_AT_SETTLE_MS), ENDS_AT_SETTLE_MS)).toEqual({ sealed: [], done: true });
  expect(await new TenantRecords(cosmos.tenants, audit.chainKeys).sightingsSealed()).toBe(true);
});

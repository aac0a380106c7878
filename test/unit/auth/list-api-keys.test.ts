/**
 * GET /api-keys is paged and filtered by state (in use by default): it used to answer every key the tenant ever made,
 * so a loop of create+revoke grew the answer (and its read) without bound.
 */
import { createApiKey } from '../../../shared/auth/api-keys/create-api-key';
import { listApiKeys, ZListApiKeysQuery } from '../../../shared/auth/api-keys/list-api-keys';
import { revokeApiKey } from '../../../shared/auth/api-keys/revoke-api-key';
import { actor } from '../../../shared/auth/rights-sets/rights-records';
import { type Permission, PERMISSIONS, type Principal } from '../../../shared/kernel/principal';
import type { ApiKeyState } from '../../../shared/ports';
import { FakeClock } from '../../support/fake-clock';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory';

const T = 'acme';
const DAY = 86_400_000;
const admin: Principal = { tenantId: T, subject: 'alice', kind: 'user', rightsSet: 'root', permissions: new Set<Permission>(PERMISSIONS) };

async function tenantWithKeys() {
  const clock = new FakeClock('2025-03-01T12:00:00Z');
  const deps: InMemoryDeps = { ...inMemoryDeps(), clock };
  const mint = async (name: string, days = 30) => {
    clock.advance(1000); // each its own createdAt: newest first is one order
    return (await createApiKey({ tenantId: T, name, rightsSet: 'uploader', expiresAt: new Date(clock.now().getTime() + days * DAY), createdBy: actor(admin), ceiling: [...admin.permissions], personPermissions: [...admin.permissions], now: clock.now() }, deps)).record;
  };
  for (let i = 0; i < 6; i++) await revokeApiKey(T, (await mint(`revoked-${i}`)).keyId, actor(admin), clock.now(), deps);
  await mint('expiring', 1);
  clock.advance(2 * DAY);
  for (let i = 0; i < 5; i++) await mint(`in-use-${i}`);
  return { deps, clock, mint };
}

const query = (q: Record<string, string>) => ZListApiKeysQuery.parse(q);
const names = (items: { name: string }[]) => items.map((k) => k.name);

async function walk(deps: InMemoryDeps, q: Record<string, string>): Promise<string[][]> {
  const pages: string[][] = [];
  let token: string | undefined;
  do {
    const page = await listApiKeys(T, query({ ...q, ...(token ? { continuationToken: token } : {}) }), deps.clock.now(), deps);
    pages.push(names(page.items));
    token = page.continuationToken ?? undefined;
  } while (token);
  return pages;
}

it('by default answers the keys in use only, newest first, a page of at most `limit` at a time', async () => {
  const { deps } = await tenantWithKeys();
  expect(query({})).toMatchObject({ state: 'in-use', limit: 50 });
  expect(await walk(deps, { limit: '2' })).toEqual([['in-use-4', 'in-use-3'], ['in-use-2', 'in-use-1'], ['in-use-0']]);
  expect(deps.tenantRecords.keyQueries.every((q) => q.query === 'count' || q.query === 'in-use')).toBe(true);
});

it.each<[ApiKeyState, string[]]>([
  ['revoked', ['revoked-5', 'revoked-4', 'revoked-3', 'revoked-2', 'revoked-1', 'revoked-0']],
  ['expired', ['expiring']],
  ['all', ['in-use-4', 'in-use-3', 'in-use-2', 'in-use-1', 'in-use-0', 'expiring', 'revoked-5', 'revoked-4', 'revoked-3', 'revoked-2', 'revoked-1', 'revoked-0']],
])('state=%s answers those keys, newest first, paged', async (state, expected) => {
  const { deps } = await tenantWithKeys();
  const pages = await walk(deps, { state, limit: '4' });
  expect(pages.flat()).toEqual(expected);
  expect(pages.every((p) => p.length <= 4)).toBe(true);
});

it("a page's token is refused for another state or with a token not issued by the list (400 invalid_query)", async () => {
  const { deps } = await tenantWithKeys();
  const first = await listApiKeys(T, query({ limit: '2' }), deps.clock.now(), deps);
  await expect(listApiKeys(T, query({ state: 'all', limit: '2', continuationToken: first.continuationToken! }), deps.clock.now(), deps)).rejects.toMatchObject({ code: 'invalid_query' });
  await expect(listApiKeys('other', query({ limit: '2', continuationToken: first.continuationToken! }), deps.clock.now(), deps)).rejects.toMatchObject({ code: 'invalid_query' });
  await expect(listApiKeys(T, query({ continuationToken: 'garbage' }), deps.clock.now(), deps)).rejects.toMatchObject({ code: 'invalid_query' });
  expect(() => query({ state: 'every' })).toThrow();
  expect(() => query({ limit: '201' })).toThrow();
});

it('every page of a walk judges the state at its first page: a key expiring meanwhile neither leaves nor shifts it', async () => {
  const { deps, clock, mint } = await tenantWithKeys();
  await mint('short', 1);
  const first = await listApiKeys(T, query({ limit: '3' }), clock.now(), deps);
  expect(names(first.items)).toEqual(['short', 'in-use-4', 'in-use-3']);
  clock.advance(2 * DAY);
  const second = await listApiKeys(T, query({ limit: '3', continuationToken: first.continuationToken! }), clock.now(), deps);
  expect(names(second.items)).toEqual(['in-use-2', 'in-use-1', 'in-use-0']);
  expect(second.continuationToken).toBeNull();
  // A new walk judges now.
  expect(names((await listApiKeys(T, query({ limit: '3' }), clock.now(), deps)).items)).toEqual(['in-use-4', 'in-use-3', 'in-use-2']);
});

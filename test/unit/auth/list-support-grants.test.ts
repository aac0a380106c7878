/**
 * GET /support-grants is paged and filtered by state (active by default): it used to answer every grant the tenant ever
 * gave, so a tenant admin granting and revoking in a loop grew the answer (and its read) without bound.
 */
import { createSupportGrant } from '../../../shared/auth/support-grants/create-support-grant';
import { listSupportGrants, ZListSupportGrantsQuery } from '../../../shared/auth/support-grants/list-support-grants';
import { revokeSupportGrant } from '../../../shared/auth/support-grants/revoke-support-grant';
import type { SupportGrantState } from '../../../shared/ports';
import { FakeClock } from '../../support/fake-clock';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory';

const T = 'acme';
const DAY = 86_400_000;
const ann = { subject: 'ann', kind: 'user', person: 'ann' };

async function tenantWithGrants() {
  const clock = new FakeClock('2025-03-01T12:00:00Z');
  const deps: InMemoryDeps = { ...inMemoryDeps(), clock };
  const grant = async (ticket: string, days = 7) => {
    clock.advance(1000); // each its own createdAt: newest first is one order
    return createSupportGrant({ tenantId: T, ticket, scope: 'read-only', expiresAt: new Date(clock.now().getTime() + days * DAY), createdBy: ann, now: clock.now() }, deps).then((r) => r.grant);
  };
  for (let i = 0; i < 6; i++) await revokeSupportGrant(T, (await grant(`revoked-${i}`)).grantId, ann, clock.now(), deps);
  await grant('expiring', 1);
  clock.advance(2 * DAY);
  for (let i = 0; i < 5; i++) await grant(`active-${i}`);
  return { deps, clock, grant };
}

const query = (q: Record<string, string>) => ZListSupportGrantsQuery.parse(q);
const tickets = (items: { ticket: string }[]) => items.map((g) => g.ticket);

async function walk(deps: InMemoryDeps, q: Record<string, string>): Promise<string[][]> {
  const pages: string[][] = [];
  let token: string | undefined;
  do {
    const page = await listSupportGrants(T, query({ ...q, ...(token ? { continuationToken: token } : {}) }), deps.clock.now(), deps);
    pages.push(tickets(page.items));
    token = page.continuationToken ?? undefined;
  } while (token);
  return pages;
}

it('by default answers the grants in force only, newest first, a page of at most `limit` at a time', async () => {
  const { deps } = await tenantWithGrants();
  expect(query({})).toMatchObject({ state: 'active', limit: 50 });
  expect(await walk(deps, { limit: '2' })).toEqual([['active-4', 'active-3'], ['active-2', 'active-1'], ['active-0']]);
  // The fake refuses a list of every grant: only the bounded queries were asked.
  await expect(deps.tenantRecords.list(T, 'support-grant')).rejects.toThrow(/supportGrantPage/);
});

it.each<[SupportGrantState, string[]]>([
  ['revoked', ['revoked-5', 'revoked-4', 'revoked-3', 'revoked-2', 'revoked-1', 'revoked-0']],
  ['expired', ['expiring']],
  ['all', ['active-4', 'active-3', 'active-2', 'active-1', 'active-0', 'expiring', 'revoked-5', 'revoked-4', 'revoked-3', 'revoked-2', 'revoked-1', 'revoked-0']],
])('state=%s answers those grants, newest first, paged', async (state, expected) => {
  const { deps } = await tenantWithGrants();
  const pages = await walk(deps, { state, limit: '4' });
  expect(pages.flat()).toEqual(expected);
  expect(pages.every((p) => p.length <= 4)).toBe(true);
});

it("a page's token is refused for another state, another tenant or when not issued by the list (400 invalid_query)", async () => {
  const { deps } = await tenantWithGrants();
  const first = await listSupportGrants(T, query({ limit: '2' }), deps.clock.now(), deps);
  await expect(listSupportGrants(T, query({ state: 'all', limit: '2', continuationToken: first.continuationToken! }), deps.clock.now(), deps)).rejects.toMatchObject({ code: 'invalid_query' });
  await expect(listSupportGrants('other', query({ limit: '2', continuationToken: first.continuationToken! }), deps.clock.now(), deps)).rejects.toMatchObject({ code: 'invalid_query' });
  await expect(listSupportGrants(T, query({ continuationToken: 'garbage' }), deps.clock.now(), deps)).rejects.toMatchObject({ code: 'invalid_query' });
  expect(() => query({ state: 'in-use' })).toThrow();
  expect(() => query({ limit: '201' })).toThrow();
});

it('every page of a walk judges the state at its first page: a grant expiring meanwhile neither leaves nor shifts it', async () => {
  const { deps, clock, grant } = await tenantWithGrants();
  await grant('short', 1);
  const first = await listSupportGrants(T, query({ limit: '3' }), clock.now(), deps);
  expect(tickets(first.items)).toEqual(['short', 'active-4', 'active-3']);
  clock.advance(2 * DAY);
  const second = await listSupportGrants(T, query({ limit: '3', continuationToken: first.continuationToken! }), clock.now(), deps);
  expect(tickets(second.items)).toEqual(['active-2', 'active-1', 'active-0']);
  expect(second.continuationToken).toBeNull();
});

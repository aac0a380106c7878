/**
 * GET /sod-policy/proposals is paged and filtered by state (pending by default): it used to answer every proposal the
 * tenant ever made, so a loop of propose+withdraw grew the answer (and its read) without bound.
 */
import { DEFAULT_SOD_POLICY } from '../../../shared/auth/sod';
import { ZListSodPolicyProposalsQuery } from '../../../shared/auth/sod-policy-proposals';
import { type Permission, PERMISSIONS, type Principal } from '../../../shared/kernel/principal';
import type { ProposalListState } from '../../../shared/ports';
import { FakeClock } from '../../support/fake-clock';
import { inMemoryDeps, type InMemoryDeps, signedIn } from '../../support/in-memory';

const T = 'acme';
const DAY = 86_400_000;
const admin = (subject: string): Principal => ({ tenantId: T, subject, kind: 'user', rightsSet: 'root', permissions: new Set<Permission>(PERMISSIONS) });
const alice = admin('alice');
const bob = admin('bob');
// A weakening: only proposed.
const weaker = { ...DEFAULT_SOD_POLICY, uploaderCannotApproveDisposal: false };

async function tenantWithProposals() {
  const clock = new FakeClock('2025-03-01T12:00:00Z');
  const deps: InMemoryDeps = { ...inMemoryDeps(), clock };
  // The proposers signed in as tenant-admins: they still hold rights:manage when a proposal is approved.
  await signedIn(deps.tenantRecords, T, ['alice', 'bob', ...Array.from({ length: 5 }, (_, i) => `admin-${i}`)], clock.now());
  const names = new Map<string, string>();
  const propose = async (name: string, by = alice) => {
    clock.advance(1000);
    const outcome = await deps.sodPolicy.change(by, weaker, clock.now());
    if (!('proposed' in outcome)) throw new Error('not proposed');
    names.set(outcome.proposed.proposalId, name);
    return outcome.proposed.proposalId;
  };
  for (let i = 0; i < 4; i++) await deps.sodPolicy.withdraw(alice, await propose(`withdrawn-${i}`), clock.now());
  for (let i = 0; i < 2; i++) await deps.sodPolicy.withdraw(bob, await propose(`rejected-${i}`), clock.now());
  await propose('expiring');
  clock.advance(8 * DAY);
  // Each by another person: the same weakening proposed again by one person while it is pending is that proposal (a retry).
  for (let i = 0; i < 5; i++) await propose(`pending-${i}`, admin(`admin-${i}`));
  return { deps, clock, propose, names };
}

const query = (q: Record<string, string>) => ZListSodPolicyProposalsQuery.parse(q);

async function walk({ deps, names }: { deps: InMemoryDeps; names: Map<string, string> }, q: Record<string, string>): Promise<string[][]> {
  const pages: string[][] = [];
  let token: string | undefined;
  do {
    const page = await deps.sodPolicy.list(T, query({ ...q, ...(token ? { continuationToken: token } : {}) }), deps.clock.now());
    pages.push(page.items.map((p) => names.get(p.proposalId)!));
    token = page.continuationToken ?? undefined;
  } while (token);
  return pages;
}

it('by default answers the pending proposals only, newest first, a page of at most `limit` at a time', async () => {
  const tenant = await tenantWithProposals();
  expect(query({})).toMatchObject({ state: 'pending', limit: 50 });
  expect(await walk(tenant, { limit: '2' })).toEqual([['pending-4', 'pending-3'], ['pending-2', 'pending-1'], ['pending-0']]);
  // The fake refuses a list of every proposal: only the paged query was asked.
  await expect(tenant.deps.tenantRecords.list(T, 'sod-policy-proposal')).rejects.toThrow(/proposalPage/);
});

it.each<[ProposalListState, string[]]>([
  ['withdrawn', ['withdrawn-3', 'withdrawn-2', 'withdrawn-1', 'withdrawn-0']],
  ['rejected', ['rejected-1', 'rejected-0']],
  ['expired', ['expiring']],
  ['approved', []],
  ['decided', ['expiring', 'rejected-1', 'rejected-0', 'withdrawn-3', 'withdrawn-2', 'withdrawn-1', 'withdrawn-0']],
  ['all', ['pending-4', 'pending-3', 'pending-2', 'pending-1', 'pending-0', 'expiring', 'rejected-1', 'rejected-0', 'withdrawn-3', 'withdrawn-2', 'withdrawn-1', 'withdrawn-0']],
])('state=%s answers those proposals, newest first, paged', async (state, expected) => {
  const tenant = await tenantWithProposals();
  const pages = await walk(tenant, { state, limit: '3' });
  expect(pages.flat()).toEqual(expected);
  expect(pages.every((p) => p.length <= 3)).toBe(true);
});

it('an approved proposal is found among the approved ones, no longer among the pending', async () => {
  const tenant = await tenantWithProposals();
  const { deps, clock } = tenant;
  const [newest] = (await deps.sodPolicy.list(T, query({ limit: '1' }), clock.now())).items;
  await deps.sodPolicy.approve(bob, newest!.proposalId, 'ok', clock.now());
  expect((await walk(tenant, { state: 'approved' })).flat()).toEqual(['pending-4']);
  expect((await walk(tenant, {})).flat()).toEqual(['pending-3', 'pending-2', 'pending-1', 'pending-0']);
});

it("a page's token is refused for another state, another tenant or when not issued by the list (400 invalid_query); a walk judges at its first page", async () => {
  const { deps, clock, propose } = await tenantWithProposals();
  const first = await deps.sodPolicy.list(T, query({ limit: '2' }), clock.now());
  await expect(deps.sodPolicy.list(T, query({ state: 'all', limit: '2', continuationToken: first.continuationToken! }), clock.now())).rejects.toMatchObject({ code: 'invalid_query' });
  await expect(deps.sodPolicy.list('other', query({ limit: '2', continuationToken: first.continuationToken! }), clock.now())).rejects.toMatchObject({ code: 'invalid_query' });
  await expect(deps.sodPolicy.list(T, query({ continuationToken: 'garbage' }), clock.now())).rejects.toMatchObject({ code: 'invalid_query' });
  expect(() => query({ state: 'closed' })).toThrow();

  await propose('late');
  const walkFirst = await deps.sodPolicy.list(T, query({ limit: '3' }), clock.now());
  clock.advance(8 * DAY); // every one of them expires
  const second = await deps.sodPolicy.list(T, query({ limit: '3', continuationToken: walkFirst.continuationToken! }), clock.now());
  expect([walkFirst.items.length, second.items.length, second.continuationToken]).toEqual([3, 3, null]);
  expect((await deps.sodPolicy.list(T, query({}), clock.now())).items).toEqual([]);
});

/**
 * Four eyes over the segregation-of-duties policy: one rights:manage account cannot switch a rule off,
 * through any credential of its person; a stronger policy applies at once unless existing rights break it.
 */
import { call, putAsRead } from '../support/http';
import { FakeClock } from '../support/fake-clock';
import { newTenant, startTestArchive, TestArchive } from '../support/harness';
import { seedRightsSet } from '../support/rights-seed';

let archive: TestArchive;
let clock: FakeClock;
beforeAll(async () => {
  archive = await startTestArchive();
  clock = new FakeClock(new Date());
  archive.host.deps.clock = clock;
});
afterAll(() => archive.stop());

const DEFAULT = ['documents:write', 'retention:approve'];
const DAY = 86400_000;
const json = (method: string, body: unknown): RequestInit => ({ method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
const withKey = (key: string, init: RequestInit = {}): RequestInit => ({ ...init, headers: { ...(init.headers as Record<string, string>), Authorization: `ApiKey ${key}` } });

interface Entry { action: string; status: number; detail?: string; target: string | null; actor: { subject: string; person?: string } }
async function auditOf(tenant: string, prefix = 'sod-policy.'): Promise<[string, number, string | null, string | null, string | undefined][]> {
  const auditor = await archive.token({ tenant, sub: 'auditor-1', rights: 'auditor' });
  const items = (await call(`${archive.url}/audit?limit=500`, { token: auditor })).json.items as Entry[];
  return items.filter((e) => e.action.startsWith(prefix) && e.action !== 'sod-policy.read').reverse().map((e) => [e.action, e.status, e.detail ?? null, e.target, e.actor.person]);
}

async function tenantWithAdmins(prefix: string) {
  const tenant = newTenant(prefix);
  const alice = await archive.token({ tenant, sub: 'alice', rights: 'tenant-admin' });
  const bob = await archive.token({ tenant, sub: 'bob', rights: 'tenant-admin' });
  const as = (token: string) => ({
    put: (body: unknown) => putAsRead(`${archive.url}/sod-policy`, body, { token }),
    approve: (id: string) => call(`${archive.url}/sod-policy/proposals/${id}/approve`, { ...json('POST', { reason: 'agreed' }), token }),
    withdraw: (id: string) => call(`${archive.url}/sod-policy/proposals/${id}`, { method: 'DELETE', token }),
  });
  const policy = async () => (await call(`${archive.url}/sod-policy`, { token: bob })).json;
  return { tenant, alice, bob, asAlice: as(alice), asBob: as(bob), policy };
}

it('a weakening by one person is only proposed and changes nothing; its proposer cannot approve it, nor through their own key; a second person does, and then it applies', async () => {
  const { tenant, alice, bob, asAlice, asBob, policy } = await tenantWithAdmins('sodp-4eyes');
  // A set holding the default conflicting pair (seeded by the operator): whoever claims it is refused at action time.
  await seedRightsSet(archive, tenant, 'clerk', ['documents:read', 'documents:write', 'retention:approve']);
  const clerk = await archive.token({ tenant, sub: 'carl', rights: 'clerk' });
  expect((await call(`${archive.url}/documents`, { token: clerk })).json).toMatchObject({ status: 403, rule: 'conflicting-permissions' });

  const proposed = await asAlice.put({ conflicts: [] });
  expect(proposed.status).toBe(202);
  const id = proposed.json.id as string;
  expect(proposed.headers.get('location')).toBe(`/api/sod-policy/proposals/${id}`);
  expect(proposed.json).toMatchObject({ state: 'pending', policy: { conflicts: [], uploaderCannotApproveDisposal: true }, base: { conflicts: [DEFAULT] }, weakens: ['conflict-removed:documents:write×retention:approve'], proposedBy: { subject: 'alice', person: 'alice' } });
  expect(Date.parse(proposed.json.expiresAt) - Date.parse(proposed.json.proposedAt)).toBe(7 * DAY);
  // Pending: the policy is as it was, and the pair is still refused.
  expect((await policy()).conflicts).toEqual([DEFAULT]);
  expect((await call(`${archive.url}/documents`, { token: clerk })).json).toMatchObject({ status: 403, rule: 'conflicting-permissions' });
  // Nobody stored a policy yet: the default applies, with no one named as its author.
  expect(await policy()).not.toHaveProperty('updatedBy');

  // The proposer cannot approve: neither herself nor through an API key she minted (it acts for her).
  const mint = await call(`${archive.url}/api-keys`, { ...json('POST', { name: 'alice-admin', rightsSet: 'tenant-admin' }), token: alice });
  expect(mint.status).toBe(201);
  const viaKey = await call(`${archive.url}/sod-policy/proposals/${id}/approve`, withKey(mint.json.key, json('POST', { reason: 'agreed' })));
  expect(viaKey.json).toMatchObject({ status: 403, code: 'segregation_of_duties', rule: 'four-eyes-sod-policy', proposedBy: 'alice' });
  expect((await asAlice.approve(id)).json).toMatchObject({ status: 403, rule: 'four-eyes-sod-policy' });
  expect((await policy()).conflicts).toEqual([DEFAULT]);

  const listed = await call(`${archive.url}/sod-policy/proposals`, { token: bob });
  expect(listed.json.items).toEqual([expect.objectContaining({ id, state: 'pending' })]);

  const approved = await asBob.approve(id);
  expect(approved.status).toBe(200);
  expect(approved.json).toMatchObject({ id, state: 'approved', decidedBy: { subject: 'bob', person: 'bob' }, decisionReason: 'agreed' });
  // Stored by the approval: the policy names who put it in force, and when.
  expect(await policy()).toMatchObject({ conflicts: [], uploaderCannotApproveDisposal: true, updatedBy: { subject: 'bob' }, updatedAt: expect.any(String) });
  expect((await call(`${archive.url}/documents`, { token: clerk })).status).toBe(200);
  // Decided once: a second approval (or a withdrawal) is 409.
  expect((await asBob.approve(id)).json).toMatchObject({ status: 409, code: 'sod_policy_proposal_closed', state: 'approved' });
  expect((await asAlice.withdraw(id)).json).toMatchObject({ status: 409, code: 'sod_policy_proposal_closed' });

  const target = `sod-policy-proposal:${id}`;
  expect(await auditOf(tenant)).toEqual([
    ['sod-policy.put', 202, 'proposed', target, 'alice'],
    ['sod-policy.proposal-approve', 403, 'segregation_of_duties:four-eyes-sod-policy', target, 'alice'],
    ['sod-policy.proposal-approve', 403, 'segregation_of_duties:four-eyes-sod-policy', target, 'alice'],
    ['sod-policy.proposal-list', 200, null, null, 'bob'],
    ['sod-policy.proposal-approve', 200, expect.stringMatching(/^conflicts=none;uploader-rule=on;weakened=conflict-removed:documents:write×retention:approve;kept-revision=\d+;kept-digest=[0-9a-f]{64}$/), target, 'bob'],
    ['sod-policy.proposal-approve', 409, 'sod_policy_proposal_closed', target, 'bob'],
    ['sod-policy.proposal-withdraw', 409, 'sod_policy_proposal_closed', target, 'alice'],
  ]);
});

it('a stronger policy applies at once; one that existing assignments, keys or sets would break is refused (409 naming them) and nothing changes', async () => {
  const { tenant, asAlice, policy } = await tenantWithAdmins('sodp-strong');
  // Holders of documents:read with documents:write: erin by assignment, an upload key, and a tenant set.
  await seedRightsSet(archive, tenant, 'admin-writer', ['documents:read', 'documents:write', 'rights:manage']);
  const dora = await archive.token({ tenant, sub: 'dora', rights: 'admin-writer' });
  expect((await call(`${archive.url}/rights-assignments/erin`, { ...json('PUT', { rightsSet: 'uploader' }), token: dora })).status).toBe(200);
  const ines = await archive.token({ tenant, sub: 'ines', rights: 'integration-admin' });
  const key = await call(`${archive.url}/api-keys`, { ...json('POST', { name: 'scanner', rightsSet: 'uploader' }), token: ines });
  expect(key.status).toBe(201);

  const refused = await asAlice.put({ conflicts: [DEFAULT, ['documents:read', 'documents:write']] });
  expect(refused.status).toBe(409);
  expect(refused.json).toMatchObject({ code: 'conflicting_rights_held' });
  expect(refused.json.holders).toEqual([
    // dora and ines hold theirs by their identity provider's claim, seen at their sign-in.
    { rightsSet: 'admin-writer', conflict: ['documents:read', 'documents:write'], subjects: ['dora'], apiKeys: [], caller: false },
    { rightsSet: 'integration-admin', conflict: ['documents:read', 'documents:write'], subjects: ['ines'], apiKeys: [], caller: false },
    { rightsSet: 'uploader', conflict: ['documents:read', 'documents:write'], subjects: ['erin'], apiKeys: [key.json.id], caller: false },
  ]);
  expect((await policy()).conflicts).toEqual([DEFAULT]);
  // The same holders block a weakening that also adds the pair: not even proposed.
  expect((await asAlice.put({ conflicts: [['documents:read', 'documents:write']] })).json.code).toBe('conflicting_rights_held');
  expect((await call(`${archive.url}/sod-policy/proposals`, { token: dora })).json.items).toEqual([]);

  // A pair nobody holds: applied at once, no proposal.
  const stronger = await asAlice.put({ conflicts: [DEFAULT, ['documents:write', 'holds:place']], uploaderCannotApproveDisposal: true });
  expect(stronger.status).toBe(200);
  expect((await policy()).conflicts).toEqual([DEFAULT, ['documents:write', 'holds:place']]);
  expect(await auditOf(tenant, 'sod-policy.put')).toEqual([
    ['sod-policy.put', 409, 'conflicting_rights_held', 'sod-policy', 'alice'],
    ['sod-policy.put', 409, 'conflicting_rights_held', 'sod-policy', 'alice'],
    ['sod-policy.put', 200, expect.stringMatching(/^conflicts=documents:write×holds:place,documents:write×retention:approve;uploader-rule=on;kept-revision=\d+;kept-digest=[0-9a-f]{64}$/), 'sod-policy', 'alice'],
  ]);
});

it('turning the uploader rule off is a weakening; a policy changed meanwhile voids the approval (409); proposals are withdrawn, rejected, or lapse after 7 days', async () => {
  const { tenant, asAlice, asBob, bob, policy } = await tenantWithAdmins('sodp-life');
  const off = await asAlice.put({ conflicts: [DEFAULT], uploaderCannotApproveDisposal: false });
  expect(off.json).toMatchObject({ state: 'pending', weakens: ['uploader-rule-off'] });
  // Alice strengthens meanwhile (applies at once); Bob's approval of the older proposal no longer fits the policy.
  expect((await asAlice.put({ conflicts: [DEFAULT, ['documents:write', 'holds:place']] })).status).toBe(200);
  expect((await asBob.approve(off.json.id)).json).toMatchObject({ status: 409, code: 'sod_policy_changed' });
  expect(await policy()).toMatchObject({ uploaderCannotApproveDisposal: true });

  // The proposer withdraws; another person rejects.
  expect((await asAlice.withdraw(off.json.id)).json).toMatchObject({ state: 'withdrawn', decidedBy: { person: 'alice' } });
  const again = await asAlice.put({ conflicts: [DEFAULT], uploaderCannotApproveDisposal: false });
  expect((await asBob.withdraw(again.json.id)).json).toMatchObject({ state: 'rejected', decidedBy: { person: 'bob' } });
  expect((await asBob.approve(again.json.id)).json).toMatchObject({ status: 409, code: 'sod_policy_proposal_closed', state: 'rejected' });
  expect(await auditOf(tenant, 'sod-policy.proposal-withdraw')).toEqual([
    ['sod-policy.proposal-withdraw', 200, null, `sod-policy-proposal:${off.json.id}`, 'alice'],
    ['sod-policy.proposal-withdraw', 200, null, `sod-policy-proposal:${again.json.id}`, 'bob'],
  ]);

  // Unapproved for 7 days: it lapses.
  const late = await asAlice.put({ conflicts: [DEFAULT], uploaderCannotApproveDisposal: false });
  clock.advance(7 * DAY + 1000);
  expect((await asBob.approve(late.json.id)).json).toMatchObject({ status: 409, code: 'sod_policy_proposal_closed', state: 'expired' });
  const listed2 = (query: string) => call(`${archive.url}/sod-policy/proposals?${query}`, { token: bob });
  const states = (await listed2('state=all')).json.items.map((p: { id: string; state: string }) => [p.id, p.state]);
  expect(states).toEqual([
    [late.json.id, 'expired'],
    [again.json.id, 'rejected'],
    [off.json.id, 'withdrawn'],
  ]);
  // Pending by default; each state on its own, paged (a token only for the state it was issued for).
  expect((await listed2('')).json).toEqual({ items: [], continuationToken: null });
  expect((await listed2('state=expired')).json.items.map((p: { id: string }) => p.id)).toEqual([late.json.id]);
  expect((await listed2('state=approved')).json.items).toEqual([]);
  expect((await listed2('state=decided')).json.items.map((p: { id: string }) => p.id)).toEqual([late.json.id, again.json.id, off.json.id]);
  const firstPage = await listed2('state=all&limit=2');
  expect([firstPage.json.items.length, typeof firstPage.json.continuationToken]).toEqual([2, 'string']);
  const rest = await listed2(`state=all&limit=2&continuationToken=${encodeURIComponent(firstPage.json.continuationToken)}`);
  expect(rest.json).toEqual({ items: [expect.objectContaining({ id: off.json.id })], continuationToken: null });
  expect((await listed2(`state=pending&continuationToken=${encodeURIComponent(firstPage.json.continuationToken)}`)).json).toMatchObject({ status: 400, code: 'invalid_query' });
  // Proposed and withdrawn in a loop: each list is still a page, newest first, each once.
  const made: string[] = [];
  for (let i = 0; i < 12; i++) {
    const p = await asAlice.put({ conflicts: [DEFAULT], uploaderCannotApproveDisposal: false });
    made.unshift(p.json.id);
    expect((await asAlice.withdraw(p.json.id)).status).toBe(200);
  }
  const pages: string[][] = [];
  let token: string | null = null;
  do {
    const page = await listed2(`state=withdrawn&limit=5${token ? `&continuationToken=${encodeURIComponent(token)}` : ''}`);
    pages.push(page.json.items.map((p: { id: string }) => p.id));
    token = page.json.continuationToken;
  } while (token && pages.length < 10);
  expect(pages.map((p) => p.length)).toEqual([5, 5, 3]);
  expect(pages.flat()).toEqual([...made, off.json.id]);
  expect(await policy()).toMatchObject({ uploaderCannotApproveDisposal: true });
  // An id that is no proposal of this tenant: 404.
  expect((await asBob.approve('0190aaaa-0000-7000-8000-000000000001')).json.code).toBe('sod_policy_proposal_not_found');
});

it('a second identity the proposer gives rights after proposing cannot make a third (in its name or through its key) that approves for her', async () => {
  const { tenant, alice, asAlice } = await tenantWithAdmins('sodp-chain');
  const proposed = await asAlice.put({ conflicts: [] });
  expect(proposed.status).toBe(202);
  const id = proposed.json.id as string;
  const assign = (token: string | { key: string }, subject: string) =>
    call(`${archive.url}/rights-assignments/${subject}`, typeof token === 'string' ? { ...json('PUT', { rightsSet: 'tenant-admin' }), token } : withKey(token.key, json('PUT', { rightsSet: 'tenant-admin' })));
  expect((await assign(alice, 'guest-1')).status).toBe(200);
  const guest1 = await archive.token({ tenant, sub: 'guest-1', rights: 'tenant-admin' });
  expect((await assign(guest1, 'guest-2')).status).toBe(200);
  const key = await call(`${archive.url}/api-keys`, { ...json('POST', { name: 'guest-1-admin', rightsSet: 'tenant-admin' }), token: guest1 });
  expect((await assign({ key: key.json.key }, 'guest-3')).status).toBe(200);
  for (const sub of ['guest-2', 'guest-3']) {
    const approval = await call(`${archive.url}/sod-policy/proposals/${id}/approve`, { ...json('POST', { reason: 'agreed' }), token: await archive.token({ tenant, sub, rights: 'tenant-admin' }) });
    expect(approval.json).toMatchObject({ status: 403, code: 'segregation_of_duties', rule: 'four-eyes-sod-policy', proposedBy: 'alice', approverRightsGivenBy: 'alice' });
    expect(approval.json.approverRightsGivenThrough).toContain('guest-1');
  }
  expect((await call(`${archive.url}/sod-policy`, { token: alice })).json.conflicts).toEqual([DEFAULT]);
});

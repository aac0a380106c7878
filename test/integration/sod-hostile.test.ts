/**
 * Four eyes over the SoD policy, attacked with valid accounts (brief hred): every rule must hold for
 * the accountable person behind a token, a key (its creator, also through a key minted by a key) or a
 * support principal, across tenants, under concurrency, and after the person's rights were taken away.
 */
import { call, putAsRead } from '../support/http';
import { newTenant, startTestArchive, TestArchive } from '../support/harness';

let archive: TestArchive;
beforeAll(async () => {
  archive = await startTestArchive();
});
afterAll(() => archive.stop());

const json = (method: string, body: unknown): RequestInit => ({ method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
const withKey = (key: string, init: RequestInit = {}): RequestInit => ({ ...init, headers: { ...(init.headers as Record<string, string>), Authorization: `ApiKey ${key}` } });
const inDays = (d: number) => new Date(Date.now() + d * 86400_000).toISOString();
const WEAKEN = { conflicts: [], uploaderCannotApproveDisposal: true };

async function admins(prefix: string) {
  const tenant = newTenant(prefix);
  const alice = await archive.token({ tenant, sub: 'alice', rights: 'tenant-admin' });
  const bob = await archive.token({ tenant, sub: 'bob', rights: 'tenant-admin' });
  const carol = await archive.token({ tenant, sub: 'carol', rights: 'tenant-admin' });
  return { tenant, alice, bob, carol };
}
const propose = (auth: RequestInit | string) => putAsRead(`${archive.url}/sod-policy`, WEAKEN, typeof auth === 'string' ? { token: auth } : auth);
const approve = (id: string, auth: RequestInit | string) =>
  call(`${archive.url}/sod-policy/proposals/${id}/approve`, typeof auth === 'string' ? { ...json('POST', { reason: 'ok' }), token: auth } : { ...json('POST', { reason: 'ok' }), headers: { ...(auth.headers as Record<string, string>), 'Content-Type': 'application/json' } });
const mintKey = async (auth: RequestInit | string, name: string, rightsSet = 'tenant-admin') => {
  const body = json('POST', { name, rightsSet });
  const res = await call(`${archive.url}/api-keys`, typeof auth === 'string' ? { ...body, token: auth } : { ...body, headers: { ...(auth.headers as Record<string, string>), 'Content-Type': 'application/json' } });
  expect(res.status).toBe(201);
  return res.json.key as string;
};
const policyOf = async (token: string) => (await call(`${archive.url}/sod-policy`, { token })).json;

it('a key minted by a key still acts for the first person: neither key approves what that person proposed', async () => {
  const { alice, bob } = await admins('sodh-chain');
  const k1 = await mintKey(alice, 'k1');
  const k2 = await mintKey(withKey(k1), 'k2');
  const proposed = await propose(withKey(k2));
  expect(proposed.status).toBe(202);
  expect(proposed.json.proposedBy).toMatchObject({ person: 'alice' });
  const id = proposed.json.id as string;
  for (const auth of [alice, withKey(k1), withKey(k2)]) expect((await approve(id, auth)).json).toMatchObject({ status: 403, rule: 'four-eyes-sod-policy' });
  expect((await policyOf(bob)).conflicts).toHaveLength(1);
});

it('no API key can be minted for somebody else: a key always acts for its creator', async () => {
  const { alice } = await admins('sodh-for');
  const res = await call(`${archive.url}/api-keys`, { ...json('POST', { name: 'for-bob', rightsSet: 'tenant-admin', createdBy: { subject: 'bob', person: 'bob' } }), token: alice });
  expect(res.status).toBe(400);
  const res2 = await call(`${archive.url}/api-keys`, { ...json('POST', { name: 'for-bob', rightsSet: 'tenant-admin', person: 'bob' }), token: alice });
  expect(res2.status).toBe(400);
});

it('a support principal approves nothing, even with a grant (support scopes never hold rights:manage)', async () => {
  const { tenant, alice } = await admins('sodh-support');
  const id = (await propose(alice)).json.id as string;
  expect((await call(`${archive.url}/support-grants`, { ...json('POST', { ticket: 'INC-9', scope: 'read-only-with-audit', expiresAt: inDays(1) }), token: alice })).status).toBe(201);
  // Staff whose subject happens to be a tenant person's name are still only support.
  const staff = await archive.token({ tenant, sub: 'bob', rights: 'tenant-admin', kind: 'support' });
  expect((await approve(id, staff)).json).toMatchObject({ status: 403, code: 'forbidden' });
  expect((await propose(staff)).status).toBe(403);
});

it('a proposal id of another tenant is unknown here (404), and approving it there changes nothing here', async () => {
  const a = await admins('sodh-ta');
  const b = await admins('sodh-tb');
  const id = (await propose(a.alice)).json.id as string;
  expect((await approve(id, b.bob)).json).toMatchObject({ status: 404, code: 'sod_policy_proposal_not_found' });
  expect((await call(`${archive.url}/sod-policy/proposals/${id}`, { method: 'DELETE', token: b.bob })).json).toMatchObject({ status: 404 });
  expect((await policyOf(a.bob)).conflicts).toHaveLength(1);
  expect((await approve(id, a.bob)).status).toBe(200);
  expect((await policyOf(b.bob)).conflicts).toHaveLength(1);
});

it('a policy naming a permission outside the closed list, or a permission against itself, is a 400', async () => {
  const { alice } = await admins('sodh-closed');
  for (const conflicts of [[['documents:write', 'documents:nuke']], [['documents:write', 'documents:write']], [['documents:write']], 'all']) {
    expect((await call(`${archive.url}/sod-policy`, { ...json('PUT', { conflicts, uploaderCannotApproveDisposal: true }), token: alice })).status).toBe(400);
  }
});

it('two approvals racing: exactly one applies, the other is 409; a withdrawn proposal cannot be approved', async () => {
  const { alice, bob, carol } = await admins('sodh-race');
  const id = (await propose(alice)).json.id as string;
  const answers = await Promise.all([approve(id, bob), approve(id, carol), approve(id, bob), approve(id, carol)]);
  expect(answers.map((a) => a.status).sort()).toEqual([200, 409, 409, 409]);
  expect((await policyOf(bob)).conflicts).toEqual([]);

  // Strengthen again (applies at once), then a fresh weakening that its proposer withdraws.
  expect((await putAsRead(`${archive.url}/sod-policy`, { conflicts: [['documents:write', 'retention:approve']], uploaderCannotApproveDisposal: true }, { token: bob })).status).toBe(200);
  const id2 = (await propose(alice)).json.id as string;
  expect((await call(`${archive.url}/sod-policy/proposals/${id2}`, { method: 'DELETE', token: alice })).json).toMatchObject({ state: 'withdrawn' });
  expect((await approve(id2, bob)).json).toMatchObject({ status: 409, code: 'sod_policy_proposal_closed', state: 'withdrawn' });
});

it('a key acts no further than its person: once the tenant takes rights:manage from its creator, the key neither proposes nor approves', async () => {
  const { alice, bob, carol } = await admins('sodh-lost');
  // Bob gives Alice tenant-admin through the tenant (not just her token's claim); she mints a key with it.
  expect((await call(`${archive.url}/rights-assignments/alice`, { ...json('PUT', { rightsSet: 'tenant-admin' }), token: bob })).status).toBe(200);
  const key = await mintKey(alice, 'alice-admin');
  const carolsProposal = (await propose(carol)).json.id as string;
  // Then the tenant takes it away: Alice is an accountant now.
  expect((await call(`${archive.url}/rights-assignments/alice`, { ...json('PUT', { rightsSet: 'accountant' }), token: bob })).status).toBe(200);
  expect((await propose(alice)).status).toBe(403);
  expect((await propose(withKey(key))).json).toMatchObject({ status: 403 });
  expect((await approve(carolsProposal, withKey(key))).json).toMatchObject({ status: 403 });
  expect((await call(`${archive.url}/api-keys`, withKey(key, json('POST', { name: 'again', rightsSet: 'accountant' })))).status).toBe(403);
  expect((await policyOf(bob)).conflicts).toHaveLength(1);
  // Her remaining rights still work through the key where the key's set and her set overlap.
  expect((await call(`${archive.url}/documents`, withKey(key))).status).toBe(200);
});

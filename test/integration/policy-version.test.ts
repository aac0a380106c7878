/**
 * The retention policy and the SoD policy over HTTP and Cosmos: GET names the stored version (ETag), a PUT must name
 * it back (If-Match). Without it 428, on any other version 412 naming who changed it; both audited as refusals, and
 * nothing stored. Of two saves from the same version one is stored, the other is 412.
 */
import { call, type Answer } from '../support/http';
import { newTenant, startTestArchive, TestArchive } from '../support/harness';

let archive: TestArchive;
beforeAll(async () => {
  archive = await startTestArchive();
});
afterAll(() => archive.stop());

const put = (url: string, token: string, body: unknown, ifMatch?: string | null): Promise<Answer> =>
  call(url, { method: 'PUT', token, headers: { 'Content-Type': 'application/json', ...(ifMatch ? { 'If-Match': ifMatch } : {}) }, body: JSON.stringify(body) });

async function refusalsOf(tenant: string, action: string): Promise<string[]> {
  const auditor = await archive.token({ tenant, sub: 'aud', rights: 'auditor' });
  const items = (await call(`${archive.url}/audit?action=${action}&limit=50`, { token: auditor })).json.items as { outcome: string; status: number; detail?: string; actor: { subject: string } }[];
  return items.filter((e) => e.outcome === 'refused').map((e) => `${e.status} ${e.detail} ${e.actor.subject}`).sort();
}

const ETAG = /^"[a-z-]+-[A-Za-z0-9_-]+"$/;

it('retention policy: a stale save is 412 naming who changed it, a save without If-Match 428; nothing stored, both audited', async () => {
  const tenant = newTenant('pver-ret');
  const bob = await archive.token({ tenant, sub: 'bob', rights: 'tenant-admin' });
  const carol = await archive.token({ tenant, sub: 'carol', rights: 'tenant-admin' });
  const url = `${archive.url}/retention/policy`;
  const first = await call(url, { token: carol });
  expect(first.headers.get('etag')).toBe('"retention-policy-default"');

  const bobs = await put(url, bob, { ...first.json, classes: [{ name: 'contracts-12y', years: 12 }] }, first.headers.get('etag'));
  expect(bobs.status).toBe(200);
  expect(bobs.headers.get('etag')).toMatch(ETAG);
  expect(bobs.headers.get('etag')).not.toBe(first.headers.get('etag'));
  expect((await call(url, { token: carol })).headers.get('etag')).toBe(bobs.headers.get('etag'));

  // Carol's screen still shows the default: her class list would replace Bob's.
  const stale = await put(url, carol, { ...first.json, classes: [{ name: 'leases-10y', years: 10 }] }, first.headers.get('etag'));
  expect(stale.status).toBe(412);
  expect(stale.json).toMatchObject({ code: 'precondition_failed', updatedBy: 'bob', updatedAt: bobs.json.updatedAt });
  expect(stale.json.detail).toContain('changed by bob at');
  const missing = await put(url, carol, { ...first.json, classes: [{ name: 'leases-10y', years: 10 }] });
  expect(missing.json).toMatchObject({ status: 428, code: 'precondition_required' });
  expect((await put(url, carol, first.json, `W/${bobs.headers.get('etag')}`)).status).toBe(412);
  expect((await call(url, { token: carol })).json.classes).toEqual([{ name: 'contracts-12y', years: 12 }]);
  expect(await refusalsOf(tenant, 'retention.policy-set')).toEqual(['412 precondition_failed carol', '412 precondition_failed carol', '428 precondition_required carol']);
});

it('retention policy: two saves from the same version at once, one stored, the other 412', async () => {
  const tenant = newTenant('pver-retrace');
  const bob = await archive.token({ tenant, sub: 'bob', rights: 'tenant-admin' });
  const carol = await archive.token({ tenant, sub: 'carol', rights: 'tenant-admin' });
  const url = `${archive.url}/retention/policy`;
  const read = await call(url, { token: bob });
  const answers = await Promise.all([
    put(url, bob, { ...read.json, classes: [{ name: 'contracts-12y', years: 12 }] }, read.headers.get('etag')),
    put(url, carol, { ...read.json, classes: [{ name: 'leases-10y', years: 10 }] }, read.headers.get('etag')),
  ]);
  expect(answers.map((a) => a.status).sort()).toEqual([200, 412]);
  const stored = answers.find((a) => a.status === 200)!;
  const now = await call(url, { token: bob });
  expect(now.json.classes).toEqual(stored.json.classes);
  expect(now.headers.get('etag')).toBe(stored.headers.get('etag'));
});

it('SoD policy: a stale screen re-saving the stronger rules does not undo an approved weakening (412); without If-Match 428', async () => {
  const tenant = newTenant('pver-sod');
  const alice = await archive.token({ tenant, sub: 'alice', rights: 'tenant-admin' });
  const bob = await archive.token({ tenant, sub: 'bob', rights: 'tenant-admin' });
  const url = `${archive.url}/sod-policy`;
  const stronger = { conflicts: [['documents:write', 'retention:approve']], uploaderCannotApproveDisposal: true };
  // Bob's screen: the default, before anything was stored.
  const bobs = await call(url, { token: bob });
  expect(bobs.headers.get('etag')).toBe('"sod-policy-default"');

  // Alice proposes the weakening (the policy keeps its version), Bob approves it: now it is stored.
  const proposed = await put(url, alice, { conflicts: [], uploaderCannotApproveDisposal: true }, bobs.headers.get('etag'));
  expect(proposed.status).toBe(202);
  expect((await call(`${archive.url}/sod-policy/proposals/${proposed.json.id}/approve`, { method: 'POST', token: bob, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ reason: 'agreed' }) })).status).toBe(200);

  // Alice's old tab still shows the default and saves it back: refused, the approved policy stays.
  const stale = await put(url, alice, stronger, bobs.headers.get('etag'));
  expect(stale.status).toBe(412);
  expect(stale.json).toMatchObject({ code: 'precondition_failed', updatedBy: 'bob' });
  expect((await put(url, alice, stronger)).json).toMatchObject({ status: 428, code: 'precondition_required' });
  const now = await call(url, { token: alice });
  expect(now.json).toMatchObject({ conflicts: [], updatedBy: { subject: 'bob' } });
  expect(await refusalsOf(tenant, 'sod-policy.put')).toEqual(['412 precondition_failed alice', '428 precondition_required alice']);

  // Read again, the save applies and answers its new version.
  const applied = await put(url, alice, stronger, now.headers.get('etag'));
  expect(applied.status).toBe(200);
  expect(applied.json).toMatchObject({ ...stronger, updatedBy: { subject: 'alice' } });
  expect(applied.headers.get('etag')).toMatch(ETAG);
  expect((await call(url, { token: bob })).headers.get('etag')).toBe(applied.headers.get('etag'));
});

it('SoD policy: two saves from the same version at once, one stored, the other 412', async () => {
  const tenant = newTenant('pver-sodrace');
  const alice = await archive.token({ tenant, sub: 'alice', rights: 'tenant-admin' });
  const bob = await archive.token({ tenant, sub: 'bob', rights: 'tenant-admin' });
  const url = `${archive.url}/sod-policy`;
  const read = await call(url, { token: alice });
  const DEFAULT = ['documents:write', 'retention:approve'];
  const answers = await Promise.all([
    put(url, alice, { conflicts: [DEFAULT, ['documents:write', 'holds:place']], uploaderCannotApproveDisposal: true }, read.headers.get('etag')),
    put(url, bob, { conflicts: [DEFAULT, ['exports:create', 'holds:place']], uploaderCannotApproveDisposal: true }, read.headers.get('etag')),
  ]);
  expect(answers.map((a) => a.status).sort()).toEqual([200, 412]);
  const stored = answers.find((a) => a.status === 200)!;
  expect((await call(url, { token: alice })).json.conflicts).toEqual(stored.json.conflicts);
});

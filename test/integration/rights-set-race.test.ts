/**
 * Deleting a rights set while someone assigns it, against real Cosmos: never both. Each used to check
 * on its own read (no holder; the set exists) and both succeeded, leaving an assignment to a deleted set.
 * Minting an API key with the set likewise, while it is deleted or widened: the mint judged the set on its
 * own read and wrote the key regardless (a key holding a deleted set, which a later set of that name would
 * fill, or one judged on permissions the set no longer has). A SoD policy tightened while a set is widened likewise:
 * each was judged on the other's old state and both were stored; the tenant's rights gate has the later judged again.
 */
import { call, putAsRead } from '../support/http';
import { newTenant, startTestArchive, TestArchive } from '../support/harness';
import { interleave } from '../support/interleave';
import { seedRightsSet } from '../support/rights-seed';

let archive: TestArchive;
beforeAll(async () => {
  archive = await startTestArchive();
});
afterAll(() => archive.stop());

const json = (method: string, body: unknown) => ({ method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });

async function tenantWithSet() {
  const tenant = newTenant('rights-race');
  const first = await archive.token({ tenant, sub: 'admin-1', rights: 'tenant-admin' });
  const second = await archive.token({ tenant, sub: 'admin-2', rights: 'tenant-admin' });
  expect((await call(`${archive.url}/rights-sets/bookkeeper`, { ...json('PUT', { permissions: ['documents:read'] }), token: first })).status).toBe(200);
  return { tenant, first, second };
}

it('an assignment judged on the set before it was deleted is refused (404), and nobody holds the deleted set', async () => {
  const { tenant, first, second } = await tenantWithSet();
  const assigned = await interleave(
    archive.host.deps.tenantRecords,
    'get',
    ([t, id, , opts]) => t === tenant && id === 'rights-set:bookkeeper' && (opts as { fresh?: boolean } | undefined)?.fresh === true,
    () => call(`${archive.url}/rights-assignments/bob`, { ...json('PUT', { rightsSet: 'bookkeeper' }), token: first }),
    async () => {
      expect((await call(`${archive.url}/rights-sets/bookkeeper`, { method: 'DELETE', token: second })).status).toBe(204);
    },
  );
  expect(assigned.status).toBe(404);
  expect(assigned.json).toMatchObject({ code: 'rights_set_not_found' });
  expect((await call(`${archive.url}/rights-assignments`, { token: first })).json.items).toEqual([]);
});

it('a deletion that looked for holders before an assignment was written is refused (409 rights_set_in_use), and the set stays', async () => {
  const { tenant, first, second } = await tenantWithSet();
  const deleted = await interleave(
    archive.host.deps.tenantRecords,
    'list',
    ([t, type]) => t === tenant && type === 'rights-assignment',
    () => call(`${archive.url}/rights-sets/bookkeeper`, { method: 'DELETE', token: second }),
    async () => {
      expect((await call(`${archive.url}/rights-assignments/bob`, { ...json('PUT', { rightsSet: 'bookkeeper' }), token: first })).status).toBe(200);
    },
  );
  expect(deleted.status).toBe(409);
  expect(deleted.json).toMatchObject({ code: 'rights_set_in_use' });
  expect((await call(`${archive.url}/rights-sets`, { token: first })).json.items.map((s: { name: string }) => s.name)).toContain('bookkeeper');
});

const mint = (token: string) => call(`${archive.url}/api-keys`, { ...json('POST', { name: 'bookkeeping', rightsSet: 'bookkeeper' }), token });
const keySets = async (token: string) => (await call(`${archive.url}/api-keys`, { token })).json.items.filter((k: { revokedAt: string | null }) => !k.revokedAt).map((k: { rightsSet: string }) => k.rightsSet);

it('a key judged on the set before it was deleted is refused (404), and no key holds the deleted set', async () => {
  const { tenant, first, second } = await tenantWithSet();
  const minted = await interleave(
    archive.host.deps.tenantRecords,
    'get',
    ([t, id]) => t === tenant && id === 'rights-set:bookkeeper',
    () => mint(first),
    async () => {
      expect((await call(`${archive.url}/rights-sets/bookkeeper`, { method: 'DELETE', token: second })).status).toBe(204);
    },
  );
  expect(minted.status).toBe(404);
  expect(minted.json).toMatchObject({ code: 'rights_set_not_found' });
  expect(await keySets(first)).toEqual([]);
});

it('a deletion that looked for keys before one was minted is refused (409 rights_set_in_use), and the set stays', async () => {
  const { tenant, first, second } = await tenantWithSet();
  const deleted = await interleave(
    archive.host.deps.tenantRecords,
    'list',
    ([t, type]) => t === tenant && type === 'api-key',
    () => call(`${archive.url}/rights-sets/bookkeeper`, { method: 'DELETE', token: second }),
    async () => {
      expect((await mint(first)).status).toBe(201);
    },
  );
  expect(deleted.status).toBe(409);
  expect(deleted.json).toMatchObject({ code: 'rights_set_in_use' });
  expect((await call(`${archive.url}/rights-sets`, { token: first })).json.items.map((s: { name: string }) => s.name)).toContain('bookkeeper');
  expect(await keySets(first)).toEqual(['bookkeeper']);
});

it('a key judged on the set before it was widened beyond its creator is judged again (403 rights-ceiling)', async () => {
  const { tenant, second } = await tenantWithSet();
  // integration-admin holds keys:manage but not audit:read.
  const minter = await archive.token({ tenant, sub: 'integrator', rights: 'integration-admin' });
  const minted = await interleave(
    archive.host.deps.tenantRecords,
    'get',
    ([t, id]) => t === tenant && id === 'rights-set:bookkeeper',
    () => mint(minter),
    async () => {
      expect((await call(`${archive.url}/rights-sets/bookkeeper`, { ...json('PUT', { permissions: ['documents:read', 'audit:read'] }), token: second })).status).toBe(200);
    },
  );
  expect(minted.status).toBe(403);
  expect(minted.json).toMatchObject({ code: 'segregation_of_duties', rule: 'rights-ceiling', permissions: ['audit:read'] });
  expect(await keySets(second)).toEqual([]);
});

describe('the SoD policy tightened while a rights set is widened: the later writer is judged again (the tenant\'s rights gate)', () => {
  // A pair no tenant-admin holds (its holders' sign-ins are holdings the policy check sees): the bookkeeper set holds
  // documents:write (seeded, as nobody here may give it), a person whose set holds audit:read widens it with that, and
  // the policy is set by a person whose own set holds rights:manage alone. No policy is stored yet: the default applies.
  const pair = ['documents:write', 'audit:read'];
  const tighter = { conflicts: [['documents:write', 'retention:approve'], pair], uploaderCannotApproveDisposal: true };
  const widened = { permissions: ['audit:read', 'documents:read', 'documents:write'] };

  async function tenantWithPolicyAdmin() {
    const tenant = newTenant('rights-race-gate');
    await seedRightsSet(archive, tenant, 'bookkeeper', ['documents:read', 'documents:write']);
    await seedRightsSet(archive, tenant, 'auditors-admin', ['audit:read', 'documents:read', 'rights:manage']);
    await seedRightsSet(archive, tenant, 'policy-admins', ['rights:manage']);
    const second = await archive.token({ tenant, sub: 'auditor-admin', rights: 'auditors-admin' });
    const policyAdmin = await archive.token({ tenant, sub: 'policy-admin', rights: 'policy-admins' });
    const stored = async () => ({
      policy: (await call(`${archive.url}/sod-policy`, { token: policyAdmin })).json.conflicts,
      bookkeeper: (await call(`${archive.url}/rights-sets`, { token: policyAdmin })).json.items.find((s: { name: string }) => s.name === 'bookkeeper').permissions,
    });
    return { tenant, second, policyAdmin, stored };
  }

  it('a policy judged on the sets before one was widened is refused (409 conflicting_rights_held), and the default policy stays', async () => {
    const { tenant, second, policyAdmin, stored } = await tenantWithPolicyAdmin();
    const changed = await interleave(
      archive.host.deps.tenantRecords,
      'list',
      ([t, type]) => t === tenant && type === 'rights-set',
      () => putAsRead(`${archive.url}/sod-policy`, tighter, { token: policyAdmin }),
      async () => {
        expect((await call(`${archive.url}/rights-sets/bookkeeper`, { ...json('PUT', widened), token: second })).status).toBe(200);
      },
    );
    expect(changed.status).toBe(409);
    expect(changed.json).toMatchObject({ code: 'conflicting_rights_held', holders: [{ rightsSet: 'bookkeeper', conflict: pair }] });
    expect(await stored()).toEqual({ policy: [['documents:write', 'retention:approve']], bookkeeper: ['audit:read', 'documents:read', 'documents:write'] });
  });

  it('a set judged on the policy before it was tightened is refused (403 conflicting-permissions), and stays as it was', async () => {
    const { tenant, second, policyAdmin, stored } = await tenantWithPolicyAdmin();
    const put = await interleave(
      archive.host.deps.tenantRecords,
      'get',
      ([t, id, , opts]) => t === tenant && id === 'sod-policy' && (opts as { fresh?: boolean } | undefined)?.fresh === true,
      () => call(`${archive.url}/rights-sets/bookkeeper`, { ...json('PUT', widened), token: second }),
      async () => {
        expect((await putAsRead(`${archive.url}/sod-policy`, tighter, { token: policyAdmin })).status).toBe(200);
      },
    );
    expect(put.status).toBe(403);
    expect(put.json).toMatchObject({ code: 'segregation_of_duties', rule: 'conflicting-permissions', conflict: pair, rightsSet: 'bookkeeper' });
    expect(await stored()).toEqual({ policy: tighter.conflicts, bookkeeper: ['documents:read', 'documents:write'] });
  });
});

/**
 * Rights administration attacked by one accountable person with a valid account of a tenant (brief redteam-rights):
 * taking from someone above them (the rights floor) and locking the tenant out of administration, through what the other
 * attack tests do not try: a set that people hold only through their identity provider's claim (deleted and made again
 * under its name; a strengthened SoD policy turning their claimed set into a refused pair).
 */
import { call, putAsRead } from '../support/http';
import { newTenant, startTestArchive, TestArchive } from '../support/harness';
import { seedRightsSet } from '../support/rights-seed';

let archive: TestArchive;
beforeAll(async () => {
  archive = await startTestArchive();
});
afterAll(() => archive.stop());

const json = (method: string, body: unknown): RequestInit => ({ method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
const ADMIN_POWERS = ['audit:read', 'documents:read', 'keys:manage', 'rights:manage', 'support:grant'] as const;

describe('the rights floor holds for a set people hold through their identity provider\'s claim', () => {
  it('a rights manager cannot delete a set a tenant-admin-level person claims, nor make it again narrower under its name', async () => {
    const tenant = newTenant('rra-del');
    await seedRightsSet(archive, tenant, 'it-admins', [...ADMIN_POWERS]);
    await seedRightsSet(archive, tenant, 'rights-clerks', ['rights:manage', 'documents:read']);
    // Ines signs in: her identity provider claims it-admins (no assignment in the archive, the default source).
    const ines = await archive.token({ tenant, sub: 'ines', rights: 'it-admins' });
    expect((await call(`${archive.url}/audit`, { token: ines })).status).toBe(200);
    const rick = await archive.token({ tenant, sub: 'rick', rights: 'rights-clerks' });
    // Narrowing it is the rights floor (rick lacks audit:read, keys:manage, support:grant) ...
    const narrowed = await call(`${archive.url}/rights-sets/it-admins`, { ...json('PUT', { permissions: ['documents:read'] }), token: rick });
    expect(narrowed.json).toMatchObject({ status: 403, rule: 'rights-floor' });
    // ... and so is deleting it, which takes everything from whoever claims it.
    const deleted = await call(`${archive.url}/rights-sets/it-admins`, { method: 'DELETE', token: rick });
    expect(deleted.json).toMatchObject({ status: 403, code: 'segregation_of_duties', rule: 'rights-floor', rightsSet: 'it-admins' });
    expect(deleted.json.permissions).toEqual(['audit:read', 'keys:manage', 'support:grant']);
    const made = await call(`${archive.url}/rights-sets/it-admins`, { ...json('PUT', { permissions: ['documents:read'] }), headers: { 'Content-Type': 'application/json', 'If-None-Match': '*' }, token: rick });
    expect(made.status).toBe(412);
    // Ines still acts with what her claim names.
    expect((await call(`${archive.url}/audit`, { token: ines })).status).toBe(200);
    expect((await call(`${archive.url}/api-keys`, { token: ines })).status).toBe(200);
  });

  it('a tenant-admin may still delete a set nobody is assigned (it holds every power of the floor)', async () => {
    const tenant = newTenant('rra-del-ok');
    await seedRightsSet(archive, tenant, 'it-admins', [...ADMIN_POWERS]);
    const ada = await archive.token({ tenant, sub: 'ada', rights: 'tenant-admin' });
    expect((await call(`${archive.url}/rights-sets/it-admins`, { method: 'DELETE', token: ada })).status).toBe(204);
  });
});

describe('a strengthened SoD policy does not lock out people whose identity provider claims the set', () => {
  it('a pair inside tenant-admin is refused (409 naming the set) while a tenant-admin by claim has signed in, and the admins still act', async () => {
    const tenant = newTenant('rra-pol');
    await seedRightsSet(archive, tenant, 'rights-clerks', ['rights:manage', 'documents:read']);
    // The tenant's administrators are tenant-admins by their identity provider's claim, as a tenant starts.
    const ada = await archive.token({ tenant, sub: 'ada', rights: 'tenant-admin' });
    expect((await call(`${archive.url}/rights-sets`, { token: ada })).status).toBe(200);
    const rick = await archive.token({ tenant, sub: 'rick', rights: 'rights-clerks' });
    // Rick declares audit:read × rights:manage in conflict: fine for his own set, fatal to every tenant-admin by claim.
    const res = await putAsRead(`${archive.url}/sod-policy`, { conflicts: [['documents:write', 'retention:approve'], ['audit:read', 'rights:manage']], uploaderCannotApproveDisposal: true }, { token: rick });
    expect(res.json).toMatchObject({ status: 409, code: 'conflicting_rights_held' });
    expect(res.json.holders).toEqual([expect.objectContaining({ rightsSet: 'tenant-admin', conflict: ['audit:read', 'rights:manage'], subjects: ['ada'] })]);
    expect((await call(`${archive.url}/rights-sets`, { token: ada })).status).toBe(200);
  });
});

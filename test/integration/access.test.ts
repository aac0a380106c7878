/** API keys, tenant rights sets, segregation of duties and consented support access, over HTTP. */
import { call, putAsRead, rawUpload } from '../support/http';
import type { ApiKeyRecord } from '../../shared/auth/api-keys/api-key';
import { sealRecord } from '../../shared/auth/api-keys/key-seal';
import { corpusFile, newTenant, startTestArchive, TestArchive } from '../support/harness';
import { seedRightsSet } from '../support/rights-seed';

let archive: TestArchive;
beforeAll(async () => {
  archive = await startTestArchive();
});
afterAll(() => archive.stop());

const jsonBody = (method: string, body: unknown): RequestInit => ({ method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
const withKey = (key: string, init: RequestInit = {}): RequestInit => ({ ...init, headers: { ...(init.headers as Record<string, string>), Authorization: `ApiKey ${key}` } });
const inDays = (d: number) => new Date(Date.now() + d * 86400_000).toISOString();

async function auditItems(tenant: string) {
  const auditor = await archive.token({ tenant, sub: 'auditor-1', rights: 'auditor' });
  return (await call(`${archive.url}/audit?limit=500`, { token: auditor })).json.items as { action: string; outcome: string; status: number; detail?: string; target: string | null; actor: Record<string, string> }[];
}

describe('API keys', () => {
  it('create → use → list → revoke: the secret is shown once, stored only as a hash, and stops working at once', async () => {
    const tenant = newTenant('keys');
    // Rights ceiling: whoever mints an uploader key holds the uploader's permissions.
    await seedRightsSet(archive, tenant, 'scanner-admin', ['keys:manage', 'documents:read', 'documents:write']);
    const admin = await archive.token({ tenant, sub: 'admin-1', rights: 'scanner-admin' });
    const made = await call(`${archive.url}/api-keys`, { ...jsonBody('POST', { name: 'scanner', rightsSet: 'uploader' }), token: admin });
    expect(made.status).toBe(201);
    const key = made.json.key as string;
    expect(key).toMatch(new RegExp(`^arch_${tenant}_[0-9a-f]{24}_[A-Za-z0-9_-]{43}$`));
    expect(made.json).toMatchObject({ id: expect.stringMatching(/^[0-9a-f]{24}$/), name: 'scanner', rightsSet: 'uploader', revokedAt: null, lastUsedAt: null });
    expect(made.headers.get('location')).toBe(`/api/api-keys/${made.json.id}`);
    const secret = key.split('_').slice(3).join('_');

    // Only a salted, peppered scrypt hash is stored.
    const { resource } = await archive.host.deps.cosmos.tenants.item(`api-key:${made.json.id}`, tenant).read();
    expect(JSON.stringify(resource)).not.toContain(secret);
    expect(resource.hash).toMatchObject({ alg: 'scrypt', salt: expect.any(String), value: expect.any(String), pepper: 'api-key-pepper' });

    // Use it: the principal is a client, audited with the key id.
    const up = await call(`${archive.url}/documents`, withKey(key, rawUpload(corpusFile('img2pdf/normal.jpg'), 'image/jpeg')));
    expect(up.status).toBe(201);
    expect(up.json.createdBy).toEqual({ subject: `apikey:${made.json.id}`, kind: 'client', person: 'admin-1' });
    expect((await call(`${archive.url}/documents`, withKey(key))).status).toBe(200);
    // Its rights set does not include audit:read.
    expect((await call(`${archive.url}/audit`, withKey(key))).status).toBe(403);

    const listed = await call(`${archive.url}/api-keys`, { token: admin });
    expect(listed.json.items).toHaveLength(1);
    expect(listed.json.items[0]).toMatchObject({ id: made.json.id, prefix: `arch_${tenant}_${made.json.id}`, lastUsedAt: expect.any(String) });
    expect(listed.bytes.toString()).not.toContain(secret);
    expect(listed.json.items[0].hash).toBeUndefined();
    expect(listed.json.items[0].key).toBeUndefined();

    // A wrong secret for the same id, or the key moved to another tenant: 401.
    const wrong = key.slice(0, -4) + (key.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    expect((await call(`${archive.url}/documents`, withKey(wrong))).status).toBe(401);
    const other = newTenant('keys-x');
    expect((await call(`${archive.url}/documents`, withKey(key.replace(tenant, other)))).status).toBe(401);

    const revoked = await call(`${archive.url}/api-keys/${made.json.id}`, { method: 'DELETE', token: admin });
    expect(revoked.status).toBe(200);
    expect(revoked.json).toMatchObject({ revokedAt: expect.any(String), revokedBy: { subject: 'admin-1', kind: 'user' } });
    const after = await call(`${archive.url}/documents`, withKey(key));
    expect(after.status).toBe(401);
    expect(after.json).toMatchObject({ code: 'unauthenticated', detail: 'The API key has been revoked.' });

    const entries = await auditItems(tenant);
    expect(entries.find((e) => e.action === 'document.ingest')!.actor).toEqual({ subject: `apikey:${made.json.id}`, kind: 'client', person: 'admin-1', keyId: made.json.id });
    expect(entries.filter((e) => e.action.startsWith('api-key.')).map((e) => [e.action, e.status, e.target])).toEqual([
      ['api-key.revoke', 200, `api-key:${made.json.id}`],
      ['api-key.list', 200, null],
      ['api-key.create', 201, `api-key:${made.json.id}`],
    ]);
    // The revoked key's attempt is in the tenant's log, under the key and its person.
    expect(entries[0]).toMatchObject({ outcome: 'refused', status: 401, detail: 'unauthenticated', actor: { subject: `apikey:${made.json.id}`, kind: 'client', person: 'admin-1', keyId: made.json.id } });
    // So is the wrong secret's: the tenant sees someone trying its key.
    expect(entries.filter((e) => e.outcome === 'refused' && e.status === 401 && e.actor.keyId === made.json.id)).toHaveLength(2);
  });

  it('an expired key stops working', async () => {
    const tenant = newTenant('keys-exp');
    const admin = await archive.token({ tenant, sub: 'admin-1', rights: 'tenant-admin' });
    const made = await call(`${archive.url}/api-keys`, { ...jsonBody('POST', { name: 'ci', rightsSet: 'accountant', expiresAt: inDays(1) }), token: admin });
    expect((await call(`${archive.url}/documents`, withKey(made.json.key))).status).toBe(200);
    // Time passes: the stored expiry is now in the past.
    const item = archive.host.deps.cosmos.tenants.item(`api-key:${made.json.id}`, tenant);
    const { resource } = await item.read();
    const past = new Date(Date.now() - 1000).toISOString();
    // As stored once it ended, sealed as the archive seals a key (key-seal.ts): an edit alone is refused as not the archive's.
    await item.replace(await sealRecord({ ...resource, expiresAt: past, endsAt: past } as ApiKeyRecord, archive.host.deps.audit.chainKeys));
    const res = await call(`${archive.url}/documents`, withKey(made.json.key));
    expect(res.status).toBe(401);
    expect(res.json.detail).toBe('The API key has expired.');
  });

  it('a key minted by a key expires with it at the latest, and revoking the first stops both', async () => {
    const tenant = newTenant('keys-chain');
    const admin = await archive.token({ tenant, sub: 'ida-1', rights: 'integration-admin' });
    const parent = await call(`${archive.url}/api-keys`, { ...jsonBody('POST', { name: 'parent', rightsSet: 'integration-admin', expiresAt: inDays(5) }), token: admin });
    expect(parent.status).toBe(201);
    const child = await call(`${archive.url}/api-keys`, withKey(parent.json.key, jsonBody('POST', { name: 'child', rightsSet: 'uploader' })));
    expect(child.status).toBe(201);
    expect(child.json.expiresAt).toBe(parent.json.expiresAt);
    expect((await call(`${archive.url}/documents`, withKey(child.json.key))).status).toBe(200);
    expect((await call(`${archive.url}/api-keys/${parent.json.id}`, { method: 'DELETE', token: admin })).status).toBe(200);
    expect((await call(`${archive.url}/documents`, withKey(child.json.key))).status).toBe(401);
  });

  it('refuses bad key requests', async () => {
    const tenant = newTenant('keys-bad');
    const admin = await archive.token({ tenant, sub: 'admin-1', rights: 'tenant-admin' });
    const post = (body: unknown, token = admin) => call(`${archive.url}/api-keys`, { ...jsonBody('POST', body), token });
    expect((await post({ name: 'x', rightsSet: 'no-such-set' })).json.code).toBe('rights_set_not_found');
    expect((await post({ name: 'x', rightsSet: 'uploader', expiresAt: inDays(400) })).status).toBe(400);
    expect((await post({ name: 'x', rightsSet: 'uploader', expiresAt: inDays(-1) })).status).toBe(400);
    expect((await post({ name: 'x', rightsSet: 'uploader', tenantId: 'other' })).status).toBe(400);
    expect((await post({ name: 'x', rightsSet: 'uploader' }, await archive.token({ tenant, sub: 'arch', rights: 'archivist' }))).status).toBe(403);
    expect((await call(`${archive.url}/api-keys/0123456789abcdef01234567`, { method: 'DELETE', token: admin })).status).toBe(404);
    expect((await call(`${archive.url}/documents`, { headers: { Authorization: 'ApiKey arch_nonsense' } })).status).toBe(401);
  });
});

describe('rights sets and segregation of duties', () => {
  it('a tenant assignment decides a user\'s rights, over the token claim', async () => {
    const tenant = newTenant('rights');
    const admin = await archive.token({ tenant, sub: 'admin-1', rights: 'tenant-admin' });
    const bob = await archive.token({ tenant, sub: 'bob', rights: 'archivist' });
    expect((await call(`${archive.url}/rights-sets/bookkeeper`, { ...jsonBody('PUT', { permissions: ['documents:read', 'documents:read'] }), token: admin })).json).toMatchObject({ name: 'bookkeeper', permissions: ['documents:read'] });
    const assigned = await call(`${archive.url}/rights-assignments/bob`, { ...jsonBody('PUT', { rightsSet: 'bookkeeper' }), token: admin });
    expect(assigned.json).toMatchObject({ subject: 'bob', rightsSet: 'bookkeeper', assignedBy: { subject: 'admin-1' } });
    expect((await call(`${archive.url}/documents`, { token: bob })).status).toBe(200);
    expect((await call(`${archive.url}/documents`, { ...rawUpload(corpusFile('img2pdf/normal.jpg'), 'image/jpeg'), token: bob })).status).toBe(403);
    const sets = await call(`${archive.url}/rights-sets`, { token: admin });
    expect(sets.json.items.map((s: { name: string }) => s.name)).toEqual(['uploader', 'accountant', 'archivist', 'auditor', 'tenant-admin', 'integration-admin', 'bookkeeper']);
    expect((await call(`${archive.url}/rights-assignments`, { token: admin })).json.items).toEqual([expect.objectContaining({ subject: 'bob', rightsSet: 'bookkeeper' })]);
    // In use: cannot be deleted; built-ins cannot be changed.
    expect((await call(`${archive.url}/rights-sets/bookkeeper`, { method: 'DELETE', token: admin })).json.code).toBe('rights_set_in_use');
    expect((await call(`${archive.url}/rights-sets/auditor`, { ...jsonBody('PUT', { permissions: [] }), token: admin })).json.code).toBe('rights_set_reserved');
    expect((await call(`${archive.url}/rights-assignments/bob`, { method: 'DELETE', token: admin })).status).toBe(204);
    expect((await call(`${archive.url}/documents`, { ...rawUpload(corpusFile('img2pdf/normal.jpg'), 'image/jpeg'), token: bob })).status).toBe(201);
    expect((await call(`${archive.url}/rights-sets/bookkeeper`, { method: 'DELETE', token: admin })).status).toBe(204);
    expect((await call(`${archive.url}/rights-assignments/bob`, { method: 'DELETE', token: admin })).json.code).toBe('rights_assignment_not_found');
  });

  it('nobody assigns themselves a set or changes the set they hold (rules self-assignment, own-rights), and refusals are audited', async () => {
    const tenant = newTenant('sod-self');
    const admin = await archive.token({ tenant, sub: 'admin-1', rights: 'tenant-admin' });
    const self = await call(`${archive.url}/rights-assignments/admin-1`, { ...jsonBody('PUT', { rightsSet: 'archivist' }), token: admin });
    expect(self.status).toBe(403);
    expect(self.headers.get('content-type')).toBe('application/problem+json');
    expect(self.json).toMatchObject({ code: 'segregation_of_duties', rule: 'self-assignment' });
    expect((await call(`${archive.url}/rights-assignments/admin-1`, { method: 'DELETE', token: admin })).json.rule).toBe('self-assignment');

    await call(`${archive.url}/rights-sets/admins`, { ...jsonBody('PUT', { permissions: ['rights:manage', 'audit:read'] }), token: admin });
    await call(`${archive.url}/rights-assignments/admin-2`, { ...jsonBody('PUT', { rightsSet: 'admins' }), token: admin });
    const admin2 = await archive.token({ tenant, sub: 'admin-2' });
    const own = await call(`${archive.url}/rights-sets/admins`, { ...jsonBody('PUT', { permissions: ['rights:manage', 'audit:read', 'keys:manage'] }), token: admin2 });
    expect(own.json).toMatchObject({ status: 403, code: 'segregation_of_duties', rule: 'own-rights' });
    expect((await call(`${archive.url}/rights-sets/admins`, { method: 'DELETE', token: admin2 })).json.rule).toBe('own-rights');

    const entries = await auditItems(tenant);
    expect(entries.filter((e) => e.outcome === 'refused').map((e) => [e.action, e.status, e.detail, e.actor.subject])).toEqual([
      ['rights-set.delete', 403, 'segregation_of_duties:own-rights', 'admin-2'],
      ['rights-set.put', 403, 'segregation_of_duties:own-rights', 'admin-2'],
      ['rights-assignment.delete', 403, 'segregation_of_duties:self-assignment', 'admin-1'],
      ['rights-assignment.put', 403, 'segregation_of_duties:self-assignment', 'admin-1'],
    ]);
  });

  it('refuses any change that would let one principal hold a declared conflicting pair (rule conflicting-permissions)', async () => {
    const tenant = newTenant('sod-pair');
    const admin = await archive.token({ tenant, sub: 'admin-1', rights: 'tenant-admin' });
    // The SoD policy is saved over the version read (If-Match); rights sets and assignments are not versioned.
    const put = (path: string, body: unknown) => (path === '/sod-policy' ? putAsRead(`${archive.url}${path}`, body, { token: admin }) : call(`${archive.url}${path}`, { ...jsonBody('PUT', body), token: admin }));
    // Default policy: documents:write and retention:approve conflict.
    expect((await call(`${archive.url}/sod-policy`, { token: admin })).json.conflicts).toEqual([['documents:write', 'retention:approve']]);
    const bad = await put('/rights-sets/all-in-one', { permissions: ['documents:write', 'retention:approve'] });
    expect(bad.json).toMatchObject({ status: 403, code: 'segregation_of_duties', rule: 'conflicting-permissions', conflict: ['documents:write', 'retention:approve'] });
    expect((await call(`${archive.url}/api-keys`, { ...jsonBody('POST', { name: 'k', rightsSet: 'all-in-one' }), token: admin })).json.code).toBe('rights_set_not_found');

    // The tenant declares its own pair: download vs audit. An existing holder blocks the policy (409 naming it), nothing changes…
    const DEFAULT = ['documents:write', 'retention:approve'];
    expect((await put('/rights-assignments/erin', { rightsSet: 'auditor' })).status).toBe(200);
    const blocked = await put('/sod-policy', { conflicts: [DEFAULT, ['documents:download', 'audit:read']] });
    // Every holding is named at once: erin's auditor set, and the caller's own tenant-admin.
    expect(blocked.json).toMatchObject({ status: 409, code: 'conflicting_rights_held' });
    expect(blocked.json.holders).toEqual([
      { rightsSet: 'auditor', conflict: ['documents:download', 'audit:read'], subjects: ['erin'], apiKeys: [], caller: false },
      { rightsSet: 'tenant-admin', conflict: ['documents:download', 'audit:read'], subjects: [], apiKeys: [], caller: true },
    ]);
    expect((await call(`${archive.url}/sod-policy`, { token: admin })).json.conflicts).toEqual([DEFAULT]);
    await call(`${archive.url}/rights-assignments/erin`, { method: 'DELETE', token: admin });
    // …and the caller's own set too (tenant-admin holds both): nobody locks themselves out silently.
    expect((await put('/sod-policy', { conflicts: [DEFAULT, ['documents:download', 'audit:read']] })).json.holders).toEqual([expect.objectContaining({ rightsSet: 'tenant-admin', caller: true })]);
    // A pair tenant-admin does not hold is accepted at once (it only strengthens); then assigning or creating a set with it is refused.
    expect((await put('/sod-policy', { conflicts: [DEFAULT, ['documents:write', 'audit:read']] })).status).toBe(200);
    expect((await put('/rights-sets/clerk', { permissions: ['documents:write', 'audit:read'] })).json.rule).toBe('conflicting-permissions');
    await put('/rights-sets/reader', { permissions: ['documents:read', 'audit:read'] });
    expect((await put('/rights-assignments/frank', { rightsSet: 'reader' })).status).toBe(200);
    // Someone whose identity provider claimed a set holding the pair at their sign-in here holds it: the policy is refused, naming them.
    const stronger = { conflicts: [DEFAULT, ['documents:write', 'audit:read'], ['documents:write', 'holds:place']] };
    const claimed = await archive.token({ tenant, sub: 'gina', rights: 'archivist' });
    expect((await call(`${archive.url}/documents`, { token: claimed })).status).toBe(200);
    const held = await put('/sod-policy', stronger);
    expect(held.json).toMatchObject({ status: 409, code: 'conflicting_rights_held', holders: [{ rightsSet: 'archivist', conflict: ['documents:write', 'holds:place'], subjects: ['gina'], caller: false }] });
    // Her assignment decides for her once she has one; a claim not seen yet is refused at action time.
    expect((await put('/rights-assignments/gina', { rightsSet: 'accountant' })).status).toBe(200);
    expect((await put('/sod-policy', stronger)).status).toBe(200);
    const unseen = await archive.token({ tenant, sub: 'hana', rights: 'archivist' });
    const refused = await call(`${archive.url}/documents`, { token: unseen });
    expect(refused.json).toMatchObject({ status: 403, code: 'segregation_of_duties', rule: 'conflicting-permissions' });
  });
});

describe('support access', () => {
  it('needs the tenant\'s grant; is scoped, audited with the grant id and revocable at once', async () => {
    const tenant = newTenant('support');
    const admin = await archive.token({ tenant, sub: 'admin-1', rights: 'tenant-admin' });
    const writer = await archive.token({ tenant, sub: 'writer', rights: 'archivist' });
    const doc = (await call(`${archive.url}/documents`, { ...rawUpload(corpusFile('img2pdf/normal.jpg'), 'image/jpeg'), token: writer })).json.id;
    const staff = await archive.token({ tenant, sub: 'staff-7', kind: 'support', rights: 'tenant-admin' });

    const before = await call(`${archive.url}/documents/${doc}`, { token: staff });
    expect(before.status).toBe(403);
    expect(before.json.code).toBe('support_access_not_granted');
    expect(JSON.stringify({ ...before.json, instance: '' })).not.toContain(doc);
    // Same answer for a tenant that does not exist.
    const ghost = await call(`${archive.url}/documents/${doc}`, { token: await archive.token({ tenant: newTenant('ghost'), sub: 'staff-7', kind: 'support' }) });
    const strip = (j: Record<string, unknown>) => ({ ...j, requestId: '', instance: '' });
    expect(strip(ghost.json)).toEqual(strip(before.json));

    expect((await call(`${archive.url}/support-grants`, { ...jsonBody('POST', { ticket: 'INC-1', expiresAt: inDays(8) }), token: admin })).status).toBe(400);
    expect((await call(`${archive.url}/support-grants`, { ...jsonBody('POST', { ticket: 'INC-1', expiresAt: inDays(1) }), token: writer })).status).toBe(403);
    const grant = await call(`${archive.url}/support-grants`, { ...jsonBody('POST', { ticket: 'INC-1', expiresAt: inDays(1) }), token: admin });
    expect(grant.status).toBe(201);
    expect(grant.json).toMatchObject({ ticket: 'INC-1', scope: 'read-only', permissions: ['documents:read', 'documents:download'], createdBy: { subject: 'admin-1' }, revokedAt: null });

    expect((await call(`${archive.url}/documents/${doc}`, { token: staff })).status).toBe(200);
    expect((await call(`${archive.url}/documents/${doc}/rendition`, { token: staff })).status).toBe(200);
    // A read-only link would outlive the grant's revocation: support streams, checked on every request.
    const link = await call(`${archive.url}/documents/${doc}/rendition?delivery=redirect`, { token: staff });
    expect([link.status, link.json.rule]).toEqual([403, 'support-no-links']);
    // Read-only: no writes, no admin, whatever the token claims.
    expect((await call(`${archive.url}/documents`, { ...rawUpload(corpusFile('img2pdf/normal.png'), 'image/png'), token: staff })).status).toBe(403);
    expect((await call(`${archive.url}/support-grants`, { token: staff })).status).toBe(403);
    expect((await call(`${archive.url}/audit`, { token: staff })).status).toBe(403);
    // Reading one by one is not copying a whole year out: a bulk export needs exports:create.
    const bulk = await call(`${archive.url}/exports`, { ...jsonBody('POST', { fiscalYear: 2024 }), token: staff });
    expect(bulk.status).toBe(403);
    expect(bulk.json.permission).toBe('exports:create');

    const listed = await call(`${archive.url}/support-grants`, { token: admin });
    expect(listed.json.items).toEqual([expect.objectContaining({ id: grant.json.id, ticket: 'INC-1' })]);
    expect((await call(`${archive.url}/support-grants/${grant.json.id}`, { method: 'DELETE', token: admin })).json.revokedAt).toEqual(expect.any(String));
    expect((await call(`${archive.url}/documents/${doc}`, { token: staff })).json.code).toBe('support_access_not_granted');

    const entries = (await auditItems(tenant)).filter((e) => e.actor.kind === 'support');
    expect(entries.map((e) => [e.action, e.status, e.actor.grantId ?? null])).toEqual([
      ['document.read', 403, null],
      ['export.create', 403, grant.json.id],
      ['audit.read', 403, grant.json.id],
      ['support-grant.list', 403, grant.json.id],
      ['document.ingest', 403, grant.json.id],
      ['document.download-rendition', 403, grant.json.id],
      ['document.download-rendition', 200, grant.json.id],
      ['document.read', 200, grant.json.id],
      ['document.read', 403, null],
    ]);
  });

  it('an expired grant gives nothing', async () => {
    const tenant = newTenant('support-exp');
    const admin = await archive.token({ tenant, sub: 'admin-1', rights: 'tenant-admin' });
    const grant = await call(`${archive.url}/support-grants`, { ...jsonBody('POST', { ticket: 'INC-2', scope: 'metadata-only', expiresAt: inDays(1) }), token: admin });
    const staff = await archive.token({ tenant, sub: 'staff-7', kind: 'support' });
    expect((await call(`${archive.url}/documents`, { token: staff })).status).toBe(200);
    const item = archive.host.deps.cosmos.tenants.item(`support-grant:${grant.json.id}`, tenant);
    const { resource } = await item.read();
    const past = new Date(Date.now() - 1000).toISOString();
    // As stored once it ended, sealed as the archive seals a key (key-seal.ts): an edit alone is refused as not the archive's.
    await item.replace(await sealRecord({ ...resource, expiresAt: past, endsAt: past } as ApiKeyRecord, archive.host.deps.audit.chainKeys));
    expect((await call(`${archive.url}/documents`, { token: staff })).json.code).toBe('support_access_not_granted');
  });
});

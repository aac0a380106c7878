/** A tenant's API keys in use, own rights sets and rights assignments are capped, over HTTP and the Cosmos store (the count is its query). */
import { call } from '../support/http';
import { newTenant, startTestArchive, TestArchive } from '../support/harness';

let archive: TestArchive;
beforeAll(async () => {
  archive = await startTestArchive({ ARCHIVE_MAX_API_KEYS: '2', ARCHIVE_MAX_RIGHTS_SETS: '1', ARCHIVE_MAX_RIGHTS_ASSIGNMENTS: '2' });
});
afterAll(() => archive.stop());

const jsonBody = (method: string, body: unknown): RequestInit => ({ method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });

it('one key beyond ARCHIVE_MAX_API_KEYS is 409 tenant_limit_reached and not stored; a revoked key frees room', async () => {
  const tenant = newTenant('key-limit');
  const admin = await archive.token({ tenant, sub: 'ida', rights: 'integration-admin' });
  const mint = () => call(`${archive.url}/api-keys`, { ...jsonBody('POST', { name: 'integration', rightsSet: 'integration-admin' }), token: admin });
  const first = await mint();
  expect(first.status).toBe(201);
  expect((await mint()).status).toBe(201);
  const refused = await mint();
  expect(refused.status).toBe(409);
  expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(refused.json).toMatchObject({ code: 'tenant_limit_reached', limit: 2, count: 2, what: 'api-keys' });
  expect((await call(`${archive.url}/api-keys`, { token: admin })).json.items).toHaveLength(2);

  expect((await call(`${archive.url}/api-keys/${first.json.id}`, { method: 'DELETE', token: admin })).status).toBe(200);
  expect((await mint()).status).toBe(201);
});

it('a new rights set beyond ARCHIVE_MAX_RIGHTS_SETS is 409 tenant_limit_reached; replacing the existing one is not', async () => {
  const tenant = newTenant('set-limit');
  const admin = await archive.token({ tenant, sub: 'admin-1', rights: 'tenant-admin' });
  const put = (name: string, permissions: string[]) => call(`${archive.url}/rights-sets/${name}`, { ...jsonBody('PUT', { permissions }), token: admin });
  expect((await put('bookkeeper', ['documents:read'])).status).toBe(200);
  const refused = await put('clerks', ['documents:read']);
  expect(refused.status).toBe(409);
  expect(refused.json).toMatchObject({ code: 'tenant_limit_reached', limit: 1, count: 1, what: 'rights-sets' });
  expect((await put('bookkeeper', ['documents:read', 'documents:download'])).json).toMatchObject({ name: 'bookkeeper', permissions: ['documents:download', 'documents:read'] });
  const own = (await call(`${archive.url}/rights-sets`, { token: admin })).json.items.filter((s: { builtIn: boolean }) => !s.builtIn);
  expect(own.map((s: { name: string }) => s.name)).toEqual(['bookkeeper']);
});

it('an assignment of a new subject beyond ARCHIVE_MAX_RIGHTS_ASSIGNMENTS is 409 tenant_limit_reached; reassigning and removing are not', async () => {
  const tenant = newTenant('assign-limit');
  const admin = await archive.token({ tenant, sub: 'admin-1', rights: 'tenant-admin' });
  const assign = (subject: string, rightsSet = 'auditor') => call(`${archive.url}/rights-assignments/${subject}`, { ...jsonBody('PUT', { rightsSet }), token: admin });
  expect((await assign('bob')).status).toBe(200);
  expect((await assign('carol')).status).toBe(200);
  const refused = await assign('made-up-1');
  expect(refused.status).toBe(409);
  expect(refused.json).toMatchObject({ code: 'tenant_limit_reached', limit: 2, count: 2, what: 'rights-assignments' });
  expect((await assign('bob', 'accountant')).status).toBe(200);
  expect((await call(`${archive.url}/rights-assignments/carol`, { method: 'DELETE', token: admin })).status).toBe(204);
  expect((await assign('dave')).status).toBe(200);
  const subjects = (await call(`${archive.url}/rights-assignments`, { token: admin })).json.items.map((a: { subject: string }) => a.subject).sort();
  expect(subjects).toEqual(['bob', 'dave']);
});

/**
 * Query strings as a hostile client writes them, through the local host and the real route table: a
 * parameter given twice is refused (the archive does not pick one of two values), on every route with a query.
 */
import type { AddressInfo } from 'node:net';
import { ROUTES } from '../../../functions/routes';
import { createArchiveServer } from '../../../local/server';
import { PERMISSIONS, type Permission } from '../../../shared/kernel/principal';
import { inMemoryDeps } from '../../support/in-memory';

const deps = inMemoryDeps();
deps.authenticator = { authenticate: async () => ({ tenantId: 'acme', subject: 'alice', kind: 'user', rightsSet: 'admin', permissions: new Set<Permission>(PERMISSIONS) }) };
const server = createArchiveServer(ROUTES, deps);
let base = '';
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

it.each([
  ['/exports?limit=1&limit=200', 'limit'],
  ['/documents?fiscalYear=2024&fiscalYear=2023', 'fiscalYear'],
  ['/documents/abc/rendition?delivery=redirect&delivery=stream', 'delivery'],
  ['/audit?month=2026-01&month=2026-02', 'month'],
])('GET %s: 400 invalid_query naming the repeated parameter', async (path, name) => {
  const res = await fetch(base + path);
  expect(res.status).toBe(400);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const problem = (await res.json()) as { code: string; detail: string };
  expect(problem.code).toBe('invalid_query');
  expect(problem.detail).toContain(`${name}: given more than once`);
});

it('a parameter given once still reads', async () => {
  expect((await fetch(`${base}/exports?limit=1`)).status).toBe(200);
});

/**
 * Idempotency-Key is honoured by the upload only; elsewhere it is refused, not ignored: a client that retries
 * POST /api-keys with the key believes the retry is recognised, and got a second key each time.
 */
import type { AddressInfo } from 'node:net';
import { ROUTES } from '../../../functions/routes';
import { createArchiveServer } from '../../../local/server';
import { PERMISSIONS, type Permission } from '../../../shared/kernel/principal';
import { inMemoryDeps } from '../../support/in-memory';

const deps = inMemoryDeps();
deps.authenticator = { authenticate: async () => ({ tenantId: 'acme', subject: 'alice', kind: 'user', rightsSet: 'tenant-admin', permissions: new Set<Permission>(PERMISSIONS) }) };
const server = createArchiveServer(ROUTES, deps);
let base = '';
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const keyCount = async () => ((await (await fetch(`${base}/api-keys`)).json()) as { items: unknown[] }).items.length;

it('POST /api-keys with Idempotency-Key: 400 problem+json saying so, no key created', async () => {
  for (let attempt = 0; attempt < 2; attempt++) {
    const res = await fetch(`${base}/api-keys`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'retry-1' }, body: '{"name":"k","rightsSet":"uploader"}' });
    expect({ status: res.status, type: res.headers.get('content-type') }).toEqual({ status: 400, type: 'application/problem+json' });
    expect(((await res.json()) as { detail: string }).detail).toMatch(/Idempotency-Key/);
  }
  expect(await keyCount()).toBe(0);
});

it('the upload still takes it (and only the upload declares it)', async () => {
  const res = await fetch(`${base}/documents`, { method: 'POST', headers: { 'Content-Type': 'image/jpeg', 'Idempotency-Key': 'up-1' }, body: new Uint8Array(0) });
  expect(((await res.json()) as { code: string }).code).toBe('empty_body');
  expect(ROUTES.filter((r) => r.idempotencyKey).map((r) => r.name)).toEqual(['uploadDocument']);
});

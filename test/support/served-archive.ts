import type { AddressInfo } from 'node:net';
import { ROUTES } from '../../functions/routes';
import { createArchiveServer } from '../../local/server';
import { PERMISSIONS, type Permission } from '../../shared/kernel/principal';
import { inMemoryDeps } from './in-memory';

/**
 * The local host's server over in-memory ports, for one test file: every request authenticates as
 * tenant acme's alice holding every permission (the HTTP contract is under test, not the rights).
 * Listens on a free loopback port from beforeAll; `base()` is its /api URL.
 */
export function servedArchive(): { deps: ReturnType<typeof inMemoryDeps>; base: () => string } {
  const deps = inMemoryDeps();
  deps.authenticator = { authenticate: async () => ({ tenantId: 'acme', subject: 'alice', kind: 'user', rightsSet: 'tenant-admin', permissions: new Set<Permission>(PERMISSIONS) }) };
  const server = createArchiveServer(ROUTES, deps);
  let base = '';
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { deps, base: () => base };
}

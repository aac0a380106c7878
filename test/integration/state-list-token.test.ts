/**
 * The lists by state (API keys, support grants, SoD proposals) wrap the store's token with the time of the walk's first
 * page. A token whose store part, read out of that wrapper, holds what no store token holds (a control character
 * written as a JSON escape, which the wrapper's own check passes) is the caller's mistake: 400 invalid_query, never
 * a 500 from the store client refusing to send it.
 */
import { call } from '../support/http';
import { newTenant, startTestArchive, TestArchive } from '../support/harness';
import { pageToken } from '../../shared/kernel/page-token';

let archive: TestArchive;
beforeAll(async () => {
  archive = await startTestArchive();
});
afterAll(() => archive.stop());

it('a state list token whose store part no store could have issued is 400 invalid_query, never a 500', async () => {
  const tenant = newTenant('walk-token');
  const admin = await archive.token({ tenant, sub: 'ada', rights: 'tenant-admin' });
  const at = archive.host.deps.clock.now().toISOString();
  const lists = [
    { path: '/api-keys', list: 'api-keys', state: 'in-use' },
    { path: '/support-grants', list: 'support-grants', state: 'active' },
    { path: '/sod-policy/proposals', list: 'sod-policy-proposals', state: 'pending' },
  ];
  for (const { path, list, state } of lists) {
    for (const c of ['\u0000', 'a\nb', '{"token":"x"}\u007f']) {
      // The token as a forger writes it: the scope is not a secret (page-token.ts), the wrapper is printable ASCII.
      const token = pageToken.encode(JSON.stringify({ at, c }), { list, tenantId: tenant, state })!;
      const r = await call(`${archive.url}${path}?continuationToken=${token}`, { token: admin });
      expect([path, JSON.stringify(c), r.status, r.json?.code]).toEqual([path, JSON.stringify(c), 400, 'invalid_query']);
    }
  }
});

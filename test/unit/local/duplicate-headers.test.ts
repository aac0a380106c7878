/**
 * A header sent twice reaches the pipeline as Azure Functions hands it over (the Fetch Headers
 * rule: every value, joined with ", "), not as Node's parser keeps it (the first Authorization,
 * Content-Type or User-Agent only): what the local host accepts, the Functions app accepts too.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ROUTES } from '../../../functions/routes';
import { createArchiveServer } from '../../../local/server';
import { ArchiveError } from '../../../shared/kernel/errors';
import { inMemoryDeps } from '../../support/in-memory';

const seen: (string | null)[] = [];
const deps = inMemoryDeps();
deps.authenticator = {
  authenticate: async (header) => {
    seen.push(header);
    throw new ArchiveError('unauthenticated');
  },
};
const server = createArchiveServer(ROUTES, deps);
beforeAll(() => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)));
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function get(headers: http.OutgoingHttpHeaders): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, path: '/api/exports', headers }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.end();
  });
}

it('two Authorization headers are read as one joined value (refused as Azure refuses it), not as the first', async () => {
  expect(await get({ Authorization: ['Bearer first', 'Bearer second'] })).toBe(401);
  expect(seen).toEqual(['Bearer first, Bearer second']);
});

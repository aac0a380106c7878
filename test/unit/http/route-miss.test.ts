/**
 * A request no operation takes (an unknown path, or a known path with another method): problem+json
 * with a detail, Allow on 405 and the security headers every answer carries, the same from the local
 * host as from the Functions app's catch-all (functions/index.ts registers it; here its handler is called).
 */
import type { AddressInfo } from 'node:net';
import { ROUTES } from '../../../functions/routes';
import { createArchiveServer } from '../../../local/server';
import { routeMiss } from '../../../shared/http/route-match';
import { inMemoryDeps } from '../../support/in-memory';

const deps = inMemoryDeps();
const server = createArchiveServer(ROUTES, deps);
let origin = '';
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const SECURITY = ['x-content-type-options', 'cache-control', 'referrer-policy', 'content-security-policy', 'x-request-id'];

const cases: [method: string, path: string, status: number, allow: string | null, detail: RegExp][] = [
  ['DELETE', '/api/documents', 405, 'GET, HEAD, POST', /GET, HEAD, POST/],
  ['PUT', '/api/documents/abc/legal-holds', 405, 'POST', /POST/],
  ['HEAD', '/api/documents/abc/legal-holds', 405, 'POST', /POST/],
  ['POST', '/api/nothing-here', 404, null, /\/api\/nothing-here/],
  ['GET', '/api/documents/abc/nothing', 404, null, /no operation/i],
];

it.each(cases)('%s %s: %i problem+json, Allow, security headers, nothing changed', async (method, path, status, allow, detail) => {
  const res = await fetch(origin + path, { method });
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(res.headers.get('allow')).toBe(allow);
  for (const h of SECURITY) expect(res.headers.get(h)).toEqual(expect.any(String));
  if (method !== 'HEAD') expect(((await res.json()) as { detail: string }).detail).toMatch(detail);
  expect(deps.catalog.documents.size).toBe(0);
});

it.each(cases)('the Functions catch-all answers %s %s the same', async (method, path, status, allow) => {
  const local = await fetch(origin + path, { method });
  const azure = routeMiss(ROUTES, method, path, 'req-1');
  expect(azure.status).toBe(status);
  const pick = (h: Record<string, string | null>) => Object.fromEntries(Object.entries(h).filter(([k]) => k !== 'x-request-id' && [...SECURITY, 'allow', 'content-type'].includes(k)));
  const lower = Object.fromEntries(Object.entries(azure.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  expect(pick(lower)).toEqual(pick(Object.fromEntries(local.headers)));
  expect(lower.allow ?? null).toBe(allow);
});

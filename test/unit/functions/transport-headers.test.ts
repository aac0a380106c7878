/**
 * Strict-Transport-Security: the Function App answers only over https (httpsOnly), so every answer it sends
 * carries HSTS (an API operation, a route miss, the web app), whatever scheme the worker is handed; the local
 * host is plain http and sends none. Apart from it, both hosts send the same security headers.
 */
type HttpHandler = (request: unknown, context: unknown) => Promise<{ status: number; headers: Record<string, string>; body?: unknown }>;
const handlers = new Map<string, HttpHandler>();

import type { AddressInfo } from 'node:net';
import { ROUTES } from '../../../functions/routes';
import { createArchiveServer } from '../../../local/server';
import { loadConfig } from '../../../shared/config';
import { STRICT_TRANSPORT_SECURITY } from '../../../shared/http/respond';
import { WebApp, webAppDir } from '../../../shared/http/web-app';
import { minimalLocalEnv } from '../../support/config-env';
import { inMemoryDeps } from '../../support/in-memory';

jest.mock('@azure/functions', () => ({
  app: {
    setup: () => undefined,
    http: (name: string, options: { handler: HttpHandler }) => handlers.set(name, options.handler),
    timer: () => undefined,
    storageQueue: () => undefined,
    hook: { appTerminate: () => undefined },
  },
}));
// The stores of a real start are not needed to answer: the in-memory ones stand in.
jest.mock('../../../shared/app', () => ({ buildDeps: async () => jest.requireActual<typeof import('../../support/in-memory')>('../../support/in-memory').inMemoryDeps() }));

const env = { ...process.env };
const local = createArchiveServer(ROUTES, inMemoryDeps(), undefined, new WebApp({ dir: webAppDir(loadConfig(minimalLocalEnv)), config: loadConfig(minimalLocalEnv) }));
let base = '';

beforeAll(async () => {
  Object.assign(process.env, minimalLocalEnv);
  await import('../../../functions/index');
  await new Promise<void>((resolve) => local.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(local.address() as AddressInfo).port}`;
});
afterAll(async () => {
  process.env = env;
  await new Promise<void>((resolve) => local.close(() => resolve()));
});

/** The answer of one Azure function, to a request the worker was handed as `url`. */
async function azure(name: string, url: string, params: Record<string, string> = {}) {
  const request = { method: 'GET', url, params, headers: new Headers(), body: null };
  return handlers.get(name)!(request, { invocationId: 'inv-1', error: () => undefined });
}

// What the same request answers on each host: an operation, a path under /api no operation takes, the web app.
const cases: [string, string, Record<string, string>][] = [
  ['health', '/api/health', {}],
  ['routeMiss', '/api/nothing', { rest: 'nothing' }],
  ['web', '/', { path: '' }],
];

it.each(cases)('%s: the Function App sends Strict-Transport-Security, even when the worker is handed http://', async (name, path, params) => {
  for (const scheme of ['https', 'http']) {
    const answer = await azure(name, `${scheme}://archive.example${path}`, params);
    expect(answer.headers['Strict-Transport-Security']).toBe(STRICT_TRANSPORT_SECURITY);
  }
  expect(STRICT_TRANSPORT_SECURITY).toBe('max-age=31536000; includeSubDomains');
});

it.each(cases)('%s: the local host (plain http) sends none, and otherwise the same security headers', async (name, path, params) => {
  const fromAzure = await azure(name, `https://archive.example${path}`, params);
  const answer = await fetch(`${base}${path}`);
  await answer.arrayBuffer();
  expect(answer.status).toBe(fromAzure.status);
  expect(answer.headers.get('strict-transport-security')).toBeNull();
  for (const header of ['Content-Security-Policy', 'X-Content-Type-Options', 'Referrer-Policy', 'Cross-Origin-Opener-Policy', 'Cross-Origin-Resource-Policy', 'Cache-Control']) {
    expect({ header, local: answer.headers.get(header) }).toEqual({ header, local: fromAzure.headers[header] ?? null });
  }
});

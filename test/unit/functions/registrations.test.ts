/**
 * The Azure Functions entry registers exactly the route table the local host serves,
 * plus every timer. The Functions runtime has no local stand-in, so only its `app` is replaced.
 */
type HttpHandler = (request: unknown, context: unknown) => Promise<{ status: number; headers: Record<string, string>; body: string }>;
const registered = { http: [] as { name: string; options: { methods: string[]; route: string; authLevel: string; handler: HttpHandler } }[], timer: [] as { name: string; options: { schedule: string } }[], queue: [] as { name: string; options: { queueName: string } }[], setup: [] as unknown[], appTerminate: [] as unknown[] };

import * as fs from 'node:fs';
import * as path from 'node:path';
import { minimalLocalEnv } from '../../support/config-env';

jest.mock('@azure/functions', () => ({
  app: {
    setup: (o: unknown) => registered.setup.push(o),
    http: (name: string, options: { methods: string[]; route: string; authLevel: string; handler: HttpHandler }) => registered.http.push({ name, options }),
    timer: (name: string, options: { schedule: string }) => registered.timer.push({ name, options }),
    storageQueue: (name: string, options: { queueName: string }) => registered.queue.push({ name, options }),
    hook: { appTerminate: (handler: unknown) => registered.appTerminate.push(handler) },
  },
}));

describe('functions/index.ts', () => {
  const env = { ...process.env };
  beforeAll(() => {
    Object.assign(process.env, minimalLocalEnv);
  });
  afterAll(() => {
    process.env = env;
  });

  it('registers every route of the one route table, anonymous (the archive authenticates), with streaming on', async () => {
    await import('../../../functions/index');
    const { ROUTES } = await import('../../../functions/routes');
    expect(registered.setup).toEqual([{ enableHttpStream: true }]);
    // host.json's routePrefix is "": the API's routes carry api/ themselves, and `web` takes every other GET.
    expect(registered.http.map((r) => [r.name, r.options.methods, r.options.route, r.options.authLevel])).toEqual([
      // A GET takes HEAD too (RFC 9110 §9.3.2), as the local host's matcher does.
      ...ROUTES.map((r) => [r.name, r.method === 'GET' ? ['GET', 'HEAD'] : [r.method], `api/${r.route}`, 'anonymous']),
      ['routeMiss', ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'], 'api/{*rest}', 'anonymous'],
      ['web', ['GET', 'HEAD'], '{*path}', 'anonymous'],
    ]);
    // What no operation takes under /api is problem+json as the local host answers it: 405 with Allow, or 404.
    const miss = registered.http.find((r) => r.name === 'routeMiss')!.options.handler;
    const answer = await miss({ method: 'DELETE', url: 'https://archive.example/api/documents', headers: new Headers() }, { invocationId: 'inv-1' });
    expect({ status: answer.status, allow: answer.headers.Allow, type: answer.headers['Content-Type'], nosniff: answer.headers['X-Content-Type-Options'], id: JSON.parse(answer.body).requestId }).toEqual({ status: 405, allow: 'GET, HEAD, POST', type: 'application/problem+json', nosniff: 'nosniff', id: 'inv-1' });
    expect((await miss({ method: 'POST', url: 'https://archive.example/api/nothing', headers: new Headers() }, { invocationId: 'inv-2' })).status).toBe(404);
    const hostJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'host.json'), 'utf8'));
    expect(hostJson.extensions.http.routePrefix).toBe('');
    const { TIMERS } = await import('../../../functions/timers');
    expect(registered.timer.map((t) => t.name).sort()).toEqual(TIMERS.map((t) => t.name).sort());
    expect(TIMERS.map((t) => t.name)).toContain('exportMaintenance');
    for (const t of registered.timer) expect(t.options.schedule).toMatch(/^\S+( \S+){5}$/);
    // The Java validator app's outcomes are recorded by the Node app (catalog + audit chain); each export runs as its own invocation.
    expect(registered.queue.map((q) => [q.name, q.options.queueName])).toEqual([['recordValidationOutcome', 'rendition-validation-outcome'], ['runExportWork', 'export-work']]);
    // Gathered validation requests are sent when the host stops the worker (nothing started: nothing to send).
    expect(registered.appTerminate).toHaveLength(1);
    await expect((registered.appTerminate[0] as () => Promise<void>)()).resolves.toBeUndefined();
  });
});

describe('what each Function App registers (ARCHIVE_FUNCTIONS_ROLE)', () => {
  const env = { ...process.env };
  afterEach(() => {
    process.env = { ...env };
  });

  /** functions/index.ts loaded afresh under the role: the names it registered, by kind. */
  async function registeredAs(role: string | undefined) {
    for (const list of Object.values(registered)) list.length = 0;
    process.env = { ...env, ...minimalLocalEnv };
    if (role === undefined) delete process.env.ARCHIVE_FUNCTIONS_ROLE;
    else process.env.ARCHIVE_FUNCTIONS_ROLE = role;
    await jest.isolateModulesAsync(async () => {
      await import('../../../functions/index');
    });
    return { http: registered.http.length, timers: registered.timer.length, queues: registered.queue.map((q) => q.name), appTerminate: registered.appTerminate.length };
  }

  it.each([
    // The local host and `func start` run everything, as before.
    [undefined, { routes: true, web: true, timers: true, validationOutcomes: true, exportWork: true }, ['recordValidationOutcome', 'runExportWork']],
    ['all', { routes: true, web: true, timers: true, validationOutcomes: true, exportWork: true }, ['recordValidationOutcome', 'runExportWork']],
    // The main app: its 10-minute timeout bounds every request and timer (HOLD_WRITE_IN_FLIGHT_MS); no export runs there.
    ['api', { routes: true, web: true, timers: true, validationOutcomes: true, exportWork: false }, ['recordValidationOutcome']],
    // The export app: only the export work, under its own longer timeout; no route, no web app, no timer.
    ['export-worker', { routes: false, web: false, timers: false, validationOutcomes: false, exportWork: true }, ['runExportWork']],
  ] as const)('role %s', async (role, expected, queues) => {
    const { registrationsFor } = await import('../../../functions/registrations');
    const { loadConfig } = await import('../../../shared/config');
    const config = loadConfig({ ...minimalLocalEnv, ...(role ? { ARCHIVE_FUNCTIONS_ROLE: role } : {}) });
    expect(registrationsFor(config.ARCHIVE_FUNCTIONS_ROLE)).toEqual(expected);
    const { ROUTES } = await import('../../../functions/routes');
    const { TIMERS } = await import('../../../functions/timers');
    const got = await registeredAs(role);
    // Routes, the /api catch-all and `web`.
    expect(got).toEqual({ http: expected.routes ? ROUTES.length + 2 : 0, timers: expected.timers ? TIMERS.length : 0, queues, appTerminate: 1 });
  });

  it('refuses a role it does not know, rather than registering everything or nothing', async () => {
    const { loadConfig } = await import('../../../shared/config');
    for (const role of ['worker', 'API', 'export', ' api']) expect(() => loadConfig({ ...minimalLocalEnv, ARCHIVE_FUNCTIONS_ROLE: role })).toThrow(/ARCHIVE_FUNCTIONS_ROLE/);
    expect(() => loadConfig({ ...minimalLocalEnv, ARCHIVE_FUNCTIONS_ROLE: '' })).toThrow(/ARCHIVE_FUNCTIONS_ROLE: is empty/);
    const { registrationsFor } = await import('../../../functions/registrations');
    expect(() => registrationsFor('worker' as never)).toThrow(/unknown ARCHIVE_FUNCTIONS_ROLE/);
  });
});

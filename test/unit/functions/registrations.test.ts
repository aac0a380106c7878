/**
 * The Azure Functions entry registers exactly the route table the local host serves,
 * plus every timer. The Functions runtime has no local stand-in, so only its `app` is replaced.
 */
const registered = { http: [] as { name: string; options: { methods: string[]; route: string; authLevel: string } }[], timer: [] as { name: string; options: { schedule: string } }[], queue: [] as { name: string; options: { queueName: string } }[], setup: [] as unknown[], appTerminate: [] as unknown[] };

import * as fs from 'node:fs';
import * as path from 'node:path';
import { minimalLocalEnv } from '../../support/config-env';

jest.mock('@azure/functions', () => ({
  app: {
    setup: (o: unknown) => registered.setup.push(o),
    http: (name: string, options: { methods: string[]; route: string; authLevel: string }) => registered.http.push({ name, options }),
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
      ...ROUTES.map((r) => [r.name, [r.method], `api/${r.route}`, 'anonymous']),
      ['web', ['GET', 'HEAD'], '{*path}', 'anonymous'],
    ]);
    const hostJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'host.json'), 'utf8'));
    expect(hostJson.extensions.http.routePrefix).toBe('');
    const { TIMERS } = await import('../../../functions/timers');
    expect(registered.timer.map((t) => t.name).sort()).toEqual(TIMERS.map((t) => t.name).sort());
    expect(TIMERS.map((t) => t.name)).toContain('exportMaintenance');
    for (const t of registered.timer) expect(t.options.schedule).toMatch(/^\S+( \S+){5}$/);
    // The Java validator app's outcomes are recorded by the Node app (catalog + audit chain).
    expect(registered.queue.map((q) => [q.name, q.options.queueName])).toEqual([['recordValidationOutcome', 'rendition-validation-outcome']]);
    // Gathered validation requests are sent when the host stops the worker (nothing started: nothing to send).
    expect(registered.appTerminate).toHaveLength(1);
    await expect((registered.appTerminate[0] as () => Promise<void>)()).resolves.toBeUndefined();
  });
});

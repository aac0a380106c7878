/**
 * Azure Functions entry point (v4 programming model). Registers every route of the one
 * route table and the timers; the handlers are the same ones the local host serves.
 */
import './telemetry';
import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { Readable } from 'node:stream';
import { buildDeps, Deps } from '../shared/app';
import { loadConfig } from '../shared/config';
import { handleRequest } from '../shared/http/pipeline';
import type { ArchiveRequest } from '../shared/http/types';
import { ROUTES } from './routes';

app.setup({ enableHttpStream: true });

// Fail at start-up, with every bad setting listed, rather than on the first request.
const config = loadConfig();
let deps: Promise<Deps> | undefined;
const getDeps = () => (deps ??= buildDeps(config));

function fromAzure(request: HttpRequest, context: InvocationContext): ArchiveRequest {
  const forwarded = request.headers.get('x-forwarded-for')?.split(',')[0]?.trim() ?? null;
  return {
    method: request.method,
    url: new URL(request.url),
    params: { ...request.params },
    headers: request.headers,
    body: request.body ? Readable.fromWeb(request.body) : null,
    // Front ends write "ip:port"; keep the address only.
    clientIp: forwarded ? forwarded.replace(/:\d+$/, '') : null,
    requestId: context.invocationId,
  };
}

for (const route of ROUTES) {
  app.http(route.name, {
    methods: [route.method],
    route: route.route,
    authLevel: 'anonymous',
    handler: async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
      const res = await handleRequest(route, fromAzure(request, context), await getDeps());
      return { status: res.status, headers: res.headers, body: res.body };
    },
  });
}

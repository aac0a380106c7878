/**
 * Azure Functions entry point (v4 programming model). Registers every route of the one
 * route table and the timers; the handlers are the same ones the local host serves.
 * What it registers depends on the app's role (ARCHIVE_FUNCTIONS_ROLE, functions/registrations.ts):
 * the main app everything but the export work, the export app only that.
 */
import './telemetry';
import { app, HttpMethod, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { Readable } from 'node:stream';
import { buildDeps } from '../shared/app';
import type { Deps } from '../shared/deps';
import { loadConfig } from '../shared/config';
import { ArchiveError } from '../shared/kernel/errors';
import { handleRequest, problemResponse } from '../shared/http/pipeline';
import { clientIpFromForwarded } from '../shared/http/client-ip';
import { methodsOf, routeMiss } from '../shared/http/route-match';
import type { ArchiveRequest } from '../shared/http/types';
import { toAzure } from './answer';
import { API_ROUTE_PREFIX, ROUTES } from './routes';
import { registerWebApp } from './web';
import { runTimer, TIMERS } from './timers';
import { registrationsFor } from './registrations';
import { recordStoredOutcome } from '../shared/validation/worker';
import { runQueuedExport } from '../shared/exports/queued-export';
import { flushSuppressedRefusals, SUPPRESSED_REFUSALS_FLUSH_MS } from '../shared/audit/suppressed-refusals';

app.setup({ enableHttpStream: true });

// Fail at start-up, with every bad setting listed, rather than on the first request.
const config = loadConfig();
const registrations = registrationsFor(config.ARCHIVE_FUNCTIONS_ROLE);
let deps: Promise<Deps> | undefined;
const getDeps = () =>
  (deps ??= buildDeps(config).then(
    (ready) => {
      // Suppressed refusal counts live in this instance's memory, and a timer runs on one instance of the app
      // only: each instance writes its own. Unref'd: it never keeps a stopping worker alive.
      setInterval(() => void flushSuppressedRefusals(ready.clock.now(), ready), SUPPRESSED_REFUSALS_FLUSH_MS).unref();
      return ready;
    },
    (err: unknown) => {
      deps = undefined; // a passing outage is retried; a region refusal refuses again
      throw err;
    },
  ));

function fromAzure(request: HttpRequest, context: InvocationContext): ArchiveRequest {
  return {
    method: request.method,
    url: new URL(request.url),
    params: { ...request.params },
    headers: request.headers,
    body: request.body ? Readable.fromWeb(request.body) : null,
    clientIp: clientIpFromForwarded(request.headers.get('x-forwarded-for')),
    requestId: context.invocationId,
  };
}

// host.json's routePrefix is "" so that the `web` function can answer `/`; the API keeps its /api prefix here.
for (const route of registrations.routes ? ROUTES : []) {
  app.http(route.name, {
    methods: methodsOf(route) as HttpMethod[],
    route: `${API_ROUTE_PREFIX}/${route.route}`,
    authLevel: 'anonymous',
    handler: async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
      const req = fromAzure(request, context);
      let ready: Deps;
      try {
        ready = await getDeps();
      } catch (err) {
        // Fail closed: without its safety checks passed (region, config, stores) the archive serves nothing.
        context.error(JSON.stringify({ msg: 'archive not started', requestId: req.requestId, error: err instanceof Error ? err.message : String(err) }));
        return toAzure(problemResponse(new ArchiveError('dependency_unavailable', { detail: 'The archive is not available.' }), req.requestId));
      }
      return toAzure(await handleRequest(route, req, ready));
    },
  });
}

// Under /api, what no operation takes: problem+json, 405 with Allow where the path takes other methods, as the local
// host answers (the host otherwise answers an empty 404, or hands a GET to `web`). A catch-all: the host matches every
// operation's more specific template first.
if (registrations.routes) app.http('routeMiss', {
  methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
  route: `${API_ROUTE_PREFIX}/{*rest}`,
  authLevel: 'anonymous',
  handler: async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    return toAzure(routeMiss(ROUTES, request.method, new URL(request.url).pathname, context.invocationId));
  },
});

// The web app (web/dist) from the same origin as the API: every path the API's routes do not take.
if (registrations.web) registerWebApp(config);

// Timers (sweep, fixity, reconciler, audit seals, export maintenance): plain functions of deps, schedules from config.
for (const timer of registrations.timers ? TIMERS : []) {
  app.timer(timer.name, {
    schedule: timer.schedule(config),
    handler: async (_: unknown, context: InvocationContext) => {
      const result = await runTimer(timer, await getDeps());
      context.log(JSON.stringify({ timer: timer.name, result }).slice(0, 4000));
    },
  });
}

// Outcomes of the Java validation app (validator/): recorded here, where the catalog and the audit chain live.
// A failing message is retried by the host and ends in `<queue>-outcome-poison` (alerted in infra).
if (registrations.validationOutcomes) app.storageQueue('recordValidationOutcome', {
  queueName: `${config.ARCHIVE_VALIDATION_QUEUE}-outcome`,
  connection: 'ArchiveStorage',
  handler: async (message: unknown, context: InvocationContext) => {
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    const result = await recordStoredOutcome(text, new Date(), await getDeps());
    context.log(JSON.stringify({ queue: 'validation-outcome', result }));
  },
});

// Each export in its own invocation (POST /exports and export maintenance queue them): the instance is not scaled in
// or recycled under it, as it was under a worker run after the answer. The message names the job only; the core reads
// and judges it. A malformed message is logged and completed (a retry cannot mend it); a failure throws: the host
// retries it, then moves it to `<queue>-poison` (alerted in infra). In Azure it runs in the export app alone, whose
// timeout is longer than the main app's 10 minutes (infra/main.bicep, exportApp).
if (registrations.exportWork) app.storageQueue('runExportWork', {
  queueName: config.ARCHIVE_EXPORT_QUEUE,
  connection: 'ArchiveStorage',
  handler: async (message: unknown, context: InvocationContext) => {
    const result = await runQueuedExport(message, await getDeps(), { dequeueCount: Number(context.triggerMetadata?.dequeueCount ?? 1) || 1 });
    const line = JSON.stringify({ queue: 'export-work', result });
    if (result.outcome === 'refused') context.error(line);
    else context.log(line);
  },
});

// Validation requests are gathered for a moment after each upload (shared/validation/request.ts),
// and outboxed audit entries are appended after the answer (shared/audit/outbox.ts): finish both
// when the host shuts this worker down. What is lost anyway is taken up by the requeueValidations
// and sealAuditLog timers. Counts of suppressed refusals exist only here: written too.
app.hook.appTerminate(async () => {
  const ready = deps ? await deps.catch(() => null) : null;
  await ready?.validationRequests.flush();
  await ready?.auditOutbox.flush();
  if (ready) await flushSuppressedRefusals(ready.clock.now(), ready);
});

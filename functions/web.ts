/**
 * The web app served by the Function App itself, from the API's origin: one origin keeps the API
 * bearer-only with one CSP, and Azure Static Web Apps has no North Europe region (README, "Web app").
 * A catch-all route; the Functions host matches the API's literal `api/…` routes before it.
 */
import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { Config } from '../shared/config';
import { WebApp, webAppDir } from '../shared/http/web-app';
import { toAzure } from './answer';

export function registerWebApp(config: Config): void {
  const web = new WebApp({ dir: webAppDir(config), config });
  app.http('web', {
    methods: ['GET', 'HEAD'],
    route: '{*path}',
    authLevel: 'anonymous',
    handler: async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
      return toAzure(await web.answer({ method: request.method, pathname: new URL(request.url).pathname, headers: request.headers, requestId: context.invocationId }));
    },
  });
}

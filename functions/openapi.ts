import { z } from 'zod';
import { operation, reply } from '../shared/http/operation';
import { buildOpenApi } from '../shared/openapi/document';
import { TIMERS } from './timers';
import { ROUTES } from './routes';

let cached: ReturnType<typeof buildOpenApi> | undefined;

/** GET /openapi.json (public): generated from the operation definitions, built once. ROUTES is read at call time (no import cycle at load). */
export const openApi = operation({
  name: 'openApi', method: 'GET', route: 'openapi.json', tags: ['meta'], summary: 'This OpenAPI 3.1 description', auth: 'public',
  responses: { 200: { description: 'The description', json: z.looseObject({ openapi: z.literal('3.1.0') }) } },
  errors: [],
  handler: async (_, deps) => reply(200, (cached ??= buildOpenApi(ROUTES, deps.config.ARCHIVE_PUBLIC_BASE_PATH, TIMERS))),
});

export const openApiRoutes = [openApi];

import { z } from 'zod';
import { operation, reply } from '../shared/http/operation';
import type { RouteDef } from '../shared/http/pipeline';
import { buildOpenApi } from '../shared/openapi/document';
import { TIMERS } from './timers';

let cached: ReturnType<typeof buildOpenApi> | undefined;

/**
 * GET /openapi.json (public): generated from the operation definitions, built once. The table is
 * handed in by functions/routes.ts and read at call time, so this file does not import it (no cycle).
 */
export function openApiRoutes(table: () => readonly RouteDef[]): RouteDef[] {
  const openApi = operation({
    name: 'openApi', method: 'GET', route: 'openapi.json', tags: ['meta'], summary: 'This OpenAPI 3.1 description', auth: 'public',
    responses: { 200: { description: 'The description', json: z.looseObject({ openapi: z.literal('3.1.0') }) } },
    errors: [],
    handler: async (_, deps) => reply(200, (cached ??= buildOpenApi(table(), deps.config.ARCHIVE_PUBLIC_BASE_PATH, TIMERS))),
  });
  return [openApi];
}

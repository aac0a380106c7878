import type { Deps } from '../shared/deps';
import type { PublicContext, RouteDef } from '../shared/http/pipeline';
import { json } from '../shared/http/respond';
import { buildOpenApi } from '../shared/openapi/document';

let cached: string | undefined;

/**
 * GET /openapi.json (public): the description of the route table, built once. The table is
 * handed in by functions/routes.ts and read at call time, so this file does not import it (no cycle).
 */
export function openApiRoutes(table: () => RouteDef[]): RouteDef[] {
  const openApi = async (_ctx: PublicContext, deps: Deps) => {
    cached ??= JSON.stringify(buildOpenApi(table(), deps.config.ARCHIVE_PUBLIC_BASE_PATH));
    return { ...json(200, null), body: cached };
  };
  return [{ name: 'openApi', method: 'GET', route: 'openapi.json', auth: 'public', handler: openApi }];
}

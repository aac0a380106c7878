import type { Deps } from '../shared/deps';
import type { PublicContext, RouteDef } from '../shared/http/pipeline';
import { json } from '../shared/http/respond';
import { buildOpenApi } from '../shared/openapi/document';
import { ROUTES } from './routes';

let cached: string | undefined;

/** GET /openapi.json (public): the description of the route table, built once. ROUTES is read at call time (no import cycle at load). */
async function openApi(_ctx: PublicContext, deps: Deps) {
  cached ??= JSON.stringify(buildOpenApi(ROUTES, deps.config.ARCHIVE_PUBLIC_BASE_PATH));
  return { ...json(200, null), body: cached };
}

export const openApiRoutes: RouteDef[] = [{ name: 'openApi', method: 'GET', route: 'openapi.json', auth: 'public', handler: openApi }];

import type { RouteDef } from '../shared/http/pipeline';
import { accessRoutes } from './access';
import { auditRoutes } from './audit';
import { documentRoutes } from './documents';
import { exportRoutes } from './exports';
import { healthRoutes } from './health';
import { openApiRoutes } from './openapi';
import { legalHoldRoutes } from './legal-holds';
import { retentionRoutes } from './retention';

/** The one route table: Azure Functions registrations (functions/index.ts) and the local host both read it. */
export const ROUTES: RouteDef[] = [...healthRoutes, ...documentRoutes, ...exportRoutes, ...openApiRoutes(() => ROUTES), ...legalHoldRoutes, ...retentionRoutes, ...auditRoutes, ...accessRoutes];

/** The API's path prefix, on Azure (host.json routePrefix is "", see functions/web.ts) and locally (local/server.ts). */
export const API_ROUTE_PREFIX = 'api';

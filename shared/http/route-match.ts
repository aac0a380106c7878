/**
 * The route table matched against a request path, for the hosts: the local host serves what it
 * matches, and both hosts answer what no operation takes with `routeMiss`, so an unknown path or a
 * wrong method reads the same from the local host and from Azure Functions.
 */
import { ArchiveError } from '../kernel/errors';
import type { RouteDef } from './pipeline';
import { problemResponse } from './pipeline';
import type { ArchiveResponse } from './types';

export interface CompiledRoute {
  route: RouteDef;
  pattern: RegExp;
  names: string[];
}

/** Same template syntax as Azure Functions (`documents/{id}`), under the same /api prefix. */
export function compileRoutes(routes: RouteDef[], prefix = '/api'): CompiledRoute[] {
  return routes.map((route) => {
    const names: string[] = [];
    const source = route.route
      .split('/')
      .map((seg) => {
        const m = /^\{(\w+)\}$/.exec(seg);
        if (!m) return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        names.push(m[1]!);
        return '([^/]+)';
      })
      .join('/');
    return { route, pattern: new RegExp(`^${prefix}/${source}/?$`), names };
  });
}

/** The methods a route takes: a GET takes HEAD too (RFC 9110 §9.3.2: the GET's status and header fields, no content). */
export const methodsOf = (route: Pick<RouteDef, 'method'>): string[] => (route.method === 'GET' ? ['GET', 'HEAD'] : [route.method]);

/** The operation taking `method` on `pathname` with its decoded path parameters, or the methods the path takes otherwise. */
export function matchRoute(table: CompiledRoute[], method: string, pathname: string): { route: RouteDef; params: Record<string, string> } | { allow: string[] } {
  const allow: string[] = [];
  for (const { route, pattern, names } of table) {
    const m = pattern.exec(pathname);
    if (!m) continue;
    if (!methodsOf(route).includes(method)) {
      for (const taken of methodsOf(route)) if (!allow.includes(taken)) allow.push(taken);
      continue;
    }
    const params: Record<string, string> = {};
    names.forEach((n, i) => {
      params[n] = safeDecode(m[i + 1]!);
    });
    return { route, params };
  }
  return { allow };
}

const tables = new WeakMap<RouteDef[], CompiledRoute[]>();

/** The answer to a request no operation takes: 405 with Allow where the path is known under other methods, else 404. */
export function routeMiss(routes: RouteDef[], method: string, pathname: string, requestId: string): ArchiveResponse {
  let table = tables.get(routes);
  if (!table) tables.set(routes, (table = compileRoutes(routes)));
  const match = matchRoute(table, method, pathname);
  const allow = ('allow' in match ? match.allow : methodsOf(match.route)).sort();
  const err = allow.length > 0
    ? new ArchiveError('method_not_allowed', { detail: `This path takes ${allow.join(', ')}, not ${method.slice(0, 20)}.`, extensions: { allow } })
    : new ArchiveError('route_not_found', { detail: `The API has no operation at ${pathname.slice(0, 200)}.` });
  return problemResponse(err, requestId, pathname);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Serves the route table over plain Node HTTP: the local twin of the Functions host. */
import * as http from 'node:http';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Deps } from '../shared/deps';
import { ArchiveError } from '../shared/kernel/errors';
import { handleRequest, problemResponse, RouteDef } from '../shared/http/pipeline';
import type { ArchiveRequest, ArchiveResponse } from '../shared/http/types';
import { API_BASE, type WebApp } from '../shared/http/web-app';

interface CompiledRoute {
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

/** `web`: the built web app, answered for every path outside /api (as the Function App's `web` function does). */
export function createArchiveServer(routes: RouteDef[], deps: Deps, onResponse?: () => void, web?: WebApp): http.Server {
  const table = compileRoutes(routes);
  return http.createServer((req, res) => {
    void serve(table, deps, req, res, web)
      .catch((err) => {
        deps.log.error('local host failure', { error: String(err) });
        if (!res.headersSent) res.writeHead(500);
        res.end();
      })
      .finally(() => onResponse?.());
  });
}

async function serve(table: CompiledRoute[], deps: Deps, req: http.IncomingMessage, res: http.ServerResponse, web: WebApp | undefined) {
  const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
  const requestId = randomUUID();
  let pathMatched = false;
  let response: ArchiveResponse | undefined;
  const headers = { get: (name: string) => headerValue(req.headers[name.toLowerCase()]) };
  if (web && url.pathname !== API_BASE && !url.pathname.startsWith(`${API_BASE}/`)) {
    response = await web.answer({ method: req.method ?? 'GET', pathname: url.pathname, headers, requestId });
  }
  for (const { route, pattern, names } of response ? [] : table) {
    const m = pattern.exec(url.pathname);
    if (!m) continue;
    pathMatched = true;
    if (route.method !== req.method) continue;
    const params: Record<string, string> = {};
    names.forEach((n, i) => {
      params[n] = safeDecode(m[i + 1]!);
    });
    const archiveRequest: ArchiveRequest = {
      method: req.method,
      url,
      params,
      headers,
      body: req.method === 'GET' || req.method === 'HEAD' ? null : req,
      clientIp: req.socket.remoteAddress ?? null,
      requestId,
    };
    response = await handleRequest(route, archiveRequest, deps);
    break;
  }
  response ??= problemResponse(new ArchiveError(pathMatched ? 'method_not_allowed' : 'route_not_found'), requestId, url.pathname);
  // An unread upload (refused early) is drained so the client sees our answer, not a reset;
  // but only so much of it: a client that keeps sending after the answer is cut off.
  if (!req.readableEnded) drainAfterAnswer(req, res);
  res.writeHead(response.status, { 'X-Request-Id': requestId, ...response.headers });
  const body = response.body;
  if (body instanceof Readable) {
    body.on('error', () => res.destroy());
    body.pipe(res);
  } else {
    res.end(body);
  }
}

/** Bytes of an unread request body discarded after the answer before the connection is closed. */
export const DRAIN_AFTER_ANSWER_BYTES = 1024 * 1024;

function drainAfterAnswer(req: http.IncomingMessage, res: http.ServerResponse): void {
  let drained = 0;
  const onData = (chunk: Buffer) => {
    drained += chunk.length;
    if (drained <= DRAIN_AFTER_ANSWER_BYTES || !res.writableFinished || req.socket.writableEnded) return;
    // A lingering close: half-close first, so the answer and a FIN reach the client, and reset only
    // a client that still sends a while later (an immediate reset can discard the unread answer).
    req.socket.end();
    setTimeout(() => req.socket.destroy(), 1000).unref();
  };
  req.on('data', onData);
  req.once('end', () => req.off('data', onData));
  req.resume();
}

function headerValue(v: string | string[] | undefined): string | null {
  if (v === undefined) return null;
  return Array.isArray(v) ? v.join(', ') : v;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

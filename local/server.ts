/** Serves the route table over plain Node HTTP: the local twin of the Functions host. */
import * as http from 'node:http';
import { randomUUID } from 'node:crypto';
import { type Duplex, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Deps } from '../shared/deps';
import { ArchiveError } from '../shared/kernel/errors';
import { handleRequest, problemResponse, type RouteDef } from '../shared/http/pipeline';
import { compileRoutes, matchRoute, routeMiss, type CompiledRoute } from '../shared/http/route-match';
import { transportHeaders } from '../shared/http/respond';
import type { ArchiveRequest, ArchiveResponse } from '../shared/http/types';
import { API_BASE, type WebApp } from '../shared/http/web-app';

/** This server speaks plain http (http.createServer, on loopback): no Strict-Transport-Security, which a browser ignores over http anyway. */
const TRANSPORT = transportHeaders('http');

/** `web`: the built web app, answered for every path outside /api (as the Function App's `web` function does). */
export function createArchiveServer(routes: RouteDef[], deps: Deps, onResponse?: () => void, web?: WebApp): http.Server {
  const table = compileRoutes(routes);
  const server = http.createServer((req, res) => {
    void serve(routes, table, deps, req, res, web)
      .catch((err) => {
        deps.log.error('local host failure', { error: String(err) });
        if (!res.headersSent) res.writeHead(500);
        res.end();
      })
      .finally(() => onResponse?.());
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => refuseUnreadable(err, socket));
  return server;
}

/**
 * A request Node's parser refuses before any route sees it: a request line and header fields past its 16 KiB (a long
 * search), a malformed request line, header or chunk. Node answered these itself, 431 or 400 without a body, not the
 * problem+json every other refusal is; a request timeout keeps Node's 408.
 */
function refuseUnreadable(err: NodeJS.ErrnoException, socket: Duplex): void {
  const answered = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (!err.code?.startsWith('HPE_') || answered || !socket.writable) {
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' && socket.writable && !answered) socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
    else socket.destroy();
    return;
  }
  const refused = err.code === 'HPE_HEADER_OVERFLOW'
    ? new ArchiveError('header_fields_too_large', { detail: 'The request line and header fields together are limited to 16 KiB.' })
    : new ArchiveError('bad_request', { detail: 'The request is not well-formed HTTP/1.1 (its request line, a header field or its chunked body).' });
  const answer = problemResponse(refused, randomUUID());
  const body = Buffer.from(answer.body as string);
  const head = Object.entries({ ...answer.headers, ...TRANSPORT, 'Content-Length': String(body.length), Connection: 'close' }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 ${answer.status} ${http.STATUS_CODES[answer.status] ?? ''}\r\n${head}\r\n`), body]));
}

async function serve(routes: RouteDef[], table: CompiledRoute[], deps: Deps, req: http.IncomingMessage, res: http.ServerResponse, web: WebApp | undefined) {
  const requestId = randomUUID();
  const url = requestUrl(req);
  if (!url) {
    const refused = problemResponse(new ArchiveError('bad_request', { detail: 'The request line or Host header names no path on a host.' }), requestId);
    if (!req.readableEnded) drainAfterAnswer(req, res);
    res.writeHead(refused.status, { ...refused.headers, ...TRANSPORT }).end(refused.body);
    return;
  }
  let response: ArchiveResponse | undefined;
  // Every value of a repeated header, joined as Azure Functions' Fetch Headers join them: Node's own parser keeps only
  // the first Authorization (or Content-Type), so a request the Functions app refuses was served here.
  const headers = { get: (name: string) => headerValue(req.headersDistinct[name.toLowerCase()]) };
  if (web && url.pathname !== API_BASE && !url.pathname.startsWith(`${API_BASE}/`)) {
    response = await web.answer({ method: req.method ?? 'GET', pathname: url.pathname, headers, requestId });
  }
  const match = response ? null : matchRoute(table, req.method ?? 'GET', url.pathname);
  if (match && 'route' in match) {
    const archiveRequest: ArchiveRequest = {
      method: req.method ?? 'GET',
      url,
      params: match.params,
      headers,
      body: req.method === 'GET' || req.method === 'HEAD' ? null : req,
      clientIp: req.socket.remoteAddress ?? null,
      requestId,
    };
    response = await handleRequest(match.route, archiveRequest, deps);
  }
  response ??= routeMiss(routes, req.method ?? 'GET', url.pathname, requestId);
  // An unread upload (refused early) is drained so the client sees our answer, not a reset;
  // but only so much of it: a client that keeps sending after the answer is cut off.
  if (!req.readableEnded) drainAfterAnswer(req, res);
  res.writeHead(response.status, { 'X-Request-Id': requestId, ...response.headers, ...TRANSPORT });
  const body = response.body;
  if (body instanceof Readable) {
    // Not pipe(): a pipe leaves its source open when the client goes away mid-download, and the blob's stream
    // then stayed open, paused, with its connection to storage. pipeline ends either side with the other.
    pipeline(body, res).catch(() => undefined);
  } else {
    res.end(body);
  }
}

const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::\d{1,5})?$/;

/**
 * The request's URL, as the Functions host reads it: the path from the request line (`//x/api/…` is that
 * path, not host x and /api/…, which `new URL(target, base)` made of it), an absolute form as it is, and
 * null where the Host header names no host (it made `new URL` throw: a 500 without a body).
 */
function requestUrl(req: http.IncomingMessage): URL | null {
  const host = req.headers.host ?? 'localhost';
  if (!HOST.test(host)) return null;
  const target = req.url ?? '/';
  try {
    return target.startsWith('/') ? new URL(`http://${host}${target}`) : new URL(target);
  } catch {
    return null;
  }
}

/** Bytes of an unread request body discarded after the answer before the connection is closed. */
export const DRAIN_AFTER_ANSWER_BYTES = 1024 * 1024;

function drainAfterAnswer(req: http.IncomingMessage, res: http.ServerResponse): void {
  // The answer says `Connection: close`: without it a client's pool kept the connection for its next request,
  // which then met the close below ("other side closed") whenever the unread rest passed the drain limit.
  res.shouldKeepAlive = false;
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


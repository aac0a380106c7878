/**
 * The web app (web/dist, built by Vite) served beside the API from the same origin, by the local host
 * and by the Function App's `web` function alike: static files with their types, immutable caching for
 * hashed assets, index.html for the app's own paths, GET /web-config.json, and one strict CSP.
 */
import { createHash } from 'node:crypto';
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlibConstants, gzip } from 'node:zlib';
import { blobOriginOf, type Config, webSignInOf } from '../config';
import { ArchiveError } from '../kernel/errors';
import { problemResponse } from './pipeline';
import type { ArchiveResponse } from './types';

const brotliAsync = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

/** The API's own path; nothing under it is ever answered with the app. */
export const API_BASE = '/api';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  // pdf.js ships its CMaps and standard fonts as binary files.
  '.bcmap': 'application/octet-stream',
  '.pfb': 'application/octet-stream',
};
const COMPRESSIBLE = /^(text\/|application\/(json|javascript|manifest\+json|wasm)|image\/svg\+xml)/;

/** Vite names every built asset by its content hash, so a cached copy never goes stale. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

export interface WebAppOptions {
  /** Folder with index.html and assets/. */
  dir: string;
  config: Config;
}

/**
 * The app's Content-Security-Policy: its own origin only, plus the issuer it signs in with, and for fetch the
 * blob service, where the API sends a large download by 303 (CSP is checked again on each redirect).
 */
export function webAppCsp(issuerOrigin: string | null, blobOrigin: string | null = null): string {
  const issuer = issuerOrigin ? ` ${issuerOrigin}` : '';
  const blobs = blobOrigin ? ` ${blobOrigin}` : '';
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self'${issuer}${blobs}`,
    "worker-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    `form-action 'self'${issuer}`,
    "object-src 'none'",
  ].join('; ');
}

interface CachedFile {
  key: string;
  type: string;
  etag: string;
  body: Buffer;
  br?: Buffer;
  gzip?: Buffer;
}

export interface WebRequest {
  method: string;
  pathname: string;
  headers: { get(name: string): string | null };
  requestId: string;
}

export class WebApp {
  readonly dir: string;
  readonly csp: string;
  private readonly webConfig: string | null;
  private readonly files = new Map<string, CachedFile>();
  /** The folder with its links resolved, once it exists: every file served must resolve inside it. */
  private realDir: string | null = null;

  constructor(opts: WebAppOptions) {
    this.dir = path.resolve(opts.dir);
    const signIn = webSignInOf(opts.config);
    const issuer = signIn ? new URL(signIn.kind === 'entra' ? signIn.authority : signIn.issuer).origin : null;
    this.csp = webAppCsp(issuer, blobOriginOf(opts.config));
    this.webConfig = signIn
      ? JSON.stringify({
          auth: signIn.kind === 'entra' ? { kind: 'entra', authority: signIn.authority, clientId: signIn.clientId, scope: signIn.scope } : { kind: 'local-oidc', issuer: signIn.issuer, clientId: signIn.clientId, scope: signIn.scope },
          apiBase: opts.config.ARCHIVE_PUBLIC_BASE_PATH,
        })
      : null;
  }

  private headers(extra: Record<string, string>, requestId: string): Record<string, string> {
    // COOP: a page of another origin that opened the app keeps no handle on it (it could later send the tab to a
    // look-alike sign-in page); sign-in is by redirect, never a popup, so nothing of the app needs one. CORP: no
    // other origin embeds the app's files.
    return { 'X-Request-Id': requestId, 'Content-Security-Policy': this.csp, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Resource-Policy': 'same-origin', ...extra };
  }

  async answer(req: WebRequest): Promise<ArchiveResponse> {
    const { pathname, requestId } = req;
    const rel = relativePath(pathname);
    // Also /API/…, /%61pi/…, //api: a host whose routing ignores case or decodes first must not get the app there.
    if (pathname === API_BASE || pathname.startsWith(`${API_BASE}/`) || (rel !== null && /^api(\/|$)/i.test(rel))) {
      return problemResponse(new ArchiveError('route_not_found'), requestId, pathname);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return { status: 405, headers: this.headers({ Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }, requestId), body: 'Method not allowed\n' };
    }
    const head = req.method === 'HEAD';
    if (pathname === '/web-config.json') {
      if (!this.webConfig) {
        return problemResponse(new ArchiveError('dependency_unavailable', { detail: 'The web app cannot sign in here: ARCHIVE_WEB_AUTH is off (set ARCHIVE_WEB_AUTHORITY, ARCHIVE_WEB_CLIENT_ID and ARCHIVE_WEB_SCOPE).' }), requestId, pathname);
      }
      return { status: 200, headers: this.headers({ 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-cache' }, requestId), body: head ? '' : this.webConfig };
    }

    let file = rel === null ? null : await this.read(rel === '' ? 'index.html' : rel);
    // The app's own paths (/documents/…, /audit) are routes of the app, answered by index.html;
    // a missing file (a name with an extension, or anything under assets/) is a plain 404.
    if (!file && rel !== null && !rel.startsWith('assets/') && !path.posix.extname(rel)) {
      file = await this.read('index.html');
      if (!file) return this.notBuilt(requestId, head);
    }
    if (!file) return { status: 404, headers: this.headers({ 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache' }, requestId), body: head ? '' : 'Not found\n' };

    const cache = file.key.startsWith('assets/') ? IMMUTABLE : 'no-cache';
    const base = { 'Content-Type': file.type, 'Cache-Control': cache, ETag: file.etag, Vary: 'Accept-Encoding' };
    if (etagMatches(req.headers.get('if-none-match'), file.etag)) return { status: 304, headers: this.headers(base, requestId) };
    const accepted = req.headers.get('accept-encoding') ?? '';
    const [encoding, body] = file.br && /\bbr\b/.test(accepted) ? ['br', file.br] : file.gzip && /\bgzip\b/.test(accepted) ? ['gzip', file.gzip] : [null, file.body];
    const headers = this.headers({ ...base, 'Content-Length': String(body.length), ...(encoding ? { 'Content-Encoding': encoding } : {}) }, requestId);
    return { status: 200, headers, body: head ? '' : body };
  }

  private notBuilt(requestId: string, head: boolean): ArchiveResponse {
    const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Web app not built</title></head><body><main><h1>The web app is not built</h1><p>No <code>index.html</code> in <code>${escapeHtml(this.dir)}</code>. Build it with <code>npm run build</code> (it runs <code>npm run build:web</code>: Vite builds <code>web/</code> into <code>web/dist/</code>), then reload. The API is served at <a href="${API_BASE}/health">${API_BASE}</a> either way.</p></main></body></html>\n`;
    return { status: 503, headers: this.headers({ 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }, requestId), body: head ? '' : body };
  }

  /** A file of the app, read once and kept (with its compressed forms) until it changes on disk. */
  private async read(rel: string): Promise<CachedFile | null> {
    let full: string;
    let stat;
    try {
      // A symbolic link that leads out of the folder (a file or a folder on the way) is not the app's.
      this.realDir ??= await fsp.realpath(this.dir);
      full = await fsp.realpath(path.join(this.dir, rel));
      if (!full.startsWith(this.realDir + path.sep)) return null;
      stat = await fsp.stat(full);
    } catch {
      return null;
    }
    if (!stat.isFile()) return null;
    const key = `${rel}|${stat.size}|${stat.mtimeMs}`;
    const cached = this.files.get(rel);
    if (cached?.key === key) return cached;
    let body: Buffer;
    try {
      body = await fsp.readFile(full);
    } catch {
      return null; // unreadable (or gone meanwhile): a 404 with the CSP, not a bare 500
    }
    const type = TYPES[path.extname(rel).toLowerCase()] ?? 'application/octet-stream';
    const file: CachedFile = { key, type, body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
    if (COMPRESSIBLE.test(type) && body.length > 1024) {
      // On libuv's thread pool: level-11 brotli of a bundle takes long enough to stall other requests on the event loop.
      [file.br, file.gzip] = await Promise.all([
        brotliAsync(body, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: body.length } }),
        gzipAsync(body, { level: 9 }),
      ]);
    }
    this.files.set(rel, file);
    return file;
  }
}

/**
 * Where the built app is: ARCHIVE_WEB_DIR, else web/dist beside the package.json above this file
 * (the repository when run from source or dist/, wwwroot in the Function App's package).
 */
export function webAppDir(config: Pick<Config, 'ARCHIVE_WEB_DIR'>, from = __dirname): string {
  if (config.ARCHIVE_WEB_DIR) return path.resolve(config.ARCHIVE_WEB_DIR);
  let dir = from;
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return path.join(dir, 'web', 'dist');
}

/**
 * The request path as a path inside the app's folder ('' for the root), or null for one that
 * cannot name a file there (`..`, a NUL, a backslash, a bad escape, a hidden file).
 */
export function relativePath(pathname: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (!decoded.startsWith('/') || /[\0\\]/.test(decoded)) return null;
  const segments = decoded.slice(1).split('/');
  if (segments.some((s) => s === '..' || s === '.' || s.startsWith('.'))) return null;
  return segments.filter(Boolean).join('/');
}

function etagMatches(header: string | null, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag || t.trim() === '*');
}

/** Text for an HTML page (the not-built page here, the local issuer's login form). */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The web app's static serving under attack: nothing outside web/dist, nothing of /api, and the CSP
 * and nosniff on every answer the app gives (hostile review, brief hred).
 */
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../../shared/config';
import { WebApp } from '../../../shared/http/web-app';
import type { ArchiveResponse } from '../../../shared/http/types';
import { minimalLocalEnv } from '../../support/config-env';

let root: string;
let app: WebApp;
const SECRET = 'outside-secret';

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'web-hostile-'));
  const dist = path.join(root, 'dist');
  mkdirSync(path.join(dist, 'assets'), { recursive: true });
  writeFileSync(path.join(dist, 'index.html'), '<!doctype html><title>app</title>');
  writeFileSync(path.join(dist, 'assets', 'app-abc.js'), 'console.log(1)');
  writeFileSync(path.join(dist, 'notes.xyz'), '<script>alert(1)</script>');
  writeFileSync(path.join(root, 'secret.txt'), SECRET);
  mkdirSync(path.join(root, 'outside'));
  writeFileSync(path.join(root, 'outside', 'x.js'), SECRET);
  // Links inside the app folder that lead out of it: a file and a folder.
  symlinkSync(path.join(root, 'secret.txt'), path.join(dist, 'leak.txt'));
  symlinkSync(path.join(root, 'outside'), path.join(dist, 'assets', 'linked'));
  app = new WebApp({ dir: dist, config: loadConfig(minimalLocalEnv) });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const get = (pathname: string, method = 'GET') => app.answer({ method, pathname, headers: { get: () => null }, requestId: 'r-1' });
const text = (res: ArchiveResponse): string => (Buffer.isBuffer(res.body) ? res.body.toString('utf8') : typeof res.body === 'string' ? res.body : '');

describe('static serving never leaves web/dist', () => {
  it.each([
    '/../secret.txt',
    '/%2e%2e/secret.txt',
    '/%2E%2E%2Fsecret.txt',
    '/assets/%2e%2e/%2e%2e/secret.txt',
    '/..%5csecret.txt',
    '/assets\\..\\..\\secret.txt',
    '/index.html%00.js',
    '/%252e%252e/secret.txt',
  ])('%s answers no file from outside', async (p) => {
    const res = await get(p);
    expect(text(res)).not.toContain(SECRET);
    expect(res.status).not.toBe(500);
  });

  it('does not follow a symbolic link out of the folder (a file or a folder)', async () => {
    for (const p of ['/leak.txt', '/assets/linked/x.js']) {
      const res = await get(p);
      expect(res.status).toBe(404);
      expect(text(res)).not.toContain(SECRET);
    }
  });
});

describe('/api is never the app, however it is spelled', () => {
  it.each(['/api', '/api/nope', '/%61pi/nope', '/API/nope', '/Api', '/api%2fnope', '//api/nope', '/%41PI/x'])('%s → problem+json 404 route_not_found', async (p) => {
    const res = await get(p);
    expect(res.status).toBe(404);
    expect(res.headers!['Content-Type']).toMatch(/^application\/problem\+json/);
    expect(text(res)).not.toContain('<title>app</title>');
  });
});

describe('every answer of the app carries the CSP and nosniff', () => {
  it.each([
    ['/', 200],
    ['/documents/123', 200],
    ['/assets/app-abc.js', 200],
    ['/missing.js', 404],
    ['/assets/missing', 404],
    ['/web-config.json', 200],
    ['/%E0%A4%A', 404],
  ])('%s (%i)', async (p, status) => {
    const res = await get(p);
    expect(res.status).toBe(status);
    expect(res.headers!['Content-Security-Policy']).toContain("default-src 'self'");
    expect(res.headers!['X-Content-Type-Options']).toBe('nosniff');
    // A page of another origin that opened the app keeps no handle on its window, and embeds none of its files.
    expect(res.headers!['Cross-Origin-Opener-Policy']).toBe('same-origin');
    expect(res.headers!['Cross-Origin-Resource-Policy']).toBe('same-origin');
  });

  it('a 405 and a 304 too', async () => {
    const post = await get('/', 'POST');
    expect(post.status).toBe(405);
    expect(post.headers!['Content-Security-Policy']).toBeDefined();
    const first = await get('/assets/app-abc.js');
    const again = await app.answer({ method: 'GET', pathname: '/assets/app-abc.js', headers: { get: (n) => (n === 'if-none-match' ? first.headers!.ETag! : null) }, requestId: 'r-2' });
    expect(again.status).toBe(304);
    expect(again.headers!['Content-Security-Policy']).toBeDefined();
  });

  it('a file of unknown type is octet-stream, never sniffed as HTML', async () => {
    const res = await get('/notes.xyz');
    expect(res.headers!['Content-Type']).toBe('application/octet-stream');
    expect(res.headers!['X-Content-Type-Options']).toBe('nosniff');
  });
});

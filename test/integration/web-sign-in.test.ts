/**
 * The web app's sign-in against the local issuer (authorization code + PKCE) and the app served beside
 * the API: the development login form, the token endpoint's refusals, and the CSP on every answer.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeJwt } from 'jose';
import { newSigningKey, startOidcIssuer } from '../../local/oidc';
import { authorizeUrl, exchangeCode, pkcePair } from '../support/pkce';
import { call } from '../support/http';
import { newTenant, startTestArchive, TestArchive } from '../support/harness';

const REDIRECT = 'http://localhost:5173/signed-in';

let archive: TestArchive;
let issuer: string;
let webDir: string;

beforeAll(async () => {
  webDir = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-web-'));
  fs.mkdirSync(path.join(webDir, 'assets'));
  fs.writeFileSync(path.join(webDir, 'index.html'), '<!doctype html><html lang="en"><head><title>Archive</title><script type="module" src="/assets/index-Abc123.js"></script></head><body><div id="root"></div></body></html>');
  fs.writeFileSync(path.join(webDir, 'assets', 'index-Abc123.js'), `console.log(${JSON.stringify('x'.repeat(4000))});\n`);
  archive = await startTestArchive({ ARCHIVE_WEB_DIR: webDir });
  issuer = archive.emulators.issuer;
});
afterAll(async () => {
  await archive.stop();
  fs.rmSync(webDir, { recursive: true, force: true });
});

/** GET the form, then POST it with the person's choice, as a browser would; the answer is not followed. */
async function submitLogin(url: string, choice: Record<string, string>, at = issuer): Promise<Response> {
  const form = await fetch(url);
  expect(form.status).toBe(200);
  const hidden = [...(await form.text()).matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m): [string, string] => [m[1]!, m[2]!.replace(/&#(\d+);/g, (_, c: string) => String.fromCharCode(Number(c)))]);
  return fetch(`${at}/authorize`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams([...hidden, ...Object.entries(choice)]).toString(),
  });
}

async function codeFor(choice: Record<string, string>, opts: { challenge: string; state?: string; nonce?: string }): Promise<{ code: string; location: URL }> {
  const res = await submitLogin(authorizeUrl(issuer, { redirectUri: REDIRECT, ...opts }), choice);
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get('location')!);
  return { code: location.searchParams.get('code')!, location };
}

describe('discovery', () => {
  it('names the authorization and token endpoints, code + PKCE S256 only, and answers CORS for loopback origins only', async () => {
    const res = await fetch(`${issuer}/.well-known/openid-configuration`, { headers: { Origin: 'http://localhost:7071' } });
    const doc = await res.json();
    expect(doc).toMatchObject({
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code'],
      code_challenge_methods_supported: ['S256'],
      scopes_supported: ['openid', 'archive'],
    });
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:7071');
    const foreign = await fetch(`${issuer}/.well-known/openid-configuration`, { headers: { Origin: 'https://evil.example' } });
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('GET /authorize: the development login form', () => {
  it('is marked local only, labels every field, and carries its own strict CSP', async () => {
    const res = await fetch(authorizeUrl(issuer, { redirectUri: REDIRECT, challenge: pkcePair().challenge }));
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/style-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).toMatch(/form-action 'self' http:\/\/localhost:5173/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    const page = await res.text();
    expect(page).toContain('<html lang="en">');
    expect(page).toContain('Local development only — not in Azure');
    for (const id of ['tenant', 'person', 'rights']) expect(page).toContain(`<label for="${id}">`);
    for (const set of ['uploader', 'accountant', 'archivist', 'auditor', 'tenant-admin']) expect(page).toContain(`<option value="${set}"`);
    expect(page).not.toMatch(/<script|https?:\/\/(?!localhost|127\.0\.0\.1)/);
  });

  it.each([
    ['a non-loopback redirect URI', { redirectUri: 'https://evil.example/cb' }],
    ['a loopback look-alike host', { redirectUri: 'http://localhost.evil.example/cb' }],
    ['an unknown client', { redirectUri: REDIRECT, clientId: 'someone-else' }],
  ])('answers 400 and redirects nowhere for %s', async (_, p) => {
    const res = await fetch(authorizeUrl(issuer, { challenge: pkcePair().challenge, ...p }), { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
  });

  it('sends a request without S256 PKCE back to the app as invalid_request', async () => {
    const res = await fetch(authorizeUrl(issuer, { redirectUri: REDIRECT, challenge: pkcePair().challenge, method: 'plain', state: 's1' }), { redirect: 'manual' });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(REDIRECT);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('state')).toBe('s1');
  });
});

describe('POST /authorize and POST /token', () => {
  it('signs a person in: a code to the redirect URI with the state, exchanged once for a token the API accepts', async () => {
    const tenant = newTenant('web');
    const { verifier, challenge } = pkcePair();
    const { code, location } = await codeFor({ tenant, person: 'anna@acme.example', rights: 'accountant', kind: 'user' }, { challenge, state: 'st-1', nonce: 'n-1' });
    expect(location.searchParams.get('state')).toBe('st-1');
    expect(location.searchParams.get('iss')).toBe(issuer);
    const token = await exchangeCode(issuer, { code, verifier, redirectUri: REDIRECT });
    expect(token.status).toBe(200);
    expect(token.headers.get('cache-control')).toBe('no-store');
    expect(token.json).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    expect(decodeJwt(token.json.access_token)).toMatchObject({ iss: issuer, sub: 'anna@acme.example', archive_tenant: tenant, archive_rights: 'accountant', archive_kind: 'user', aud: 'api://document-archive' });
    expect(decodeJwt(token.json.id_token)).toMatchObject({ iss: issuer, aud: 'archive-web', sub: 'anna@acme.example', nonce: 'n-1' });

    const list = await call(`${archive.url}/documents?fiscalYear=2024`, { token: token.json.access_token });
    expect(list.status).toBe(200);
    const refused = await call(`${archive.url}/audit`, { token: token.json.access_token });
    expect(refused.status).toBe(403); // an accountant's token carries an accountant's rights, no more

    const again = await exchangeCode(issuer, { code, verifier, redirectUri: REDIRECT });
    expect(again.status).toBe(400);
    expect(again.json.error).toBe('invalid_grant');
  });

  it('refuses a wrong code verifier with invalid_grant, and the code is spent by the attempt', async () => {
    const { verifier, challenge } = pkcePair();
    const { code } = await codeFor({ tenant: newTenant('web'), person: 'bob', rights: 'auditor', kind: 'user' }, { challenge });
    const wrong = await exchangeCode(issuer, { code, verifier: pkcePair().verifier, redirectUri: REDIRECT });
    expect(wrong.status).toBe(400);
    expect(wrong.json.error).toBe('invalid_grant');
    const right = await exchangeCode(issuer, { code, verifier, redirectUri: REDIRECT });
    expect(right.json.error).toBe('invalid_grant');
  });

  it('refuses another redirect URI, another client and another grant type', async () => {
    const { verifier, challenge } = pkcePair();
    const { code } = await codeFor({ tenant: newTenant('web'), person: 'bob', rights: 'auditor', kind: 'user' }, { challenge });
    expect((await exchangeCode(issuer, { code, verifier, redirectUri: 'http://localhost:5173/other' })).json.error).toBe('invalid_grant');
    expect((await exchangeCode(issuer, { code: 'x', verifier, redirectUri: REDIRECT, clientId: 'other' })).json.error).toBe('invalid_client');
    const res = await fetch(`${issuer}/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'grant_type=password&username=a&password=b' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('unsupported_grant_type');
  });

  it('answers the token endpoint to a loopback origin (CORS), for the browser', async () => {
    const res = await fetch(`${issuer}/token`, { method: 'OPTIONS', headers: { Origin: 'http://127.0.0.1:7071', 'Access-Control-Request-Method': 'POST' } });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:7071');
    expect(res.headers.get('access-control-allow-methods')).toBe('POST');
  });

  it('re-shows the form with a message per wrong field, and sends nothing to the app', async () => {
    const res = await submitLogin(authorizeUrl(issuer, { redirectUri: REDIRECT, challenge: pkcePair().challenge }), { tenant: 'A!', person: '', rights: 'root', kind: 'user' });
    expect(res.status).toBe(400);
    const page = await res.text();
    expect(page).toContain('role="alert"');
    expect(page).toMatch(/id="tenant"[^>]*aria-describedby="tenant-hint tenant-error" aria-invalid="true" autofocus/);
    expect(page).toContain('id="person-error"');
    expect(page).toContain('id="rights-error"');
  });

  it('returns access_denied with the state when the person cancels', async () => {
    const res = await submitLogin(authorizeUrl(issuer, { redirectUri: REDIRECT, challenge: pkcePair().challenge, state: 'st-c' }), { action: 'cancel' });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(location.searchParams.get('error')).toBe('access_denied');
    expect(location.searchParams.get('state')).toBe('st-c');
  });

  it('lets a code expire after 60 seconds', async () => {
    let now = Date.now();
    const own = await startOidcIssuer(await newSigningKey(), { now: () => now });
    try {
      const { verifier, challenge } = pkcePair();
      const res = await submitLogin(authorizeUrl(own.issuer, { redirectUri: REDIRECT, challenge }), { tenant: 'acme', person: 'anna', rights: 'accountant', kind: 'user' }, own.issuer);
      const code = new URL(res.headers.get('location')!).searchParams.get('code')!;
      now += 61_000;
      const late = await exchangeCode(own.issuer, { code, verifier, redirectUri: REDIRECT });
      expect(late.json.error).toBe('invalid_grant');
    } finally {
      await own.stop();
    }
  });
});

describe('the web app beside the API', () => {
  const origin = () => archive.host.appUrl.replace(/\/$/, '');

  it('serves index.html at / and for the app\'s own paths, with the strict CSP and no caching', async () => {
    for (const p of ['/', '/documents/0190abc', '/audit']) {
      const res = await fetch(`${origin()}${p}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(await res.text()).toContain('<div id="root">');
      const csp = res.headers.get('content-security-policy')!;
      expect(csp).toBe(
        `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self' ${issuer} http://127.0.0.1:${archive.emulators.azuritePort}; worker-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self' ${issuer}; object-src 'none'`,
      );
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    }
  });

  it('serves hashed assets with their type, compressed, cached immutably, and answers 304 to their ETag', async () => {
    const res = await fetch(`${origin()}/assets/index-Abc123.js`, { headers: { 'Accept-Encoding': 'gzip' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('content-encoding')).toBe('gzip');
    expect(await res.text()).toContain('xxxx');
    const again = await fetch(`${origin()}/assets/index-Abc123.js`, { headers: { 'If-None-Match': res.headers.get('etag')! } });
    expect(again.status).toBe(304);
  });

  it('answers 404 for a missing asset or file, never the app; never serves outside its folder', async () => {
    expect((await fetch(`${origin()}/assets/gone-123.js`)).status).toBe(404);
    expect((await fetch(`${origin()}/favicon.ico`)).status).toBe(404);
    const traversal = await fetch(`${origin()}/%2e%2e/%2e%2e/package.json`);
    expect(traversal.status).toBe(404);
  });

  it('hands the browser its sign-in settings at /web-config.json', async () => {
    const res = await fetch(`${origin()}/web-config.json`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ auth: { kind: 'local-oidc', issuer, clientId: 'archive-web', scope: 'openid archive' }, apiBase: '/api' });
  });

  it('keeps /api/… the API: an unknown API path is a problem+json 404, not the app', async () => {
    const res = await fetch(`${origin()}/api/no-such-route`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect((await fetch(`${origin()}/api/health`)).status).toBe(200);
  });
});

describe('without a built app', () => {
  it('says at / how to build it', async () => {
    const bare = await startTestArchive({ ARCHIVE_WEB_DIR: path.join(os.tmpdir(), 'archive-web-missing-dir') });
    try {
      const res = await fetch(bare.host.appUrl);
      expect(res.status).toBe(503);
      expect(await res.text()).toMatch(/npm run build/);
    } finally {
      await bare.stop();
    }
  });
});

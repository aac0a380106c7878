/**
 * A local OpenID issuer: discovery document and JWKS over HTTP, so the archive verifies
 * local tokens exactly as it verifies Entra ID tokens in Azure, and the authorization code flow
 * (PKCE) through which the web app signs in locally. Local use only.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { exportJWK, generateKeyPair, importJWK, JWK, SignJWT } from 'jose';
import { closeServer, listen, Running } from './emulators';
import { AuthorizeRequest, checkAuthorize, checkChoice, errorPage, isLoopbackOrigin, LoginChoice, loginPage, loginPageCsp, withParams } from './oidc-login';
import { LOCAL_WEB_CLIENT_ID } from '../shared/config';

export const LOCAL_AUDIENCE = 'api://document-archive';

export interface TokenClaims {
  tenant: string;
  sub: string;
  rights?: string;
  /** `support` for provider staff; absent means a user. */
  kind?: 'user' | 'support';
  /** Seconds until expiry (negative for an already expired token). */
  expiresIn?: number;
  issuer?: string;
  audience?: string;
}

export interface SigningKey {
  privateJwk: JWK;
  publicJwk: JWK;
}

export async function newSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = `local-${Date.now().toString(36)}`;
  return {
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
  };
}

/** Keep the key under .local/ so tokens minted before a restart still verify after it. */
export async function loadOrCreateSigningKey(file: string): Promise<SigningKey> {
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as SigningKey;
  const key = await newSigningKey();
  fs.writeFileSync(file, JSON.stringify(key), { mode: 0o600 });
  return key;
}

export async function mintToken(key: SigningKey, issuer: string, claims: TokenClaims): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ archive_tenant: claims.tenant, ...(claims.rights ? { archive_rights: claims.rights } : {}), ...(claims.kind ? { archive_kind: claims.kind } : {}) })
    .setProtectedHeader({ alg: 'RS256', kid: key.privateJwk.kid!, typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuer(claims.issuer ?? issuer)
    .setAudience(claims.audience ?? LOCAL_AUDIENCE)
    .setIssuedAt(now)
    .setNotBefore(now - 5)
    .setExpirationTime(now + (claims.expiresIn ?? 3600));
  return jwt.sign(await importJWK(key.privateJwk, 'RS256'));
}

/** How long an authorization code may be exchanged: once, within this many seconds. */
export const CODE_SECONDS = 60;
/** Lifetime of the access and id tokens the token endpoint hands out. */
export const WEB_TOKEN_SECONDS = 3600;

interface IssuedCode {
  request: AuthorizeRequest;
  choice: LoginChoice;
  expiresAt: number;
}

export interface OidcIssuer extends Running {
  issuer: string;
  jwksUri: string;
  mint(claims: TokenClaims): Promise<string>;
}

/**
 * Discovery and JWKS, and the authorization code flow with PKCE (S256) for the web app: GET /authorize
 * shows the development login form, POST /authorize answers a code to the loopback redirect URI, and
 * POST /token exchanges it (once, within 60 s) for an access token exactly like `mintToken`'s.
 * `now` (milliseconds) lets a test move the clock.
 */
export async function startOidcIssuer(key: SigningKey, opts: { port?: number; now?: () => number } = {}): Promise<OidcIssuer> {
  let issuer = '';
  const now = opts.now ?? Date.now;
  const codes = new Map<string, IssuedCode>();
  const server = http.createServer((req, res) => {
    void handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: 'server_error' }));
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://issuer.invalid');
    const origin = req.headers.origin;
    // The web app (another loopback origin) reads discovery, the keys and the token endpoint.
    const cors: Record<string, string> = isLoopbackOrigin(origin) ? { 'Access-Control-Allow-Origin': origin, Vary: 'Origin' } : { Vary: 'Origin' };
    const send = (status: number, body: unknown, extra: Record<string, string> = {}) => {
      res.writeHead(status, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff', ...cors, ...extra });
      res.end(JSON.stringify(body));
    };
    const html = (status: number, body: string, redirectUri: string | null) => {
      res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': loginPageCsp(redirectUri), 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'Cache-Control': 'no-store' });
      res.end(body);
    };
    const redirect = (location: string) => {
      res.writeHead(302, { Location: location, 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' });
      res.end();
    };
    const path = url.pathname;
    if (req.method === 'OPTIONS' && (path === '/token' || path === '/jwks' || path === '/.well-known/openid-configuration')) {
      res.writeHead(204, { ...cors, 'Access-Control-Allow-Methods': path === '/token' ? 'POST' : 'GET', 'Access-Control-Allow-Headers': 'Content-Type', 'Access-Control-Max-Age': '600' });
      return void res.end();
    }
    if (path === '/.well-known/openid-configuration' && req.method === 'GET') {
      return send(200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        response_modes_supported: ['query'],
        grant_types_supported: ['authorization_code'],
        code_challenge_methods_supported: ['S256'],
        scopes_supported: ['openid', 'archive'],
        subject_types_supported: ['public'],
        token_endpoint_auth_methods_supported: ['none'],
        id_token_signing_alg_values_supported: ['RS256'],
        authorization_response_iss_parameter_supported: true,
      });
    }
    if (path === '/jwks' && req.method === 'GET') return send(200, { keys: [key.publicJwk] });

    if (path === '/authorize' && (req.method === 'GET' || req.method === 'POST')) {
      const params = req.method === 'GET' ? url.searchParams : await readForm(req);
      if (!params) return html(400, errorPage('The form could not be read.'), null);
      const checked = checkAuthorize(params);
      if (!checked.ok) return 'page' in checked ? html(400, errorPage(checked.page), null) : redirect(checked.redirect);
      const request = checked.request;
      if (req.method === 'GET') return html(200, loginPage(request), request.redirectUri);
      if (params.get('action') === 'cancel') {
        return redirect(withParams(request.redirectUri, { error: 'access_denied', error_description: 'Sign-in was cancelled.', state: request.state, iss: issuer }));
      }
      const result = checkChoice(params);
      if ('errors' in result) return html(400, loginPage(request, result), request.redirectUri);
      const code = randomBytes(32).toString('base64url');
      codes.set(code, { request, choice: result.choice, expiresAt: now() + CODE_SECONDS * 1000 });
      return redirect(withParams(request.redirectUri, { code, state: request.state, iss: issuer }));
    }

    if (path === '/token' && req.method === 'POST') {
      const error = (status: number, code: string, description: string) => send(status, { error: code, error_description: description }, { 'Cache-Control': 'no-store' });
      if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '')) return error(400, 'invalid_request', 'Send the form as application/x-www-form-urlencoded.');
      const params = await readForm(req);
      if (!params) return error(400, 'invalid_request', 'The form could not be read.');
      if (params.get('grant_type') !== 'authorization_code') return error(400, 'unsupported_grant_type', 'Only grant_type=authorization_code is supported.');
      if (params.get('client_id') !== LOCAL_WEB_CLIENT_ID) return error(401, 'invalid_client', `Unknown client_id; the local issuer knows ${LOCAL_WEB_CLIENT_ID}.`);
      const code = params.get('code') ?? '';
      const issued = codes.get(code);
      // Single use: the code is spent by any exchange, a failed one included.
      codes.delete(code);
      for (const [c, i] of codes) if (i.expiresAt <= now()) codes.delete(c);
      if (!issued || issued.expiresAt <= now()) return error(400, 'invalid_grant', 'The code is unknown, expired or already used.');
      if (params.get('redirect_uri') !== issued.request.redirectUri) return error(400, 'invalid_grant', 'redirect_uri differs from the one the code was issued for.');
      const verifier = params.get('code_verifier') ?? '';
      if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) || createHash('sha256').update(verifier).digest('base64url') !== issued.request.codeChallenge) {
        return error(400, 'invalid_grant', 'code_verifier does not match the code_challenge.');
      }
      const { choice, request } = issued;
      const accessToken = await mintToken(key, issuer, { tenant: choice.tenant, sub: choice.person, rights: choice.rights, kind: choice.kind, expiresIn: WEB_TOKEN_SECONDS });
      const at = Math.floor(now() / 1000);
      const idToken = await new SignJWT({ archive_tenant: choice.tenant, archive_rights: choice.rights, archive_kind: choice.kind, ...(request.nonce ? { nonce: request.nonce } : {}), auth_time: at })
        .setProtectedHeader({ alg: 'RS256', kid: key.privateJwk.kid!, typ: 'JWT' })
        .setSubject(choice.person)
        .setIssuer(issuer)
        .setAudience(request.clientId)
        .setIssuedAt(at)
        .setExpirationTime(at + WEB_TOKEN_SECONDS)
        .sign(await importJWK(key.privateJwk, 'RS256'));
      return send(200, { access_token: accessToken, token_type: 'Bearer', expires_in: WEB_TOKEN_SECONDS, id_token: idToken, scope: 'openid archive' }, { 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    }
    send(404, { error: 'not_found' });
  }

  const port = await listen(server, opts.port ?? 0);
  issuer = `http://127.0.0.1:${port}`;
  return { issuer, jwksUri: `${issuer}/jwks`, mint: (claims) => mintToken(key, issuer, claims), stop: () => closeServer(server) };
}

/** A small urlencoded form body (the login form, a token request); null when it is too big. */
async function readForm(req: http.IncomingMessage): Promise<URLSearchParams | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 16 * 1024) return null;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

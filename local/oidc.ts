/**
 * A local OpenID issuer: discovery document and JWKS over HTTP, so the archive verifies
 * local tokens exactly as it verifies Entra ID tokens in Azure. Local use only.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import { exportJWK, generateKeyPair, importJWK, JWK, SignJWT } from 'jose';
import { closeServer, listen, Running } from './emulators';

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

export async function startOidcIssuer(key: SigningKey, opts: { port?: number } = {}): Promise<Running & { issuer: string; jwksUri: string; mint(claims: TokenClaims): Promise<string> }> {
  let issuer = '';
  const server = http.createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/openid-configuration') return send(200, { issuer, jwks_uri: `${issuer}/jwks`, id_token_signing_alg_values_supported: ['RS256'] });
    if (req.url === '/jwks') return send(200, { keys: [key.publicJwk] });
    send(404, { error: 'not_found' });
  });
  const port = await listen(server, opts.port ?? 0);
  issuer = `http://127.0.0.1:${port}`;
  return { issuer, jwksUri: `${issuer}/jwks`, mint: (claims) => mintToken(key, issuer, claims), stop: () => closeServer(server) };
}

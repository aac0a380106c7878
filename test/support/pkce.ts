/** PKCE (RFC 7636, S256) and the token request, as the web app does them: for the issuer tests. */
import { createHash, randomBytes } from 'node:crypto';

export const WEB_CLIENT_ID = 'archive-web';

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export function authorizeUrl(issuer: string, p: { redirectUri: string; challenge: string; state?: string; nonce?: string; clientId?: string; method?: string }): string {
  const url = new URL(`${issuer}/authorize`);
  url.search = new URLSearchParams({
    client_id: p.clientId ?? WEB_CLIENT_ID,
    redirect_uri: p.redirectUri,
    response_type: 'code',
    scope: 'openid archive',
    state: p.state ?? randomBytes(8).toString('hex'),
    code_challenge: p.challenge,
    code_challenge_method: p.method ?? 'S256',
    ...(p.nonce ? { nonce: p.nonce } : {}),
  }).toString();
  return url.toString();
}

export async function exchangeCode(issuer: string, p: { code: string; verifier: string; redirectUri: string; clientId?: string }): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: p.code, redirect_uri: p.redirectUri, client_id: p.clientId ?? WEB_CLIENT_ID, code_verifier: p.verifier }).toString(),
  });
  return { status: res.status, json: await res.json(), headers: res.headers };
}

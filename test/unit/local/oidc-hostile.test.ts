/**
 * The local issuer's /authorize under attack (brief hred): no redirect off the loopback host, no PKCE
 * downgrade, state required; every refusal of an untrusted redirect URI is a page, never a redirect.
 */
import { checkAuthorize, isLoopbackOrigin, isLoopbackRedirect } from '../../../local/oidc-login';

const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const ask = (over: Record<string, string | null>) => {
  const base: Record<string, string | null> = { client_id: 'archive-web', redirect_uri: 'http://localhost:5173/callback', response_type: 'code', state: 's-1', code_challenge: CHALLENGE, code_challenge_method: 'S256' };
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...base, ...over })) if (v !== null) p.set(k, v);
  return checkAuthorize(p);
};

describe('redirect_uri: loopback only, however it is dressed', () => {
  it.each([
    'http://localhost@evil.example/cb',
    'http://localhost:5173@evil.example/cb',
    'http://user:pw@localhost:5173/cb',
    'http://localhost.evil.example/cb',
    'http://evil.example/localhost',
    'http://127.0.0.1.nip.io/cb',
    'http://127.0.0.2/cb',
    'http://[::1]:5173/cb',
    'http://[::ffff:7f00:1]/cb',
    'https://localhost/cb',
    'javascript://localhost/%0aalert(1)',
    'data:text/html,x',
    '//localhost/cb',
    '/cb',
    'http://localhost:5173/cb#frag',
    'http://evil.example\\@localhost/cb',
    'http://localhost%2eevil.example/cb',
  ])('%s is refused with a page, nothing sent there', (uri) => {
    expect(isLoopbackRedirect(uri)).toBe(false);
    const answer = ask({ redirect_uri: uri });
    expect(answer).toMatchObject({ ok: false });
    expect('page' in answer).toBe(true);
  });

  it.each(['http://localhost:5173/cb', 'http://127.0.0.1:7071/', 'http://localhost/cb?x=1'])('%s is accepted (RFC 8252: any port)', (uri) => {
    expect(ask({ redirect_uri: uri })).toMatchObject({ ok: true });
  });

  it('an unknown client is a page, even with a loopback redirect', () => {
    expect(ask({ client_id: 'other-app' })).toMatchObject({ ok: false, page: expect.stringContaining('Unknown client_id') });
  });
});

describe('PKCE and state', () => {
  it.each([
    ['plain', { code_challenge_method: 'plain' }],
    ['no method', { code_challenge_method: null }],
    ['lower-case s256', { code_challenge_method: 's256' }],
    ['no challenge', { code_challenge: null }],
    ['a short challenge', { code_challenge: 'abc' }],
    ['no state', { state: null }],
    ['an implicit grant', { response_type: 'token' }],
  ])('%s → an OAuth error back to the app', (_what, over) => {
    const answer = ask(over);
    expect(answer).toMatchObject({ ok: false, redirect: expect.stringMatching(/^http:\/\/localhost:5173\/callback\?error=/) });
  });
});

describe('CORS: loopback origins only', () => {
  it.each(['http://localhost:5173', 'http://127.0.0.1'])('%s allowed', (o) => expect(isLoopbackOrigin(o)).toBe(true));
  it.each(['http://localhost.evil.example', 'https://localhost', 'null', 'http://localhost:5173/', 'http://127.0.0.1@evil', undefined])('%s refused', (o) => expect(isLoopbackOrigin(o)).toBe(false));
});

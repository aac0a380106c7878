/**
 * Identity under attack by someone with a valid account (tokens of their own, their API keys): who the tenant is and
 * who the person is come from the credential only, and a person the identity provider names is one person whatever
 * the length of the name it gives. What security.test.ts, token-claims and verify-api-key already try is not repeated.
 */
import { type KeyObject, sign } from 'node:crypto';
import { importJWK, SignJWT } from 'jose';
import { LOCAL_AUDIENCE, newSigningKey } from '../../local/oidc';
import { call } from '../support/http';
import { newTenant, startTestArchive, TestArchive } from '../support/harness';

let archive: TestArchive;
beforeAll(async () => {
  archive = await startTestArchive();
});
afterAll(() => archive.stop());

const get = (path: string, authorization: string) => call(`${archive.url}${path}`, { headers: { Authorization: authorization } });

it('a person whose subject is long (up to the 256 characters a token may name) signs in again with another claimed set, and their sign-in record is read', async () => {
  const tenant = newTenant('id-long');
  // 250 characters: the sighting's record id `person-sighting:<subject>` is past the 255 an item id the store reads may have.
  const sub = `${'p'.repeat(236)}@acme.example`.slice(0, 250);
  for (const rights of ['archivist', 'auditor', 'archivist']) {
    const res = await get('/documents', `Bearer ${await archive.token({ tenant, sub, rights })}`);
    expect(res.status).toBe(200);
  }
});

/** A token the archive's issuer really signed, with these claims and header fields over a valid access token's. */
async function signed(claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  const key = archive.emulators.signingKey;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: 'mallory', iss: archive.emulators.issuer, aud: LOCAL_AUDIENCE, iat: now, exp: now + 600, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: key.privateJwk.kid!, typ: 'JWT', ...header })
    .sign(await importJWK(key.privateJwk, 'RS256'));
}

/** A compact JWS the issuer's key signed over exactly this header (jose will not sign a `crit` it does not know). */
async function signedRaw(header: Record<string, unknown>, payload: Record<string, unknown>): Promise<string> {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  const key = (await importJWK(archive.emulators.signingKey.privateJwk, 'RS256')) as KeyObject;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

it('a signed token naming its tenant as anything but one tenant id (a number, a list, an object, empty, other case, a look-alike) is 401, never a tenant', async () => {
  const tenant = newTenant('id-claim');
  for (const claim of [42, [tenant], [tenant, 'other-tenant'], { id: tenant }, '', tenant.toUpperCase(), `${tenant} `, `${tenant}\u200b`, `ａ${tenant.slice(1)}`, null, true]) {
    const res = await get('/documents', `Bearer ${await signed({ archive_tenant: claim, archive_rights: 'tenant-admin' })}`);
    expect([JSON.stringify(claim), res.status]).toEqual([JSON.stringify(claim), 401]);
  }
});

it("a token whose header names a key of the attacker's choice (jwk, jku, x5u, an unknown kid) or a critical extension is 401", async () => {
  const tenant = newTenant('id-hdr');
  const forger = await newSigningKey();
  const { kid: _k, alg: _a, use: _u, ...forgerPublic } = forger.publicJwk;
  const forged = async (header: Record<string, unknown>) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ sub: 'mallory', archive_tenant: tenant, archive_rights: 'tenant-admin', iss: archive.emulators.issuer, aud: LOCAL_AUDIENCE, iat: now, exp: now + 600 })
      .setProtectedHeader({ alg: 'RS256', ...header })
      .sign(await importJWK(forger.privateJwk, 'RS256'));
  };
  const tokens = [
    await forged({ jwk: forgerPublic }),
    await forged({ jku: 'http://127.0.0.1:1/jwks', kid: forger.privateJwk.kid! }),
    await forged({ x5u: 'http://127.0.0.1:1/cert.pem' }),
    await forged({ kid: `${forger.privateJwk.kid!}-unknown` }),
    // The issuer's own key, but a header the archive does not understand and is told it must.
    await signedRaw({ alg: 'RS256', kid: archive.emulators.signingKey.privateJwk.kid!, crit: ['exp-policy'], 'exp-policy': 'never' }, { sub: 'mallory', archive_tenant: tenant, archive_rights: 'tenant-admin', iss: archive.emulators.issuer, aud: LOCAL_AUDIENCE, exp: Math.floor(Date.now() / 1000) + 600 }),
  ];
  for (const token of tokens) expect((await get('/documents', `Bearer ${token}`)).status).toBe(401);
});

it('a token is honoured up to exp plus the clock tolerance and refused past it; one not yet valid past the tolerance is refused', async () => {
  const tenant = newTenant('id-skew');
  const now = Math.floor(Date.now() / 1000);
  const tolerance = 30; // the harness's AUTH_CLOCK_TOLERANCE_SECONDS (local default)
  const at = async (claims: Record<string, unknown>) => (await get('/documents', `Bearer ${await signed({ archive_tenant: tenant, archive_rights: 'auditor', ...claims })}`)).status;
  expect(await at({ exp: now - tolerance + 5, iat: now - 600 })).toBe(200);
  expect(await at({ exp: now - tolerance - 5, iat: now - 600 })).toBe(401);
  expect(await at({ nbf: now + tolerance + 60 })).toBe(401);
});

it("an API key of tenant A is never tenant B's: not renamed to B, not with its case, padding or spacing changed, not cut short, not beside a bearer token", async () => {
  const a = newTenant('id-ka');
  const b = newTenant('id-kb');
  const adminA = await archive.token({ tenant: a, sub: 'carol', rights: 'integration-admin' });
  await archive.token({ tenant: b, sub: 'dave', rights: 'integration-admin' });
  const made = await call(`${archive.url}/api-keys`, { method: 'POST', body: JSON.stringify({ name: 'scanner', rightsSet: 'uploader' }), headers: { 'Content-Type': 'application/json' }, token: adminA });
  expect(made.status).toBe(201);
  const key: string = made.json.key;
  expect((await get('/documents', `ApiKey ${key}`)).status).toBe(200);
  const secret = key.slice(-43);
  const variants = [
    key.replace(`arch_${a}_`, `arch_${b}_`),
    key.toUpperCase(),
    `${key.slice(0, -43)}${secret[0] === 'A' ? 'B' : 'A'}${secret.slice(1)}`,
    `${key}=`,
    `${key}==`,
    key.slice(0, -1),
    key.slice(0, -43),
    `${key} ${key}`,
    `${key}, Bearer ${adminA}`,
  ];
  for (const v of variants) expect([v.slice(0, 40), (await get('/documents', `ApiKey ${v}`)).status]).toEqual([v.slice(0, 40), 401]);
  for (const header of [`apikey ${key}`, `ApiKey  ${key}`, `ApiKey\t${key}`, `Bearer ${key}`, `Bearer ${adminA} ApiKey ${key}`]) expect((await get('/documents', header)).status).toBe(401);
  // Nothing beside the key names a tenant: a `tenant` query is refused as a parameter the route does not take.
  const listed = await call(`${archive.url}/documents?tenant=${b}`, { headers: { Authorization: `ApiKey ${key}`, 'X-Tenant': b, 'X-Ms-Client-Principal-Name': 'dave' } });
  expect(listed.status).toBe(400);
});

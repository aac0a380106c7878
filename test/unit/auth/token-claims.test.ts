import { importJWK, SignJWT } from 'jose';
import { Authenticator } from '../../../shared/auth/authenticate';
import { ArchiveError } from '../../../shared/kernel/errors';
import { LOCAL_AUDIENCE, newSigningKey, startOidcIssuer, type OidcIssuer, type SigningKey } from '../../../local/oidc';
import { PersonSightings } from '../../../shared/auth/person-sightings';
import { inMemoryDeps } from '../../support/in-memory';
import { authenticatorOver, localIssuerSettings } from '../../support/authenticator';

const T = 'acme';
let key: SigningKey;
let issuer: OidcIssuer;
let authenticator: Authenticator;
let records: ReturnType<typeof inMemoryDeps>['tenantRecords'];
let sealing: ReturnType<typeof inMemoryDeps>;

beforeAll(async () => {
  key = await newSigningKey();
  issuer = await startOidcIssuer(key);
});
afterAll(() => issuer.stop());
beforeEach(() => {
  const deps = inMemoryDeps();
  records = deps.tenantRecords;
  sealing = deps;
  const settings = localIssuerSettings(issuer, { clockToleranceSeconds: 30 });
  authenticator = authenticatorOver(deps, settings);
});

/** A token the issuer really signed, with these claims and header fields over a valid access token's. */
async function token(claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ archive_tenant: T, sub: 'alice@acme.example', iss: issuer.issuer, aud: LOCAL_AUDIENCE, iat: now, exp: now + 600, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: key.privateJwk.kid!, ...header })
    .sign(await importJWK(key.privateJwk, 'RS256'));
}

async function refusal(bearer: string): Promise<unknown> {
  return authenticator.authenticate(`Bearer ${bearer}`).then(() => null, (e: unknown) => e);
}

it('a rights claim the archive cannot read (a list, an object, null) or none at all grants nothing', async () => {
  for (const rights of [['uploader'], { set: 'uploader' }, null, 7]) {
    const principal = await authenticator.authenticate(`Bearer ${await token({ archive_rights: rights })}`);
    expect([...principal.permissions]).toEqual([]);
    expect(principal.denial).toMatchObject({ code: 'unauthenticated' });
  }
  // Absent, nothing either (an identity provider that lost its claims mapping must not make everyone an
  // archivist): authenticated, allowed nothing, so every route answers 403. A name: that set.
  const unclaimed = await authenticator.authenticate(`Bearer ${await token({})}`);
  expect(unclaimed).toMatchObject({ rightsSet: '', subject: 'alice@acme.example' });
  expect([...unclaimed.permissions]).toEqual([]);
  expect(unclaimed.denial).toBeUndefined();
  expect((await authenticator.authenticate(`Bearer ${await token({ archive_rights: 'uploader' })}`)).rightsSet).toBe('uploader');
});

it('a rights claim that is no rights-set name (a lone surrogate, a path, 10,000 characters) names no set, and is refused as one it cannot read', async () => {
  for (const rights of ['\ud800', 'a\u0000b', '../../x', 'x'.repeat(10_000), 'Uploader', '']) {
    const principal = await authenticator.authenticate(`Bearer ${await token({ archive_rights: rights })}`);
    expect([JSON.stringify(rights).slice(0, 20), principal.rightsSet, principal.denial?.message]).toEqual([JSON.stringify(rights).slice(0, 20), '', "The token's rights claim is not one rights-set name."]);
  }
});

it('a JWT of another type than an access token (a logout token, a DPoP proof) is refused, as the issuer signed it for another use', async () => {
  for (const typ of ['logout+jwt', 'dpop+jwt', 'secevent+jwt', 'application/id_token+jwt']) {
    expect(await refusal(await token({}, { typ }))).toMatchObject({ code: 'unauthenticated' });
  }
  // An access token: no typ, the generic JWT, or RFC 9068's at+jwt (its media-type form too).
  for (const header of [{}, { typ: 'JWT' }, { typ: 'at+jwt' }, { typ: 'application/at+JWT' }]) {
    expect((await authenticator.authenticate(`Bearer ${await token({}, header)}`)).tenantId).toBe(T);
  }
});

it("a subject that is not a short plain name is refused 401: not a string, empty, over 256 characters, with controls or bidi overrides, or one of the archive's API-key subjects", async () => {
  for (const sub of [12345, { id: 'alice' }, ['alice'], '', 'x'.repeat(257), 'alice\u0000', 'ali\u202ece', 'apikey:0123456789abcdef01234567']) {
    const refused = await refusal(await token({ sub }));
    expect(refused).toBeInstanceOf(ArchiveError);
    expect(refused).toMatchObject({ code: 'unauthenticated' });
  }
  expect((await authenticator.authenticate(`Bearer ${await token({ sub: 'x'.repeat(256) })}`)).subject).toHaveLength(256);
  expect((await authenticator.authenticate(`Bearer ${await token({ sub: 'Zoë\u200f@acme.example' })}`)).subject).toBe('Zoë\u200f@acme.example');
});

it('a token issued in the future (iat past the clock tolerance) is refused 401', async () => {
  const now = Math.floor(Date.now() / 1000);
  expect(await refusal(await token({ iat: now + 3600, exp: now + 7200 }))).toMatchObject({ code: 'unauthenticated' });
  expect(await refusal(await token({ iat: 'yesterday' }))).toMatchObject({ code: 'unauthenticated' });
  // Within the tolerance (30 s here), as a clock a little ahead of ours issues it.
  expect((await authenticator.authenticate(`Bearer ${await token({ iat: now + 20 })}`)).tenantId).toBe(T);
});

it('a token issued before the newest one seen does not bring its broader rights claim back for the person\'s API keys (they act on the last sighting)', async () => {
  const now = Math.floor(Date.now() / 1000);
  // The identity provider narrowed alice from tenant-admin to accountant; her old token is still valid for a while.
  await authenticator.authenticate(`Bearer ${await token({ archive_rights: 'accountant', iat: now })}`);
  const old = await authenticator.authenticate(`Bearer ${await token({ archive_rights: 'tenant-admin', iat: now - 1800 })}`);
  expect(old.rightsSet).toBe('tenant-admin'); // the old token itself acts until it expires, as any JWT does
  expect((await new PersonSightings(records, sealing).lastForKey(T, 'alice@acme.example', new Date()))?.record.rightsSet).toBe('accountant');
  // A newer sign-in still replaces it at once.
  await authenticator.authenticate(`Bearer ${await token({ archive_rights: 'auditor', iat: now + 5 })}`);
  expect((await new PersonSightings(records, sealing).lastForKey(T, 'alice@acme.example', new Date()))?.record.rightsSet).toBe('auditor');
});

it('a token whose exp or iat is no instant with a four-digit year (1e300, Infinity, past 9999) is refused with 401, not a 500', async () => {
  // Written as the identity provider could sign them: 1e309 is read as Infinity.
  const raw = async (times: string) => {
    const { CompactSign } = await import('jose');
    const payload = `{"archive_tenant":"${T}","sub":"alice@acme.example","iss":"${issuer.issuer}","aud":"${LOCAL_AUDIENCE}","archive_rights":"uploader",${times}}`;
    return new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader({ alg: 'RS256', kid: key.privateJwk.kid! }).sign(await importJWK(key.privateJwk, 'RS256'));
  };
  const now = Math.floor(Date.now() / 1000);
  for (const times of ['"exp":1e300', '"exp":1e309', '"exp":9000000000000', '"exp":253402300800', `"exp":${now + 600},"iat":-1e309`, `"exp":${now + 600},"iat":-62167219201`]) {
    expect([times, await refusal(await raw(times))]).toEqual([times, expect.objectContaining({ code: 'unauthenticated' })]);
  }
  // The last instants with four-digit years still are times.
  expect((await authenticator.authenticate(`Bearer ${await raw('"exp":253402300799')}`)).credentialExpiresAt).toBe('9999-12-31T23:59:59.000Z');
  expect((await authenticator.authenticate(`Bearer ${await raw(`"exp":${now + 600},"iat":-62167219200`)}`)).tenantId).toBe(T);
});

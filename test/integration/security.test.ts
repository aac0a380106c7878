/** Credentials, tenancy and the audit log over HTTP. */
import { SignJWT, importJWK } from 'jose';
import { LOCAL_AUDIENCE, mintToken, newSigningKey } from '../../local/oidc';
import { ROUTES } from '../../functions/routes';
import { PERMISSIONS } from '../../shared/kernel/principal';
import { neededPermissions } from '../../shared/http/operation';
import { call, rawUpload } from '../support/http';
import { corpusFile, newTenant, startTestArchive, TestArchive } from '../support/harness';

let archive: TestArchive;
let tenantA: string;
let tenantB: string;
let tokenA: string;
let tokenB: string;
let docA: string;

beforeAll(async () => {
  archive = await startTestArchive();
  tenantA = newTenant('sec-a');
  tenantB = newTenant('sec-b');
  tokenA = await archive.token({ tenant: tenantA, sub: 'alice', rights: 'archivist' });
  tokenB = await archive.token({ tenant: tenantB, sub: 'bob', rights: 'tenant-admin' });
  docA = (await call(`${archive.url}/documents`, { ...rawUpload(corpusFile('img2pdf/normal.jpg'), 'image/jpeg'), token: tokenA })).json.id;
});
afterAll(() => archive.stop());

const unsigned = (payload: Record<string, unknown>) =>
  `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.`;

describe('401 for every credential that is not valid', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const cases: [string, () => Promise<string | null>][] = [
    ['no credential', async () => null],
    ['a malformed header', async () => 'Basic YWxpY2U6c2VjcmV0'],
    ['an expired token', async () => `Bearer ${await archive.token({ tenant: tenantA, sub: 'alice', expiresIn: -600 })}`],
    ['a token from another issuer', async () => `Bearer ${await archive.token({ tenant: tenantA, sub: 'alice', issuer: 'https://evil.example' })}`],
    ['a token for another audience', async () => `Bearer ${await archive.token({ tenant: tenantA, sub: 'alice', audience: 'api://other' })}`],
    ['alg: none', async () => `Bearer ${unsigned({ sub: 'alice', archive_tenant: tenantA, iss: archive.emulators.issuer, aud: LOCAL_AUDIENCE, exp: now() + 600 })}`],
    ['a forged signature (unknown key with the same kid)', async () => {
      const forger = await newSigningKey();
      forger.privateJwk.kid = archive.emulators.signingKey.privateJwk.kid;
      return `Bearer ${await mintToken(forger, archive.emulators.issuer, { tenant: tenantA, sub: 'alice' })}`;
    }],
    ['HS256 signed with the public key', async () => {
      const secret = Buffer.from(JSON.stringify(archive.emulators.signingKey.publicJwk));
      const jwt = await new SignJWT({ archive_tenant: tenantA }).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setIssuer(archive.emulators.issuer).setAudience(LOCAL_AUDIENCE).setExpirationTime('10m').sign(secret);
      return `Bearer ${jwt}`;
    }],
    // Azure refuses the container `tenant-sec--a`: accepted, the tenant's first upload was a 500.
    ['a token naming a tenant id no blob container can have', async () => `Bearer ${await archive.token({ tenant: 'sec--a', sub: 'alice', rights: 'archivist' })}`],
    ['a token without a tenant', async () => {
      const key = await importJWK(archive.emulators.signingKey.privateJwk, 'RS256');
      const jwt = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: archive.emulators.signingKey.privateJwk.kid! }).setSubject('alice').setIssuer(archive.emulators.issuer).setAudience(LOCAL_AUDIENCE).setExpirationTime('10m').sign(key);
      return `Bearer ${jwt}`;
    }],
  ];
  it.each(cases)('%s', async (_, make) => {
    const auth = await make();
    for (const path of [`/documents`, `/documents/${docA}`, `/documents/${docA}/original`, `/audit`]) {
      const res = await call(`${archive.url}${path}`, { headers: auth ? { Authorization: auth } : {} });
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
  });
});

describe('tenancy', () => {
  it('answers another tenant\'s document exactly like a missing one, on every document route', async () => {
    const missing = '0190aaaa-0000-7000-8000-000000000000';
    for (const suffix of ['', '/original', '/originals/1', '/rendition']) {
      const other = await call(`${archive.url}/documents/${docA}${suffix}`, { token: tokenB });
      const none = await call(`${archive.url}/documents/${missing}${suffix}`, { token: tokenB });
      expect(other.status).toBe(404);
      expect(none.status).toBe(404);
      const strip = (j: { detail: string; requestId: string; instance: string }) => ({ ...j, detail: j.detail.replace(docA, 'ID').replace(missing, 'ID'), requestId: '', instance: '' });
      expect(strip(other.json)).toEqual(strip(none.json));
      expect(other.bytes.toString()).not.toContain(tenantA);
    }
    const list = await call(`${archive.url}/documents`, { token: tokenB });
    expect(list.json.items).toEqual([]);
  });

  it('every tenant route in the route table names its permissions (one, or all of a list) from the closed list and an audit action', () => {
    for (const route of ROUTES) {
      if (route.auth === 'public') expect(['health', 'health/ready', 'openapi.json']).toContain(route.route);
      else {
        const needs = neededPermissions(route);
        expect({ route: route.name, unknown: needs.filter((p) => !(PERMISSIONS as readonly string[]).includes(p)), any: needs.length > 0, action: route.action }).toEqual({ route: route.name, unknown: [], any: true, action: expect.any(String) });
      }
    }
  });

  it('refuses a rights set without the needed permission with 403', async () => {
    const accountant = await archive.token({ tenant: tenantA, sub: 'carol', rights: 'accountant' });
    const res = await call(`${archive.url}/documents`, { ...rawUpload(corpusFile('img2pdf/gray.png'), 'image/png'), token: accountant });
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ code: 'forbidden', permission: 'documents:write' });
  });
});

describe('audit log', () => {
  it('records one entry per request, including refused ones, readable by the tenant only', async () => {
    const t = newTenant('audit');
    const uploader = await archive.token({ tenant: t, sub: 'dave', rights: 'archivist' });
    const auditor = await archive.token({ tenant: t, sub: 'erin', rights: 'auditor' });
    const up = await call(`${archive.url}/documents`, { ...rawUpload(corpusFile('img2pdf/normal.png'), 'image/png'), token: uploader, headers: { 'Content-Type': 'image/png', 'User-Agent': 'bookkeeper/1.0' } });
    await call(`${archive.url}/documents/${up.json.id}/rendition`, { token: uploader });
    await call(`${archive.url}/documents`, { ...rawUpload(Buffer.from('<html>'), 'image/jpeg'), token: uploader });
    const log = await call(`${archive.url}/audit`, { token: auditor });
    expect(log.status).toBe(200);
    const entries = log.json.items as { action: string; outcome: string; status: number; target: string | null; actor: { subject: string }; userAgent: string; clientIp: string; requestId: string }[];
    expect(entries.map((e) => [e.action, e.outcome, e.status])).toEqual([
      ['document.ingest', 'refused', 415],
      ['document.download-rendition', 'success', 200],
      ['document.ingest', 'success', 201],
    ]);
    expect(entries[2]).toMatchObject({ target: up.json.id, actor: { subject: 'dave', kind: 'user' }, userAgent: 'bookkeeper/1.0', clientIp: expect.any(String), requestId: expect.any(String) });
    const fromB = await call(`${archive.url}/audit`, { token: tokenB });
    expect(JSON.stringify(fromB.json)).not.toContain(t);
  });
});

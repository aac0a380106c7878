/**
 * Route-by-route security matrix, generated from the route table: every tenant route, every
 * kind of bad or insufficient credential, the expected status, and no body that leaks another
 * tenant's data. One host, one set of principals; adding a route adds its rows automatically.
 */
import { importJWK, SignJWT } from 'jose';
import { ROUTES } from '../../functions/routes';
import { PERMISSIONS, Permission, SUPPORT_SCOPES } from '../../shared/kernel/principal';
import type { TenantRoute } from '../../shared/http/pipeline';
import { neededPermissions } from '../../shared/http/operation';
import { LOCAL_AUDIENCE, mintToken, newSigningKey } from '../../local/oidc';
import { call, rawUpload } from '../support/http';
import { corpusFile, newTenant, startTestArchive, TestArchive } from '../support/harness';
import { seedRightsSet, seedSodPolicy } from '../support/rights-seed';
import type { SupportGrantRecord } from '../../shared/auth/support-grants/support-grant';
import { sealRecord } from '../../shared/auth/api-keys/key-seal';

const TENANT_ROUTES = ROUTES.filter((r): r is TenantRoute => r.auth === 'tenant');
const json = (method: string, body: unknown): RequestInit => ({ method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
const inDays = (d: number) => new Date(Date.now() + d * 86400_000).toISOString();
const setName = (p: Permission) => `no-${p.replace(':', '-')}`;
const needs = neededPermissions;

let archive: TestArchive;
const A = { tenant: '', doc: '', keyId: '', grantId: '', admin: '', sha256: '' };
const B = { tenant: '', root: '' };
const auth: Record<string, string> = {};

beforeAll(async () => {
  // The sweep sends every route's refusal as one principal; the refusal limit has its own tests.
  archive = await startTestArchive({ ARCHIVE_REFUSAL_BURST: '10000' });
  A.tenant = newTenant('mx-a');
  const tenantB = newTenant('mx-b');
  const tenantC = newTenant('mx-c');
  const token = (tenant: string, sub: string, extra: { rights?: string; kind?: 'support'; expiresIn?: number; audience?: string } = {}) => archive.token({ tenant, sub, ...extra });
  const writer = await token(A.tenant, 'writer-a', { rights: 'archivist' });
  const up = await call(`${archive.url}/documents`, { ...rawUpload(corpusFile('img2pdf/normal.jpg'), 'image/jpeg'), token: writer });
  A.doc = up.json.id;
  A.sha256 = up.json.original.sha256;

  // Tenant A: no declared conflicts, so one set per permission can hold all the others.
  const put = async (tenantAdmin: string, path: string, body: unknown) => {
    const res = await call(`${archive.url}${path}`, { ...json('PUT', body), token: tenantAdmin });
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${res.bytes.toString()}`);
  };
  await seedSodPolicy(archive, A.tenant, { conflicts: [] });
  // Rights ceiling: only a principal holding every permission may grant them all; the operator seeds that set.
  await seedRightsSet(archive, A.tenant, 'everything', PERMISSIONS);
  A.admin = await token(A.tenant, 'admin-a', { rights: 'everything' });
  for (const p of PERMISSIONS) {
    await put(A.admin, `/rights-sets/${setName(p)}`, { permissions: PERMISSIONS.filter((q) => q !== p) });
    await put(A.admin, `/rights-assignments/without-${p}`, { rightsSet: setName(p) });
    auth[`without ${p}`] = `Bearer ${await token(A.tenant, `without-${p}`)}`;
  }
  const key = await call(`${archive.url}/api-keys`, { ...json('POST', { name: 'soon revoked', rightsSet: 'everything' }), token: A.admin });
  A.keyId = key.json.id;
  await call(`${archive.url}/api-keys/${A.keyId}`, { method: 'DELETE', token: A.admin });
  A.grantId = (await call(`${archive.url}/support-grants`, { ...json('POST', { ticket: 'MX-1', expiresAt: inDays(1) }), token: A.admin })).json.id;

  // Tenant B: principals holding every permission.
  await seedSodPolicy(archive, tenantB, { conflicts: [] });
  await seedRightsSet(archive, tenantB, 'everything', PERMISSIONS);
  B.tenant = tenantB;
  B.root = await token(tenantB, 'root-b', { rights: 'everything' });

  // Tenant C: a grant that has expired.
  const adminC = await token(tenantC, 'admin-c', { rights: 'tenant-admin' });
  const grantC = (await call(`${archive.url}/support-grants`, { ...json('POST', { ticket: 'MX-2', expiresAt: inDays(1) }), token: adminC })).json.id;
  const item = archive.host.deps.cosmos.tenants.item(`support-grant:${grantC}`, tenantC);
  const { resource } = await item.read();
  const past = new Date(Date.now() - 1000).toISOString();
  await item.replace(await sealRecord({ ...resource, expiresAt: past, endsAt: past } as SupportGrantRecord, archive.host.deps.audit.chainKeys)); // as stored once it ended, sealed as the archive seals it

  const forger = await newSigningKey();
  forger.privateJwk.kid = archive.emulators.signingKey.privateJwk.kid;
  const now = Math.floor(Date.now() / 1000);
  const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'admin-a', archive_tenant: A.tenant, archive_rights: 'tenant-admin', iss: archive.emulators.issuer, aud: LOCAL_AUDIENCE, exp: now + 600 })).toString('base64url')}.`;
  const hs256 = await new SignJWT({ archive_tenant: A.tenant, archive_rights: 'tenant-admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject('admin-a').setIssuer(archive.emulators.issuer).setAudience(LOCAL_AUDIENCE).setExpirationTime('10m').sign(Buffer.from(JSON.stringify(archive.emulators.signingKey.publicJwk)));
  const noKind = await importJWK(archive.emulators.signingKey.privateJwk, 'RS256');
  const oddKind = await new SignJWT({ archive_tenant: A.tenant, archive_kind: 'root' }).setProtectedHeader({ alg: 'RS256', kid: archive.emulators.signingKey.privateJwk.kid! }).setSubject('admin-a').setIssuer(archive.emulators.issuer).setAudience(LOCAL_AUDIENCE).setExpirationTime('10m').sign(noKind);
  Object.assign(auth, {
    'no credential': '',
    'expired token': `Bearer ${await token(A.tenant, 'admin-a', { rights: 'tenant-admin', expiresIn: -600 })}`,
    'forged signature': `Bearer ${await mintToken(forger, archive.emulators.issuer, { tenant: A.tenant, sub: 'admin-a', rights: 'tenant-admin' })}`,
    'alg none': `Bearer ${none}`,
    'HS256 with the public key': `Bearer ${hs256}`,
    'wrong audience': `Bearer ${await token(A.tenant, 'admin-a', { rights: 'tenant-admin', audience: 'api://other' })}`,
    'unknown principal kind': `Bearer ${oddKind}`,
    'revoked API key': `ApiKey ${key.json.key}`,
    'malformed API key': `ApiKey arch_${A.tenant}_${A.keyId}_short`,
    'support without grant': `Bearer ${await token(tenantB, 'staff-1', { kind: 'support', rights: 'tenant-admin' })}`,
    'support with expired grant': `Bearer ${await token(tenantC, 'staff-1', { kind: 'support', rights: 'tenant-admin' })}`,
    'support with grant': `Bearer ${await token(A.tenant, 'staff-1', { kind: 'support', rights: 'tenant-admin' })}`,
    "other tenant's token": `Bearer ${await token(tenantB, 'all-b', { rights: 'everything' })}`,
  });
});
afterAll(() => archive.stop());

/** A concrete URL for a route: its parameters point at tenant A's objects. */
function pathOf(route: TenantRoute): string {
  const params: Record<string, string> = {
    id: route.route.startsWith('api-keys') ? A.keyId : route.route.startsWith('support-grants') ? A.grantId : A.doc,
    part: '1',
    holdId: '0190aaaa-0000-7000-8000-000000000001',
    name: setName('documents:read'),
    subject: 'victim',
  };
  return route.route.replace(/\{(\w+)\}/g, (_, n: string) => encodeURIComponent(params[n] ?? 'x'));
}

interface Row {
  route: string;
  status: number;
  code?: string;
}

/** Request every tenant route (or those `only` selects) with one credential; no body: refusals come before parsing. */
async function sweep(authorization: string, only: (r: TenantRoute) => boolean = () => true): Promise<(Row & { body: string; route0: TenantRoute })[]> {
  const rows = [];
  for (const route of TENANT_ROUTES.filter(only)) {
    const res = await call(`${archive.url}/${pathOf(route)}`, { method: route.method, headers: authorization ? { Authorization: authorization } : {} });
    rows.push({ route: `${route.method} ${route.route}`, status: res.status, code: res.json?.code, body: res.bytes.toString('utf8'), route0: route });
  }
  return rows;
}

/**
 * Tenant A's data as it could appear in an answer: its id, its people, its key and grant
 * descriptions, its document's hash; plus (unless the caller itself sent them in the URL and an
 * answer may echo them, as a 404 does) the ids of its objects.
 */
const leaksA = (body: string, withIds = true) =>
  [A.tenant, 'writer-a', 'admin-a', 'soon revoked', 'MX-1', A.sha256, ...(withIds ? [A.doc, A.keyId, A.grantId] : [])].some((s) => body.includes(s));

describe('every tenant route refuses every invalid credential with 401 and leaks nothing', () => {
  it.each(['no credential', 'expired token', 'forged signature', 'alg none', 'HS256 with the public key', 'wrong audience', 'unknown principal kind', 'revoked API key', 'malformed API key'])('%s', async (name) => {
    const rows = await sweep(auth[name]!);
    expect(rows.filter((r) => r.status !== 401 || r.code !== 'unauthenticated').map(({ route, status }) => ({ route, status }))).toEqual([]);
    expect(rows.filter((r) => leaksA(r.body.replace(/"instance":"[^"]*"/, ""))).map((r) => r.route)).toEqual([]);
  });
});

describe('every tenant route refuses a principal without its permission with 403', () => {
  it.each([...PERMISSIONS])('without %s', async (permission) => {
    // Tenant A's own principal: the routes needing the permission, and the read-only others (no changes to A).
    const rows = await sweep(auth[`without ${permission}`]!, (r) => needs(r).includes(permission) || r.method === 'GET');
    const needing = rows.filter((r) => needs(r.route0).includes(permission));
    expect(needing.map((r) => ({ route: r.route, status: r.status, code: r.code }))).toEqual(needing.map((r) => ({ route: r.route, status: 403, code: 'forbidden' })));
    // Holding every other permission, the same principal is never refused the other routes for lack of rights.
    expect(rows.filter((r) => !needs(r.route0).includes(permission) && r.status === 403).map((r) => r.route)).toEqual([]);
    expect(needing.length).toBeGreaterThan(0);
  });
});

describe('provider staff', () => {
  it.each(['support without grant', 'support with expired grant'])('%s: 403 on every route, the same answer whether or not the tenant exists', async (name) => {
    const rows = await sweep(auth[name]!);
    expect(rows.filter((r) => r.status !== 403 || r.code !== 'support_access_not_granted').map(({ route, status }) => ({ route, status }))).toEqual([]);
    expect(rows.filter((r) => leaksA(r.body.replace(/"instance":"[^"]*"/, ''))).map((r) => r.route)).toEqual([]);
  });

  it('support with grant: only the routes of the granted read-only scope; every other route 403', async () => {
    const scope = new Set<Permission>(SUPPORT_SCOPES['read-only']);
    const rows = await sweep(auth['support with grant']!);
    const refused = rows.filter((r) => r.status === 401 || r.status === 403);
    const inScope = (r: TenantRoute) => needs(r).every((p) => scope.has(p));
    expect(refused.filter((r) => inScope(r.route0)).map((r) => r.route)).toEqual([]);
    expect(rows.filter((r) => !inScope(r.route0)).map((r) => ({ route: r.route, status: r.status, code: r.code }))).toEqual(
      rows.filter((r) => !inScope(r.route0)).map((r) => ({ route: r.route, status: 403, code: 'forbidden' })),
    );
    expect(rows.filter((r) => r.route === 'GET documents/{id}')[0]!.status).toBe(200);
  });
});

describe("another tenant's principal with every permission", () => {
  it("gets 404 for tenant A's objects, only its own (empty) collections, and never A's data", async () => {
    const rows = await sweep(auth["other tenant's token"]!);
    expect(rows.filter((r) => r.status === 401 || r.status === 403 || r.status >= 500).map(({ route, status }) => ({ route, status }))).toEqual([]);
    // Addressed by id: 404, as for a missing object (a DELETE that validates its body first may say 400).
    const addressed = rows.filter((r) => /\{/.test(r.route0.route) && (r.route0.method === 'GET' || r.route0.method === 'DELETE'));
    const allowed = (r: Row & { route0: TenantRoute }) => (r.route0.method === 'GET' ? [404] : [400, 404]).includes(r.status);
    expect(addressed.filter((r) => !allowed(r)).map((r) => ({ route: r.route, status: r.status }))).toEqual([]);
    expect(rows.filter((r) => leaksA(r.body, false)).map((r) => r.route)).toEqual([]);
  });
});

describe('rights ceiling: nobody grants a permission they do not hold', () => {
  it.each(TENANT_ROUTES.flatMap((r) => needs(r).map((p) => [`${r.method} ${r.route} (${p})`, p] as const)))('%s: a key carrying its permission cannot be minted by a principal without it', async (_name, permission) => {
    // The principal holds every permission but this one of the route's; a key for the set holding them all is refused.
    const res = await call(`${archive.url}/api-keys`, { ...json('POST', { name: 'escalate', rightsSet: 'everything' }), headers: { 'Content-Type': 'application/json', Authorization: auth[`without ${permission}`]! } });
    expect(res.status).toBe(403);
    if (permission === 'keys:manage') expect(res.json.code).toBe('forbidden');
    else expect(res.json).toMatchObject({ code: 'segregation_of_duties', rule: 'rights-ceiling', permissions: [permission] });
  });
});

describe('person-level segregation of duties: a key acts for the person who created it', () => {
  type Actor = { subject: string; kind: string; person?: string; keyId?: string };
  const actorOf = new Map<string, Actor | undefined>();
  let keyId = '';
  beforeAll(async () => {
    // In tenant B, so the sweep (URLs naming tenant A's objects) changes nothing anywhere.
    const made = await call(`${archive.url}/api-keys`, { ...json('POST', { name: 'root key', rightsSet: 'everything' }), token: B.root });
    expect(made.status).toBe(201);
    keyId = made.json.id;
    const requests = new Map<string, { requestId: string | null; action: string }>();
    for (const route of TENANT_ROUTES) {
      const res = await call(`${archive.url}/${pathOf(route)}`, { method: route.method, headers: { Authorization: `ApiKey ${made.json.key}` } });
      requests.set(`${route.method} ${route.route}`, { requestId: res.headers.get('x-request-id'), action: route.action });
    }
    const entries: { requestId: string; action: string; actor: Actor }[] = [];
    let token: string | undefined;
    do {
      const page = await call(`${archive.url}/audit?actor=${encodeURIComponent(`apikey:${keyId}`)}&limit=500${token ? `&continuationToken=${encodeURIComponent(token)}` : ''}`, { token: B.root });
      entries.push(...page.json.items);
      token = page.json.continuationToken ?? undefined;
    } while (token);
    // The request's own entry (a started export adds the worker's entries under the same request id).
    for (const [name, r] of requests) actorOf.set(name, entries.find((e) => e.requestId === r.requestId && e.action === r.action)?.actor);
  });

  it.each(TENANT_ROUTES.map((r) => `${r.method} ${r.route}`))('%s: the audit entry of a request through the key names its creator as the person', (name) => {
    expect(actorOf.get(name)).toEqual({ subject: `apikey:${keyId}`, kind: 'client', person: 'root-b', keyId });
  });
});

/**
 * Issue #12, authorization: no escalation through API keys or rights assignments (rights ceiling),
 * segregation of duties and four eyes by accountable person (a key acts for the person who created
 * it), safeguards judged against the strongest retention policy that has applied, and export
 * downloads needing the right to start one.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { call, putAsRead } from '../support/http';
import { newTenant, startTestArchive, TestArchive } from '../support/harness';
import { seedRightsSet, seedSodPolicy } from '../support/rights-seed';
import { ingest, startWormArchive, uniqueJpeg, WormArchive } from '../support/worm-archive';

let archive: WormArchive;
beforeAll(async () => {
  // Starts at the wall clock: API keys and grants are verified against it, retention against the fake one.
  archive = await startWormArchive(new Date().toISOString(), { COSMOS_DATABASE: `esc-${randomBytes(4).toString('hex')}` });
});
afterAll(() => archive.stop());

const json = (method: string, body: unknown) => ({ method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
const keyAuth = (key: string) => ({ headers: { Authorization: `ApiKey ${key}` } });
const withKey = (key: string, init: { method: string; body: string; headers: Record<string, string> }) => ({ ...init, headers: { ...init.headers, Authorization: `ApiKey ${key}` } });

async function mintKey(bearer: string, rightsSet: string): Promise<string> {
  const made = await call(`${archive.url}/api-keys`, { ...json('POST', { name: `k-${rightsSet}`, rightsSet }), token: bearer });
  if (made.status !== 201) throw new Error(`mint ${rightsSet}: ${made.status} ${made.bytes.toString()}`);
  return made.json.key as string;
}

describe('rights ceiling (#12.5)', () => {
  it('a principal holding only keys:manage cannot mint a tenant-admin key: 403 naming the rule and the permissions above the ceiling', async () => {
    const tenant = newTenant('esc-ceil');
    await seedRightsSet(archive, tenant, 'key-clerk', ['keys:manage']);
    const clerk = await archive.token({ tenant, sub: 'kim', rights: 'key-clerk' });
    const res = await call(`${archive.url}/api-keys`, { ...json('POST', { name: 'root', rightsSet: 'tenant-admin' }), token: clerk });
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ code: 'segregation_of_duties', rule: 'rights-ceiling' });
    expect(res.json.permissions).toEqual(expect.arrayContaining(['audit:read', 'rights:manage', 'support:grant']));
    expect(res.json.permissions).not.toContain('keys:manage');
    expect((await call(`${archive.url}/api-keys`, { token: clerk })).json.items).toEqual([]);
  });

  it('an integration-admin (rights from the identity provider) mints the upload key a client app uses; it acts for that person', async () => {
    const tenant = newTenant('esc-integ');
    const integrator = await archive.token({ tenant, sub: 'ines', rights: 'integration-admin' });
    const key = await mintKey(integrator, 'uploader');
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(uniqueJpeg())], { type: 'image/jpeg' }), 'scan.jpg');
    const res = await call(`${archive.url}/documents`, { method: 'POST', body: form, ...keyAuth(key) });
    expect(res.status).toBe(201);
    expect(res.json.createdBy).toMatchObject({ person: 'ines' });
    // The same person cannot mint anything above the set: audit:read is not theirs to give.
    const above = await call(`${archive.url}/api-keys`, { ...json('POST', { name: 'more', rightsSet: 'auditor' }), token: integrator });
    expect(above.json).toMatchObject({ status: 403, code: 'segregation_of_duties', rule: 'rights-ceiling' });
  });

  it('a rights assignment cannot carry a permission its creator lacks; nor can widening a set someone holds', async () => {
    const tenant = newTenant('esc-assign');
    await seedRightsSet(archive, tenant, 'rights-clerk', ['rights:manage', 'documents:read']);
    const clerk = await archive.token({ tenant, sub: 'rick', rights: 'rights-clerk' });
    const assign = await call(`${archive.url}/rights-assignments/mallory`, { ...json('PUT', { rightsSet: 'tenant-admin' }), token: clerk });
    expect(assign.status).toBe(403);
    expect(assign.json).toMatchObject({ code: 'segregation_of_duties', rule: 'rights-ceiling' });
    expect((await call(`${archive.url}/rights-assignments`, { token: clerk })).json.items).toEqual([]);

    // Within the ceiling: a reader set assigned; then widening it to audit:read (which rick lacks) is refused.
    expect((await call(`${archive.url}/rights-sets/readers`, { ...json('PUT', { permissions: ['documents:read'] }), token: clerk })).status).toBe(200);
    expect((await call(`${archive.url}/rights-assignments/mallory`, { ...json('PUT', { rightsSet: 'readers' }), token: clerk })).status).toBe(200);
    const widen = await call(`${archive.url}/rights-sets/readers`, { ...json('PUT', { permissions: ['documents:read', 'audit:read'] }), token: clerk });
    expect(widen.json).toMatchObject({ status: 403, code: 'segregation_of_duties', rule: 'rights-ceiling', permissions: ['audit:read'] });
  });

  it('a support-access grant cannot give provider staff what its creator lacks', async () => {
    const tenant = newTenant('esc-grant');
    await seedRightsSet(archive, tenant, 'grant-clerk', ['support:grant', 'documents:read']);
    const clerk = await archive.token({ tenant, sub: 'gil', rights: 'grant-clerk' });
    const expiresAt = new Date(archive.clock.now().getTime() + 3600_000).toISOString();
    const refused = await call(`${archive.url}/support-grants`, { ...json('POST', { ticket: 'T-9', scope: 'read-only-with-audit', expiresAt }), token: clerk });
    expect(refused.json).toMatchObject({ status: 403, code: 'segregation_of_duties', rule: 'rights-ceiling', permissions: ['audit:read', 'documents:download'] });
    expect((await call(`${archive.url}/support-grants`, { ...json('POST', { ticket: 'T-9', scope: 'metadata-only', expiresAt }), token: clerk })).status).toBe(201);
  });

  it('a key records its ceiling and never acts beyond what its creator held, even after its set is widened', async () => {
    const tenant = newTenant('esc-cap');
    await seedRightsSet(archive, tenant, 'reader-keys', ['documents:read', 'keys:manage']);
    await seedRightsSet(archive, tenant, 'readers', ['documents:read']);
    const creator = await archive.token({ tenant, sub: 'rena', rights: 'reader-keys' });
    const made = await call(`${archive.url}/api-keys`, { ...json('POST', { name: 'reader', rightsSet: 'readers' }), token: creator });
    expect(made.status).toBe(201);
    expect([...made.json.ceiling].sort()).toEqual(['documents:read', 'keys:manage']);
    expect(made.json.createdBy).toMatchObject({ subject: 'rena', person: 'rena' });
    // Someone widens the set afterwards (here: an operator); the key still cannot read the audit log.
    await seedRightsSet(archive, tenant, 'readers', ['documents:read', 'audit:read']);
    const audit = await call(`${archive.url}/audit`, keyAuth(made.json.key));
    expect(audit.json).toMatchObject({ status: 403, code: 'forbidden' });
    expect((await call(`${archive.url}/documents`, keyAuth(made.json.key))).status).toBe(200);
  });
});

describe('segregation of duties and four eyes by person (#12.6)', () => {
  it('an uploader cannot approve the disposal of their own upload through a key they minted', async () => {
    const tenant = newTenant('esc-disp');
    await seedSodPolicy(archive, tenant, { conflicts: [] });
    await seedRightsSet(archive, tenant, 'clerk', ['documents:read', 'documents:write', 'retention:approve', 'keys:manage']);
    await seedRightsSet(archive, tenant, 'approver', ['documents:read', 'retention:approve']);
    const clerk = await archive.token({ tenant, sub: 'uma', rights: 'clerk' });
    const own = await ingest(archive, clerk, { fiscalYear: 2020 });
    const key = await mintKey(clerk, 'approver');
    archive.clock.set('2028-01-01T00:00:00.000Z');
    const named = await call(`${archive.url}/retention/approvals`, withKey(key, json('POST', { before: '2028-01-01', reason: 'batch', documentIds: [own] })));
    expect(named.status).toBe(403);
    expect(named.json).toMatchObject({ code: 'segregation_of_duties', rule: 'uploader-approves-disposal' });
    const bulk = await call(`${archive.url}/retention/approvals`, withKey(key, json('POST', { before: '2028-01-01', reason: 'batch' })));
    expect(bulk.json.approved).toEqual([]);
    expect(bulk.json.skipped).toEqual([{ id: own, reason: 'segregation-of-duties:uploader-approves-disposal' }]);
    // The audit entry of the key's request names the person behind it.
    const auditor = await archive.token({ tenant, sub: 'aud', rights: 'auditor' });
    const entries = (await call(`${archive.url}/audit?action=retention.approve&limit=10`, { token: auditor })).json.items as { actor: { kind: string; person?: string } }[];
    expect(entries.map((e) => e.actor)).toEqual([expect.objectContaining({ kind: 'client', person: 'uma' }), expect.objectContaining({ kind: 'client', person: 'uma' })]);
  });

  it('a person cannot release a legal hold they placed through their own key, nor the other way round', async () => {
    const tenant = newTenant('esc-hold');
    await seedRightsSet(archive, tenant, 'holder', ['documents:read', 'documents:write', 'holds:place', 'holds:release', 'keys:manage']);
    const hal = await archive.token({ tenant, sub: 'hal', rights: 'holder' });
    const key = await mintKey(hal, 'holder');
    const doc = await ingest(archive, hal);
    const hold = { reason: 'dispute', caseReference: 'C-1' };

    const viaKey = await call(`${archive.url}/documents/${doc}/legal-holds`, withKey(key, json('POST', hold)));
    expect(viaKey.status).toBe(201);
    const released = await call(`${archive.url}/documents/${doc}/legal-holds/${viaKey.json.id}`, { ...json('DELETE', { reason: 'done' }), token: hal });
    expect(released.json).toMatchObject({ status: 403, code: 'four_eyes_required', rule: 'four-eyes:legal-hold-release' });

    const asSelf = await call(`${archive.url}/documents/${doc}/legal-holds`, { ...json('POST', hold), token: hal });
    expect(asSelf.status).toBe(201);
    const releasedByKey = await call(`${archive.url}/documents/${doc}/legal-holds/${asSelf.json.id}`, withKey(key, json('DELETE', { reason: 'done' })));
    expect(releasedByKey.json).toMatchObject({ status: 403, code: 'four_eyes_required' });
  });

  it('an admin refused lowering a safeguard cannot do it through its own retention:manage key', async () => {
    const tenant = newTenant('esc-lower');
    const admin = await archive.token({ tenant, sub: 'carol', rights: 'tenant-admin' });
    expect((await call(`${archive.url}/rights-sets/records-manager`, { ...json('PUT', { permissions: ['documents:read', 'retention:manage'] }), token: admin })).status).toBe(200);
    const key = await mintKey(admin, 'records-manager');
    const strict = { classes: [], defaultClass: 'fiscal-7y', requireDisposalApproval: true };
    expect((await putAsRead(`${archive.url}/retention/policy`, strict, { token: admin })).status).toBe(200);
    const off = await putAsRead(`${archive.url}/retention/policy`, { ...strict, requireDisposalApproval: false }, keyAuth(key));
    expect(off.json).toMatchObject({ status: 403, code: 'segregation_of_duties', rule: 'approver-lowers-safeguards', lowered: ['disposal-approval-off'] });
  });

  it('a person whose own rights no longer hold retention:approve but whose API key does cannot lower a safeguard', async () => {
    const tenant = newTenant('esc-lower2');
    const admin = await archive.token({ tenant, sub: 'carol', rights: 'tenant-admin' });
    await seedRightsSet(archive, tenant, 'approver-manager', ['documents:read', 'retention:approve', 'retention:manage', 'keys:manage']);
    await seedRightsSet(archive, tenant, 'approver', ['documents:read', 'retention:approve']);
    await seedRightsSet(archive, tenant, 'records-manager', ['documents:read', 'retention:manage']);
    const strict = { classes: [], defaultClass: 'fiscal-7y', requireDisposalApproval: true };
    expect((await putAsRead(`${archive.url}/retention/policy`, strict, { token: admin })).status).toBe(200);
    await mintKey(await archive.token({ tenant, sub: 'pat', rights: 'approver-manager' }), 'approver');
    // Later pat's own rights are only records-manager; the approver key still works.
    const pat = await archive.token({ tenant, sub: 'pat', rights: 'records-manager' });
    const off = await putAsRead(`${archive.url}/retention/policy`, { ...strict, requireDisposalApproval: false }, { token: pat });
    expect(off.json).toMatchObject({ status: 403, code: 'segregation_of_duties', rule: 'approver-lowers-safeguards' });
    // Someone else with the same rights and no such key may propose it (a second person approves).
    const rita = await archive.token({ tenant, sub: 'rita', rights: 'records-manager' });
    expect((await putAsRead(`${archive.url}/retention/policy`, { ...strict, requireDisposalApproval: false }, { token: rita })).status).toBe(202);
  });

  it('nobody changes their own rights through a key: a key cannot assign its creator a set', async () => {
    const tenant = newTenant('esc-self');
    await seedRightsSet(archive, tenant, 'manager', ['documents:read', 'rights:manage', 'keys:manage']);
    const mia = await archive.token({ tenant, sub: 'mia', rights: 'manager' });
    const key = await mintKey(mia, 'manager');
    const self = await call(`${archive.url}/rights-assignments/mia`, withKey(key, json('PUT', { rightsSet: 'manager' })));
    expect(self.json).toMatchObject({ status: 403, code: 'segregation_of_duties', rule: 'self-assignment' });
    expect((await call(`${archive.url}/rights-assignments/mia`, { method: 'DELETE', ...keyAuth(key) })).json.rule).toBe('self-assignment');
  });
});

describe('retention safeguards against the strongest policy that applied (#12.7)', () => {
  it('an approver refused shortening a class 12 → 8 years cannot remove it and add it back at 8', async () => {
    const tenant = newTenant('esc-2step');
    const admin = await archive.token({ tenant, sub: 'carol', rights: 'tenant-admin' });
    const put = (body: unknown) => putAsRead(`${archive.url}/retention/policy`, body, { token: admin });
    const twelve = { classes: [{ name: 'contracts', years: 12 }], defaultClass: 'fiscal-7y' };
    expect((await put(twelve)).status).toBe(200);
    expect((await put({ classes: [{ name: 'contracts', years: 8 }], defaultClass: 'fiscal-7y' })).json.rule).toBe('approver-lowers-safeguards');
    expect((await put({ classes: [], defaultClass: 'fiscal-7y' })).status).toBe(200);
    const back = await put({ classes: [{ name: 'contracts', years: 8 }], defaultClass: 'fiscal-7y' });
    expect(back.json).toMatchObject({ status: 403, code: 'segregation_of_duties', rule: 'approver-lowers-safeguards', lowered: ['class-shortened:contracts'] });
    expect((await put({ classes: [{ name: 'contracts', years: 12 }], defaultClass: 'fiscal-7y' })).status).toBe(200);
  });

  it('approval, default years and fiscal-year end are judged against their high-water mark too', async () => {
    const tenant = newTenant('esc-hwm');
    const admin = await archive.token({ tenant, sub: 'carol', rights: 'tenant-admin' });
    const put = (body: unknown) => putAsRead(`${archive.url}/retention/policy`, body, { token: admin });
    const strongest = { classes: [{ name: 'long', years: 15 }], defaultClass: 'long', requireDisposalApproval: true, fiscalYearEndMonth: 12 };
    expect((await put(strongest)).status).toBe(200);
    // Each step alone "raises" nothing against the previous request but stays below the strongest policy.
    expect((await put({ ...strongest, classes: [{ name: 'long', years: 15 }, { name: 'short', years: 9 }], defaultClass: 'short' })).json.lowered).toEqual(['default-class-shorter']);
    expect((await put({ ...strongest, fiscalYearEndMonth: 6 })).json.lowered).toEqual(['fiscal-year-end-earlier']);
  });
});

describe('export downloads (#12.8)', () => {
  // Support grants are checked against the wall clock: a host without the fake one.
  let host: TestArchive;
  beforeAll(async () => {
    host = await startTestArchive();
  });
  afterAll(() => host.stop());

  it('a read-only support grant cannot download an export: the download needs exports:create', async () => {
    const tenant = newTenant('esc-exp');
    const admin = await host.token({ tenant, sub: 'admin-1', rights: 'tenant-admin' });
    const grant = await call(`${host.url}/support-grants`, { ...json('POST', { ticket: 'T-1', scope: 'read-only', expiresAt: new Date(Date.now() + 86400_000).toISOString() }), token: admin });
    expect(grant.status).toBe(201);
    const staff = await host.token({ tenant, sub: 'staff-1', kind: 'support' });
    for (const q of ['', '?delivery=redirect']) {
      const res = await call(`${host.url}/exports/${randomUUID()}/download${q}`, { token: staff });
      expect(res.json).toMatchObject({ status: 403, code: 'forbidden', permission: 'exports:create' });
    }
  });
});

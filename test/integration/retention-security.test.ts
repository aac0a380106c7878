/** Security cases of the retention and legal-hold routes (emulator WORM mode: plain Azurite). */
import { call, putAsRead, rawUpload } from '../support/http';
import { newTenant, startTestArchive, TestArchive } from '../support/harness';
import { taggedJpeg } from '../support/worm-archive';

let archive: TestArchive;
let tenantA: string;
let archivistA: string;
let adminA: string;
let uploaderA: string;
let archivistB: string;
let docA: string;

beforeAll(async () => {
  archive = await startTestArchive({ ARCHIVE_HOLD_QUERY_MAX_DOCUMENTS: '2' }); // small, to test the cap of a hold by query
  tenantA = newTenant('rsec-a');
  const tenantB = newTenant('rsec-b');
  archivistA = await archive.token({ tenant: tenantA, sub: 'alice', rights: 'archivist' });
  adminA = await archive.token({ tenant: tenantA, sub: 'carol', rights: 'tenant-admin' });
  uploaderA = await archive.token({ tenant: tenantA, sub: 'ulrich', rights: 'uploader' });
  archivistB = await archive.token({ tenant: tenantB, sub: 'bob', rights: 'archivist' });
  const bytes = taggedJpeg(tenantA);
  docA = (await call(`${archive.url}/documents`, { ...rawUpload(bytes, 'image/jpeg'), token: archivistA })).json.id;
});
afterAll(() => archive.stop());

const json = (method: string, body: unknown) => ({ method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
const routes = () => [
  ['POST', `/documents/${docA}/legal-holds`, { reason: 'r', caseReference: 'c' }],
  ['DELETE', `/documents/${docA}/legal-holds/0190aaaa-0000-7000-8000-000000000000`, { reason: 'r' }],
  ['POST', '/legal-holds', { reason: 'r', caseReference: 'c', query: { fiscalYear: 2024 } }],
  ['DELETE', '/legal-holds/0190aaaa-0000-7000-8000-000000000000', { reason: 'r' }],
  ['POST', `/documents/${docA}/retention`, { retainUntil: '2050-01-01', reason: 'r' }],
  ['GET', '/retention/policy', undefined],
  ['PUT', '/retention/policy', { requireDisposalApproval: true }],
  ['GET', '/retention/due', undefined],
  ['POST', '/retention/approvals', { before: '2030-01-01', reason: 'r' }],
] as const;

it('every retention route needs a credential (401 problem+json)', async () => {
  for (const [method, path, body] of routes()) {
    const res = await call(`${archive.url}${path}`, body === undefined ? { method } : json(method, body));
    expect([method, path, res.status]).toEqual([method, path, 401]);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  }
});

it('an uploader holds none of the retention permissions (403), and the refusal is audited', async () => {
  for (const [method, path, body] of routes()) {
    if (path === '/retention/policy' && method === 'GET') continue; // documents:read
    const res = await call(`${archive.url}${path}`, { ...(body === undefined ? { method } : json(method, body)), token: uploaderA });
    expect([method, path, res.status, res.json.code]).toEqual([method, path, 403, 'forbidden']);
  }
});

it('another tenant\'s document answers like a missing one; nothing changes', async () => {
  const missing = '0190aaaa-0000-7000-8000-000000000000';
  for (const suffix of ['/legal-holds', '/retention']) {
    const body = suffix === '/retention' ? { retainUntil: '2050-01-01', reason: 'r' } : { reason: 'r', caseReference: 'c' };
    const other = await call(`${archive.url}/documents/${docA}${suffix}`, { ...json('POST', body), token: archivistB });
    const none = await call(`${archive.url}/documents/${missing}${suffix}`, { ...json('POST', body), token: archivistB });
    expect([other.status, none.status]).toEqual([404, 404]);
    expect(other.json.code).toBe('document_not_found');
  }
  const queryHold = await call(`${archive.url}/legal-holds`, { ...json('POST', { reason: 'r', caseReference: 'c', query: { fiscalYear: new Date().getUTCFullYear() } }), token: archivistB });
  expect(queryHold.json.documents).toBe(0);
  const doc = (await call(`${archive.url}/documents/${docA}`, { token: archivistA })).json;
  expect(doc.legalHold).toBe(false);
  expect(doc.retention.extensions).toBeUndefined();
});

it('hostile or malformed bodies are refused before anything changes', async () => {
  const post = (body: string, type = 'application/json') => call(`${archive.url}/documents/${docA}/legal-holds`, { method: 'POST', body, headers: { 'Content-Type': type }, token: archivistA });
  expect((await post(JSON.stringify({ reason: 'r', caseReference: 'c', tenantId: 'other' }))).status).toBe(400);
  expect((await post('{"reason": ')).json.code).toBe('bad_request');
  expect((await post('reason=r', 'application/x-www-form-urlencoded')).status).toBe(415);
  expect((await post(JSON.stringify({ reason: 'x'.repeat(70_000), caseReference: 'c' }))).status).toBe(413);
  expect((await post(JSON.stringify({ reason: ' ', caseReference: 'c' }))).status).toBe(400);
  const extend = await call(`${archive.url}/documents/${docA}/retention`, { ...json('POST', { retainUntil: 'next year', reason: 'r' }), token: archivistA });
  expect(extend.status).toBe(400);
  expect((await call(`${archive.url}/retention/due?before=yesterday`, { token: adminA })).json.code).toBe('invalid_query');
  expect((await call(`${archive.url}/retention/policy`, { ...json('PUT', { classes: [{ name: '../x', years: 9 }] }), token: adminA })).status).toBe(400);
  expect((await call(`${archive.url}/documents/${docA}`, { token: archivistA })).json).toMatchObject({ legalHold: false, holds: [] });
});

it('in emulator mode (Azurite), holds still work on the catalog, and placing and releasing are audited', async () => {
  const placed = await call(`${archive.url}/documents/${docA}/legal-holds`, { ...json('POST', { reason: 'dispute', caseReference: 'X-1' }), token: archivistA });
  expect(placed.status).toBe(201);
  expect(placed.headers.get('location')).toBe(`/api/documents/${docA}/legal-holds/${placed.json.id}`);
  const released = await call(`${archive.url}/documents/${docA}/legal-holds/${placed.json.id}`, { ...json('DELETE', { reason: 'settled' }), token: adminA });
  expect(released.status).toBe(200);
  const audit = (await call(`${archive.url}/audit?limit=500`, { token: await archive.token({ tenant: tenantA, sub: 'aud', rights: 'auditor' }) })).json.items as { action: string; outcome: string; target: string }[];
  expect(audit.filter((e) => e.action === 'legal-hold.place' && e.outcome === 'success').map((e) => e.target)).toContain(docA);
  expect(audit.filter((e) => e.action === 'legal-hold.release' && e.outcome === 'success').map((e) => e.target)).toContain(docA);
  expect(audit.some((e) => e.action === 'legal-hold.place' && e.outcome === 'refused')).toBe(true);
});

it('the policy needs retention:manage, not retention:approve; a holder of retention:approve cannot lower a safeguard (segregation of duties, audited)', async () => {
  const tenant = newTenant('rsec-sod');
  const admin = await archive.token({ tenant, sub: 'carol', rights: 'tenant-admin' });
  const put = (token: string, body: unknown) => putAsRead(`${archive.url}/retention/policy`, body, { token });
  const putAs = (path: string, body: unknown) => call(`${archive.url}${path}`, { ...json('PUT', body), token: admin });
  expect((await putAs('/rights-sets/approver', { permissions: ['documents:read', 'retention:approve'] })).status).toBe(200);
  expect((await putAs('/rights-sets/records-manager', { permissions: ['documents:read', 'retention:manage'] })).status).toBe(200);
  expect((await putAs('/rights-assignments/ann', { rightsSet: 'approver' })).status).toBe(200);
  expect((await putAs('/rights-assignments/rita', { rightsSet: 'records-manager' })).status).toBe(200);
  expect((await putAs('/rights-assignments/rob', { rightsSet: 'records-manager' })).status).toBe(200);
  const ann = await archive.token({ tenant, sub: 'ann' });
  const rita = await archive.token({ tenant, sub: 'rita' });
  const rob = await archive.token({ tenant, sub: 'rob' });

  // retention:approve alone no longer sets the policy; retention:manage alone approves nothing.
  expect((await put(ann, { requireDisposalApproval: true })).json).toMatchObject({ status: 403, code: 'forbidden' });
  expect((await call(`${archive.url}/retention/approvals`, { ...json('POST', { before: '2030-01-01', reason: 'r' }), token: rita })).json.code).toBe('forbidden');

  // tenant-admin holds both: raising and other changes are fine, lowering is not.
  const strict = { classes: [{ name: 'contracts-12y', years: 12 }], defaultClass: 'contracts-12y', requireDisposalApproval: true };
  expect((await put(admin, strict)).status).toBe(200);
  const off = await put(admin, { ...strict, requireDisposalApproval: false });
  expect(off.status).toBe(403);
  expect(off.json).toMatchObject({ code: 'segregation_of_duties', rule: 'approver-lowers-safeguards', lowered: ['disposal-approval-off'] });
  const shorter = await put(admin, { ...strict, classes: [{ name: 'contracts-12y', years: 8 }] });
  expect(shorter.json).toMatchObject({ rule: 'approver-lowers-safeguards', lowered: ['class-shortened:contracts-12y', 'default-class-shorter'] });
  // Omitting requireDisposalApproval means false: that lowers it too.
  expect((await put(admin, { classes: strict.classes, defaultClass: 'contracts-12y' })).json.lowered).toEqual(['disposal-approval-off']);
  expect((await call(`${archive.url}/retention/policy`, { token: admin })).json).toMatchObject({ requireDisposalApproval: true, defaultClass: 'contracts-12y', updatedBy: { subject: 'carol' } });

  // A records manager without retention:approve may propose lowering it (the legal floor still holds); a second one approves.
  expect((await put(rita, { ...strict, classes: [{ name: 'contracts-12y', years: 5 }] })).json.code).toBe('retention_below_legal_floor');
  const proposed = await put(rita, { ...strict, requireDisposalApproval: false });
  expect(proposed.status).toBe(202);
  expect(proposed.json).toMatchObject({ state: 'pending', lowers: ['disposal-approval-off'], proposedBy: { subject: 'rita' } });
  expect((await call(`${archive.url}/retention/policy`, { token: admin })).json).toMatchObject({ requireDisposalApproval: true });
  const approved = await call(`${archive.url}/retention/policy/proposals/${proposed.json.id}/approve`, { ...json('POST', { reason: 'Agreed' }), token: rob });
  expect(approved.json).toMatchObject({ state: 'approved', decidedBy: { subject: 'rob' } });
  expect((await call(`${archive.url}/retention/policy`, { token: admin })).json).toMatchObject({ requireDisposalApproval: false, updatedBy: { subject: 'rob' } });

  const auditor = await archive.token({ tenant, sub: 'aud', rights: 'auditor' });
  const audit = (await call(`${archive.url}/audit?action=retention.policy-set&limit=50`, { token: auditor })).json.items as { outcome: string; actor: { subject: string }; detail?: string }[];
  expect(audit.filter((e) => e.outcome === 'refused' && e.actor.subject === 'carol')).toHaveLength(3);
  expect(audit.filter((e) => e.outcome === 'success').map((e) => e.actor.subject).sort()).toEqual(['carol']);
  for (const [action, subject] of [['retention.policy-propose', 'rita'], ['retention.policy-proposal-approve', 'rob']] as const) {
    const entries = (await call(`${archive.url}/audit?action=${action}&limit=50`, { token: auditor })).json.items as { outcome: string; actor: { subject: string }; detail?: string }[];
    expect(entries.filter((e) => e.outcome === 'success').map((e) => [e.actor.subject, e.detail])).toEqual([[subject, expect.stringContaining('lowered=disposal-approval-off')]]);
  }
});

it('a hold by query that matches more documents than one hold may cover is refused before anything is held (400 problem+json)', async () => {
  const tenant = newTenant('rsec-cap');
  const archivist = await archive.token({ tenant, sub: 'alice', rights: 'archivist' });
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const bytes = taggedJpeg(`${tenant}-${i}`);
    const metadata = i < 2 ? { fiscalYear: 2023, counterparty: 'ACME' } : { fiscalYear: 2023 };
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(bytes)], { type: 'image/jpeg' }), 'scan.jpg');
    form.append('metadata', JSON.stringify(metadata));
    const res = await call(`${archive.url}/documents`, { method: 'POST', body: form, token: archivist });
    expect(res.status).toBe(201);
    ids.push(res.json.id as string);
  }
  const broad = await call(`${archive.url}/legal-holds`, { ...json('POST', { reason: 'tax audit', caseReference: 'BD-3', query: { fiscalYear: 2023 } }), token: archivist });
  expect(broad.status).toBe(400);
  expect(broad.headers.get('content-type')).toBe('application/problem+json');
  expect(broad.json).toMatchObject({ code: 'invalid_query', reason: 'hold-query-too-broad', matched: 3, limit: 2 });
  for (const id of ids) expect((await call(`${archive.url}/documents/${id}`, { token: archivist })).json).toMatchObject({ legalHold: false, holds: [] });

  // Narrowed to the cap: held.
  const narrow = await call(`${archive.url}/legal-holds`, { ...json('POST', { reason: 'dispute', caseReference: 'C-3', query: { fiscalYear: 2023, counterparty: 'ACME' } }), token: archivist });
  expect(narrow.status).toBe(201);
  expect(narrow.json.documentIds.sort()).toEqual(ids.slice(0, 2).sort());
  const audit = (await call(`${archive.url}/audit?action=legal-hold.place-by-query&limit=10`, { token: await archive.token({ tenant, sub: 'aud', rights: 'auditor' }) })).json.items as { outcome: string; status: number }[];
  expect(audit.map((e) => [e.outcome, e.status]).sort()).toEqual([['refused', 400], ['success', 201]].sort());
});

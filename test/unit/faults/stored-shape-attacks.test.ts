/**
 * Records as they are stored: a field missing, null, of the wrong type, empty, or of an older shape (written by an older
 * version, restored from a backup, half migrated, or edited by hand in the portal) must be read on the safe side wherever
 * it decides something about safety: a document's retention and holds, an API key's expiry, an export's expiry, a
 * proposal's expiry, a tenant's retention classes. Each attack edits a stored record directly (the in-memory ports), then
 * asks the archive what a client or a timer would.
 */
import type { ApiKeyRecord } from '../../../shared/auth/api-keys/api-key';
import { DEFAULT_SOD_POLICY } from '../../../shared/auth/sod';
import type { TenantRecord } from '../../../shared/ports';
import { proposalStateOf, type ProposalRecord } from '../../../shared/auth/proposals';
import type { ArchivedDocument } from '../../../shared/kernel/document';
import type { ExportJob } from '../../../shared/kernel/export';
import { sweep } from '../../../shared/retention/sweep';
import { DEFAULT_POLICY } from '../../../shared/retention/policy';
import { FIXITY_MISMATCH } from '../../../shared/retention/fixity';
import type { InMemoryExportJobs, RecordingLogger } from '../../support/in-memory';
import { DOCUMENT_CHECK_FAILED } from '../../../shared/retention/unchecked';
import { assign, docOf, exportCompleted, keyFromBeforeTheSeal, ok, putSet, send, TENANT, upload, world, type World } from '../../support/in-process';

const ODD: readonly [string, unknown][] = [
  ['missing', undefined],
  ['null', null],
  ['empty', ''],
  ['not a date', 'soon'],
  ['a number', 1_900_000_000_000],
];

/** `value` as the stored field: `undefined` removes it. */
function setField<T extends object>(record: T, field: string, value: unknown): T {
  const copy = structuredClone(record) as Record<string, unknown>;
  if (value === undefined) delete copy[field];
  else copy[field] = value;
  return copy as T;
}

describe('an API key whose stored expiry cannot be read acts no more', () => {
  it.each(ODD)('expiresAt %s', async (_name, value) => {
    const w = world();
    const created = await ok(w, { method: 'POST', path: 'api-keys', body: { name: 'k', rightsSet: 'tenant-admin', expiresAt: new Date(w.clock.now().getTime() + 86400_000).toISOString() }, as: 'alice' }, 201);
    const key = `ApiKey ${created.json.key as string}`;
    expect((await send(w, { method: 'GET', path: 'documents', as: key })).status).toBe(200);
    const stored = w.deps.tenantRecords.records.get(`${TENANT}/api-key:${created.json.id as string}`)!;
    stored.value = setField(stored.value as ApiKeyRecord, 'expiresAt', value);
    const r = await send(w, { method: 'GET', path: 'documents', as: key });
    expect([r.status, r.json?.code]).toEqual([401, 'unauthenticated']);
  });
});

describe("an API key whose stored ceiling is not a list acts with nothing; one from before ceilings keeps its set", () => {
  it.each([
    ['null', null, 403],
    ['empty text', '', 403],
    ['text naming a permission', 'documents:read', 403],
    ['an object', { 0: 'documents:read' }, 403],
    ['missing (a key from before ceilings)', undefined, 200],
  ] as [string, unknown, number][])('ceiling %s', async (_name, value, status) => {
    const w = world();
    const created = await ok(w, { method: 'POST', path: 'api-keys', body: { name: 'k', rightsSet: 'tenant-admin', expiresAt: new Date(w.clock.now().getTime() + 86400_000).toISOString() }, as: 'alice' }, 201);
    const key = `ApiKey ${created.json.key as string}`;
    const stored = w.deps.tenantRecords.records.get(`${TENANT}/api-key:${created.json.id as string}`)!;
    stored.value = setField(stored.value as ApiKeyRecord, 'ceiling', value);
    keyFromBeforeTheSeal(w, created.json.id as string);
    expect((await send(w, { method: 'GET', path: 'documents', as: key })).status).toBe(status);
  });
});

describe('a key minted through a key stands on it whatever its maker record lacks', () => {
  it.each([
    ['kind missing', undefined],
    ['kind null', null],
    ['kind in other case', 'Client'],
  ] as [string, unknown][])('createdBy %s: revoking the minting key stops it', async (_name, kind) => {
    const w = world();
    const expiresAt = new Date(w.clock.now().getTime() + 86400_000).toISOString();
    const parent = await ok(w, { method: 'POST', path: 'api-keys', body: { name: 'p', rightsSet: 'tenant-admin', expiresAt }, as: 'alice' }, 201);
    const child = await ok(w, { method: 'POST', path: 'api-keys', body: { name: 'c', rightsSet: 'tenant-admin', expiresAt }, as: `ApiKey ${parent.json.key as string}` }, 201);
    const childKey = `ApiKey ${child.json.key as string}`;
    await ok(w, { method: 'DELETE', path: `api-keys/${parent.json.id as string}`, as: 'alice' });
    expect((await send(w, { method: 'GET', path: 'documents', as: childKey })).status).toBe(401);
    const stored = w.deps.tenantRecords.records.get(`${TENANT}/api-key:${child.json.id as string}`)!;
    const record = stored.value as ApiKeyRecord;
    stored.value = { ...record, createdBy: setField(record.createdBy, 'kind', kind) } as never;
    keyFromBeforeTheSeal(w, child.json.id as string);
    expect((await send(w, { method: 'GET', path: 'documents', as: childKey })).status).toBe(401);
  });
});

const REVOKED_ODDLY: readonly [string, unknown][] = [
  ['empty', ''],
  ['zero', 0],
  ['false', false],
  ['not a date', 'yes'],
];

describe('an API key whose stored revocation has no readable time is revoked, as the store lists it', () => {
  // Broke: verify read `revokedAt` as truthy, so a revoked key restored or edited with '' (or 0, or false) acted again
  // while GET /api-keys?state=revoked (the store: any revokedAt but null) listed it as revoked.
  it.each(REVOKED_ODDLY)('revokedAt %s; a revoke gives it a readable time', async (_name, value) => {
    const w = world();
    const created = await ok(w, { method: 'POST', path: 'api-keys', body: { name: 'k', rightsSet: 'tenant-admin', expiresAt: new Date(w.clock.now().getTime() + 86400_000).toISOString() }, as: 'alice' }, 201);
    const key = `ApiKey ${created.json.key as string}`;
    const stored = w.deps.tenantRecords.records.get(`${TENANT}/api-key:${created.json.id as string}`)!;
    stored.value = setField(stored.value as ApiKeyRecord, 'revokedAt', value);
    const r = await send(w, { method: 'GET', path: 'documents', as: key });
    expect([r.status, r.json?.code]).toEqual([401, 'unauthenticated']);
    const listed = await ok(w, { method: 'GET', path: 'api-keys?state=in-use', as: 'alice' });
    expect((listed.json.items as { id: string }[]).map((k) => k.id)).not.toContain(created.json.id);
    const revoked = await ok(w, { method: 'DELETE', path: `api-keys/${created.json.id as string}`, as: 'alice' });
    expect(Date.parse(revoked.json.revokedAt as string)).toBe(w.clock.now().getTime());
    expect((await send(w, { method: 'GET', path: 'documents', as: key })).status).toBe(401);
  });
});

describe('a support grant whose stored revocation has no readable time gives no access', () => {
  it.each(REVOKED_ODDLY)('revokedAt %s', async (_name, value) => {
    const w = world();
    const grant = await ok(w, { method: 'POST', path: 'support-grants', body: { ticket: 'T-1', scope: 'read-only', expiresAt: new Date(w.clock.now().getTime() + 86400_000).toISOString() }, as: 'alice' }, 201);
    const stored = w.deps.tenantRecords.records.get(`${TENANT}/support-grant:${grant.json.id as string}`)!;
    stored.value = setField(stored.value, 'revokedAt', value);
    expect((await send(w, { method: 'GET', path: 'documents', as: 'support.sam' })).status).toBe(403);
    const revoked = await ok(w, { method: 'DELETE', path: `support-grants/${grant.json.id as string}`, as: 'alice' });
    expect(Date.parse(revoked.json.revokedAt as string)).toBe(w.clock.now().getTime());
  });
});

describe("a tenant's rights set stored in another shape gives only the known permissions it lists", () => {
  // Broke: a set whose permissions were text failed every request of its holders (500: array methods on a string), and
  // its listing, assignment and deletion with them; a list naming an unknown permission passed it on to the principal.
  it.each([
    ['text', 'documents:read', []],
    ['an object', { 0: 'documents:read' }, []],
    ['null', null, []],
    ['a list with unknown and non-text entries', ['documents:read', 'documents:*', 7, null], ['documents:read']],
  ] as [string, unknown, string[]][])('permissions %s', async (_name, value, readable) => {
    const w = world();
    await ok(w, putSet('viewers', ['documents:read', 'documents:download']));
    await ok(w, assign('dave', 'viewers'));
    const stored = w.deps.tenantRecords.records.get(`${TENANT}/rights-set:viewers`)!;
    stored.value = setField(stored.value, 'permissions', value);
    w.deps.tenantRecords.records.set(`${TENANT}/rights-set:viewers`, { ...stored, etag: stored.etag });
    const asDave = await send(w, { method: 'GET', path: 'documents', as: 'dave' });
    expect(asDave.status).toBe(readable.includes('documents:read') ? 200 : 403);
    expect((await send(w, { method: 'GET', path: 'audit', as: 'dave' })).status).toBe(403);
    const sets = await ok(w, { method: 'GET', path: 'rights-sets', as: 'carol' });
    expect((sets.json.items as { name: string; permissions: string[] }[]).find((s) => s.name === 'viewers')?.permissions).toEqual(readable);
    await ok(w, assign('erin', 'viewers'));
    await ok(w, { method: 'DELETE', path: 'rights-assignments/erin', as: 'carol' });
  });
});

describe('a support grant whose stored end cannot be read gives no access', () => {
  it.each(ODD)('expiresAt and endsAt %s', async (_name, value) => {
    const w = world();
    const grant = await ok(w, { method: 'POST', path: 'support-grants', body: { ticket: 'T-1', scope: 'read-only', expiresAt: new Date(w.clock.now().getTime() + 86400_000).toISOString() }, as: 'alice' }, 201);
    expect((await send(w, { method: 'GET', path: 'documents', as: 'support.sam' })).status).toBe(200);
    const stored = w.deps.tenantRecords.records.get(`${TENANT}/support-grant:${grant.json.id as string}`)!;
    stored.value = setField(setField(stored.value, 'expiresAt', value), 'endsAt', value);
    expect((await send(w, { method: 'GET', path: 'documents', as: 'support.sam' })).status).toBe(403);
  });
});

describe('an export whose stored expiry cannot be read is not downloadable', () => {
  it.each(ODD)('expiresAt %s', async (_name, value) => {
    const w = world();
    await docOf(w);
    const job = (await ok(w, { method: 'POST', path: 'exports', body: { includeOriginals: true }, as: 'alice' })).json;
    await exportCompleted(w, job.id as string);
    const jobs = (w.deps.exportJobs as InMemoryExportJobs).jobs;
    jobs.set(`${TENANT}/${job.id as string}`, setField(jobs.get(`${TENANT}/${job.id as string}`) as ExportJob, 'expiresAt', value));
    const download = await send(w, { method: 'GET', path: `exports/${job.id as string}/download`, as: 'alice' });
    expect([download.status, download.json?.code]).toEqual([410, 'export_expired']);
    const shown = await send(w, { method: 'GET', path: `exports/${job.id as string}`, as: 'alice' });
    expect([shown.status, shown.json?.status, shown.json?.archive]).toEqual([200, 'expired', undefined]);
  });
});

describe('a pending proposal whose stored expiry cannot be read is expired, not pending for ever', () => {
  it.each(ODD)('expiresAt %s', (_name, value) => {
    const p = setField({ state: 'pending', expiresAt: '2030-01-01T00:00:00.000Z' } as ProposalRecord, 'expiresAt', value);
    expect(proposalStateOf(p, new Date('2026-01-01T00:00:00.000Z'))).toBe('expired');
  });
  it('a proposal without a state is not pending', () => {
    const p = setField({ state: 'pending', expiresAt: '2030-01-01T00:00:00.000Z' } as ProposalRecord, 'state', undefined);
    expect(proposalStateOf(p, new Date('2026-01-01T00:00:00.000Z'))).not.toBe('pending');
  });
});

describe("a file whose stored SHA-256 is not one is not sent under it", () => {
  it.each([
    ['missing', undefined],
    ['null', null],
    ['empty', ''],
    ['not hex', 'z'.repeat(64)],
    ['cut short', 'ab'],
  ] as [string, unknown][])('original sha256 %s: refused as damaged, alerted', async (_name, value) => {
    const w = world();
    const id = await docOf(w);
    const doc = w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
    const original = setField(doc.original, 'sha256', value);
    w.deps.catalog.documents.set(`${TENANT}/${id}`, { ...doc, original, originals: [original] });
    const r = await send(w, { method: 'GET', path: `documents/${id}/original`, as: 'alice' });
    expect([r.status, r.json?.code]).toEqual([500, 'file_damaged']);
    expect((w.deps.log as RecordingLogger).lines.some((l) => l.level === 'error' && l.message === FIXITY_MISMATCH && l.fields?.documentId === id)).toBe(true);
  });
});

/** Two documents past their retention (the clock moved on 20 years), `edit` applied to the first one's catalog item: their ids. */
async function dueDocuments(w: World, edit: (doc: ArchivedDocument) => ArchivedDocument): Promise<[string, string]> {
  const id = await docOf(w, { fiscalYear: 2018, retentionClass: 'immovable-property-10y' });
  const other = await docOf(w, { fiscalYear: 2018, retentionClass: 'immovable-property-10y' });
  w.clock.advance(20 * 365 * 86400_000);
  const key = `${TENANT}/${id}`;
  w.deps.catalog.documents.set(key, edit(structuredClone(w.deps.catalog.documents.get(key)!)));
  return [id, other];
}
const sweepNow = (w: World) => sweep({ now: w.clock.now(), budget: { maxItems: 100, maxMillis: 60_000 }, continuation: null }, w.deps);

describe('the retention sweep disposes of no document whose retention or holds cannot be read', () => {
  const RETAIN_UNTIL: [string, unknown][] = [
    ['missing', undefined],
    ['null', null],
    ['empty', ''],
    ['not a date', 'soon'],
    ['a number of years', '10'],
    ['a year', '2019'],
    ['epoch milliseconds', 1_500_000_000_000],
    ['another form', 'Tue, 01 Jan 2019 00:00:00 GMT'],
  ];
  it.each(RETAIN_UNTIL)('retainUntil %s: kept, and reported', async (_name, value) => {
    const w = world();
    const [id, other] = await dueDocuments(w, (d) => ({ ...d, retention: setField(d.retention, 'retainUntil', value) }));
    const result = await sweepNow(w);
    expect(w.deps.catalog.documents.get(`${TENANT}/${id}`)!.status).toBe('active');
    expect(result.disposed).toEqual([`${TENANT}/${other}`]);
    // Listed by the query (text that sorts before now: '', '10', '2019') or not: never disposed; where it comes to the sweep, named.
    if (typeof value === 'string' && value <= w.clock.now().toISOString()) expect(result.blocked).toHaveLength(1);
    for (const b of result.blocked) expect(b).toEqual({ tenantId: TENANT, documentId: id, reason: 'retention-unreadable' });
    const alerted = (w.deps.log as RecordingLogger).lines.filter((l) => l.level === 'error' && l.message.includes(DOCUMENT_CHECK_FAILED) && l.fields?.documentId === id);
    expect(alerted.length).toBe(result.blocked.length);
  });

  const HOLDS: [string, (d: ArchivedDocument) => ArchivedDocument][] = [
    ['legalHold true, holds missing', (d) => setField({ ...d, legalHold: true }, 'holds', undefined)],
    ['legalHold missing, a hold open', (d) => setField({ ...d, holds: [hold()] }, 'legalHold', undefined)],
    ['legalHold false, a hold open', (d) => ({ ...d, legalHold: false, holds: [hold()] })],
    ['legalHold false, a hold released null', (d) => ({ ...d, legalHold: false, holds: [{ ...hold(), releasedAt: null as never }] })],
    ['legalHold false, a hold released empty', (d) => ({ ...d, legalHold: false, holds: [{ ...hold(), releasedAt: '' }] })],
    ['legalHold "false" (text)', (d) => ({ ...d, legalHold: 'false' as never })],
    ['legalHold null, holds missing', (d) => setField({ ...d, legalHold: null as never }, 'holds', undefined)],
    ['holds an object, not a list', (d) => ({ ...d, legalHold: false, holds: { 0: hold() } as never })],
  ];
  it.each(HOLDS)('%s: kept', async (_name, edit) => {
    const w = world();
    const [id, other] = await dueDocuments(w, edit);
    const result = await sweepNow(w);
    expect(w.deps.catalog.documents.get(`${TENANT}/${id}`)!.status).toBe('active');
    expect(result.disposed).toEqual([`${TENANT}/${other}`]);
  });

  it.each([
    ['missing', undefined],
    ['null', null],
    ['text', 'false'],
  ] as [string, unknown][])("a tenant policy whose requireDisposalApproval is %s: approval required, nothing unapproved disposed of", async (_name, value) => {
    const w = world();
    const [id, other] = await dueDocuments(w, (d) => d);
    w.deps.retention.policies.policies.set(TENANT, setField({ ...DEFAULT_POLICY, requireDisposalApproval: true }, 'requireDisposalApproval', value));
    const result = await sweepNow(w);
    expect(result.disposed).toEqual([]);
    for (const doc of [id, other]) expect(w.deps.catalog.documents.get(`${TENANT}/${doc}`)!.status).toBe('active');
    const shown = await send(w, { method: 'GET', path: 'retention/policy', as: 'alice' });
    expect(shown.json?.requireDisposalApproval).toBe(true);
  });

  it('a claim (disposing) whose hold is open but whose legalHold flag is not set is not deleted', async () => {
    const w = world();
    const [id] = await dueDocuments(w, (d) => ({ ...d, status: 'disposing', legalHold: false, holds: [hold()] }));
    // Its deletion begun (a claim not sealed by the archive with every blob there goes back to active: sealed-claims.test.ts).
    const doc = w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
    w.deps.blobs.blobs.delete(`${TENANT}/${doc.rendition.blobName}`);
    const result = await sweepNow(w);
    expect(result.blocked).toContainEqual({ tenantId: TENANT, documentId: id, reason: 'legal-hold' });
    expect(w.deps.blobs.blobs.has(`${TENANT}/${doc.original.blobName}`)).toBe(true);
  });
});

const hold = () => ({ id: 'h1', reason: 'Audit', caseReference: 'C-1', placedAt: '2020-01-01T00:00:00.000Z', placedBy: { subject: 'up', kind: 'user' } });

describe("a tenant's stored retention class whose years are not a whole number fixes no retention", () => {
  it.each([
    ['text', '10'],
    ['a fraction', 7.5],
    ['null', null],
  ] as [string, unknown][])('years %s: the upload is refused, nothing archived', async (_name, years) => {
    const w = world();
    w.deps.retention.policies.policies.set(TENANT, { ...DEFAULT_POLICY, classes: [{ name: 'contracts', years: years as number }] });
    const r = await send(w, upload({ fiscalYear: 2025, retentionClass: 'contracts' }));
    expect([r.status, r.json?.code]).toEqual([422, 'invalid_retention_policy']);
    expect(w.deps.catalog.documents.size).toBe(0);
  });
});

describe("a tenant's stored SoD policy whose rules cannot be read keeps them on", () => {
  // Broke: sodPolicyOf took the stored fields as they were: an uploader rule missing, null or text ("true" aside) was off,
  // so an uploader could approve the disposal of their own upload; conflicts that were not a list failed (500) every
  // request the policy judges. Every version wrote both fields, so such a record is damaged: read on the safe side.
  it.each([
    ['missing', undefined],
    ['null', null],
    ['text', 'no'],
    ['a number', 0],
  ] as [string, unknown][])('the uploader rule %s is on, and conflicts that are not a list are the default', async (_name, value) => {
    const w = world();
    const stored = setField({ id: 'sod-policy', tenantId: TENANT, type: 'sod-policy', conflicts: null, uploaderCannotApproveDisposal: false, updatedAt: '2026-01-01T00:00:00.000Z', updatedBy: { subject: 'ann', kind: 'user' } }, 'uploaderCannotApproveDisposal', value);
    w.deps.tenantRecords.records.set(`${TENANT}/sod-policy`, { value: stored, etag: 1 });
    expect(await w.deps.rights.policy(TENANT, { fresh: true })).toEqual(DEFAULT_SOD_POLICY);
  });

  it('one stored with the rule off, as PUT /sod-policy writes it, stays off', async () => {
    const w = world();
    w.deps.tenantRecords.records.set(`${TENANT}/sod-policy`, { value: { id: 'sod-policy', tenantId: TENANT, type: 'sod-policy', conflicts: [], uploaderCannotApproveDisposal: false } as TenantRecord, etag: 1 });
    expect(await w.deps.rights.policy(TENANT, { fresh: true })).toEqual({ conflicts: [], uploaderCannotApproveDisposal: false });
  });
});


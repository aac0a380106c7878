/**
 * The audit outbox against the real Cosmos protocol server: an upload's audit entry is stored in
 * its catalog batch, appended to the chain after the answer, and never lost or doubled.
 */
import { AUDIT_OUTBOX_GRACE_MS, auditOutboxItem, type AuditInput, type AuditOutboxItem } from '../../shared/kernel/audit';
import { AuditOutboxItems } from '../../shared/adapters/azure/audit-outbox';
import { AUDIT_OUTBOX_DRAIN_MAX } from '../../shared/audit/seal';
import { AuditLog } from '../../shared/adapters/azure/audit-log';
import { AuditOutbox } from '../../shared/audit/outbox';
import { RecordingLogger } from '../support/in-memory';
import { call, putAsRead, rawUpload } from '../support/http';
import { paddedJpeg } from '../support/large-jpeg';
import { corpusFile, newTenant, startTestArchive, TestArchive } from '../support/harness';
import type { ArchivedDocument } from '../../shared/kernel/document';
import { seedDocument } from '../support/seed';

let archive: TestArchive;
beforeAll(async () => {
  archive = await startTestArchive();
});
afterAll(() => archive.stop());

const scan = (tag: string) => paddedJpeg(corpusFile('ocrmypdf/baiona_color.jpg'), `${tag}-${Date.now()}-${Math.random()}`);
const month = () => new Date().toISOString().slice(0, 7);
/** A tenant's outbox items, in both containers that hold them. */
const outboxItems = async (tenant: string) => {
  const { documents, tenants } = archive.host.deps.cosmos;
  const query = { query: 'SELECT * FROM c WHERE c.tenantId = @t AND c.type = "audit-outbox"', parameters: [{ name: '@t', value: tenant }] };
  return (await Promise.all([documents, tenants].map(async (c) => (await c.items.query<AuditOutboxItem>(query).fetchAll()).resources))).flat();
};

/** A request with a JSON body (if any), as `token`. */
const json = (method: string, token: string, body?: unknown, headers: Record<string, string> = {}) => ({ method, token, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json', ...headers } } : {}) });

/** Watches the instance's outbox releases; the returned function stops and gives the tenant's released entries, in order. */
function watchReleases(tenant: string): () => AuditInput[] {
  const releases = jest.spyOn(archive.host.deps.auditOutbox, 'release');
  return () => {
    const entries = releases.mock.calls.map(([item]) => item.entries[0]!).filter((e) => e.tenantId === tenant);
    releases.mockRestore();
    return entries;
  };
}

/**
 * The sealing timer's first step (test/unit/audit/outbox.test.ts shows the timer takes it), alone:
 * the whole timer would also seal every other test file's tenants in the shared emulators.
 */
const drainAsTheSealingTimerDoes = () => archive.host.deps.auditOutbox.drain(new Date(Date.now() - AUDIT_OUTBOX_GRACE_MS), AUDIT_OUTBOX_DRAIN_MAX);

/** Once this instance's releases are done: no outbox item is left, and the month's chain verifies. */
async function expectReleasedAndVerified(tenant: string, auditor: string): Promise<void> {
  await archive.host.deps.auditOutbox.flush();
  expect(await outboxItems(tenant)).toEqual([]);
  expect(await call(`${archive.url}/audit/verify?month=${month()}`, { token: auditor }).then((r) => r.json)).toMatchObject({ ok: true, problems: [] });
}

describe('audit outbox', () => {
  it('an upload\'s entry is in the chain for the next reader, once, with the time of the change; its outbox item is removed', async () => {
    const tenant = newTenant('outbox');
    const token = await archive.token({ tenant, sub: 'alice', rights: 'archivist' });
    const auditor = await archive.token({ tenant, sub: 'carol', rights: 'auditor' });
    const uploaded = await call(`${archive.url}/documents`, { ...rawUpload(scan('a'), 'image/jpeg'), token });
    expect(uploaded.status).toBe(201);
    const requestId = uploaded.headers.get('x-request-id');
    // The very next read, on this instance, sees it (readers wait for the instance's writers).
    const listed = await call(`${archive.url}/audit?month=${month()}&action=document.ingest`, { token: auditor });
    expect(listed.status).toBe(200);
    expect(listed.json.items).toEqual([expect.objectContaining({ action: 'document.ingest', target: uploaded.json.id, outcome: 'success', status: 201, requestId, actor: expect.objectContaining({ subject: 'alice' }) })]);
    const stored = (await archive.host.deps.catalog.get(tenant, uploaded.json.id)) as ArchivedDocument;
    // Its time is the change's: the catalog batch, after the conversion began (createdAt) and before the answer.
    expect(listed.json.items[0].at >= stored.createdAt && listed.json.items[0].at <= new Date().toISOString()).toBe(true);
    await expectReleasedAndVerified(tenant, auditor);
  });

  it('a hold placed by one person, a metadata correction and the release by another: each entry is stored with its change, then in the chain once', async () => {
    const tenant = newTenant('outboxholds');
    const alice = await archive.token({ tenant, sub: 'alice', rights: 'archivist' });
    const bob = await archive.token({ tenant, sub: 'bob', rights: 'tenant-admin' });
    const auditor = await archive.token({ tenant, sub: 'carol', rights: 'auditor' });
    const releasedEntries = watchReleases(tenant);
    const id = (await call(`${archive.url}/documents`, { ...rawUpload(scan('h'), 'image/jpeg'), token: alice })).json.id as string;
    const placed = await call(`${archive.url}/documents/${id}/legal-holds`, json('POST', alice, { reason: 'tax audit', caseReference: 'FA-1' }));
    expect(placed.status).toBe(201);
    const corrected = await call(`${archive.url}/documents/${id}/metadata`, json('PATCH', alice, { reference: 'INV-7', reason: 'typo' }, { 'Content-Type': 'application/merge-patch+json', 'If-Match': '"metadata-1"' }));
    expect(corrected.status).toBe(200);
    const released = await call(`${archive.url}/documents/${id}/legal-holds/${placed.json.id}`, json('DELETE', bob, { reason: 'closed' }));
    expect(released.status).toBe(200);
    const entries = (await call(`${archive.url}/audit?month=${month()}&target=${id}`, { token: auditor })).json.items as { action: string; actor: { subject: string }; status: number; detail?: string; requestId: string }[];
    expect(entries.map((e) => `${e.action}:${e.actor.subject}:${e.status}`).reverse()).toEqual(['document.ingest:alice:201', 'legal-hold.place:alice:201', 'document.correct-metadata:alice:200', 'legal-hold.release:bob:200']);
    // The correction's entry carries its detail, pinned in the chain with it.
    expect(entries.find((e) => e.action === 'document.correct-metadata')?.detail).toMatch(/^metadata-version=2;fields=reference;sha256=[0-9a-f]{64}$/);
    expect(new Set(entries.map((e) => e.requestId)).size).toBe(4);
    // Every one of the four went through the outbox: stored with its change, appended after the answer.
    const outboxed = releasedEntries();
    expect(outboxed.map((e) => e.requestId).sort()).toEqual(entries.map((e) => e.requestId).sort());
    await expectReleasedAndVerified(tenant, auditor);
  });

  it('rights, keys and support grants: each change\'s entry is stored with its record in the tenants container, then in the chain once', async () => {
    const tenant = newTenant('outboxrights');
    const admin = await archive.token({ tenant, sub: 'erin', rights: 'tenant-admin' });
    const auditor = await archive.token({ tenant, sub: 'carol', rights: 'auditor' });
    const releasedEntries = watchReleases(tenant);
    const statuses = [
      (await call(`${archive.url}/rights-sets/readers`, json('PUT', admin, { permissions: ['documents:read'] }))).status,
      (await call(`${archive.url}/rights-assignments/dave`, json('PUT', admin, { rightsSet: 'readers' }))).status,
    ];
    const key = await call(`${archive.url}/api-keys`, json('POST', admin, { name: 'reader-key', rightsSet: 'readers' }));
    const grant = await call(`${archive.url}/support-grants`, json('POST', admin, { ticket: 'T-1', expiresAt: new Date(Date.now() + 86_400_000).toISOString() }));
    statuses.push(
      key.status,
      (await call(`${archive.url}/api-keys/${key.json.id}`, json('DELETE', admin))).status,
      grant.status,
      (await call(`${archive.url}/support-grants/${grant.json.id}`, json('DELETE', admin))).status,
      (await call(`${archive.url}/rights-assignments/dave`, json('DELETE', admin))).status,
      (await call(`${archive.url}/rights-sets/readers`, json('DELETE', admin))).status,
    );
    expect(statuses).toEqual([200, 200, 201, 200, 201, 200, 204, 204]); // key, then its revocation; grant, then its revocation
    const outboxed = releasedEntries();
    expect(outboxed.map((e) => `${e.action} ${e.target} ${e.status}`)).toEqual([
      'rights-set.put rights-set:readers 200',
      'rights-assignment.put subject:dave 200',
      `api-key.create api-key:${key.json.id} 201`,
      `support-grant.create support-grant:${grant.json.id} 201`,
      `api-key.revoke api-key:${key.json.id} 200`,
      `support-grant.revoke support-grant:${grant.json.id} 200`,
      'rights-assignment.delete subject:dave 204',
      'rights-set.delete rights-set:readers 204',
    ]);
    const chain = (await call(`${archive.url}/audit?month=${month()}&actor=erin`, { token: auditor })).json.items as { requestId: string }[];
    expect(chain.map((e) => e.requestId).sort()).toEqual(outboxed.map((e) => e.requestId).sort());
    await expectReleasedAndVerified(tenant, auditor);
  });

  it('the SoD policy: a weakening proposed by one person and approved by another, a strengthening, a withdrawal: each entry stored with its record', async () => {
    const tenant = newTenant('outboxsod');
    const erin = await archive.token({ tenant, sub: 'erin', rights: 'tenant-admin' });
    const frank = await archive.token({ tenant, sub: 'frank', rights: 'tenant-admin' });
    const auditor = await archive.token({ tenant, sub: 'carol', rights: 'auditor' });
    const releasedEntries = watchReleases(tenant);
    const weaker = { conflicts: [], uploaderCannotApproveDisposal: true };
    const proposed = await putAsRead(`${archive.url}/sod-policy`, weaker, { token: erin });
    const approved = await call(`${archive.url}/sod-policy/proposals/${proposed.json.id}/approve`, json('POST', frank, { reason: 'agreed' }));
    const stronger = await putAsRead(`${archive.url}/sod-policy`, { conflicts: [['documents:write', 'retention:approve']], uploaderCannotApproveDisposal: true }, { token: frank });
    const again = await putAsRead(`${archive.url}/sod-policy`, weaker, { token: erin });
    const withdrawn = await call(`${archive.url}/sod-policy/proposals/${again.json.id}`, json('DELETE', erin));
    expect([proposed.status, approved.status, stronger.status, again.status, withdrawn.status]).toEqual([202, 200, 200, 202, 200]);
    const outboxed = releasedEntries();
    expect(outboxed.map((e) => `${e.action} ${e.target} ${e.status} ${e.detail ?? '-'} ${e.actor.subject}`)).toEqual([
      `sod-policy.put sod-policy-proposal:${proposed.json.id} 202 proposed erin`,
      expect.stringMatching(new RegExp(`^sod-policy.proposal-approve sod-policy-proposal:${proposed.json.id} 200 conflicts=none;uploader-rule=on;weakened=conflict-removed:documents:write×retention:approve;kept-revision=\\d+;kept-digest=[0-9a-f]{64} frank$`)),
      expect.stringMatching(/^sod-policy.put sod-policy 200 conflicts=documents:write×retention:approve;uploader-rule=on;kept-revision=\d+;kept-digest=[0-9a-f]{64} frank$/),
      `sod-policy.put sod-policy-proposal:${again.json.id} 202 proposed erin`,
      `sod-policy.proposal-withdraw sod-policy-proposal:${again.json.id} 200 - erin`,
    ]);
    await expectReleasedAndVerified(tenant, auditor);
  });

  it('the retention policy: its entry is stored with the policy record; a refused lowering stores neither', async () => {
    const tenant = newTenant('outboxpolicy');
    const admin = await archive.token({ tenant, sub: 'erin', rights: 'tenant-admin' });
    const auditor = await archive.token({ tenant, sub: 'carol', rights: 'auditor' });
    const releasedEntries = watchReleases(tenant);
    const strict = { classes: [], defaultClass: 'fiscal-7y', requireDisposalApproval: true };
    const set = await putAsRead(`${archive.url}/retention/policy`, strict, { token: admin });
    expect(set.status).toBe(200);
    // erin holds retention:approve too: lowering the safeguard is refused, and audited as refused, not through the outbox.
    const lowered = await putAsRead(`${archive.url}/retention/policy`, { ...strict, requireDisposalApproval: false }, { token: admin });
    expect(lowered.json).toMatchObject({ status: 403, code: 'segregation_of_duties' });
    expect(releasedEntries().map((e) => `${e.action} ${e.target} ${e.status} ${e.actor.subject} ${e.requestId}`)).toEqual([`retention.policy-set retention-policy 200 erin ${set.headers.get('x-request-id')}`]);
    const chain = (await call(`${archive.url}/audit?month=${month()}&action=retention.policy-set`, { token: auditor })).json.items as { outcome: string; status: number }[];
    expect(chain.map((e) => `${e.outcome} ${e.status}`)).toEqual(['refused 403', 'success 200']);
    expect((await call(`${archive.url}/retention/policy`, { token: admin })).json).toMatchObject({ requireDisposalApproval: true });
    await expectReleasedAndVerified(tenant, auditor);
  });

  it('holds by query: the request\'s one entry is stored with the first document it holds, and the release everywhere\'s with the first it releases', async () => {
    const tenant = newTenant('outboxqueryhold');
    const alice = await archive.token({ tenant, sub: 'alice', rights: 'archivist' });
    const bob = await archive.token({ tenant, sub: 'bob', rights: 'tenant-admin' });
    const auditor = await archive.token({ tenant, sub: 'carol', rights: 'auditor' });
    const upload = async () => {
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(scan('q'))], { type: 'image/jpeg' }), 'scan.jpg');
      form.append('metadata', JSON.stringify({ counterparty: 'ACME GmbH' }));
      return (await call(`${archive.url}/documents`, { method: 'POST', body: form, token: alice })).json.id as string;
    };
    const ids = [await upload(), await upload()];
    const releasedEntries = watchReleases(tenant);
    const placed = await call(`${archive.url}/legal-holds`, json('POST', alice, { reason: 'dispute', caseReference: 'LG-1', query: { counterparty: 'ACME GmbH' } }));
    expect(placed.status).toBe(201);
    expect([...placed.json.documentIds].sort()).toEqual([...ids].sort());
    const released = await call(`${archive.url}/legal-holds/${placed.json.holdId}`, json('DELETE', bob, { reason: 'settled' }));
    expect(released.status).toBe(200);
    const requestIds = [placed.headers.get('x-request-id'), released.headers.get('x-request-id')];
    expect(releasedEntries().map((e) => `${e.action} ${e.target} ${e.status} ${e.actor.subject} ${e.requestId}`)).toEqual([
      `legal-hold.place-by-query ${placed.json.holdId} 201 alice ${requestIds[0]}`,
      `legal-hold.release ${placed.json.holdId} 200 bob ${requestIds[1]}`,
    ]);
    // One entry per request in the chain, not one per document.
    const chain = (await call(`${archive.url}/audit?month=${month()}&target=${placed.json.holdId}`, { token: auditor })).json.items as { requestId: string }[];
    expect(chain.map((e) => e.requestId)).toEqual([...requestIds].reverse());
    await expectReleasedAndVerified(tenant, auditor);
  });

  it('an export: its entry is stored with the job before the 202, so no export runs unrecorded', async () => {
    const tenant = newTenant('outboxexport');
    const auditor = await archive.token({ tenant, sub: 'carol', rights: 'auditor' });
    const releasedEntries = watchReleases(tenant);
    const started = await call(`${archive.url}/exports`, json('POST', auditor, { fiscalYear: 2024, includeOriginals: false }));
    expect(started.status).toBe(202);
    expect(releasedEntries().map((e) => `${e.action} ${e.target} ${e.status} ${e.actor.subject} ${e.requestId}`)).toEqual([`export.create ${started.json.id} 202 carol ${started.headers.get('x-request-id')}`]);
    await expectReleasedAndVerified(tenant, auditor);
  });

  // Documents seeded whole (the reconciler and the sweep walk every tenant of the shared emulators).
  const ingestEntry = (tenant: string, requestId: string, at = new Date().toISOString()) => ({ tenantId: tenant, at, actor: { subject: 'alice', kind: 'user' }, action: 'document.ingest' as const, target: null, outcome: 'success' as const, status: 201, requestId, clientIp: null, userAgent: null });

  it('the catalog batch stores the item with the document, all or none: a document that exists already stores no item', async () => {
    const tenant = newTenant('outboxatomic');
    const doc = await seedDocument(archive.host.deps, tenant, { metadata: {}, auditOutbox: auditOutboxItem([ingestEntry(tenant, `first-${tenant}`)]) });
    expect(await archive.host.deps.catalog.create(doc, auditOutboxItem([ingestEntry(tenant, `second-${tenant}`)]))).toBe('exists');
    expect((await outboxItems(tenant)).map((i) => i.id)).toEqual([`audit-outbox:first-${tenant}`]);
  });

  it('an item its instance never released (it stopped) is appended by the sealing timer after the grace period, once', async () => {
    const tenant = newTenant('outboxcrash');
    const at = new Date(Date.now() - AUDIT_OUTBOX_GRACE_MS - 60_000).toISOString();
    const doc = await seedDocument(archive.host.deps, tenant, { metadata: {}, auditOutbox: auditOutboxItem([ingestEntry(tenant, `crash-${tenant}`, at)]) });
    await drainAsTheSealingTimerDoes();
    await drainAsTheSealingTimerDoes();
    const entries = await archive.host.deps.audit.all(tenant, at.slice(0, 7));
    expect(entries).toEqual([expect.objectContaining({ requestId: `crash-${tenant}`, at, seq: 1 })]);
    expect(doc.tenantId).toBe(tenant);
    expect(await outboxItems(tenant)).toEqual([]);
  });

  it('an item left in the tenants container is drained the same way', async () => {
    const tenant = newTenant('outboxcrashrights');
    const at = new Date(Date.now() - AUDIT_OUTBOX_GRACE_MS - 60_000).toISOString();
    const item = auditOutboxItem([{ ...ingestEntry(tenant, `crash-${tenant}`, at), action: 'rights-set.put', target: 'rights-set:readers', status: 200 }]);
    await archive.host.deps.tenantRecords.upsert({ id: 'rights-set:readers', tenantId: tenant, type: 'rights-set', name: 'readers', permissions: ['documents:read'], updatedAt: at, updatedBy: { subject: 'alice', kind: 'user' } }, item);
    expect((await outboxItems(tenant)).map((i) => i.id)).toEqual([item.id]);
    await drainAsTheSealingTimerDoes();
    expect(await archive.host.deps.audit.all(tenant, at.slice(0, 7))).toEqual([expect.objectContaining({ requestId: `crash-${tenant}`, action: 'rights-set.put', at, seq: 1 })]);
    expect(await outboxItems(tenant)).toEqual([]);
  });

  it('two sealing runs at once (two hosts, one paused inside its append): each item is claimed over its etag by one run, in either container, and in the chain once', async () => {
    const tenant = newTenant('outboxtwice');
    const at = new Date(Date.now() - AUDIT_OUTBOX_GRACE_MS - 60_000).toISOString();
    await seedDocument(archive.host.deps, tenant, { metadata: {}, auditOutbox: auditOutboxItem([ingestEntry(tenant, `doc-${tenant}`, at)]) });
    const rightsItem = auditOutboxItem([{ ...ingestEntry(tenant, `rights-${tenant}`, at), action: 'rights-set.put', target: 'rights-set:readers', status: 200 }]);
    await archive.host.deps.tenantRecords.upsert({ id: 'rights-set:readers', tenantId: tenant, type: 'rights-set', name: 'readers', permissions: ['documents:read'], updatedAt: at, updatedBy: { subject: 'alice', kind: 'user' } }, rightsItem);
    const { cosmos } = archive.host.deps;
    /** A host's sealing run: its own log writer, over this tenant's items only (the emulators are shared with other test files). */
    const host = () => {
      const audit = new AuditLog(cosmos.audit, cosmos.tenants, archive.host.deps.audit.chainKey);
      const items = new AuditOutboxItems(cosmos.documents, cosmos.tenants);
      const onlyTenant = Object.assign(Object.create(items) as AuditOutboxItems, { unsafeWrittenBefore: async (before: string, max: number) => (await items.unsafeWrittenBefore(before, max)).filter((v) => v.item.tenantId === tenant) });
      return { audit, outbox: new AuditOutbox({ audit, auditOutboxItems: onlyTenant, log: new RecordingLogger() }, 0) };
    };
    const [paused, whole] = [host(), host()];
    let resume!: () => void;
    const gate = new Promise<void>((r) => (resume = r));
    let started!: () => void;
    const appending = new Promise<void>((r) => (started = r));
    const append = paused.audit.appendBatch.bind(paused.audit);
    jest.spyOn(paused.audit, 'appendBatch').mockImplementationOnce(async (...args) => {
      started();
      await gate;
      return append(...args);
    });
    const first = paused.outbox.drain(new Date(Date.now() - AUDIT_OUTBOX_GRACE_MS), AUDIT_OUTBOX_DRAIN_MAX);
    await appending;
    // The paused run holds the first item; the whole run takes the other, and the paused run's claim on it then fails.
    expect(await whole.outbox.drain(new Date(Date.now() - AUDIT_OUTBOX_GRACE_MS), AUDIT_OUTBOX_DRAIN_MAX)).toBe(1);
    resume();
    expect(await first).toBe(1);
    const entries = await archive.host.deps.audit.all(tenant, at.slice(0, 7));
    expect(entries.map((e) => e.requestId).sort()).toEqual([`doc-${tenant}`, `rights-${tenant}`]);
    expect(await outboxItems(tenant)).toEqual([]);
  });

  it('removal takes several items in one batch, and one already gone does not stop the others', async () => {
    const tenant = newTenant('outboxremove');
    const items = ['r1', 'r2', 'r3'].map((r) => auditOutboxItem([ingestEntry(tenant, `${tenant}-${r}`)]));
    for (const item of items) await seedDocument(archive.host.deps, tenant, { metadata: {}, auditOutbox: item });
    const removal = new AuditOutboxItems(archive.host.deps.cosmos.documents, archive.host.deps.cosmos.tenants);
    await removal.remove([items[1]!]);
    await removal.remove(items);
    expect(await outboxItems(tenant)).toEqual([]);
  });
});

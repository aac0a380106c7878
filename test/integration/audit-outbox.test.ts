/**
 * The audit outbox against the real Cosmos protocol server: an upload's audit entry is stored in
 * its catalog batch, appended to the chain after the answer, and never lost or doubled.
 */
import { auditOutboxItem, type AuditOutboxItem } from '../../shared/kernel/audit';
import { AuditOutboxItems } from '../../shared/adapters/azure/audit-outbox';
import { sealAuditLog } from '../../shared/audit/seal';
import { call, rawUpload } from '../support/http';
import { paddedJpeg } from '../support/large-jpeg';
import { corpusFile, newTenant, startTestArchive, TestArchive } from '../support/harness';
import type { ArchivedDocument } from '../../shared/kernel/document';

let archive: TestArchive;
beforeAll(async () => {
  archive = await startTestArchive();
});
afterAll(() => archive.stop());

const scan = (tag: string) => paddedJpeg(corpusFile('ocrmypdf/baiona_color.jpg'), `${tag}-${Date.now()}-${Math.random()}`);
const month = () => new Date().toISOString().slice(0, 7);
const outboxItems = async (tenant: string) =>
  (await archive.host.deps.cosmos.documents.items.query<AuditOutboxItem>({ query: 'SELECT * FROM c WHERE c.tenantId = @t AND c.type = "audit-outbox"', parameters: [{ name: '@t', value: tenant }] }).fetchAll()).resources;

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
    await archive.host.deps.auditOutbox.flush();
    expect(await outboxItems(tenant)).toEqual([]);
    expect(await call(`${archive.url}/audit/verify?month=${month()}`, { token: auditor }).then((r) => r.json)).toMatchObject({ ok: true, problems: [] });
  });

  it('the catalog batch stores the item with the document, all or none: a document that exists already stores no item', async () => {
    const { catalog } = archive.host.deps;
    const tenant = newTenant('outboxatomic');
    const doc = { id: 'doc-atomic', tenantId: tenant, type: 'document', status: 'active', metadata: {}, contentKey: 'k'.repeat(64) } as unknown as ArchivedDocument;
    const entry = (requestId: string) => ({ tenantId: tenant, at: new Date().toISOString(), actor: { subject: 'alice', kind: 'user' }, action: 'document.ingest' as const, target: doc.id, outcome: 'success' as const, status: 201, requestId, clientIp: null, userAgent: null });
    expect(await catalog.create(doc, auditOutboxItem([entry('first')]))).toBe('created');
    expect(await catalog.create(doc, auditOutboxItem([entry('second')]))).toBe('exists');
    expect((await outboxItems(tenant)).map((i) => i.id)).toEqual(['audit-outbox:first']);
  });

  it('an item its instance never released (it stopped) is appended by the sealing timer after the grace period, once', async () => {
    const { catalog, audit } = archive.host.deps;
    const tenant = newTenant('outboxcrash');
    const at = new Date(Date.now() - 5 * 60_000).toISOString();
    const doc = { id: 'doc-crash', tenantId: tenant, type: 'document', status: 'active', metadata: {}, contentKey: 'c'.repeat(64) } as unknown as ArchivedDocument;
    const item = auditOutboxItem([{ tenantId: tenant, at, actor: { subject: 'bob', kind: 'user' }, action: 'document.ingest', target: doc.id, outcome: 'success', status: 201, requestId: `crash-${tenant}`, clientIp: null, userAgent: null }]);
    expect(await catalog.create(doc, item)).toBe('created');
    await sealAuditLog({ now: new Date(), deps: archive.host.deps });
    await sealAuditLog({ now: new Date(), deps: archive.host.deps });
    const entries = await audit.all(tenant, at.slice(0, 7));
    expect(entries).toEqual([expect.objectContaining({ requestId: `crash-${tenant}`, at, target: doc.id, seq: 1 })]);
    expect(await outboxItems(tenant)).toEqual([]);
  });

  it('removal takes several items in one batch, and one already gone does not stop the others', async () => {
    const { catalog, cosmos } = archive.host.deps;
    const tenant = newTenant('outboxremove');
    const items = await Promise.all(['r1', 'r2', 'r3'].map(async (requestId, i) => {
      const doc = { id: `doc-${i}`, tenantId: tenant, type: 'document', status: 'active', metadata: {}, contentKey: String(i).repeat(64) } as unknown as ArchivedDocument;
      const item = auditOutboxItem([{ tenantId: tenant, at: new Date().toISOString(), actor: { subject: 'alice', kind: 'user' }, action: 'document.ingest', target: doc.id, outcome: 'success', status: 201, requestId: `${tenant}-${requestId}`, clientIp: null, userAgent: null }]);
      await catalog.create(doc, item);
      return item;
    }));
    const removal = new AuditOutboxItems(cosmos.documents);
    await removal.remove([items[1]!]);
    await removal.remove(items);
    expect(await outboxItems(tenant)).toEqual([]);
  });
});

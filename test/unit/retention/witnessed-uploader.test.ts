/**
 * The uploader rule on disposal approvals judged by who uploaded the document as the manifest the archive kept says, not
 * the catalog item: someone who can write Cosmos DB (a restore, a hand edit, a leaked connection string; not Key Vault)
 * and holds retention:approve names another uploader on their own upload, or moves its upload time past the rights its
 * uploader gave them, approves its disposal, and the sweep disposes of it.
 */
import { MANIFEST_UNSEALED } from '../../../shared/documents/manifest';
import { blobLayout } from '../../../shared/kernel/blob-layout';
import type { ArchivedDocument } from '../../../shared/kernel/document';
import { sealApproval } from '../../../shared/retention/approve-disposal';
import { checkDocument } from '../../../shared/retention/fixity';
import type { RecordingLogger } from '../../support/in-memory';
import { approval, assign, type Call, docOf, dueDocs, ok, putSet, requireApproval, send, sweepNow, TENANT, world, type World } from '../../support/in-process';

const item = (w: World, id: string) => w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
const BOB = { subject: 'bob', kind: 'user', person: 'bob' };
/** The catalog item edited as a data-plane write would: no API, no audit entry. */
const edit = (w: World, id: string, change: Partial<ArchivedDocument>) => void w.deps.catalog.documents.set(`${TENANT}/${id}`, { ...structuredClone(item(w, id)), ...change });
const approve = (w: World, as: string, documentIds?: string[]): Call => ({ ...approval(w, as), body: { before: w.clock.now().toISOString(), reason: 'Annual review', ...(documentIds ? { documentIds } : {}) } });

/** up's two due uploads; up then made an approver (retention:approve) by carol. */
async function scene(): Promise<{ w: World; ids: string[] }> {
  const w = world();
  const ids = await dueDocs(w);
  await ok(w, putSet('approver', ['documents:read', 'retention:manage', 'retention:approve']));
  await ok(w, assign('up', 'approver'));
  return { w, ids };
}

describe('an uploader named otherwise in Cosmos DB is still the uploader', () => {
  it('up, named bob on its own upload, cannot approve its disposal by name (403) nor in bulk (skipped)', async () => {
    const { w, ids } = await scene();
    for (const id of ids) edit(w, id, { createdBy: BOB });
    expect((await send(w, approve(w, 'up', [ids[0]!]))).json.code).toBe('segregation_of_duties');
    const bulk = await ok(w, approve(w, 'up'), 201);
    expect([bulk.json.approved, bulk.json.skipped]).toEqual([[], ids.map((id) => ({ id, reason: 'segregation-of-duties:uploader-approves-disposal' }))]);
    expect(ids.map((id) => item(w, id).disposalApproval)).toEqual([undefined, undefined]);
  });

  it('an approval by up given with the edit in place is refused by the sweep: kept', async () => {
    const { w, ids } = await scene();
    await requireApproval(w);
    const id = ids[0]!;
    edit(w, id, { createdBy: BOB });
    const doc = item(w, id);
    doc.disposalApproval = await sealApproval(TENANT, id, { approvalId: '0190a000-0000-7000-8000-000000000001', approvedAt: w.clock.now().toISOString(), approvedBy: { subject: 'up', kind: 'user', person: 'up' }, reason: 'Annual review', retainUntil: doc.retention.retainUntil }, w.deps.audit.chainKeys);
    const run = await sweepNow(w);
    expect([item(w, id).status, run.blocked.find((b) => b.documentId === id)?.reason]).toEqual(['active', 'approval-required: its approver uploaded it']);
  });

  it('a manifest missing or not the archive\'s: skipped (uploader-unwitnessed), and the sweep keeps an approval of it', async () => {
    const { w, ids } = await scene();
    await requireApproval(w);
    const [gone, planted] = ids as [string, string];
    w.deps.blobs.blobs.delete(`${TENANT}/${blobLayout.manifest(gone)}`);
    const blob = w.deps.blobs.blobs.get(`${TENANT}/${blobLayout.manifest(planted)}`)!;
    // Its seal kept, its uploader changed: a seal that does not check (a manifest the archive did not write).
    const stored = JSON.parse(blob.bytes.toString('utf8')) as Record<string, unknown>;
    w.deps.blobs.blobs.set(`${TENANT}/${blobLayout.manifest(planted)}`, { ...blob, bytes: Buffer.from(JSON.stringify({ ...stored, createdBy: BOB })) });
    expect((await ok(w, approve(w, 'bob', [gone]), 201)).json.skipped).toEqual([{ id: gone, reason: 'uploader-unwitnessed' }]);
    const bulk = await ok(w, approve(w, 'bob'), 201);
    expect([bulk.json.approved, bulk.json.skipped]).toEqual([[], ids.map((id) => ({ id, reason: 'uploader-unwitnessed' }))]);
    expect((w.deps.log as RecordingLogger).lines.some((l) => l.level === 'error' && l.message === MANIFEST_UNSEALED)).toBe(true);
    for (const id of ids) {
      const doc = item(w, id);
      doc.disposalApproval = await sealApproval(TENANT, id, { approvalId: '0190a000-0000-7000-8000-000000000002', approvedAt: w.clock.now().toISOString(), approvedBy: BOB, reason: 'Annual review', retainUntil: doc.retention.retainUntil }, w.deps.audit.chainKeys);
    }
    const run = await sweepNow(w);
    expect([run.disposed, ids.map((id) => item(w, id).status)]).toEqual([[], ['active', 'active']]);
  });
});

describe('an upload time moved in Cosmos DB is judged by the manifest\'s', () => {
  it('dave, given rights by up after up\'s upload, cannot approve it with its createdAt moved past the giving', async () => {
    const w = world();
    const ids = await dueDocs(w);
    await ok(w, putSet('approver', ['documents:read', 'retention:manage', 'retention:approve']));
    await ok(w, putSet('clerk', ['documents:read', 'rights:manage', 'retention:manage', 'retention:approve']));
    await ok(w, assign('up', 'clerk'));
    await ok(w, assign('dave', 'approver', 'up'));
    // As stored: dave is up's second identity for these uploads.
    expect((await send(w, approve(w, 'dave', [ids[0]!]))).json.code).toBe('segregation_of_duties');
    w.clock.advance(60_000);
    for (const id of ids) edit(w, id, { createdAt: new Date(w.clock.now().getTime() - 30_000).toISOString() });
    expect((await send(w, approve(w, 'dave', [ids[0]!]))).json.code).toBe('segregation_of_duties');
    const bulk = await ok(w, approve(w, 'dave'), 201);
    expect([bulk.json.approved, bulk.json.skipped]).toEqual([[], ids.map((id) => ({ id, reason: 'segregation-of-duties:uploader-approves-disposal' }))]);
  });
});

describe('control: another person approves, and the sweep disposes', () => {
  it('bob approves up\'s uploads; the sweep disposes of them', async () => {
    const w = world();
    const ids = await dueDocs(w);
    await requireApproval(w);
    expect((await ok(w, approve(w, 'bob', [ids[0]!]), 201)).json.approved).toEqual([ids[0]]);
    expect((await ok(w, approve(w, 'bob'), 201)).json.approved).toEqual([ids[1]]);
    const run = await sweepNow(w);
    expect([run.disposed.sort(), ids.map((id) => item(w, id).status)]).toEqual([ids.map((id) => `${TENANT}/${id}`).sort(), ['disposed', 'disposed']]);
  });
});

describe('the fixity check compares the uploader and upload time with the manifest', () => {
  it.each<[string, (d: ArchivedDocument) => Partial<ArchivedDocument>]>([
    ['createdBy', () => ({ createdBy: BOB })],
    ['createdBy\'s person', (d) => ({ createdBy: { ...d.createdBy, person: 'bob' } })],
    ['createdAt', (d) => ({ createdAt: new Date(Date.parse(d.createdAt) + 60_000).toISOString() })],
  ])('%s edited: a mismatch of the manifest', async (_field, change) => {
    const w = world();
    const [id] = await dueDocs(w);
    expect(await checkDocument(item(w, id!), w.deps)).toEqual({ mismatched: [], missing: [] });
    edit(w, id!, change(item(w, id!)));
    expect(await checkDocument(item(w, id!), w.deps)).toEqual({ mismatched: [blobLayout.manifest(id!)], missing: [] });
  });
});

describe('cost', () => {
  it('a bulk approval of N documents reads N manifests, no other blob', async () => {
    const w = world();
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await docOf(w, { fiscalYear: 2018, retentionClass: 'immovable-property-10y' }));
    w.clock.advance(20 * 365 * 86400_000);
    const reads: string[] = [];
    const readIfExists = w.deps.blobs.readIfExists.bind(w.deps.blobs);
    w.deps.blobs.readIfExists = async (tenantId, name, ...rest) => {
      reads.push(name);
      return readIfExists(tenantId, name, ...rest);
    };
    expect((await ok(w, approve(w, 'bob'), 201)).json.approved.sort()).toEqual([...ids].sort());
    expect(reads.sort()).toEqual(ids.map((id) => blobLayout.manifest(id)).sort());
  });
});

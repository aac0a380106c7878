/**
 * A crash between the blob writes and the manifest leaves a document folder with blobs but
 * neither manifest nor catalog item. The reconciler lists it for an operator (a record with
 * tenant, folder, blob names and sizes, first seen), reports it on /health/ready and in the
 * audit log, once, never invents a document from it, and walks the blob store in bounded runs.
 * The reconciler's blob walk is cross-tenant; here it is narrowed to this test's tenant so the
 * other test files' blobs in the shared Azurite do not enter this run.
 */
import { randomBytes } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import type { Deps } from '../../shared/deps';
import type { AuditAction } from '../../shared/kernel/audit';
import { uuidv7 } from '../../shared/ids';
import { ORPHANED_BLOBS, reconcile, ReconcileResult } from '../../shared/retention/reconcile';
import { checkFixity } from '../../shared/retention/fixity';
import { unsafeRebuildCatalogFromManifests } from '../../shared/documents/rebuild-catalog';
import { DOCUMENT_CHECK_FAILED, MAX_UNCHECKED_PER_RUN } from '../../shared/retention/unchecked';
import { call } from '../support/http';
import { depsForOnlyTenant, newTenant, startTestArchive, TestArchive } from '../support/harness';
import { uniqueJpeg } from '../support/worm-archive';
import { seedDocument } from '../support/seed';

let archive: TestArchive;
beforeAll(async () => {
  archive = await startTestArchive({ COSMOS_DATABASE: `orphans-${randomBytes(4).toString('hex')}` });
});
afterAll(() => archive.stop());

const onlyTenant = (tenant: string) => depsForOnlyTenant(archive.host.deps, tenant);

async function reconcileAll(deps: Deps, maxItems: number, orphanGraceMinutes = 0) {
  const runs: ReconcileResult[] = [];
  let folderContinuation: string | null = null;
  do {
    const run: ReconcileResult = await reconcile({ now: new Date(), maxItems, continuation: null, folderContinuation, orphanGraceMinutes }, deps);
    runs.push(run);
    folderContinuation = run.folderContinuation;
  } while (folderContinuation && runs.length < 20);
  return runs;
}

it('lists folders with blobs but no manifest for an operator, reports them on /health/ready and audits each once', async () => {
  const t = newTenant('orphan');
  const auditor = await archive.token({ tenant: t, sub: 'auditor-1', rights: 'auditor' });
  const uploader = await archive.token({ tenant: t, sub: 'app', rights: 'uploader' });
  const container = BlobServiceClient.fromConnectionString(archive.emulators.storageConnectionString).getContainerClient(`tenant-${t}`);
  await container.createIfNotExists();
  const originalOnly = uuidv7();
  const withRendition = uuidv7();
  const jpeg = uniqueJpeg();
  await container.getBlockBlobClient(`${originalOnly}/original.jpg`).upload(jpeg, jpeg.length);
  await container.getBlockBlobClient(`${withRendition}/original.jpg`).upload(jpeg, jpeg.length);
  await container.getBlockBlobClient(`${withRendition}/rendition.pdf`).upload(Buffer.from('%PDF-1.7\n'), 9);
  // A complete document beside them, which must not be reported.
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(uniqueJpeg())], { type: 'image/jpeg' }), 'scan.jpg');
  expect((await call(`${archive.url}/documents`, { method: 'POST', body: form, token: uploader })).status).toBe(201);
  const deps = onlyTenant(t);

  // Within the grace period they may be uploads in flight: left alone.
  expect((await reconcileAll(deps, 100, 60)).flatMap((r) => r.orphaned)).toEqual([]);

  // Bounded: one folder per run, resumed from the continuation.
  const runs = await reconcileAll(deps, 1);
  expect(runs.length).toBeGreaterThanOrEqual(3);
  expect(runs.slice(0, -1).every((r) => r.foldersChecked === 1 && r.folderContinuation !== null)).toBe(true);
  expect(runs.flatMap((r) => r.indexed)).toEqual([]);
  expect(runs.flatMap((r) => r.orphaned).sort((a, b) => a.documentId.localeCompare(b.documentId))).toEqual(
    [
      { tenantId: t, documentId: originalOnly, blobs: [`${originalOnly}/original.jpg`] },
      { tenantId: t, documentId: withRendition, blobs: [`${withRendition}/original.jpg`, `${withRendition}/rendition.pdf`] },
    ].sort((a, b) => a.documentId.localeCompare(b.documentId)),
  );

  // No document is invented; the operator's record says what is there.
  expect((await call(`${archive.url}/documents/${originalOnly}`, { token: auditor })).status).toBe(404);
  const records = await archive.host.deps.retention.orphans.list(t);
  expect(records.find((r) => r.documentId === withRendition)).toMatchObject({
    tenantId: t,
    folder: `${withRendition}/`,
    blobs: [{ name: `${withRendition}/original.jpg`, size: jpeg.length }, { name: `${withRendition}/rendition.pdf`, size: 9 }],
    audited: true,
  });
  expect(Date.parse(records[0]!.firstSeen)).not.toBeNaN();

  const ready = await call(`${archive.url}/health/ready`);
  expect(ready.json.orphans).toEqual({ status: 'found', orphanedFolders: 2 });
  expect(JSON.stringify(ready.json)).not.toContain(t);

  const orphanEntries = async () =>
    ((await call(`${archive.url}/audit?limit=500`, { token: auditor })).json.items as { action: string; target: string; actor: { subject: string }; detail: string }[]).filter((e) => e.action === 'document.blobs-orphaned');
  const entries = await orphanEntries();
  expect(entries.map((e) => e.target).sort()).toEqual([originalOnly, withRendition].sort());
  expect(entries.find((e) => e.target === withRendition)).toMatchObject({ actor: { subject: 'system:reconciler' }, detail: 'orphaned:original.jpg,rendition.pdf' });

  // Running again reports nothing new.
  expect((await reconcileAll(deps, 100)).flatMap((r) => r.orphaned)).toEqual([]);
  expect(await orphanEntries()).toHaveLength(2);
  expect((await call(`${archive.url}/health/ready`)).json.orphans.orphanedFolders).toBe(2);
});

it('names a malformed catalog item and a malformed manifest for an operator and checks the documents behind them: reconciler, fixity check, start-up re-index', async () => {
  const t = newTenant('malformed');
  const uploader = await archive.token({ tenant: t, sub: 'app', rights: 'uploader' });
  const upload = async () => {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(uniqueJpeg())], { type: 'image/jpeg' }), 'scan.jpg');
    const res = await call(`${archive.url}/documents`, { method: 'POST', body: form, token: uploader });
    expect(res.status).toBe(201);
    return res.json.id as string;
  };
  const before = await upload();
  // A catalog item without its originals (as a hand edit or an old bug could leave), and a folder
  // whose manifest is not JSON, with no catalog item: each used to stop the whole walk.
  const items = archive.host.deps.cosmos.documents.items;
  const bareItem = uuidv7();
  await items.create({ id: bareItem, tenantId: t, type: 'document', status: 'active' });
  const badManifest = uuidv7();
  const container = BlobServiceClient.fromConnectionString(archive.emulators.storageConnectionString).getContainerClient(`tenant-${t}`);
  const manifestBlob = container.getBlockBlobClient(`${badManifest}/manifest.json`);
  await manifestBlob.upload(Buffer.from('{not json'), 9);
  const after = await upload();
  const bare: string[] = [bareItem];
  try {
    const errors: { message: string; fields: Record<string, unknown> }[] = [];
    const deps = { ...onlyTenant(t), log: { ...archive.host.deps.log, error: (message: string, fields?: Record<string, unknown>) => errors.push({ message, fields: fields ?? {} }) } };
    const named = (walk: string) => errors.filter((e) => e.message === `${walk} ${DOCUMENT_CHECK_FAILED}`).map((e) => e.fields.documentId);
    const run = await reconcile({ now: new Date(), maxItems: 100, continuation: null, folderContinuation: null, orphanGraceMinutes: 0 }, deps);
    expect(run.unchecked.map((f) => f.documentId).sort()).toEqual([bareItem, badManifest].sort());
    expect(named('reconciler').sort()).toEqual([bareItem, badManifest].sort());
    expect({ continuation: run.continuation, folderContinuation: run.folderContinuation }).toEqual({ continuation: null, folderContinuation: null });
    // Both walks went past the bad items to the documents either side of them, which are whole.
    expect(run.checked).toBe(3);
    expect(run.foldersChecked).toBe(3);
    expect(run.flagged).toEqual([]);

    const fixity = await checkFixity({ now: new Date(), cycleDays: 0, maxItems: 100, continuation: null }, deps);
    expect({ checked: fixity.checked, failures: fixity.failures, unchecked: fixity.unchecked.map((u) => u.documentId), continuation: fixity.continuation }).toEqual({ checked: 3, failures: [], unchecked: [bareItem], continuation: null });
    expect(named('fixity check')).toEqual([bareItem]);

    // The local host's start-up re-index still starts: the bad manifest is named, the others are present.
    const rebuilt = await unsafeRebuildCatalogFromManifests(deps);
    expect({ indexed: rebuilt.indexed, present: rebuilt.present, unchecked: rebuilt.unchecked.map((u) => u.documentId) }).toEqual({ indexed: 0, present: 2, unchecked: [badManifest] });
    expect(named('catalog rebuild')).toEqual([badManifest]);
    expect([before, after].every((id) => !errors.some((e) => e.fields.documentId === id))).toBe(true);

    // Past MAX_UNCHECKED_PER_RUN in one run it is the store failing, not the documents: the run fails
    // (so the timer keeps its continuation) rather than walk on past documents it never checked.
    for (let i = 0; i < MAX_UNCHECKED_PER_RUN; i++) {
      bare.push(uuidv7());
      await items.create({ id: bare.at(-1), tenantId: t, type: 'document', status: 'active' });
    }
    await expect(reconcile({ now: new Date(), maxItems: 100, continuation: null, folderContinuation: null, orphanGraceMinutes: 0 }, deps)).rejects.toThrow(TypeError);
  } finally {
    // Out of the shared emulators: the other test files' cross-tenant walks are not about them.
    for (const id of bare) await archive.host.deps.cosmos.documents.item(id, t).delete();
    await manifestBlob.delete();
  }
});

it('lists a blob left beside a tombstone (a validation report stored while the document was disposed of) for an operator', async () => {
  const t = newTenant('stray');
  const deps = onlyTenant(t);
  const doc = await seedDocument(archive.host.deps, t, { metadata: {} });
  const container = BlobServiceClient.fromConnectionString(archive.emulators.storageConnectionString).getContainerClient(`tenant-${t}`);
  // The disposal finished: every blob gone, the tombstone written. Then the validator's report arrived.
  for (const name of [doc.original.blobName, doc.rendition.blobName, `${doc.id}/manifest.json`]) await container.deleteBlob(name);
  const current = (await archive.host.deps.retention.catalog.getVersioned(t, doc.id))!;
  expect(await archive.host.deps.retention.catalog.replace({ ...current.item, status: 'disposed' }, current.etag)).not.toBe('conflict');
  const report = Buffer.from('{"report":{}}');
  await container.getBlockBlobClient(`${doc.id}/validation.json`).upload(report, report.length);

  const orphaned = (await reconcileAll(deps, 100)).flatMap((r) => r.orphaned);
  expect(orphaned).toEqual([{ tenantId: t, documentId: doc.id, blobs: [`${doc.id}/validation.json`] }]);
});

it('two reconciler runs at once list an orphaned folder once: one record, one entry, one alert', async () => {
  const t = newTenant('orphanrace');
  const container = BlobServiceClient.fromConnectionString(archive.emulators.storageConnectionString).getContainerClient(`tenant-${t}`);
  await container.createIfNotExists();
  const orphan = uuidv7();
  const jpeg = uniqueJpeg();
  await container.getBlockBlobClient(`${orphan}/original.jpg`).upload(jpeg, jpeg.length);
  const alerts: string[] = [];
  const deps = { ...onlyTenant(t), log: { ...archive.host.deps.log, error: (message: string) => void alerts.push(message) } };
  // Run A stops just before its entry goes into the chain until run B has finished.
  const { audit } = archive.host.deps;
  const appendBatch = audit.appendBatch.bind(audit);
  let reached!: () => void;
  const atPause = new Promise<void>((r) => (reached = r));
  let resume!: () => void;
  const resumed = new Promise<void>((r) => (resume = r));
  let paused = false;
  const spy = jest.spyOn(audit, 'appendBatch').mockImplementation(async (inputs, opts) => {
    if (!paused && inputs.some((i) => i.tenantId === t && i.action === 'document.blobs-orphaned')) {
      paused = true;
      reached();
      await resumed;
    }
    return appendBatch(inputs, opts);
  });
  const once = () => reconcile({ now: new Date(), maxItems: 100, continuation: null, folderContinuation: null, orphanGraceMinutes: 0 }, deps);
  try {
    const a = once();
    await atPause;
    const b = await once();
    resume();
    expect([...(await a).orphaned, ...b.orphaned]).toEqual([{ tenantId: t, documentId: orphan, blobs: [`${orphan}/original.jpg`] }]);
  } finally {
    spy.mockRestore();
  }
  const entries = (await audit.list(t, new Date().toISOString().slice(0, 7), 100, undefined, { action: 'document.blobs-orphaned' })).items;
  expect(entries.map((e) => e.target)).toEqual([orphan]);
  expect(alerts.filter((m) => m === ORPHANED_BLOBS)).toHaveLength(1);
  expect(await archive.host.deps.retention.orphans.list(t)).toEqual([expect.objectContaining({ documentId: orphan, audited: true })]);
});

it('a record an earlier version left unaudited is audited once, also when a crash comes between the entry and the mark', async () => {
  const t = newTenant('orphanlegacy');
  const container = BlobServiceClient.fromConnectionString(archive.emulators.storageConnectionString).getContainerClient(`tenant-${t}`);
  await container.createIfNotExists();
  const orphan = uuidv7();
  const jpeg = uniqueJpeg();
  await container.getBlockBlobClient(`${orphan}/original.jpg`).upload(jpeg, jpeg.length);
  const firstSeen = new Date().toISOString();
  const { orphans } = archive.host.deps.retention;
  expect(await orphans.create({ id: `orphaned-blobs:${orphan}`, tenantId: t, type: 'orphaned-blobs', documentId: orphan, folder: `${orphan}/`, blobs: [{ name: `${orphan}/original.jpg`, size: jpeg.length, lastModified: firstSeen }], firstSeen, audited: false })).toBe('created');
  const deps = onlyTenant(t);
  const once = () => reconcile({ now: new Date(), maxItems: 100, continuation: null, folderContinuation: null, orphanGraceMinutes: 0 }, deps);
  const spy = jest.spyOn(orphans, 'markAudited').mockRejectedValueOnce(new Error('injected crash'));
  try {
    expect((await once()).unchecked.map((u) => u.documentId)).toEqual([orphan]);
  } finally {
    spy.mockRestore();
  }
  expect((await once()).orphaned.map((o) => o.documentId)).toEqual([orphan]);
  expect((await once()).orphaned).toEqual([]);
  const entries = (await archive.host.deps.audit.list(t, firstSeen.slice(0, 7), 100, undefined, { action: 'document.blobs-orphaned' })).items;
  expect(entries.map((e) => e.target)).toEqual([orphan]);
  expect((await orphans.get(t, orphan))!.value.audited).toBe(true);
});

it('a listed folder whose blobs are gone is resolved once by two runs at once and stops counting; orphaned again, it is listed again', async () => {
  const t = newTenant('orphanresolved');
  const container = BlobServiceClient.fromConnectionString(archive.emulators.storageConnectionString).getContainerClient(`tenant-${t}`);
  await container.createIfNotExists();
  const folder = uuidv7();
  const jpeg = uniqueJpeg();
  await container.getBlockBlobClient(`${folder}/original.jpg`).upload(jpeg, jpeg.length);
  const deps = onlyTenant(t);
  const { orphans } = archive.host.deps.retention;
  const once = () => reconcile({ now: new Date(), maxItems: 100, continuation: null, folderContinuation: null, orphanContinuation: null, orphanGraceMinutes: 0 }, deps);
  const entries = async (action: AuditAction) => (await archive.host.deps.audit.list(t, new Date().toISOString().slice(0, 7), 100, undefined, { action })).items;
  expect((await once()).orphaned.map((o) => o.documentId)).toEqual([folder]);
  // Other tests' listings share the database: the count is compared, not taken whole.
  const listed = await orphans.unsafeCount();

  // Retention ended and the lifecycle removed the blobs.
  await container.deleteBlob(`${folder}/original.jpg`);
  const runs = await Promise.all([once(), once()]);
  expect(runs.flatMap((r) => r.resolved)).toEqual([{ tenantId: t, documentId: folder, how: 'blobs-gone' }]);
  expect((await entries('document.blobs-orphan-resolved')).map((e) => [e.target, e.detail?.split(';')[0]])).toEqual([[folder, 'blobs-gone']]);
  expect((await orphans.get(t, folder))!.value).toMatchObject({ resolvedHow: 'blobs-gone', resolvedAt: expect.any(String) });
  expect(await orphans.unresolvedAfter(t, '', 10)).toEqual([]);
  expect(await orphans.unsafeCount()).toBe(listed - 1);
  expect((await once()).resolved).toEqual([]);

  // A blob lands in the folder again: the same record, reopened as the next listing, counted and audited again.
  const report = Buffer.from('{"report":{}}');
  await container.getBlockBlobClient(`${folder}/validation.json`).upload(report, report.length);
  expect((await once()).orphaned).toEqual([{ tenantId: t, documentId: folder, blobs: [`${folder}/validation.json`] }]);
  const reopened = (await orphans.get(t, folder))!.value;
  expect(reopened).toMatchObject({ listing: 2, blobs: [{ name: `${folder}/validation.json`, size: report.length }] });
  expect(reopened.resolvedAt).toBeUndefined();
  expect((await orphans.unresolvedAfter(t, '', 10)).map((r) => r.documentId)).toEqual([folder]);
  expect(await orphans.unsafeCount()).toBe(listed);
  expect((await entries('document.blobs-orphaned')).map((e) => e.target)).toEqual([folder, folder]);
});

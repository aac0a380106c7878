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
import { uuidv7 } from '../../shared/ids';
import { reconcile, ReconcileResult } from '../../shared/retention/reconcile';
import { call } from '../support/http';
import { depsForOnlyTenant, newTenant, startTestArchive, TestArchive } from '../support/harness';
import { uniqueJpeg } from '../support/worm-archive';

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

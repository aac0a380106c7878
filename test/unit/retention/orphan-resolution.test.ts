/**
 * A listed orphaned folder stops counting once it is no longer orphaned: indexed since (by the reconciler in the same
 * run, or otherwise), or with no blob left. The reconciler marks its record resolved with one
 * `document.blobs-orphan-resolved` entry, stored with the record change (the audit outbox), so two runs at once or
 * a run that crashed after the write tell it once; /health/ready counts only the records not resolved. A folder
 * orphaned again later is listed again, with an entry of its own.
 */
import type { ArchivedDocument } from '../../../shared/kernel/document';
import { blobLayout } from '../../../shared/kernel/blob-layout';
import { sealedManifest } from '../../../shared/documents/manifest';
import { reconcile, unsafeOrphanReport } from '../../../shared/retention/reconcile';
import { FakeClock } from '../../support/fake-clock';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory';
import { seedDocument } from '../../support/seed';

const T = 'acme';
const WORM = { retainUntil: '2032-12-31T00:00:00.000Z', legalHold: false };

const run = (deps: InMemoryDeps) => reconcile({ now: deps.clock.now(), maxItems: 100, continuation: null, folderContinuation: null, orphanContinuation: null, orphanGraceMinutes: 0 }, deps);
const entries = (deps: InMemoryDeps, action: string) => deps.audit.entries.filter((e) => e.action === action);
const later = (deps: InMemoryDeps) => (deps.clock as FakeClock).advance(3600_000);

/** A folder with blobs and neither catalog item nor manifest (the crash between the blob writes and the catalog's). */
async function orphanedFolder(deps: InMemoryDeps): Promise<ArchivedDocument> {
  const doc = await seedDocument(deps, T, { metadata: {} });
  deps.catalog.documents.delete(`${T}/${doc.id}`);
  deps.blobs.blobs.delete(`${T}/${blobLayout.manifest(doc.id)}`); // the seeding writes one as ingest does
  later(deps);
  expect((await run(deps)).orphaned.map((o) => o.documentId)).toEqual([doc.id]);
  return doc;
}

const removeBlobs = (deps: InMemoryDeps, documentId: string) => {
  for (const key of [...deps.blobs.blobs.keys()]) if (key.startsWith(`${T}/${documentId}/`)) deps.blobs.blobs.delete(key);
};

it('a listed folder whose blobs are gone is resolved once, audited once, and no longer counted', async () => {
  const deps = inMemoryDeps();
  const doc = await orphanedFolder(deps);
  expect(await unsafeOrphanReport(deps)).toEqual({ status: 'found', orphanedFolders: 1 });
  // Its retention ended and the lifecycle removed the blobs.
  removeBlobs(deps, doc.id);
  later(deps);

  const first = await run(deps);
  expect(first.resolved).toEqual([{ tenantId: T, documentId: doc.id, how: 'blobs-gone' }]);
  expect(first.orphaned).toEqual([]);
  expect(await unsafeOrphanReport(deps)).toEqual({ status: 'ok', orphanedFolders: 0 });
  const record = (await deps.retention.orphans.get(T, doc.id))!.value;
  expect(record).toMatchObject({ resolvedAt: deps.clock.now().toISOString(), resolvedHow: 'blobs-gone' });
  expect(entries(deps, 'document.blobs-orphan-resolved')).toEqual([
    expect.objectContaining({ target: doc.id, outcome: 'success', actor: { subject: 'system:reconciler', kind: 'system' }, detail: `blobs-gone;listed=${record.firstSeen}` }),
  ]);

  // Later runs leave it be.
  later(deps);
  expect((await run(deps)).resolved).toEqual([]);
  expect(entries(deps, 'document.blobs-orphan-resolved')).toHaveLength(1);
  expect(deps.catalog.outbox.size).toBe(0);
});

it('a listed folder the reconciler indexes (its manifest back) is resolved in the same run, and so is one indexed otherwise', async () => {
  const deps = inMemoryDeps();
  const doc = await orphanedFolder(deps);
  const other = await orphanedFolder(deps);
  expect(await unsafeOrphanReport(deps)).toEqual({ status: 'found', orphanedFolders: 2 });

  // The manifest turns up (restored from a backup): the run indexes the folder and resolves its listing.
  await deps.blobs.putCreateOnly(T, blobLayout.manifest(doc.id), await sealedManifest(doc, deps), 'application/json', WORM, {});
  // The other's catalog item comes back (a restored catalog): indexed, though not by the reconciler.
  await deps.catalog.create(other);
  later(deps);
  const result = await run(deps);

  expect(result.indexed).toEqual([`${T}/${doc.id}`]);
  expect(result.resolved).toEqual([
    { tenantId: T, documentId: doc.id, how: 'indexed' },
    { tenantId: T, documentId: other.id, how: 'indexed' },
  ]);
  expect(await unsafeOrphanReport(deps)).toEqual({ status: 'ok', orphanedFolders: 0 });
  expect(entries(deps, 'document.blobs-orphan-resolved').map((e) => [e.target, e.detail?.split(';')[0]])).toEqual([
    [doc.id, 'indexed'],
    [other.id, 'indexed'],
  ]);
});

it('two runs at once resolve a listing once: one record change, one entry', async () => {
  const deps = inMemoryDeps();
  const doc = await orphanedFolder(deps);
  removeBlobs(deps, doc.id);
  later(deps);
  // Run A has read the listing and stops before its write until run B has finished.
  const { orphans } = deps.retention;
  const replace = orphans.replace.bind(orphans);
  let resume!: () => void;
  const resumed = new Promise<void>((r) => (resume = r));
  let reached!: () => void;
  const atPause = new Promise<void>((r) => (reached = r));
  let paused = false;
  orphans.replace = async (...args) => {
    if (!paused) {
      paused = true;
      reached();
      await resumed;
    }
    return replace(...args);
  };

  const a = run(deps);
  await atPause;
  const b = await run(deps);
  resume();

  expect([...(await a).resolved, ...b.resolved]).toEqual([{ tenantId: T, documentId: doc.id, how: 'blobs-gone' }]);
  expect(entries(deps, 'document.blobs-orphan-resolved')).toHaveLength(1);
  expect(await unsafeOrphanReport(deps)).toEqual({ status: 'ok', orphanedFolders: 0 });
});

it('a run that crashes after storing the resolution leaves its entry to the sealing timer: appended once, never again by a run', async () => {
  const deps = inMemoryDeps();
  const doc = await orphanedFolder(deps);
  removeBlobs(deps, doc.id);
  later(deps);
  const releaseNow = deps.auditOutbox.releaseNow.bind(deps.auditOutbox);
  deps.auditOutbox.releaseNow = () => Promise.reject(new Error('injected: the instance stopped'));

  expect((await run(deps)).unchecked.map((u) => u.documentId)).toEqual([doc.id]);
  deps.auditOutbox.releaseNow = releaseNow;
  expect(entries(deps, 'document.blobs-orphan-resolved')).toEqual([]);
  expect(deps.catalog.outbox.size).toBe(1);

  // The next run finds it resolved: nothing to tell. The sealing timer appends what the crash left in the outbox.
  later(deps);
  expect((await run(deps)).resolved).toEqual([]);
  expect(await deps.auditOutbox.drain(new Date(deps.clock.now().getTime() + 3600_000), 100)).toBe(1);
  expect(entries(deps, 'document.blobs-orphan-resolved').map((e) => e.target)).toEqual([doc.id]);
  expect(await unsafeOrphanReport(deps)).toEqual({ status: 'ok', orphanedFolders: 0 });
});

it('a folder orphaned again after its listing was resolved is listed, counted and audited again, once', async () => {
  const deps = inMemoryDeps();
  const doc = await orphanedFolder(deps);
  removeBlobs(deps, doc.id);
  later(deps);
  expect((await run(deps)).resolved).toHaveLength(1);

  // A blob lands in the folder again (a late validation report), past the grace period.
  await deps.blobs.putCreateOnly(T, `${doc.id}/validation.json`, Buffer.from('{}'), 'application/json', WORM, {});
  later(deps);
  const again = await run(deps);
  const twice = await run(deps);

  expect(again.orphaned).toEqual([{ tenantId: T, documentId: doc.id, blobs: [`${doc.id}/validation.json`] }]);
  expect(twice.orphaned).toEqual([]);
  expect(await unsafeOrphanReport(deps)).toEqual({ status: 'found', orphanedFolders: 1 });
  const record = (await deps.retention.orphans.get(T, doc.id))!.value;
  expect(record).toMatchObject({ listing: 2, firstSeen: deps.clock.now().toISOString(), blobs: [{ name: `${doc.id}/validation.json` }] });
  expect(record.resolvedAt).toBeUndefined();
  const listed = entries(deps, 'document.blobs-orphaned');
  expect(listed.map((e) => e.target)).toEqual([doc.id, doc.id]);
  expect(new Set(listed.map((e) => e.requestId)).size).toBe(2);

  // And resolved again, with an entry of its own.
  removeBlobs(deps, doc.id);
  later(deps);
  expect((await run(deps)).resolved).toEqual([{ tenantId: T, documentId: doc.id, how: 'blobs-gone' }]);
  expect(new Set(entries(deps, 'document.blobs-orphan-resolved').map((e) => e.requestId)).size).toBe(2);
  expect(await unsafeOrphanReport(deps)).toEqual({ status: 'ok', orphanedFolders: 0 });
});

it('a run that saw the folder orphaned before another run resolved it does not list it again', async () => {
  const deps = inMemoryDeps();
  const doc = await orphanedFolder(deps);
  await deps.blobs.putCreateOnly(T, blobLayout.manifest(doc.id), await sealedManifest(doc, deps), 'application/json', WORM, {});
  later(deps);
  // Run A read the folder as orphaned (its catalog item absent) before run B indexed it and resolved the listing.
  const { orphans } = deps.retention;
  const create = orphans.create.bind(orphans);
  let resume!: () => void;
  const resumed = new Promise<void>((r) => (resume = r));
  let reached!: () => void;
  const atPause = new Promise<void>((r) => (reached = r));
  orphans.create = async (...args) => {
    reached();
    await resumed;
    return create(...args);
  };
  // Hidden from run A's listing of the folder's manifest (the reconciler lists it, so a verdict is tied to its ETag).
  const listed = deps.blobs.listedBlobs.bind(deps.blobs);
  let hideManifest = true;
  deps.blobs.listedBlobs = async (tenantId, prefix) => (hideManifest && prefix === blobLayout.manifest(doc.id) ? [] : listed(tenantId, prefix));

  const a = run(deps);
  await atPause;
  hideManifest = false;
  orphans.create = create;
  const b = await run(deps);
  resume();

  expect(b.resolved).toEqual([{ tenantId: T, documentId: doc.id, how: 'indexed' }]);
  expect((await a).orphaned).toEqual([]);
  expect(entries(deps, 'document.blobs-orphaned')).toHaveLength(1);
  expect(await unsafeOrphanReport(deps)).toEqual({ status: 'ok', orphanedFolders: 0 });
});

/**
 * Round 21: attacks on the newest merges (the redelivered export message's watch, the export app's role, a held
 * document's reach by its sealed retain-until, the beat's one end). Each case is an attack that broke, with the fix it
 * got; see each block's comment.
 */
import { PassThrough } from 'node:stream';
import { FakeClock } from '../../support/fake-clock';
import { inMemoryDeps, ListingCatalog, type RecordingLogger } from '../../support/in-memory';
import { TENANT } from '../../support/in-process';
import { keepManifest, seedMany } from '../../support/seed';
import type { Principal } from '../../../shared/kernel/principal';
import { blobLayout } from '../../../shared/kernel/blob-layout';
import { runExport } from '../../../shared/exports/run-export';
import { startExport } from '../../../shared/exports/start-export';
import { withdrawExportsHolding } from '../../../shared/exports/withdraw-exports';
import { exportFile } from '../../../shared/exports/download-export';
import { documentFile } from '../../../shared/documents/download';
import { validateRenditions } from '../../../shared/validation/worker';
import { readVeraPdfReport } from '../../../shared/validation/verapdf';
import { type RenditionValidator, validationMessageText, validationReportName } from '../../../shared/kernel/validation';
import { RedeliveringQueue } from '../../support/redelivering-queue';
import { FIXITY_MISMATCH } from '../../../shared/retention/fixity';

const principal = { tenantId: TENANT, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;

/**
 * A held document's reach (the export's `disposable` list) is the earlier of the catalog's retain-until and its sealed
 * manifest's; with no manifest read (gone: "a disposal under way") the catalog's alone decided. A document past its
 * retention, its disposal awaiting approval, has its blobs unlocked: whoever holds the storage role moved its manifest
 * aside while the export walked (and put the same bytes back after), whoever writes Cosmos DB set its retain-until years
 * on (and back after). The export named nothing a disposal could reach; the document was disposed of, the sweep's
 * withdrawal passed the export over, and its ZIP, a copy of the disposed document, was handed out. Now a document whose
 * manifest is not there is reachable at once.
 */
describe("a held document's manifest moved aside while the export walked", () => {
  it.each([
    ['its manifest in place, its retain-until moved on (control)', false],
    ['its manifest moved aside and its retain-until moved on, both back after', true],
  ])('%s: its ZIP is not handed out once the document is disposed of', async (_what, aside) => {
    const deps = { ...inMemoryDeps(), catalog: new ListingCatalog() };
    const [seeded] = await seedMany(deps, TENANT, [{ metadata: { documentDate: '2018-06-01', reference: 'R-0' } }]);
    const key = `${TENANT}/${seeded!.id}`;
    const doc = { ...seeded!, retention: { ...seeded!.retention, retainUntil: '2025-03-01T00:00:00.000Z' } };
    deps.catalog.documents.set(key, doc);
    await keepManifest(deps, doc);
    const manifestKey = `${TENANT}/${blobLayout.manifest(doc.id)}`;
    const manifest = deps.blobs.blobs.get(manifestKey)!;
    if (aside) deps.blobs.blobs.delete(manifestKey);
    deps.catalog.documents.set(key, { ...doc, retention: { ...doc.retention, retainUntil: '2040-01-01T00:00:00.000Z' } });
    deps.clock.now = () => new Date('2025-03-01T12:00:00.000Z');
    const { job } = await startExport(principal, { includeOriginals: false }, 'req-1', deps);
    // Moved aside with its item still active, the export now fails as damage (red team 21's follow-up, below).
    expect((await runExport(TENANT, job.id, deps)).status).toBe(aside ? 'failed' : 'completed');
    deps.blobs.blobs.set(manifestKey, manifest);
    deps.catalog.documents.set(key, doc);
    // The sweep disposes of it: its look at the exports, then its keyed disposal entry (with the tombstone).
    const swept = new Date('2025-03-02T06:00:00.000Z');
    deps.clock.now = () => swept;
    await withdrawExportsHolding(TENANT, [doc.id], swept, deps);
    await deps.audit.append({ tenantId: TENANT, at: swept.toISOString(), actor: { subject: 'system:retention-sweep', kind: 'system' }, action: 'document.dispose', target: doc.id, outcome: 'success', status: 200, requestId: `sweep-1:${doc.id}`, clientIp: null, userAgent: null, detail: 'retention-ended' });
    deps.clock.now = () => new Date('2025-03-02T07:00:00.000Z');
    const handed = await exportFile({ tenantId: TENANT, exportId: job.id }, deps).catch(() => null);
    await expect(handed ? handed.read() : Promise.reject(new Error('refused'))).rejects.toThrow();
  });
});

/**
 * A folder planted with no manifest at all: whoever writes Cosmos DB (not Key Vault) wrote a catalog item and whoever
 * holds the storage account's data-plane role its original and rendition. The export took a manifest gone for a disposal
 * under way, so neither "describes" nor "by the archive" was asked: the forged document went into the ZIP and its
 * manifest.csv, verified offline, until the next fixity cycle. Now one whose item is still active when read again fails
 * the export as a fixity mismatch; one disposed of meanwhile is, as before, left to the file reads and reachable at once.
 */
describe('a folder planted with no manifest', () => {
  const planted = async () => {
    const deps = { ...inMemoryDeps(), catalog: new ListingCatalog() };
    const [doc] = await seedMany(deps, TENANT, [{ metadata: { documentDate: '2024-06-01', kind: 'invoice', reference: 'FAKE-9800' } }]);
    return { deps, doc: doc! };
  };
  const fixityAlerts = (deps: ReturnType<typeof inMemoryDeps>) => (deps.log as RecordingLogger).lines.filter((l) => l.message === FIXITY_MISMATCH);

  it.each([
    ['its manifest in place (control)', 'completed', 'kept'],
    ['no manifest, its item active', 'failed', 'none'],
    ['no manifest, its item disposed of when read again (a disposal under way)', 'completed', 'disposing'],
  ] as const)('%s: the export ends %s', async (_what, status, manifest) => {
    const { deps, doc } = await planted();
    if (manifest !== 'kept') deps.blobs.blobs.delete(`${TENANT}/${blobLayout.manifest(doc.id)}`);
    if (manifest === 'disposing') {
      const get = deps.catalog.get.bind(deps.catalog);
      deps.catalog.get = async (tenantId, id) => {
        const found = await get(tenantId, id);
        return found && id === doc.id ? { ...found, status: 'disposed' } : found;
      };
    }
    const { job } = await startExport(principal, { includeOriginals: true }, 'req-1', deps);
    const done = await runExport(TENANT, job.id, deps);
    expect(done.status).toBe(status);
    if (manifest === 'none') {
      expect(done.error).toMatch(/^export_fixity_mismatch: /);
      expect(fixityAlerts(deps)).toEqual([expect.objectContaining({ fields: expect.objectContaining({ documentId: doc.id, missing: [blobLayout.manifest(doc.id)] }) })]);
    } else expect(fixityAlerts(deps)).toEqual([]);
    // One whose manifest went with a disposal is reachable at once: the sweep's withdrawal finds the export.
    if (manifest === 'disposing') expect(done.disposable).toEqual([doc.id]);
  });
});

/**
 * The beat's one copy of the job: the sweep marked a running export `many` (past EXPORT_MARKS_MAX), a beat's save met
 * that version and took it in (the lease moved to it), and the marks' check, which for `many` reads the catalog, failed
 * on the store. The beat kept its own copy, without the marks, and its next save, over the marked version, wiped them:
 * a disposal the sweep marked was no longer the worker's to judge. Now every save through the lease carries the marks of
 * the version it is written over.
 */
it("a store error on a beat's marks check, then a beat: the sweep's marks survive", async () => {
  jest.useFakeTimers({ doNotFake: ['Date', 'hrtime', 'nextTick', 'performance', 'queueMicrotask', 'requestAnimationFrame', 'cancelAnimationFrame', 'requestIdleCallback', 'cancelIdleCallback', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout'] });
  try {
    const deps = { ...inMemoryDeps(), catalog: new ListingCatalog(), clock: new FakeClock('2025-03-01T12:00:00Z') };
    const [seeded] = await seedMany(deps, TENANT, [{ metadata: { documentDate: '2024-06-01', reference: 'R-1' } }]);
    // Its retention ends while the export lives: the worker holds it, so a `many` mark is checked against the catalog.
    deps.catalog.documents.set(`${TENANT}/${seeded!.id}`, { ...seeded!, retention: { ...seeded!.retention, retainUntil: '2025-03-03T00:00:00.000Z' } });
    const { job } = await startExport(principal, { includeOriginals: false }, 'req-1', deps);
    // The rendition's read is held: the worker is mid-export, beating.
    let reached!: () => void;
    const reachedFile = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const read = deps.blobs.readIfExists.bind(deps.blobs);
    deps.blobs.readIfExists = async (tenantId, name) => {
      const found = await read(tenantId, name);
      if (!found || name !== seeded!.rendition.blobName) return found;
      const slow = new PassThrough();
      reached();
      void released.then(() => found.stream.pipe(slow));
      return { ...found, stream: slow };
    };
    const worker = runExport(TENANT, job.id, deps);
    await reachedFile;
    const before = (await deps.exportJobs.getVersioned(TENANT, job.id))!;
    const marked = await deps.exportJobs.replace({ ...before.item, disposedWhileRunning: 'many' }, before.etag);
    if (marked === 'conflict') throw new Error('not marked');
    const get = deps.catalog.get.bind(deps.catalog);
    let failing = true;
    deps.catalog.get = async (tenantId, id) => {
      if (failing) {
        failing = false;
        throw new Error('store unavailable');
      }
      return get(tenantId, id);
    };
    const settled = async (done: () => Promise<boolean>) => {
      for (let i = 0; i < 200 && !(await done()); i++) await new Promise((r) => setImmediate(r));
    };
    await jest.advanceTimersByTimeAsync(1000); // a beat takes the marks in; their check fails on the store
    await settled(async () => (deps.log as RecordingLogger).lines.some((l) => l.message === 'export heartbeat not saved'));
    await jest.advanceTimersByTimeAsync(1000); // the next beat
    await settled(async () => (await deps.exportJobs.getVersioned(TENANT, job.id))!.etag !== marked.etag);
    const after = (await deps.exportJobs.getVersioned(TENANT, job.id))!;
    expect(after.etag).not.toBe(marked.etag);
    expect(after.item.disposedWhileRunning).toBe('many');
    release();
    expect(await worker).toMatchObject({ status: 'completed', disposedWhileRunning: 'many' });
  } finally {
    jest.useRealTimers();
  }
});

/**
 * The same planted folder met by a single document's download: it asked the catalog alone, so the forged rendition and
 * original went out as archived, under an ETag and a Repr-Digest that agree. Now the folder's manifest must be there,
 * describe the item and be the archive's; else nothing is sent (`file_damaged`) and the operators are alerted.
 */
describe("a planted folder met by a document's download", () => {
  it.each([
    ['its manifest in place (control)', 'kept'],
    ['no manifest', 'none'],
    ['a manifest of its own, naming the files (no seal)', 'own'],
  ] as const)('%s', async (_what, manifest) => {
    const deps = inMemoryDeps();
    const [doc] = await seedMany(deps, TENANT, [{ metadata: { documentDate: '2024-06-01', kind: 'invoice', reference: 'FAKE-9800' } }]);
    const key = `${TENANT}/${blobLayout.manifest(doc!.id)}`;
    if (manifest !== 'kept') deps.blobs.blobs.delete(key);
    if (manifest === 'own') await deps.blobs.putCreateOnly(TENANT, blobLayout.manifest(doc!.id), Buffer.from(JSON.stringify(doc)), 'application/json', { retainUntil: null, legalHold: false }, {});
    for (const representation of ['rendition', 'original'] as const) {
      const served = documentFile({ tenantId: TENANT, documentId: doc!.id, representation, part: 1 }, deps);
      if (manifest === 'kept') await expect(served).resolves.toMatchObject({ sha256: representation === 'rendition' ? doc!.rendition.sha256 : doc!.original.sha256 });
      else await expect(served).rejects.toMatchObject({ code: 'file_damaged' });
    }
    expect((deps.log as RecordingLogger).lines.filter((l) => l.message === FIXITY_MISMATCH)).toHaveLength(manifest === 'kept' ? 0 : 2);
  });
});

/**
 * The same planted folder met by the validation worker (a request for it sent by whoever holds the data-plane role): its
 * rendition was validated, the verdict recorded on the item and the report locked in the folder, the archive vouching for
 * a forged document as PDF/A. Now only a folder whose manifest the archive kept is validated; the rest is retried, then
 * poisoned, and alerted.
 */
describe('a planted folder met by the validation worker', () => {
  const report = Buffer.from(JSON.stringify({ report: { buildInformation: { releaseDetails: [{ id: 'core', version: '1.26.1' }] }, jobs: [{ itemDetails: { name: 'x', size: 1 }, validationResult: [{ compliant: true, profileName: 'PDF/A-2B', details: { ruleSummaries: [] } }] }] } }));
  const passesAll: RenditionValidator = {
    name: 'veraPDF',
    validate: async (renditions) => ({ validator: { name: 'veraPDF', version: '1.26.1' }, profile: 'PDF/A-2B', results: renditions.map(() => ({ passed: true, failedRules: [], report })) }),
    readReport: readVeraPdfReport,
  };
  it.each([
    ['its manifest in place (control)', 'kept'],
    ['no manifest', 'none'],
    ['a manifest of its own, naming the files (no seal)', 'own'],
  ] as const)('%s', async (_what, manifest) => {
    const deps = inMemoryDeps();
    const [doc] = await seedMany(deps, TENANT, [{ metadata: { documentDate: '2024-06-01', kind: 'invoice', reference: 'FAKE-9800' } }]);
    if (manifest !== 'kept') deps.blobs.blobs.delete(`${TENANT}/${blobLayout.manifest(doc!.id)}`);
    if (manifest === 'own') await deps.blobs.putCreateOnly(TENANT, blobLayout.manifest(doc!.id), Buffer.from(JSON.stringify(doc)), 'application/json', { retainUntil: null, legalHold: false }, {});
    const queue = new RedeliveringQueue();
    queue.waiting.push({ messageId: 'm1', popReceipt: 'p', dequeueCount: 0, text: validationMessageText([{ tenantId: TENANT, documentId: doc!.id, renditionSha256: doc!.rendition.sha256 }]) });
    await validateRenditions({ now: new Date('2025-03-01T12:00:00Z'), max: 16 }, { ...deps, validationQueue: queue, validator: passesAll });
    const validated = (await deps.catalog.get(TENANT, doc!.id))!.validation;
    expect(validated?.status).toBe(manifest === 'kept' ? 'passed' : undefined);
    expect(deps.blobs.blobs.has(`${TENANT}/${validationReportName(doc!.id)}`)).toBe(manifest === 'kept');
    expect((deps.log as RecordingLogger).lines.filter((l) => l.message === FIXITY_MISMATCH)).toHaveLength(manifest === 'kept' ? 0 : 1);
  });
});

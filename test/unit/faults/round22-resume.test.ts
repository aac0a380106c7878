/**
 * Round 22a: attacks on the checkpointed export resume (a cut attempt goes on from its sealed checkpoint, in the ZIP
 * blob the attempt that checkpointed wrote). Each case is an attack that broke, with the fix it got; see each block's
 * comment.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { EXPORT_CHECKPOINT } from '../../../shared/exports/export-checkpoint';
import { restartExport, runExport } from '../../../shared/exports/run-export';
import { startExport } from '../../../shared/exports/start-export';
import { exportBlobName, exportCheckpointName } from '../../../shared/kernel/export';
import type { Principal } from '../../../shared/kernel/principal';
import type { BlobRead } from '../../../shared/ports';
import { FakeClock } from '../../support/fake-clock';
import { inMemoryDeps, type InMemoryExportBlobs, ListingCatalog, type RecordingLogger } from '../../support/in-memory';
import { keepManifest, seedMany } from '../../support/seed';

const T = 'acme';
const N = 6;
const K = 3;

const every = { ...EXPORT_CHECKPOINT };
beforeAll(() => void (EXPORT_CHECKPOINT.files = 1));
afterAll(() => void Object.assign(EXPORT_CHECKPOINT, every));

const principal = { tenantId: T, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;

async function setUp() {
  const clock = new FakeClock('2025-03-01T12:00:00Z');
  const deps = { ...inMemoryDeps(), catalog: new ListingCatalog(), clock };
  const docs = await seedMany(deps, T, Array.from({ length: N }, (_, i) => ({ metadata: { documentDate: `2024-0${i + 1}-01`, kind: 'invoice' as const, reference: `INV-${i}` } })));
  for (const doc of docs) await keepManifest(deps, doc);
  const { job } = await startExport(principal, { fiscalYear: 2024, includeOriginals: false }, 'req-1', deps);
  return { deps, docs, job, store: deps.exportBlobs as InMemoryExportBlobs };
}
type World = Awaited<ReturnType<typeof setUp>>;

/** Turns of the event loop until `ready` (no timers: the attempt under test moves on its own I/O). */
async function until(ready: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !ready(); i++) await new Promise((r) => setImmediate(r));
  expect(ready()).toBe(true);
}

/**
 * An attempt whose copy of rendition `at` (0-based) hangs (a storage read that stops answering) until `fail` ends it
 * with an error, as a read's timeout does: a live attempt, silent long enough for maintenance to hand its job on.
 */
function hungAttempt(w: World, at: number) {
  const renditions = w.docs.map((d) => d.rendition.blobName);
  const state = { hung: false, fail: (_e: Error) => undefined as void, answer: () => undefined as void };
  const blobs = new Proxy(w.deps.blobs, {
    get: (target, prop, receiver) =>
      prop === 'readIfExists'
        ? async (tenantId: string, name: string): Promise<BlobRead | null> => {
            const found = await target.readIfExists(tenantId, name);
            if (name !== renditions[at] || !found) return found;
            const chunks: Buffer[] = [];
            for await (const c of found.stream) chunks.push(Buffer.from(c as Uint8Array));
            const stream = new Readable({
              read() {
                if (state.hung) return;
                state.hung = true;
                state.fail = (e) => void this.destroy(e);
                // The read answers after all, late: the file's bytes.
                state.answer = () => {
                  this.push(Buffer.concat(chunks));
                  this.push(null);
                };
              },
            });
            return { ...found, stream };
          }
        : Reflect.get(target, prop, receiver),
  });
  return { deps: { ...w.deps, blobs }, state };
}

/**
 * Broke: an attempt that lost its job to a later one, which went on from its checkpoint in the same ZIP blob, deleted
 * that blob (and the checkpoint) when it then failed on its own, other than by losing its job: a hung read ending in a
 * timeout, a file's damage. dropAttempt spared the shared blob only for Superseded. The later attempt's completed ZIP
 * was gone (its download answered 410 as withdrawn), or a later attempt still running failed at its last commit.
 * Now a shared blob is deleted only while the job is still the failing attempt's.
 */
describe('an attempt superseded while hung fails after a later attempt went on in its ZIP', () => {
  it("leaves the later attempt's completed ZIP as it was handed out", async () => {
    const w = await setUp();
    const a = hungAttempt(w, K);
    const first = runExport(T, w.job.id, a.deps);
    await until(() => a.state.hung);
    // The hung attempt saved a checkpoint after each file before it (EXPORT_CHECKPOINT.files = 1).
    expect(w.store.blobs.has(`${T}/${exportCheckpointName(w.job.id)}`)).toBe(true);

    w.deps.clock.advance((w.deps.config.ARCHIVE_EXPORT_STALE_SECONDS + 1) * 1000);
    expect(await restartExport((await w.deps.exportJobs.getVersioned(T, w.job.id))!, w.deps)).toBe(true);
    const done = (await w.deps.exportJobs.get(T, w.job.id))!;
    expect(done).toMatchObject({ status: 'completed', attempts: 2, progress: { documents: N } });

    a.state.fail(new Error('read timed out'));
    await first;
    const zip = w.store.blobs.get(`${T}/${done.blobName}`);
    expect(zip).toBeDefined();
    expect(createHash('sha256').update(zip!).digest('hex')).toBe(done.archive!.sha256);
    expect(await w.deps.exportJobs.get(T, w.job.id)).toMatchObject({ status: 'completed', archive: done.archive });
  });
});

/**
 * Broke: the same attempt, its read answering late instead of failing, wrote on into the ZIP blob the later attempt had
 * gone on in and completed: it finished its file before its next beat found the job lost, and its checkpoint's commit
 * made the blob its own blocks (the later attempt's staged ones discarded). The completed export's ZIP was no longer
 * the one its SHA-256 names (its download refused it as damaged); a later attempt still running failed at its commit.
 * Now every commit after an attempt's first (or after its resume's read of the ZIP) is made only over the blob's version
 * it last wrote or read (ETag): an attempt whose blob another wrote since stops there. The same holds against a storage
 * role that commits other blocks between the resumed attempt's read of the ZIP and its commit.
 */
describe('an attempt superseded while hung, its read answering late', () => {
  it("does not write into the later attempt's completed ZIP", async () => {
    const w = await setUp();
    const a = hungAttempt(w, K);
    // Its beat's saves wait (Cosmos DB slow to answer): it does not learn it lost its job before its file's end.
    let open: () => void = () => undefined;
    const gate = new Promise<void>((r) => (open = r));
    const jobs = new Proxy(w.deps.exportJobs, {
      get: (target, prop, receiver) => {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (prop !== 'replace' || typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          if (a.state.hung) await gate;
          return (value as (...x: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    let commits = 0;
    const exportBlobs = new Proxy(w.store, {
      get: (target, prop, receiver) => {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (prop !== 'commitBlocks' || typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          try {
            return await (value as (...x: unknown[]) => Promise<unknown>).apply(target, args);
          } finally {
            if (a.state.hung) commits++;
          }
        };
      },
    });
    const first = runExport(T, w.job.id, { ...a.deps, exportJobs: jobs, exportBlobs });
    await until(() => a.state.hung);

    w.deps.clock.advance((w.deps.config.ARCHIVE_EXPORT_STALE_SECONDS + 1) * 1000);
    expect(await restartExport((await w.deps.exportJobs.getVersioned(T, w.job.id))!, w.deps)).toBe(true);
    const done = (await w.deps.exportJobs.get(T, w.job.id))!;
    expect(done).toMatchObject({ status: 'completed', attempts: 2 });

    a.state.answer();
    await until(() => commits > 0);
    const zip = w.store.blobs.get(`${T}/${done.blobName}`);
    expect(zip && createHash('sha256').update(zip).digest('hex')).toBe(done.archive!.sha256);
    open();
    await first;
    expect(await w.deps.exportJobs.get(T, w.job.id)).toMatchObject({ status: 'completed', archive: done.archive });
    expect(createHash('sha256').update(w.store.blobs.get(`${T}/${done.blobName}`)!).digest('hex')).toBe(done.archive!.sha256);
    // The superseded attempt stopped without a failure of the export's to alert.
    expect((w.deps.log as RecordingLogger).lines.filter((l) => l.message === 'export failed')).toEqual([]);
  });
});

/**
 * Broke: the resume read back and hashed the ZIP's committed bytes, but a block staged under one of the checkpoint's ids
 * (by a storage role between attempts, or by a cut attempt numbered alike once `attempts` was lowered in Cosmos DB) is
 * not in them, and the attempt's commit (Put Block List's `Latest`: a staged block before the committed one) took it.
 * The completed ZIP held bytes the archive never hashed, under the SHA-256 of those it did. Now the checkpoint's list is
 * committed again before the read: the bytes hashed are the ones the list holds, and other ones are refused.
 */
describe("a block staged under a checkpoint's id between attempts", () => {
  it('is not taken into the ZIP: the attempt starts from the first document and hands out the ZIP it hashed', async () => {
    const w = await setUp();
    const a = hungAttempt(w, K);
    const first = runExport(T, w.job.id, a.deps);
    await until(() => a.state.hung);
    const key = `${T}/${exportBlobName(w.job.id, 1)}`;
    const [block] = w.store.committed.get(key)!;
    const other = Buffer.from(block!.bytes);
    other[0] = other[0]! ^ 0xff;
    await w.store.stageBlock(T, exportBlobName(w.job.id, 1), block!.id, other);

    w.deps.clock.advance((w.deps.config.ARCHIVE_EXPORT_STALE_SECONDS + 1) * 1000);
    expect(await restartExport((await w.deps.exportJobs.getVersioned(T, w.job.id))!, w.deps)).toBe(true);
    const done = (await w.deps.exportJobs.get(T, w.job.id))!;
    expect(done).toMatchObject({ status: 'completed', attempts: 2, progress: { documents: N }, blobName: exportBlobName(w.job.id, 2) });
    expect(createHash('sha256').update(w.store.blobs.get(`${T}/${done.blobName}`)!).digest('hex')).toBe(done.archive!.sha256);
    a.state.fail(new Error('read timed out'));
    await first;
    // Started over in a ZIP of its own: the one it gave up and the checkpoint are gone.
    expect([...w.store.blobs.keys()]).toEqual([`${T}/${done.blobName}`]);
  });
});

/**
 * Broke: a checkpoint the next attempt would not go on from (not sealed, not readable, its blocks not the blob's) was
 * passed over, and that attempt wrote a ZIP of its own: the earlier attempt's ZIP, its blocks committed (readable, with
 * the copies of every document it held), stayed in storage until the export expired, and nothing withdrew it once one of
 * those documents was disposed of (the completed export, which no longer held it, was not withdrawn). Now an attempt
 * that starts from the first document deletes the earlier attempts' blobs and the checkpoint once its claim holds.
 */
describe('a checkpoint the next attempt does not go on from', () => {
  it("leaves no earlier attempt's ZIP behind the one handed out", async () => {
    const w = await setUp();
    const a = hungAttempt(w, K);
    const first = runExport(T, w.job.id, a.deps);
    await until(() => a.state.hung);
    const name = `${T}/${exportCheckpointName(w.job.id)}`;
    const c = JSON.parse(w.store.blobs.get(name)!.toString('utf8')) as { files: { sha256: string }[] };
    c.files[0]!.sha256 = '0'.repeat(64);
    w.store.blobs.set(name, Buffer.from(JSON.stringify(c))); // no longer the archive's seal

    w.deps.clock.advance((w.deps.config.ARCHIVE_EXPORT_STALE_SECONDS + 1) * 1000);
    expect(await restartExport((await w.deps.exportJobs.getVersioned(T, w.job.id))!, w.deps)).toBe(true);
    a.state.fail(new Error('read timed out'));
    await first;
    const done = (await w.deps.exportJobs.get(T, w.job.id))!;
    expect(done).toMatchObject({ status: 'completed', attempts: 2, blobName: exportBlobName(w.job.id, 2) });
    expect([...w.store.blobs.keys()]).toEqual([`${T}/${done.blobName}`]);
  });
});

/**
 * Broke (review): an attempt whose resume was refused (the ZIP's bytes not read back, or the walk not as stated) started
 * over in the ZIP blob the checkpoint named, its first commit made over whatever that blob held. One that lost its job
 * while it read the ZIP back (hung) made the later attempt's completed ZIP its own first files. Now a refused resume
 * starts over in the attempt's own blob, as a new attempt does, and only while the job is still the attempt's.
 */
describe('an attempt superseded while reading the ZIP back, its resume then refused', () => {
  it("does not write into the later attempt's completed ZIP", async () => {
    const w = await setUp();
    const a = hungAttempt(w, K);
    const first = runExport(T, w.job.id, a.deps);
    await until(() => a.state.hung);

    const zipName = exportBlobName(w.job.id, 1);
    const reading = { hung: false, failed: false, fail: (_e: Error) => undefined as void };
    let open: () => void = () => undefined;
    const gate = new Promise<void>((r) => (open = r));
    let commits = 0;
    const exportBlobs = new Proxy(w.store, {
      get: (target, prop, receiver) => {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== 'function') return value;
        const call = (args: unknown[]) => (value as (...x: unknown[]) => Promise<unknown>).apply(target, args);
        // Its read of the ZIP stops answering, then fails as a read's timeout does.
        if (prop === 'read') return (...args: unknown[]) => (args[1] === zipName && !reading.hung ? new Promise((_r, reject) => Object.assign(reading, { hung: true, fail: reject })) : call(args));
        if (prop === 'commitBlocks') return async (...args: unknown[]) => ((commits += reading.failed ? 1 : 0), call(args));
        return value;
      },
    });
    // Its beat's saves wait (Cosmos DB slow to answer): it does not learn it lost its job by them.
    let looked = false;
    const exportJobs = new Proxy(w.deps.exportJobs, {
      get: (target, prop, receiver) => {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if ((prop !== 'replace' && prop !== 'get') || typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          if (prop === 'get') looked ||= reading.failed;
          else if (reading.hung) await gate;
          return (value as (...x: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    w.deps.clock.advance((w.deps.config.ARCHIVE_EXPORT_STALE_SECONDS + 1) * 1000);
    const second = restartExport((await w.deps.exportJobs.getVersioned(T, w.job.id))!, { ...w.deps, exportBlobs, exportJobs });
    await until(() => reading.hung);

    w.deps.clock.advance((w.deps.config.ARCHIVE_EXPORT_STALE_SECONDS + 1) * 1000);
    expect(await restartExport((await w.deps.exportJobs.getVersioned(T, w.job.id))!, w.deps)).toBe(true);
    const done = (await w.deps.exportJobs.get(T, w.job.id))!;
    expect(done).toMatchObject({ status: 'completed', attempts: 3, progress: { documents: N } });

    reading.failed = true;
    reading.fail(new Error('read timed out'));
    // It commits the files it starts over with, or looks whose the job is first.
    await until(() => commits > 0 || looked);
    const zip = w.store.blobs.get(`${T}/${done.blobName}`);
    expect(zip && createHash('sha256').update(zip).digest('hex')).toBe(done.archive!.sha256);
    open();
    await second;
    a.state.fail(new Error('read timed out'));
    await first;
    expect(await w.deps.exportJobs.get(T, w.job.id)).toMatchObject({ status: 'completed', archive: done.archive });
    expect(createHash('sha256').update(w.store.blobs.get(`${T}/${done.blobName}`)!).digest('hex')).toBe(done.archive!.sha256);
  });
});

/**
 * Broke (red team 23): a fresh attempt hung before its first commit, its read answering after the next attempt's claim
 * had deleted the earlier attempts' blobs, made its ZIP (a copy of the documents it held, until the export expired) and
 * its checkpoint again; or, the next attempt still running, wrote its checkpoint over that attempt's. Now an attempt's
 * first commit and every checkpoint write are conditional (If-None-Match: *, then the ETag it wrote), and an attempt
 * that finds it lost its job deletes the ZIP it made where the job names another.
 */
describe('a fresh attempt hung before its first commit, answering after the next attempt took its job', () => {
  it.each([
    ['the next attempt completed', false],
    ['the next attempt still running, its checkpoint written', true],
  ])('%s: it leaves no ZIP of its own and writes over no checkpoint', async (_what, running) => {
    const w = await setUp();
    const a = hungAttempt(w, 0);
    const first = runExport(T, w.job.id, a.deps);
    await until(() => a.state.hung);
    expect(w.store.blobs.size).toBe(0);

    w.deps.clock.advance((w.deps.config.ARCHIVE_EXPORT_STALE_SECONDS + 1) * 1000);
    const b = hungAttempt(w, running ? K : N);
    const second = restartExport((await w.deps.exportJobs.getVersioned(T, w.job.id))!, b.deps);
    const checkpoint = `${T}/${exportCheckpointName(w.job.id)}`;
    if (running) await until(() => b.state.hung);
    else expect(await second).toBe(true);
    const held = w.store.blobs.get(checkpoint);

    a.state.answer();
    await first;
    // Its ZIP is nobody's: gone; the next attempt's checkpoint as it wrote it.
    expect(w.store.blobs.has(`${T}/${exportBlobName(w.job.id, 1)}`)).toBe(false);
    expect(w.store.blobs.get(checkpoint)).toEqual(held);
    b.state.answer();
    await second;
    const done = (await w.deps.exportJobs.get(T, w.job.id))!;
    expect(done).toMatchObject({ status: 'completed', attempts: 2, progress: { documents: N } });
    expect(createHash('sha256').update(w.store.blobs.get(`${T}/${done.blobName}`)!).digest('hex')).toBe(done.archive!.sha256);
    expect([...w.store.blobs.keys()]).toEqual([`${T}/${done.blobName}`]);
  });
});

/**
 * Broke (loose ends 16): an attempt that lost its job deleted its checkpoint after reading that it was still the one it
 * wrote (its ETag), by a delete without a condition: the holding attempt's checkpoint, written between the read and the
 * delete, was lost (a cut then started that export over from the first document). Now deleted only if still that version.
 */
describe('an attempt that lost its job to one writing in another blob, deleting its own checkpoint', () => {
  it("leaves the holding attempt's checkpoint written just after its last look", async () => {
    const w = await setUp();
    const a = hungAttempt(w, K);
    const name = exportCheckpointName(w.job.id);
    const handedOn = { yes: false, written: false };
    const theirs = Buffer.from('the checkpoint of the attempt holding the job');
    // The holding attempt's write, landing right after this attempt's last look at the checkpoint (its read, or none).
    const theyWrite = async () => {
      handedOn.written = true;
      const now = (await w.store.readIfExists(T, name))!;
      now.stream.destroy();
      expect(await w.store.putIf(T, name, theirs, 'application/json', { ifMatch: now.etag })).not.toBe('conflict');
    };
    const exportBlobs = new Proxy(w.store, {
      get: (target, prop, receiver) => {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== 'function') return value;
        const call = (args: unknown[]) => (value as (...x: unknown[]) => Promise<unknown>).apply(target, args);
        const ours = (args: unknown[]) => handedOn.yes && !handedOn.written && args[1] === name;
        if (prop === 'readIfExists') return async (...args: unknown[]) => (ours(args) ? call(args).then(async (read) => (await theyWrite(), read)) : call(args));
        if (prop === 'deleteIf' || prop === 'delete') return async (...args: unknown[]) => (ours(args) && (await theyWrite()), call(args));
        return value;
      },
    });
    const first = runExport(T, w.job.id, { ...a.deps, exportBlobs });
    await until(() => a.state.hung);
    expect(w.store.blobs.has(`${T}/${name}`)).toBe(true);

    // The job handed on to attempt 2, which went on in its own blob (its claim's delete of this checkpoint not done).
    const held = (await w.deps.exportJobs.getVersioned(T, w.job.id))!;
    expect(await w.deps.exportJobs.replace({ ...held.item, attempts: 2, blobName: exportBlobName(w.job.id, 2) }, held.etag)).not.toBe('conflict');
    handedOn.yes = true;
    a.state.answer();
    await first;
    expect(handedOn.written).toBe(true);
    // Its ZIP is nobody's: gone; the checkpoint the holding attempt wrote is left.
    expect(w.store.blobs.has(`${T}/${exportBlobName(w.job.id, 1)}`)).toBe(false);
    expect(w.store.blobs.get(`${T}/${name}`)).toEqual(theirs);
  });
});

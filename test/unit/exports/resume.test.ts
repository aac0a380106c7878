/**
 * An export attempt cut by the platform (an instance recycled mid-way: nothing of it runs after the cut) goes on, at its
 * next attempt, from its last checkpoint: only the rest of the documents is read, and the ZIP is the one an uncut
 * attempt writes. A checkpoint the archive did not seal, of another job, or whose ZIP is not as it states, is not gone
 * on from (the attempt starts from the first document), nor is one after the search's documents changed (a disposal).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import * as yauzl from 'yauzl';
import { CHECKPOINT_ENTRY_MAX_BYTES, EXPORT_CHECKPOINT, EXPORT_CHECKPOINT_REFUSED } from '../../../shared/exports/export-checkpoint';
import { ExportNames } from '../../../shared/exports/names';
import { notDueBecause } from '../../../shared/exports/queued-export';
import { EXPORT_BLOB_TAKEN, restartExport, runExport } from '../../../shared/exports/run-export';
import { startExport } from '../../../shared/exports/start-export';
import { sealWith } from '../../../shared/kernel/archive-seal';
import { blobLayout } from '../../../shared/kernel/blob-layout';
import type { ArchivedDocument } from '../../../shared/kernel/document';
import { attemptsUsedUp, EXPORT_ATTEMPTS_LIMIT, exportBlobName, exportCheckpointName, type ExportJob } from '../../../shared/kernel/export';
import type { Principal } from '../../../shared/kernel/principal';
import type { BlobRead } from '../../../shared/ports';
import { FakeClock } from '../../support/fake-clock';
import { inMemoryDeps, InMemoryExportBlobs, ListingCatalog, type RecordingLogger } from '../../support/in-memory';
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
  for (const doc of docs) await keepManifest(deps, doc); // as ingest keeps it: the walk's witness
  const { job } = await startExport(principal, { fiscalYear: 2024, includeOriginals: false }, 'req-1', deps);
  return { deps, docs, job, store: deps.exportBlobs as InMemoryExportBlobs };
}
type World = Awaited<ReturnType<typeof setUp>>;

/** The world as one attempt sees it, counting the renditions it reads; `cutAt`: the read of that rendition (0-based) is where the instance dies. */
function attempt(w: World, cutAt?: number) {
  const renditions = new Set(w.docs.map((d) => d.rendition.blobName));
  const read: string[] = [];
  let dead = false;
  const gone = <P extends object>(port: P): P =>
    new Proxy(port, {
      get: (target, prop, receiver) => {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (dead) throw new Error('the instance was recycled');
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  const blobs = new Proxy(w.deps.blobs, {
    get: (target, prop, receiver) =>
      prop === 'readIfExists'
        ? async (tenantId: string, name: string): Promise<BlobRead | null> => {
            if (!renditions.has(name)) return target.readIfExists(tenantId, name);
            if (read.length === cutAt) {
              read.push(name);
              const found = (await target.readIfExists(tenantId, name))!;
              // The cut comes as the file is being copied: nothing of this attempt is stored after it.
              const stream = new Readable({ read() { dead = true; this.destroy(new Error('the instance was recycled')); } });
              return { ...found, stream };
            }
            read.push(name);
            return target.readIfExists(tenantId, name);
          }
        : Reflect.get(target, prop, receiver),
  });
  return { deps: { ...w.deps, blobs, exportJobs: gone(w.deps.exportJobs), exportBlobs: gone(w.deps.exportBlobs) }, read };
}

/** Attempt 1 cut after K of N documents; the job is left running, as a dead instance leaves it. */
async function cut(w: World) {
  const first = attempt(w, K);
  await expect(runExport(T, w.job.id, first.deps)).rejects.toThrow('recycled');
  const left = (await w.deps.exportJobs.get(T, w.job.id))!;
  expect(left).toMatchObject({ status: 'running', attempts: 1 });
  // Read ahead of the cut too (PREFETCH): those reads are opened, never copied.
  expect(first.read.slice(0, K + 1)).toEqual(w.docs.slice(0, K + 1).map((d) => d.rendition.blobName));
}

/** Maintenance's restart of the stale job: the next attempt. */
async function next(w: World) {
  const second = attempt(w);
  w.deps.clock.advance((w.deps.config.ARCHIVE_EXPORT_STALE_SECONDS + 1) * 1000);
  expect(await restartExport((await w.deps.exportJobs.getVersioned(T, w.job.id))!, second.deps)).toBe(true);
  const done = (await w.deps.exportJobs.get(T, w.job.id))!;
  return { done, read: second.read };
}

interface Unzipped {
  zip: Buffer;
  names: string[];
  /** Where manifest.json's local header starts: the documents' files are all before it. */
  manifestAt: number;
  files: Map<string, Buffer>;
}

async function unzip(zip: Buffer): Promise<Unzipped> {
  const z = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.fromBuffer(zip, { lazyEntries: true }, (e, f) => (e ? reject(e) : resolve(f))));
  const out: Unzipped = { zip, names: [], manifestAt: -1, files: new Map() };
  await new Promise<void>((resolve, reject) => {
    z.on('entry', (entry: yauzl.Entry) => {
      out.names.push(entry.fileName);
      if (entry.fileName === 'manifest.json') out.manifestAt = entry.relativeOffsetOfLocalHeader;
      z.openReadStream(entry, (err, s) => {
        if (err) return reject(err);
        const chunks: Buffer[] = [];
        s.on('data', (c: Buffer) => chunks.push(c));
        s.on('end', () => {
          out.files.set(entry.fileName, Buffer.concat(chunks));
          z.readEntry();
        });
        s.on('error', reject); // yauzl checks each file's CRC-32 and size against the central directory
      });
    });
    z.on('end', resolve);
    z.on('error', reject);
    z.readEntry();
  });
  return out;
}

/** The completed job's ZIP: its SHA-256 the one the job hands out, unpacked. */
async function zipOf(w: World, job: ExportJob): Promise<Unzipped> {
  const zip = w.store.blobs.get(`${T}/${job.blobName}`)!;
  expect(createHash('sha256').update(zip).digest('hex')).toBe(job.archive!.sha256);
  expect(zip.length).toBe(job.archive!.size);
  return unzip(zip);
}

/** An uncut export of the same search in the same archive. */
async function uncut(w: World): Promise<Unzipped> {
  const { job } = await startExport(principal, { fiscalYear: 2024, includeOriginals: false }, 'req-2', w.deps);
  const done = await runExport(T, job.id, w.deps);
  expect(done.status).toBe('completed');
  return zipOf(w, done);
}

const documentsOf = (u: Unzipped) => (JSON.parse(u.files.get('manifest.json')!.toString('utf8')) as { documents: { id: string }[] }).documents;
const refusals = (w: World) => (w.deps.log as RecordingLogger).lines.filter((l) => l.message === EXPORT_CHECKPOINT_REFUSED);

it(`an attempt cut after ${K} of ${N} documents is gone on from: the next reads only the rest, and its ZIP is an uncut attempt's`, async () => {
  const w = await setUp();
  await cut(w);
  expect(w.store.blobs.has(`${T}/${exportCheckpointName(w.job.id)}`)).toBe(true);

  const { done, read } = await next(w);
  expect(done).toMatchObject({ status: 'completed', attempts: 2, blobName: exportBlobName(w.job.id, 1), progress: { total: N, documents: N, files: N } });
  expect(refusals(w)).toEqual([]);
  expect(read).toEqual(w.docs.slice(K).map((d) => d.rendition.blobName));
  const resumed = await zipOf(w, done);
  // Done: no checkpoint left, only the ZIP.
  expect([...w.store.blobs.keys()]).toEqual([`${T}/${done.blobName}`]);

  const fresh = await uncut(w);
  expect(resumed.names).toEqual(fresh.names);
  // Every byte before manifest.json (the documents' files) as the uncut attempt wrote them; manifest.json names another export.
  expect(resumed.manifestAt).toBe(fresh.manifestAt);
  expect(resumed.zip.subarray(0, resumed.manifestAt).equals(fresh.zip.subarray(0, fresh.manifestAt))).toBe(true);
  expect(documentsOf(resumed)).toEqual(documentsOf(fresh));
  expect(resumed.files.get('manifest.csv')!.equals(fresh.files.get('manifest.csv')!)).toBe(true);
});

type Tamper = (w: World) => Promise<void>;
const checkpointName = (w: World) => `${T}/${exportCheckpointName(w.job.id)}`;
const storedCheckpoint = (w: World) => JSON.parse(w.store.blobs.get(checkpointName(w))!.toString('utf8')) as Record<string, unknown> & { files: { sha256: string }[]; mac: string; keyVersion?: string };

const tampered: [string, RegExp, Tamper][] = [
  [
    'edited after the archive sealed it (a file it holds named another)',
    /not sealed/,
    async (w) => {
      const c = storedCheckpoint(w);
      c.files[0]!.sha256 = '0'.repeat(64);
      w.store.blobs.set(checkpointName(w), Buffer.from(JSON.stringify(c)));
    },
  ],
  [
    "sealed by the archive, another job's",
    /another job/,
    async (w) => {
      const { mac: _m, keyVersion: _k, ...c } = storedCheckpoint(w);
      const other = await sealWith('export-checkpoint', { ...c, exportId: 'another-export' }, w.deps.audit.chainKeys);
      w.store.blobs.set(checkpointName(w), Buffer.from(JSON.stringify(other)));
    },
  ],
  ['its ZIP gone', /blocks are not/, async (w) => w.store.delete(T, exportBlobName(w.job.id, 1))],
  [
    'its ZIP holding other bytes in the same blocks',
    /bytes are not/,
    async (w) => {
      const key = `${T}/${exportBlobName(w.job.id, 1)}`;
      const blocks = w.store.committed.get(key)!;
      const first = Buffer.from(blocks[0]!.bytes);
      first[first.length - 1] = first[first.length - 1]! ^ 0xff;
      blocks[0] = { id: blocks[0]!.id, bytes: first };
      w.store.blobs.set(key, Buffer.concat(blocks.map((b) => b.bytes)));
    },
  ],
];

it.each(tampered)('a checkpoint %s is not gone on from: the next attempt starts from the first document, logged', async (_name, why, tamper) => {
  const w = await setUp();
  await cut(w);
  await tamper(w);
  const { done, read } = await next(w);
  expect(done).toMatchObject({ status: 'completed', attempts: 2, progress: { documents: N, files: N } });
  expect(read).toEqual(w.docs.map((d) => d.rendition.blobName));
  expect(refusals(w)).toEqual([expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ exportId: w.job.id, why: expect.stringMatching(why) }) })]);
  expect(documentsOf(await zipOf(w, done)).map((d) => d.id)).toEqual(w.docs.map((d) => d.id));
});

it('a document the checkpoint holds disposed of between attempts: the next starts from the first document, and the ZIP holds the others', async () => {
  const w = await setUp();
  await cut(w);
  const disposed: ArchivedDocument = w.docs[1]!;
  w.deps.catalog.documents.set(`${T}/${disposed.id}`, { ...w.deps.catalog.documents.get(`${T}/${disposed.id}`)!, status: 'disposed' });
  const { done, read } = await next(w);
  const rest = w.docs.filter((d) => d.id !== disposed.id);
  expect(done).toMatchObject({ status: 'completed', attempts: 2, progress: { documents: N - 1 } });
  // The walk given up had opened reads ahead of it (PREFETCH), never copied; the walk from the first document reads the rest.
  expect(read.slice(-rest.length)).toEqual(rest.map((d) => d.rendition.blobName));
  expect(refusals(w)).toEqual([expect.objectContaining({ fields: expect.objectContaining({ why: expect.stringMatching(/no longer names/) }) })]);
  expect(documentsOf(await zipOf(w, done)).map((d) => d.id)).toEqual(rest.map((d) => d.id));
});

it('an attempt that saved a checkpoint of its own is not counted against the attempts: the job is run again while attempts go on, up to EXPORT_ATTEMPTS_LIMIT', async () => {
  const w = await setUp();
  await cut(w);
  const left = (await w.deps.exportJobs.get(T, w.job.id))!;
  // Saved with the checkpoint, before the cut.
  expect(left.attemptsAdvanced).toBe(1);
  const max = w.deps.config.ARCHIVE_EXPORT_MAX_ATTEMPTS;
  const stale = new Date(Date.parse(left.heartbeatAt) + (w.deps.config.ARCHIVE_EXPORT_STALE_SECONDS + 1) * 1000);
  const due = (attempts: number, attemptsAdvanced?: unknown) => notDueBecause({ ...left, attempts, attemptsAdvanced } as ExportJob, stale, w.deps.config);
  expect(due(max, 1)).toBeNull();
  expect(due(max + 2, 3)).toBeNull();
  expect(due(max)).toMatch(/used up/);
  expect(due(max + 1, 1)).toMatch(/used up/);
  expect(due(max, 'many')).toMatch(/used up/);
  // Edited up in Cosmos DB (the running fields are not sealed): still bounded.
  expect(due(EXPORT_ATTEMPTS_LIMIT - 1, 99)).toBeNull();
  expect(due(EXPORT_ATTEMPTS_LIMIT, 99)).toMatch(/used up/);
  expect(attemptsUsedUp({ attempts: max, attemptsAdvanced: 1 }, max)).toBe(false);
});

it('a file whose size the catalog states wrong (its SHA-256 right) fails the attempt with checkpoints after every file, and leaves no ZIP or checkpoint', async () => {
  const w = await setUp();
  const doc = w.docs[0]!;
  w.deps.catalog.documents.set(`${T}/${doc.id}`, { ...doc, rendition: { ...doc.rendition, size: doc.rendition.size + 1 } });
  w.deps.blobs.blobs.delete(`${T}/${blobLayout.manifest(doc.id)}`); // no witness: the file's read decides
  const failed = await runExport(T, w.job.id, w.deps);
  expect(failed.status).toBe('failed');
  // Neither its ZIP nor a checkpoint is left: the job failed for good.
  expect(w.store.blobs.size).toBe(0);
});

/**
 * Broke (red team 26): a checkpoint was read whole, whatever its size: a storage role's huge blob under its name was read
 * into the export app's memory at every restart of that export. Now one larger than an attempt writes is not read.
 */
describe('a checkpoint as large as one is written, and one byte past it', () => {
  const { maxBytes } = EXPORT_CHECKPOINT;
  afterEach(() => void (EXPORT_CHECKPOINT.maxBytes = maxBytes));

  it.each([
    ['at the bound: gone on from', 0],
    ['one byte past it (sealed, a space after): not read, the next attempt starts from the first document, alerted', 1],
  ])('%s', async (_name, past) => {
    const w = await setUp();
    await cut(w);
    const genuine = w.store.blobs.get(checkpointName(w))!;
    // The bound lowered to this checkpoint's size; the one past it still the archive's seal (JSON takes the space).
    EXPORT_CHECKPOINT.maxBytes = genuine.length;
    if (past) w.store.blobs.set(checkpointName(w), Buffer.concat([genuine, Buffer.from(' ')]));
    let pulled = 0;
    const readIfExists = w.store.readIfExists.bind(w.store);
    w.store.readIfExists = async (tenantId, name, range) => {
      const found = await readIfExists(tenantId, name, range);
      if (found && name === exportCheckpointName(w.job.id)) found.stream.on('data', (c: Buffer) => void (pulled += c.length));
      return found;
    };
    const { done, read } = await next(w);
    expect(done).toMatchObject({ status: 'completed', attempts: 2, progress: { documents: N, files: N } });
    expect(documentsOf(await zipOf(w, done)).map((d) => d.id)).toEqual(w.docs.map((d) => d.id));
    const alerts = (w.deps.log as RecordingLogger).lines.filter((l) => l.message === EXPORT_BLOB_TAKEN);
    if (!past) {
      expect(read).toEqual(w.docs.slice(K).map((d) => d.rendition.blobName));
      expect(pulled).toBe(genuine.length);
      expect([refusals(w), alerts]).toEqual([[], []]);
      // Its next checkpoint, one file larger, is not saved, nor any after it: none is written that would not be read.
      expect((w.deps.log as RecordingLogger).lines.filter((l) => l.message.startsWith('export checkpoints end'))).toHaveLength(1);
      return;
    }
    expect(read).toEqual(w.docs.map((d) => d.rendition.blobName));
    expect(pulled).toBe(0);
    expect(refusals(w)).toEqual([expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ why: expect.stringMatching(/larger than a checkpoint is written/) }) })]);
    expect(alerts).toEqual([expect.objectContaining({ level: 'error', fields: expect.objectContaining({ blob: exportCheckpointName(w.job.id) }) })]);
  });

  it("the bound's entry size holds the longest entry an export writes", () => {
    const names = new ExportNames();
    const pages = 500; // ARCHIVE_MAX_PAGES' default: originals `-001` to `-500`
    const doc = (id: string) => ({ id, createdAt: '2024-01-01T00:00:00Z', metadata: { documentDate: '2024-01-01', kind: 'invoice', counterparty: '\u00e9'.repeat(200) }, originals: Array.from({ length: pages }, () => ({ blobName: 'x.tiff' })) }) as unknown as ArchivedDocument;
    // The third document of the same name takes its whole id: the longest path.
    const id = '01234567-89ab-7cde-8f01-23456789abcd';
    const paths = [doc(`a${id.slice(1)}`), doc(`b${id.slice(1)}`), doc(id)].map((d) => names.paths(d, true)).at(-1)!;
    const longest = paths.originals.at(-1)!;
    expect(longest).toContain(`(${id})-${pages}.tiff`);
    const entry = { path: longest, size: Number.MAX_SAFE_INTEGER, sha256: 'f'.repeat(64), mtime: new Date().toISOString(), crc32: 0xffffffff, offset: Number.MAX_SAFE_INTEGER };
    expect(Buffer.byteLength(`${JSON.stringify(entry)},`)).toBeLessThanOrEqual(CHECKPOINT_ENTRY_MAX_BYTES);
  });
});

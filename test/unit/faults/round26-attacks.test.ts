/**
 * Red team 26: this session's merges, attacked as a valid account, as someone who can write Cosmos DB but not Key Vault,
 * and as a holder of the storage account's data-plane role (unlocked blobs, no Key Vault). Each case marked "Broke"
 * fails without its fix; the others held.
 */
import { AUDIT_CHAIN_BEHIND_SEAL, AUDIT_SEAL_UNSEALED, passedMarkerName, sealBlobName, sealPartition } from '../../../shared/audit/seal';
import { readPdfaId } from '../../../shared/normalise/xmp';
import { ok, send, upload, world } from '../../support/in-process';
import { csvField } from '../../../shared/exports/names';
import { Readable } from 'node:stream';
import { EXPORT_CHECKPOINT } from '../../../shared/exports/export-checkpoint';
import { EXPORT_BLOB_TAKEN, restartExport, runExport } from '../../../shared/exports/run-export';
import { startExport } from '../../../shared/exports/start-export';
import { exportBlobName, exportCheckpointName } from '../../../shared/kernel/export';
import type { Principal } from '../../../shared/kernel/principal';
import type { BlobRead } from '../../../shared/ports';
import { FakeClock } from '../../support/fake-clock';
import { inMemoryDeps, type InMemoryDeps, type InMemoryExportBlobs, ListingCatalog, type RecordingLogger } from '../../support/in-memory';
import { keepManifest, seedMany } from '../../support/seed';

const T = 'acme';

async function grow(deps: InMemoryDeps, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await deps.audit.append({ tenantId: T, at: deps.clock.now().toISOString(), actor: { subject: 'u', kind: 'user' }, action: 'document.read', target: 'd', outcome: 'success', status: 200, requestId: `r${Math.random()}`, clientIp: null, userAgent: null });
}

describe("the sealing timer's passed marker, taken first by a storage role", () => {
  // Broke: the storage role planted an unlocked blob under the marker's name of the archive's seal at 40 before the chain
  // passed it; the run's create-only write of the marker answered 'different', unread, and the seal at 50 was written.
  // The role then deleted its blob (unlocked) and, with Cosmos DB, cut the chain back to 40: no marker, no alert, ever.
  // Now a run seals past a seal only where the archive's marker stands under its name; otherwise it says so and waits.
  it.each([
    ['planted and left', false],
    ['planted, then deleted after the run, and the chain cut back', true],
  ])('%s', async (_what, deleteAndCut) => {
    const deps = inMemoryDeps();
    const log = deps.log as RecordingLogger;
    const month = deps.clock.now().toISOString().slice(0, 7);
    await grow(deps, 40);
    expect((await sealPartition(T, month, deps.clock.now(), deps))?.seq).toBe(40);
    await deps.blobs.putCreateOnly(T, passedMarkerName(month, 40), Buffer.from('{}'), 'application/json', { retainUntil: null, legalHold: false }, {});
    await grow(deps, 10);
    log.lines.length = 0;
    await sealPartition(T, month, deps.clock.now(), deps);
    expect(log.lines.filter((l) => l.message === AUDIT_SEAL_UNSEALED).map((l) => l.fields?.blob)).toEqual([passedMarkerName(month, 40)]);
    if (!deleteAndCut) return;
    deps.blobs.blobs.delete(`${T}/${passedMarkerName(month, 40)}`);
    deps.audit.entries.splice(40);
    log.lines.length = 0;
    await sealPartition(T, month, deps.clock.now(), deps);
    // Not sealed past 40 while the planted blob stood, so nothing was cut that a seal had fixed; grown again, it is sealed
    // with the archive's marker, and a later cut back to 40 is alerted.
    expect(await deps.blobs.exists(T, sealBlobName(month, 50))).toBe(false);
    await grow(deps, 10);
    expect((await sealPartition(T, month, deps.clock.now(), deps))?.seq).toBe(50);
    deps.audit.entries.splice(40);
    log.lines.length = 0;
    await sealPartition(T, month, deps.clock.now(), deps);
    expect(log.lines.filter((l) => l.message === AUDIT_CHAIN_BEHIND_SEAL)).toHaveLength(1);
  });

  // Broke: a blob put under the seal's own name between the run's look and its write answered 'different', unread: the
  // run returned the seal as written (counted sealed), and said nothing until the next run read it.
  it('a blob put under the seal\'s name while the run seals is said at once, and the run seals nothing', async () => {
    const deps = inMemoryDeps();
    const log = deps.log as RecordingLogger;
    const month = deps.clock.now().toISOString().slice(0, 7);
    await grow(deps, 40);
    const put = deps.blobs.putCreateOnly.bind(deps.blobs);
    deps.blobs.putCreateOnly = async (tenantId, name, ...rest) => {
      if (name === sealBlobName(month, 40)) await put(tenantId, name, Buffer.from('{}'), 'application/json', { retainUntil: null, legalHold: false }, {});
      return put(tenantId, name, ...rest);
    };
    expect(await sealPartition(T, month, deps.clock.now(), deps)).toBeNull();
    expect(log.lines.filter((l) => l.message === AUDIT_SEAL_UNSEALED).map((l) => l.fields?.blob)).toEqual([sealBlobName(month, 40)]);
  });

  it("held: the archive's own marker, left by a run that stopped before its seal, stands and the next run seals", async () => {
    const deps = inMemoryDeps();
    const log = deps.log as RecordingLogger;
    const month = deps.clock.now().toISOString().slice(0, 7);
    await grow(deps, 40);
    await sealPartition(T, month, deps.clock.now(), deps);
    await grow(deps, 10);
    expect((await sealPartition(T, month, deps.clock.now(), deps))?.seq).toBe(50);
    // The run stopped after its marker: the seal at 50 never written, the next run (later, grown) meets the marker.
    deps.blobs.blobs.delete(`${T}/${sealBlobName(month, 50)}`);
    await grow(deps, 5);
    log.lines.length = 0;
    expect((await sealPartition(T, month, new Date(deps.clock.now().getTime() + 300_000), deps))?.seq).toBe(55);
    expect(log.lines.filter((l) => l.level === 'error')).toEqual([]);
  });
});

describe("a PDF's own PDF/A declaration, read from its XMP", () => {
  // Broke: the element's value was taken by `\s*([^<]*?)\s*` before its end tag, which backtracks over every split
  // of a run of blanks: an opened pdfaid:part followed by blanks and no end tag (a few hundred bytes compressed in the
  // uploaded PDF) took the conversion worker quadratic time, 100,000 blanks about 15 s, a megabyte (this case) hours, until the
  // pool's timeout stopped it. Now read in one pass and trimmed.
  it.each([
    ['never closed', `<pdfaid:part>1${' '.repeat(1_000_000)}</x>`, undefined],
    ['closed after the blanks', `<pdfaid:part>\n 2${' '.repeat(100_000)}</pdfaid:part>`, { part: '2' }],
  ])('an element %s after a run of blanks is read at once', (_what, body, declared) => {
    expect(readPdfaId(`<x xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">${body}`)).toEqual(declared);
  });
});

describe('a tag, as the export\'s manifest.csv shows it', () => {
  // Broke: red team 24 kept commas out of a tag (the search's separator), but manifest.csv joins a document's tags with
  // ` | `: one tag `te-controleren | Q4` read in the accountant's spreadsheet as the two tags, told apart by nothing.
  it('holding a vertical line is refused on upload; tags without one are joined as before', async () => {
    const w = world();
    const refused = await send(w, upload({ tags: ['te-controleren | Q4'] }));
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.json.errors)).toMatch(/tags.*U\+007C/);
    await ok(w, upload({ tags: ['te-controleren', 'Q4'] }), 201);
    expect(csvField(['te-controleren', 'Q4'])).toBe('te-controleren | Q4');
  });
});

describe("an export attempt that lost its job, failing on its own, and the current attempt's checkpoint", () => {
  const every = { ...EXPORT_CHECKPOINT };
  beforeAll(() => void (EXPORT_CHECKPOINT.files = 1));
  afterAll(() => void Object.assign(EXPORT_CHECKPOINT, every));

  /** Deps whose read of rendition `at` hangs until `fail` ends it, as a storage read's timeout does. */
  function hanging(deps: InMemoryDeps, rendition: string) {
    const state = { hung: false, fail: (_e: Error) => undefined as void, answer: () => undefined as void };
    const blobs = new Proxy(deps.blobs, {
      get: (target, prop, receiver) =>
        prop === 'readIfExists'
          ? async (tenantId: string, name: string): Promise<BlobRead | null> => {
              const found = await target.readIfExists(tenantId, name);
              if (name !== rendition || !found) return found;
              const bytes = Buffer.concat(await found.stream.toArray());
              const stream = new Readable({
                read() {
                  if (state.hung) return;
                  state.hung = true;
                  state.fail = (e) => void this.destroy(e);
                  state.answer = () => void (this.push(bytes), this.push(null));
                },
              });
              return { ...found, stream };
            }
          : Reflect.get(target, prop, receiver),
    });
    return { deps: { ...deps, blobs }, state };
  }
  const until = async (ready: () => boolean) => {
    for (let i = 0; i < 10_000 && !ready(); i++) await new Promise((r) => setImmediate(r));
    expect(ready()).toBe(true);
  };

  async function exportOf(n: number) {
    const deps = { ...inMemoryDeps(), catalog: new ListingCatalog(), clock: new FakeClock('2025-03-01T12:00:00Z') };
    const docs = await seedMany(deps, T, Array.from({ length: n }, (_, i) => ({ metadata: { documentDate: `2024-0${i + 1}-01`, kind: 'invoice' as const, reference: `INV-${i}` } })));
    for (const doc of docs) await keepManifest(deps, doc);
    const principal = { tenantId: T, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;
    const { job } = await startExport(principal, { fiscalYear: 2024, includeOriginals: false }, 'req-1', deps);
    return { deps, docs, job, store: deps.exportBlobs as InMemoryExportBlobs };
  }

  // Broke: a storage role that put a blob under the name of an attempt's ZIP before its first commit (the name is the
  // export's id, seen as soon as the attempt stages a block) failed the export, as `export failed` with an internal error
  // and no alert: one blob a try, every export of every tenant. The export still fails (the ZIP is not the archive's to
  // take), now alerted as written by another than its attempt, and the blob is left as evidence.
  it('a blob put under its ZIP\'s name before its first commit: the export fails, alerted, the blob left', async () => {
    const { deps, job, store } = await exportOf(2);
    const planted = `${T}/${exportBlobName(job.id, 1)}`;
    store.blobs.set(planted, Buffer.from('PK planted'));
    const log = deps.log as RecordingLogger;
    await runExport(T, job.id, deps);
    expect(await deps.exportJobs.get(T, job.id)).toMatchObject({ status: 'failed' });
    expect(log.lines.filter((l) => l.message === EXPORT_BLOB_TAKEN).map((l) => l.fields?.blob)).toEqual([exportBlobName(job.id, 1)]);
    expect(store.blobs.get(planted)).toEqual(Buffer.from('PK planted'));
  });

  // Broke: a fresh attempt hung before its first checkpoint, its job handed on, then failing on its own (the read's
  // timeout), deleted the export's checkpoint as its own: the next attempt's, which went on without it (a cut then
  // started that export over from the first document). An attempt deletes a checkpoint only while the job is its own.
  it("leaves the checkpoint the attempt holding the job wrote", async () => {
    const { deps, docs, job, store } = await exportOf(4);
    const checkpoint = `${T}/${exportCheckpointName(job.id)}`;

    const a = hanging(deps, docs[0]!.rendition.blobName);
    const first = runExport(T, job.id, a.deps);
    await until(() => a.state.hung);
    deps.clock.advance((deps.config.ARCHIVE_EXPORT_STALE_SECONDS + 1) * 1000);
    const b = hanging(deps, docs[2]!.rendition.blobName);
    const second = restartExport((await deps.exportJobs.getVersioned(T, job.id))!, b.deps);
    await until(() => b.state.hung);
    const held = store.blobs.get(checkpoint);
    expect(held).toBeDefined();

    a.state.fail(new Error('read timed out'));
    await first;
    expect(store.blobs.get(checkpoint)).toEqual(held);
    b.state.answer();
    await second;
    expect(await deps.exportJobs.get(T, job.id)).toMatchObject({ status: 'completed', attempts: 2 });
  });
});

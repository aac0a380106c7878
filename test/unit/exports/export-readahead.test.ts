/**
 * The export worker reads a page's manifests (and a corrected document's kept correction) ahead, as it reads renditions
 * ahead: they were a blob round trip each, waited for in turn (`npm run bench:export`). Held here without timing, by a
 * blob port whose witness reads wait until the test releases them: several are in flight at once and never more than
 * MANIFEST_PREFETCH; and the checks still come in the walk's order, so the first failing document decides the export,
 * whatever order the reads come back in, and nothing of a later document is read as a file or reaches the ZIP.
 */
import { MANIFEST_PREFETCH, runExport } from '../../../shared/exports/run-export';
import { EXPORT_CHECKPOINT } from '../../../shared/exports/export-checkpoint';
import { startExport } from '../../../shared/exports/start-export';
import { sealedManifest } from '../../../shared/documents/manifest';
import { blobLayout } from '../../../shared/kernel/blob-layout';
import type { ArchivedDocument } from '../../../shared/kernel/document';
import type { Principal } from '../../../shared/kernel/principal';
import type { BlobArchivePort, BlobRead } from '../../../shared/ports';
import { FIXITY_MISMATCH } from '../../../shared/retention/fixity';
import { inMemoryDeps, InMemoryExportBlobs, ListingCatalog, type RecordingLogger } from '../../support/in-memory';
import { seedDocument } from '../../support/seed';

const T = 'acme';
const WORM = { retainUntil: '2099-01-01T00:00:00.000Z', legalHold: false };
const principal = { tenantId: T, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;

/** A manifest's or a kept correction's read, held until released; every blob read is recorded by name. */
class HeldWitnessReads {
  readonly held: { name: string; release: () => void }[] = [];
  readonly reads: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  readonly port: BlobArchivePort;
  constructor(inner: BlobArchivePort) {
    this.port = new Proxy(inner, {
      get: (target, key) => {
        const v = Reflect.get(target, key, target) as unknown;
        if (key !== 'readIfExists') return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        return async (tenantId: string, name: string, ...rest: unknown[]): Promise<BlobRead | null> => {
          this.reads.push(name);
          if (blobLayout.isManifest(name) || blobLayout.correctionVersion(name) !== null) {
            this.inFlight++;
            this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
            await new Promise<void>((release) => this.held.push({ name, release }));
            this.inFlight--;
          }
          return (target.readIfExists as (...a: unknown[]) => Promise<BlobRead | null>)(tenantId, name, ...rest);
        };
      },
    });
  }
}

/**
 * The export blob's bytes as they arrive (the worker deletes the ZIP of a failed export): its staged blocks, one a file
 * (a checkpoint after each file stages what the file wrote).
 */
class TappedExportBlobs extends InMemoryExportBlobs {
  readonly received: Buffer[] = [];
  override async stageBlock(tenantId: string, blobName: string, blockId: string, bytes: Buffer): Promise<void> {
    this.received.push(Buffer.from(bytes));
    await super.stageBlock(tenantId, blobName, blockId, bytes);
  }
}

const checkpointEvery = { ...EXPORT_CHECKPOINT };
beforeAll(() => void (EXPORT_CHECKPOINT.files = 1));
afterAll(() => void Object.assign(EXPORT_CHECKPOINT, checkpointEvery));

/** N documents in walk order, each with its manifest; every third corrected once, with its kept correction. */
async function world(n: number) {
  const base = { ...inMemoryDeps(), catalog: new ListingCatalog() };
  const docs: ArchivedDocument[] = [];
  for (let i = 0; i < n; i++) {
    let doc = await seedDocument(base, T, { metadata: { documentDate: `2024-01-${String(i + 1).padStart(2, '0')}`, kind: 'receipt', amount: 10 + i, currency: 'EUR' } });
    if (i % 3 === 1) {
      const metadata = { ...doc.metadata, amount: 100 + i };
      const correction = { version: 2, at: '2025-01-01T00:00:00.000Z', by: { subject: 'alice', kind: 'user' }, reason: 'Typo', changes: [{ field: 'amount', from: 10 + i, to: 100 + i }], metadata };
      doc = { ...doc, metadata, metadataVersion: 2, metadataHistory: [correction] };
      base.catalog.documents.set(`${T}/${doc.id}`, doc);
      await base.blobs.putCreateOnly(T, blobLayout.correction(doc.id, 2), Buffer.from(JSON.stringify({ tenantId: T, documentId: doc.id, correction, fiscalYear: doc.fiscalYear, retention: doc.retention })), 'application/json', WORM, {});
    }
    const asIngested = i % 3 === 1 ? { ...doc, metadata: { ...doc.metadata, amount: 10 + i }, metadataVersion: undefined, metadataHistory: undefined } : doc;
    // Sealed, as ingest writes it: an export takes only a manifest the archive kept (export-seals.test.ts).
    await base.blobs.putCreateOnly(T, blobLayout.manifest(doc.id), await sealedManifest(asIngested, base), 'application/json', WORM, {});
    docs.push(doc);
  }
  const witness = new HeldWitnessReads(base.blobs);
  const exportBlobs = new TappedExportBlobs();
  const deps = { ...base, blobs: witness.port, exportBlobs };
  const { job } = await startExport(principal, { fiscalYear: 2024, includeOriginals: false }, 'req-1', deps);
  return { base, deps, docs, witness, exportBlobs, job };
}

/** Lets everything that can run, run (the in-memory ports answer within a few turns). */
async function quiet(): Promise<void> {
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
}

/** Runs the export, releasing a held read each time the worker waits on them (`pick` chooses which); the witness reads in flight at each wait. */
async function drive(run: Promise<unknown>, witness: HeldWitnessReads, pick: (held: number) => number): Promise<number[]> {
  let done = false;
  void run.finally(() => (done = true)).catch(() => undefined);
  const waiting: number[] = [];
  while (!done) {
    await quiet();
    if (witness.held.length === 0) {
      await new Promise((r) => setTimeout(r, 5)); // the audit entry's look-up waits between tries
      continue;
    }
    waiting.push(witness.inFlight);
    witness.held.splice(pick(witness.held.length), 1)[0]!.release();
  }
  return waiting;
}

it(`reads several documents' manifests and kept corrections at once, never more than ${MANIFEST_PREFETCH}, and completes with every document`, async () => {
  const { deps, base, docs, witness, job } = await world(12);

  const run = runExport(T, job.id, deps);
  const waiting = await drive(run, witness, () => 0);
  const done = await run;

  expect(done).toMatchObject({ status: 'completed', progress: { documents: 12 } });
  expect(MANIFEST_PREFETCH).toBeGreaterThan(1);
  expect(witness.maxInFlight).toBe(MANIFEST_PREFETCH);
  expect(Math.max(...waiting)).toBe(MANIFEST_PREFETCH);
  // Each witness read once: a manifest a document, a kept correction a corrected one.
  const corrected = docs.filter((d) => d.metadataVersion === 2);
  expect(corrected).toHaveLength(4);
  const witnessReads = witness.reads.filter((r) => blobLayout.isManifest(r) || blobLayout.correctionVersion(r) !== null);
  expect(witnessReads.sort()).toEqual([...docs.map((d) => blobLayout.manifest(d.id)), ...corrected.map((d) => blobLayout.correction(d.id, 2))].sort());
  expect((base.log as RecordingLogger).lines.filter((l) => l.level === 'error')).toEqual([]);
});

describe.each([
  ['the 6th', 5, 'its manifest no longer describes its files', 'manifest' as const],
  ['the 8th (a corrected one)', 7, 'its kept correction states other details', 'correction' as const],
])('%s of 12 documents (index %i) fails its check: %s', (_nth, failing, _what, tamper) => {
  it.each([
    ['reads answered in order', (_held: number) => 0],
    ['later reads answered first', (held: number) => held - 1],
  ])('%s: the export fails naming it (not the next, failing too), alerted once, with nothing of it or a later document read or in the ZIP', async (_order, pick) => {
    const { base, deps, docs, witness, exportBlobs, job } = await world(12);
    const bad = docs[failing]!;
    expect(bad.metadataVersion === 2).toBe(tamper === 'correction');
    const unlike = (d: ArchivedDocument) => void (base.blobs.blobs.get(`${T}/${blobLayout.manifest(d.id)}`)!.bytes = Buffer.from(JSON.stringify({ ...d, rendition: { ...d.rendition, sha256: '0'.repeat(64) } })));
    // The next document fails too: its reads may come back first, but the first failing document in the walk decides.
    unlike(docs[failing + 1]!);
    if (tamper === 'manifest') {
      unlike(bad);
    } else {
      const name = `${T}/${blobLayout.correction(bad.id, 2)}`;
      const kept = JSON.parse(base.blobs.blobs.get(name)!.bytes.toString('utf8')) as { correction: { metadata: Record<string, unknown> } };
      kept.correction.metadata = { ...kept.correction.metadata, amount: 1 };
      base.blobs.blobs.get(name)!.bytes = Buffer.from(JSON.stringify(kept));
    }

    const run = runExport(T, job.id, deps);
    await drive(run, witness, pick);
    const done = await run;

    expect(done).toMatchObject({ status: 'failed' });
    expect(done.error).toMatch(new RegExp(`^export_fixity_mismatch: Document ${bad.id}: `));
    const alerts = (base.log as RecordingLogger).lines.filter((l) => l.level === 'error');
    expect(alerts).toEqual([{ level: 'error', message: FIXITY_MISMATCH, fields: { tenantId: T, documentId: bad.id, exportId: job.id, mismatched: [tamper === 'manifest' ? blobLayout.manifest(bad.id) : blobLayout.correction(bad.id, 2)], missing: [] } }]);
    expect(witness.maxInFlight).toBeLessThanOrEqual(MANIFEST_PREFETCH);
    // The documents before it were exported; of it and those after it, no file was read and no byte reached the ZIP.
    const zip = Buffer.concat(exportBlobs.received);
    const renditionOf = (d: ArchivedDocument) => Buffer.from(`% rendition of ${d.id}\n`);
    expect(zip.includes(renditionOf(docs[0]!))).toBe(true);
    for (const earlier of docs.slice(0, failing)) expect(witness.reads).toContain(earlier.rendition.blobName);
    for (const later of docs.slice(failing)) {
      expect(zip.includes(renditionOf(later))).toBe(false);
      expect(zip.includes(Buffer.from(later.id))).toBe(false);
      expect(witness.reads).not.toContain(later.rendition.blobName);
    }
    expect(exportBlobs.blobs.size).toBe(0);
  });
});

/**
 * Write order of an ingest: with an Idempotency-Key the rendition first (it decides the owner), then
 * every original at once; without one (a fresh id) the rendition and originals together; then the
 * manifest, then the catalog. The blob fake records how many writes were in flight together.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Principal } from '../../../shared/kernel/principal';
import { ingestDocument } from '../../../shared/documents/ingest';
import type { CreateOnlyOutcome, SpooledFile, WormSettings } from '../../../shared/ports';
import { FakeNormaliser, InMemoryBlobArchive, inMemoryDeps } from '../../support/in-memory';

/** Each write takes a little while, so parallel writes overlap and the log shows it. */
class SlowBlobArchive extends InMemoryBlobArchive {
  readonly log: { name: string; inFlight: number }[] = [];
  private inFlight = 0;
  override async putCreateOnly(tenantId: string, name: string, bytes: Buffer, contentType: string, worm: WormSettings, metadata: Record<string, string>): Promise<CreateOnlyOutcome> {
    this.inFlight++;
    this.log.push({ name: name.split('/')[1]!, inFlight: this.inFlight });
    await new Promise((r) => setTimeout(r, 5));
    this.inFlight--;
    return super.putCreateOnly(tenantId, name, bytes, contentType, worm, metadata);
  }
}

const principal: Principal = { tenantId: 'acme', subject: 'u', kind: 'user', rightsSet: 'uploader', permissions: new Set(['documents:write']) };

it('with an Idempotency-Key: the rendition alone, then all originals in parallel, then the manifest', async () => {
  const blobs = new SlowBlobArchive();
  const deps = { ...inMemoryDeps(), blobs };
  const files = [1, 2, 3, 4].map((n) => ({ bytes: Buffer.from([n, n, n]), fileName: null }));
  await ingestDocument({ principal, files, metadata: {}, idempotencyKey: 'order-7' }, deps);

  const { log } = blobs;
  expect(log[0]).toEqual({ name: 'rendition.pdf', inFlight: 1 });
  expect(log.slice(1, 5).map((w) => w.name).sort()).toEqual(['original-001.png', 'original-002.png', 'original-003.png', 'original-004.png']);
  expect(Math.max(...log.slice(1, 5).map((w) => w.inFlight))).toBe(4);
  expect(log[5]).toEqual({ name: 'manifest.json', inFlight: 1 });
  expect(deps.catalog.documents.size).toBe(1);
});

it('without an Idempotency-Key (no owner to decide): the rendition and all originals together, then the manifest', async () => {
  const blobs = new SlowBlobArchive();
  const deps = { ...inMemoryDeps(), blobs };
  const files = [1, 2].map((n) => ({ bytes: Buffer.from([n, n, n]), fileName: null }));
  await ingestDocument({ principal, files, metadata: {}, idempotencyKey: null }, deps);

  const { log } = blobs;
  expect(log.slice(0, 3).map((w) => w.name).sort()).toEqual(['original-001.png', 'original-002.png', 'rendition.pdf']);
  expect(Math.max(...log.slice(0, 3).map((w) => w.inFlight))).toBe(3);
  expect(log[3]).toEqual({ name: 'manifest.json', inFlight: 1 });
  expect(deps.catalog.documents.size).toBe(1);
});

/** Records which writes came from a file and which from memory. */
class SourceRecordingBlobArchive extends InMemoryBlobArchive {
  readonly writes: { name: string; from: 'file' | 'memory' }[] = [];
  override async putCreateOnly(tenantId: string, name: string, bytes: Buffer, contentType: string, worm: WormSettings, metadata: Record<string, string>): Promise<CreateOnlyOutcome> {
    this.writes.push({ name: name.split('/')[1]!, from: 'memory' });
    return super.putCreateOnly(tenantId, name, bytes, contentType, worm, metadata);
  }
  override async putFileCreateOnly(tenantId: string, name: string, file: SpooledFile, contentType: string, worm: WormSettings, metadata: Record<string, string>): Promise<CreateOnlyOutcome> {
    this.writes.push({ name: name.split('/')[1]!, from: 'file' });
    return super.putCreateOnly(tenantId, name, fs.readFileSync(file.path), contentType, worm, metadata);
  }
}

it('a spooled upload: the rendition is made into a file and both are streamed from their files; the rendition file is removed after', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ingest-spool-'));
  const upload = fs.mkdtempSync(path.join(os.tmpdir(), 'ingest-upload-'));
  const spooledBytes = Buffer.from([9, 9, 9]);
  fs.writeFileSync(path.join(upload, 'upload'), spooledBytes);
  const spooled = { path: path.join(upload, 'upload'), size: 3, sha256: createHash('sha256').update(spooledBytes).digest('hex') };
  const base = inMemoryDeps();
  const blobs = new SourceRecordingBlobArchive();
  const normaliser = new FakeNormaliser();
  let renditionPath = '';
  const normaliseToFile = normaliser.normaliseToFile.bind(normaliser);
  normaliser.normaliseToFile = async (input, target) => ((renditionPath = target), normaliseToFile(input, target));
  const deps = { ...base, blobs, normaliser, config: { ...base.config, ARCHIVE_SPOOL_DIR: dir } };
  const files = [{ spooled, fileName: null }, { bytes: Buffer.from([1, 2]), fileName: null }];
  const { document } = await ingestDocument({ principal, files, metadata: {}, idempotencyKey: null }, deps);

  expect(path.dirname(renditionPath)).toBe(dir);
  expect(blobs.writes.slice(0, 3).sort((a, b) => a.name.localeCompare(b.name))).toEqual([
    { name: 'original-001.png', from: 'file' },
    { name: 'original-002.png', from: 'memory' },
    { name: 'rendition.pdf', from: 'file' },
  ]);
  const rendition = blobs.blobs.get(`acme/${document.rendition.blobName}`)!.bytes;
  expect(document.rendition).toMatchObject({ size: rendition.length, sha256: createHash('sha256').update(rendition).digest('hex') });
  expect(document.originals[0]).toMatchObject({ size: 3, sha256: spooled.sha256 });
  expect(fs.readdirSync(dir)).toEqual([]);
  fs.rmSync(dir, { recursive: true });
  fs.rmSync(upload, { recursive: true });
});

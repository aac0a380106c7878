/**
 * Write order of an ingest: the rendition first (it decides the owner), then every original at
 * once, then the manifest, then the catalog. Fakes record how many writes were in flight together.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Principal } from '../../../shared/kernel/principal';
import { ingestDocument } from '../../../shared/documents/ingest';
import type { ArchivedDocument } from '../../../shared/kernel/document';

const normaliser = {
  normalise: async (input: { files: { bytes: Buffer }[] }) => ({
    rendition: Buffer.from('%PDF-fake'),
    pageCount: input.files.length,
    originals: input.files.map(() => ({ mediaType: 'image/png', extension: 'png' })),
    conversion: { normaliser: 'fake', pageCount: input.files.length, pages: [], conformance: 'none' },
  }),
};

it('writes the rendition alone, then all originals in parallel, then the manifest', async () => {
  const log: { name: string; inFlight: number }[] = [];
  let inFlight = 0;
  const blobs = {
    prepareTenant: async () => undefined,
    putCreateOnly: async (_t: string, name: string) => {
      inFlight++;
      log.push({ name: name.split('/')[1]!, inFlight });
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return 'created' as const;
    },
  };
  const created: ArchivedDocument[] = [];
  const deps = {
    blobs,
    catalog: { get: async () => null, findByContentKey: async () => null, create: async (d: ArchivedDocument) => (created.push(d), 'created' as const) },
    clock: { now: () => new Date('2025-03-01T12:00:00Z') },
    config: {},
    retention: { policies: { get: async () => null } },
    normaliser,
    validationQueue: { send: async () => undefined },
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
  } as unknown as Parameters<typeof ingestDocument>[1];
  const files = [1, 2, 3, 4].map((n) => ({ bytes: Buffer.from([n, n, n]), fileName: null }));
  await ingestDocument({ principal: { tenantId: 'acme', subject: 'u', kind: 'user' } as unknown as Principal, files, metadata: {}, idempotencyKey: null }, deps);

  expect(log[0]).toEqual({ name: 'rendition.pdf', inFlight: 1 });
  expect(log.slice(1, 5).map((w) => w.name).sort()).toEqual(['original-001.png', 'original-002.png', 'original-003.png', 'original-004.png']);
  expect(Math.max(...log.slice(1, 5).map((w) => w.inFlight))).toBe(4);
  expect(log[5]).toEqual({ name: 'manifest.json', inFlight: 1 });
  expect(created).toHaveLength(1);
});

it('a spooled upload: the rendition is made into a file and both are streamed from their files; the rendition file is removed after', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ingest-spool-'));
  const writes: { name: string; from: string }[] = [];
  const record = (from: string) => async (_t: string, name: string) => (writes.push({ name: name.split('/')[1]!, from }), 'created' as const);
  const spooled = { path: path.join(dir, 'upload'), size: 3, sha256: 'ab'.repeat(32) };
  let renditionPath = '';
  const deps = {
    blobs: { prepareTenant: async () => undefined, putCreateOnly: record('memory'), putFileCreateOnly: record('file') },
    catalog: { get: async () => null, findByContentKey: async () => null, create: async () => 'created' as const },
    clock: { now: () => new Date('2025-03-01T12:00:00Z') },
    config: { ARCHIVE_SPOOL_DIR: dir },
    retention: { policies: { get: async () => null } },
    normaliser: {
      normaliseToFile: async (input: { files: unknown[] }, target: string) => {
        renditionPath = target;
        fs.writeFileSync(target, '%PDF-fake');
        return { ...(await normaliser.normalise(input as { files: { bytes: Buffer }[] })), rendition: { path: target, size: 9, sha256: 'cd'.repeat(32) } };
      },
    },
    validationQueue: { send: async () => undefined },
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
  } as unknown as Parameters<typeof ingestDocument>[1];
  const files = [{ spooled, fileName: null }, { bytes: Buffer.from([1, 2]), fileName: null }];
  const { document } = await ingestDocument({ principal: { tenantId: 'acme', subject: 'u', kind: 'user' } as unknown as Principal, files, metadata: {}, idempotencyKey: null }, deps);

  expect(path.dirname(renditionPath)).toBe(dir);
  expect(writes.slice(0, 3).sort((a, b) => a.name.localeCompare(b.name))).toEqual([
    { name: 'original-001.png', from: 'file' },
    { name: 'original-002.png', from: 'memory' },
    { name: 'rendition.pdf', from: 'file' },
  ]);
  expect(document.rendition).toMatchObject({ size: 9, sha256: 'cd'.repeat(32) });
  expect(document.originals[0]).toMatchObject({ size: 3, sha256: spooled.sha256 });
  expect(fs.readdirSync(dir)).toEqual([]);
  fs.rmSync(dir, { recursive: true });
});

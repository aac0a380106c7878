/**
 * A spooled upload's rendition is a temporary file of the same order of size as the upload, on the same disk: it
 * counts against the tenant's share of the spool disk as the upload's own files do (README ARCHIVE_SPOOL_MAX_BYTES_PER_TENANT).
 * Uncounted, one tenant's large uploads in conversion held up to twice their share.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../../shared/config';
import { ingestDocument } from '../../../shared/documents/ingest';
import type { Principal } from '../../../shared/kernel/principal';
import type { NormaliseInput } from '../../../shared/normalise/types';
import { SpoolShare, spooledBytesOf } from '../../../shared/spool';
import { minimalLocalEnv } from '../../support/config-env';
import { FakeNormaliser, inMemoryDeps } from '../../support/in-memory';

const MIB = 1 << 20;
const uploader: Principal = { tenantId: 'spool-acme', subject: 'u', kind: 'user', rightsSet: 'uploader', permissions: new Set(['documents:write', 'documents:read']) };

let tmp: string;
beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'spool-share-'))));
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** An upload the HTTP layer spooled to `tmp` (600 kB). */
function spooledScan(): { spooled: { path: string; size: number; sha256: string }; fileName: string } {
  const bytes = Buffer.alloc(600_000, 9);
  const file = path.join(tmp, 'archive-upload-test');
  fs.writeFileSync(file, bytes);
  return { spooled: { path: file, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }, fileName: 'scan.jpg' };
}

function depsWithShare(watch: (bytes: number) => void) {
  const config = loadConfig({ ...minimalLocalEnv, ARCHIVE_SPOOL_DIR: tmp, ARCHIVE_MAX_UPLOAD_BYTES: String(MIB), ARCHIVE_SPOOL_MAX_BYTES_PER_TENANT: String(2 * MIB) });
  const deps = inMemoryDeps(config);
  const normaliser = new FakeNormaliser();
  const toFile = normaliser.normaliseToFile.bind(normaliser);
  normaliser.normaliseToFile = async (input: NormaliseInput, renditionPath: string) => {
    watch(spooledBytesOf(uploader.tenantId));
    return toFile(input, renditionPath);
  };
  return { ...deps, normaliser };
}

it('is taken from the share while it is written and given back when it is removed', async () => {
  const seen: number[] = [];
  const deps = depsWithShare((bytes) => seen.push(bytes));
  await ingestDocument({ principal: uploader, files: [spooledScan()], metadata: {}, idempotencyKey: null }, deps);
  // The rendition's 600 kB (taken as the upload it is made from until written), then nothing held.
  expect(seen).toEqual([600_000]);
  expect(spooledBytesOf(uploader.tenantId)).toBe(0);
  expect(fs.readdirSync(tmp)).toEqual(['archive-upload-test']);
});

it("past the share, the upload is refused 429 too_many_uploads before its conversion: nothing stored, nothing left on disk", async () => {
  // The tenant's other large uploads in progress hold 1.5 of its 2 MiB; this one's rendition would pass it.
  const others = new SpoolShare(uploader.tenantId, 2 * MIB);
  expect(others.take(1.5 * MIB)).toBeNull();
  const seen: number[] = [];
  const deps = depsWithShare((bytes) => seen.push(bytes));
  await expect(ingestDocument({ principal: uploader, files: [spooledScan()], metadata: {}, idempotencyKey: null }, deps)).rejects.toMatchObject({ code: 'too_many_uploads', retryAfterSeconds: 5 });
  expect(seen).toEqual([]);
  expect(deps.blobs.blobs.size).toBe(0);
  expect(deps.catalog.documents.size).toBe(0);
  expect(fs.readdirSync(tmp)).toEqual(['archive-upload-test']);
  expect(spooledBytesOf(uploader.tenantId)).toBe(1.5 * MIB);
  others.giveBack();
  // Another tenant's upload is not refused for it.
  await ingestDocument({ principal: { ...uploader, tenantId: 'spool-globex' }, files: [spooledScan()], metadata: {}, idempotencyKey: null }, depsWithShare(() => undefined));
});

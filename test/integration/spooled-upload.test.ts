/**
 * Uploads above ARCHIVE_UPLOAD_SPOOL_BYTES are spooled to temporary files (the upload and its
 * rendition) instead of memory: they are archived and read back byte for byte, and no temporary
 * file is left behind, whether the upload was stored or refused.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { paddedJpeg } from '../support/large-jpeg';
import { grayPngFromRows, pngChunks } from '../support/png';
import { call, multipart, rawUpload, sha256hex } from '../support/http';
import { corpusFile, newTenant, startTestArchive, tenantState, TestArchive } from '../support/harness';

const SPOOL_ABOVE = 1 << 20;
let archive: TestArchive;
let spoolDir: string;
let tenant: string;
let token: string;

beforeAll(async () => {
  // The host's own spool directory: "nothing left behind" is then exact, whatever else runs on the machine.
  spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'spooled-upload-'));
  archive = await startTestArchive({ ARCHIVE_UPLOAD_SPOOL_BYTES: String(SPOOL_ABOVE), ARCHIVE_SPOOL_DIR: spoolDir, ARCHIVE_MAX_UPLOAD_BYTES: String(8 << 20) });
  tenant = newTenant('spool');
  token = await archive.token({ tenant, sub: 'app', rights: 'archivist' });
});
afterAll(async () => {
  await archive.stop();
  fs.rmSync(spoolDir, { recursive: true, force: true });
});

const large = (tag: string) => paddedJpeg(corpusFile('ocrmypdf/baiona_color.jpg'), `${tag}-${Date.now()}`, 3 << 20);

async function readBack(id: string, what: string): Promise<Buffer> {
  const res = await call(`${archive.url}/documents/${id}/${what}`, { token });
  expect(res.status).toBe(200);
  return res.bytes;
}

describe('a large upload is spooled, archived, and reads back byte for byte', () => {
  it.each([
    ['raw body', (bytes: Buffer) => rawUpload(bytes, 'image/jpeg', 'big.jpg')],
    ['multipart, with metadata', (bytes: Buffer) => ({ method: 'POST', body: multipart([{ bytes, name: 'big.jpg', type: 'image/jpeg' }], { reference: 'INV-2025-0042' }) })],
  ])('%s', async (_, request) => {
    const bytes = large(_);
    expect(bytes.length).toBeGreaterThan(SPOOL_ABOVE);
    const res = await call(`${archive.url}/documents`, { ...request(bytes), token });
    expect(res.status).toBe(201);
    const doc = res.json as { id: string; original: { sha256: string; size: number }; rendition: { sha256: string; size: number } };
    expect(doc.original).toMatchObject({ sha256: sha256hex(bytes), size: bytes.length });

    const original = await readBack(doc.id, 'original');
    expect(original.equals(bytes)).toBe(true);
    const rendition = await readBack(doc.id, 'rendition');
    expect(rendition.length).toBe(doc.rendition.size);
    expect(sha256hex(rendition)).toBe(doc.rendition.sha256);
    // The JPEG is passed through: the rendition carries the upload up to EOI, unchanged.
    expect(rendition.indexOf(bytes)).toBeGreaterThan(0);
    expect(fs.readdirSync(spoolDir)).toEqual([]);
  });
});

/** A gray PNG of random rows (filter byte 0), ~1.2 MiB in 8 KiB IDAT chunks: spooled, and passed through. */
function noisePng(): Buffer {
  const width = 1100;
  const height = 1100;
  const rows = randomBytes((width + 1) * height);
  for (let y = 0; y < height; y++) rows[y * (width + 1)] = 0;
  return grayPngFromRows(width, height, rows);
}

describe('a large PNG is spooled too', () => {
  it('archived and read back byte for byte, its IDAT data passed into the rendition; no temporary file', async () => {
    const bytes = noisePng();
    expect(bytes.length).toBeGreaterThan(SPOOL_ABOVE);
    const res = await call(`${archive.url}/documents`, { ...rawUpload(bytes, 'image/png', 'big.png'), token });
    expect(res.status).toBe(201);
    const doc = res.json as { id: string; rendition: { sha256: string; size: number } };
    expect((await readBack(doc.id, 'original')).equals(bytes)).toBe(true);
    const rendition = await readBack(doc.id, 'rendition');
    expect(sha256hex(rendition)).toBe(doc.rendition.sha256);
    const idat = Buffer.concat(pngChunks(bytes).filter((c) => c.type === 'IDAT').map((c) => c.data));
    expect(rendition.indexOf(idat)).toBeGreaterThan(0);
    expect(fs.readdirSync(spoolDir)).toEqual([]);
  });

  it('one flipped byte in its image data → 422 corrupt_file (the chunk CRC), nothing stored, no temporary file', async () => {
    const bytes = noisePng();
    const mid = bytes.length >> 1;
    bytes[mid] = bytes[mid]! ^ 0xff;
    const before = await tenantState(archive, tenant);
    const res = await call(`${archive.url}/documents`, { ...rawUpload(bytes, 'image/png'), token });
    expect(res.status).toBe(422);
    expect(res.json).toMatchObject({ code: 'corrupt_file', detail: expect.stringMatching(/CRC/) });
    expect(await tenantState(archive, tenant)).toEqual(before);
    expect(fs.readdirSync(spoolDir)).toEqual([]);
  });
});

describe('a refused large upload leaves nothing behind', () => {
  it('a corrupt (truncated) large JPEG → 422 corrupt_file, nothing stored, no temporary file', async () => {
    const bytes = large('corrupt');
    const before = await tenantState(archive, tenant);
    const res = await call(`${archive.url}/documents`, { ...rawUpload(bytes.subarray(0, bytes.length - 5000), 'image/jpeg'), token });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.json).toMatchObject({ code: 'corrupt_file' });
    expect(await tenantState(archive, tenant)).toEqual(before);
    expect(fs.readdirSync(spoolDir)).toEqual([]);
  });

  it('a duplicate of a stored large upload → 409, no temporary file', async () => {
    const bytes = large('twice');
    expect((await call(`${archive.url}/documents`, { ...rawUpload(bytes, 'image/jpeg'), token })).status).toBe(201);
    const again = await call(`${archive.url}/documents`, { ...rawUpload(bytes, 'image/jpeg'), token });
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ code: 'duplicate_document' });
    expect(fs.readdirSync(spoolDir)).toEqual([]);
  });

  it('past the upload limit → 413, no temporary file', async () => {
    const bytes = Buffer.concat([large('limit'), Buffer.alloc(6 << 20, 0x20)]);
    const res = await call(`${archive.url}/documents`, { method: 'POST', body: multipart([{ bytes, name: 'big.jpg', type: 'image/jpeg' }]), token });
    expect(res.status).toBe(413);
    expect(res.json).toMatchObject({ code: 'payload_too_large' });
    expect(fs.readdirSync(spoolDir)).toEqual([]);
  });
});

describe('the blob archive writes a spooled file create-only, as it writes bytes', () => {
  it('created, then identical for the same bytes, then different for other bytes under the same name; metadata kept', async () => {
    const { blobs } = archive.host.deps;
    const write = (bytes: Buffer) => {
      const file = path.join(spoolDir, `file-${Math.random()}`);
      fs.writeFileSync(file, bytes);
      return blobs.putFileCreateOnly(tenant, 'spool-check/original.jpg', { path: file, size: bytes.length, sha256: sha256hex(bytes) }, 'image/jpeg', { retainUntil: '2040-01-01T00:00:00Z', legalHold: false }, { sha256: sha256hex(bytes) }).finally(() => fs.rmSync(file));
    };
    const bytes = large('port');
    await blobs.prepareTenant(tenant);
    expect(await write(bytes)).toBe('created');
    expect(await write(bytes)).toBe('identical');
    expect(await write(large('other'))).toBe('different');
    expect((await blobs.readAll(tenant, 'spool-check/original.jpg')).equals(bytes)).toBe(true);
    expect(await blobs.metadataOf(tenant, 'spool-check/original.jpg')).toEqual({ sha256: sha256hex(bytes) });
  });
});

/**
 * Spooled uploads under attack (brief hred): temporary files are unguessable, private and created
 * exclusively; a body that stops mid-stream (aborted, errored) leaves none behind; the threshold is exact.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { parseUpload } from '../../../shared/http/upload';
import { spooledBytesOf } from '../../../shared/spool';
import { loadConfig } from '../../../shared/config';
import { minimalLocalEnv } from '../../support/config-env';
import type { ArchiveRequest } from '../../../shared/http/types';
import { spoolPath } from '../../../shared/spool';

let tmp: string;
beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'spool-hostile-'))));
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

const SPOOL_ABOVE = 1000;
const limits = () => ({ maxBytes: 1 << 20, maxFiles: 4, spoolAboveBytes: SPOOL_ABOVE, spoolDir: tmp });
const BOUNDARY = 'b0undary';

function request(headers: Record<string, string>, body: Readable): ArchiveRequest {
  return { method: 'POST', url: new URL('http://x/api/documents'), params: {}, headers: { get: (n) => headers[n.toLowerCase()] ?? null }, body, clientIp: null, requestId: 'r' };
}

/** A body that sends `chunks`, then stops: destroyed with an error, or closed without one (a client gone). */
function stopping(chunks: Buffer[], how: 'error' | 'close'): Readable {
  let i = 0;
  return new Readable({
    read() {
      if (i < chunks.length) return void this.push(chunks[i++]);
      setImmediate(() => (how === 'error' ? this.destroy(new Error('aborted')) : this.destroy()));
    },
  });
}

const multipartHead = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`);

describe('an upload that stops mid-stream leaves no temporary file', () => {
  it.each([
    ['raw, aborted with an error', 'error', false],
    ['raw, closed without an error', 'close', false],
    ['multipart, aborted with an error', 'error', true],
    ['multipart, closed without an error', 'close', true],
  ] as const)('%s → refused, spool folder empty', async (_what, how, multi) => {
    const chunks = multi ? [multipartHead, Buffer.alloc(3000, 1)] : [Buffer.alloc(1500, 1), Buffer.alloc(1500, 2)];
    const headers = multi ? { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': '100000' } : { 'content-type': 'image/jpeg', 'content-length': '100000' };
    await expect(parseUpload(request(headers, stopping(chunks, how)), limits())).rejects.toMatchObject({ code: expect.stringMatching(/bad_request|malformed_multipart/) });
    expect(fs.readdirSync(tmp)).toEqual([]);
  });
});

describe('spool files', () => {
  it('are named unguessably (96 random bits) in the spool folder', () => {
    const names = new Set(Array.from({ length: 200 }, () => path.basename(spoolPath('upload', tmp))));
    expect(names.size).toBe(200);
    for (const n of names) expect(n).toMatch(/^archive-upload-[0-9a-f]{24}$/);
  });

  it('are private to the archive (0600)', async () => {
    const upload = await parseUpload(request({ 'content-type': 'image/jpeg', 'content-length': '5000' }, Readable.from([Buffer.alloc(5000, 7)])), limits());
    const [file] = upload.files;
    expect(file!.spooled).toBeDefined();
    expect(fs.statSync(file!.spooled!.path).mode & 0o777).toBe(0o600);
    await upload.discard();
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  it('a file exactly at the threshold stays in memory; one byte more is spooled', async () => {
    for (const [size, spooled] of [[SPOOL_ABOVE, false], [SPOOL_ABOVE + 1, true]] as const) {
      for (const declared of [true, false]) {
        const upload = await parseUpload(request({ 'content-type': 'image/jpeg', ...(declared ? { 'content-length': String(size) } : {}) }, Readable.from([Buffer.alloc(size, 3)])), limits());
        expect([size, declared, upload.files[0]!.spooled !== undefined]).toEqual([size, declared, spooled]);
        expect(upload.files[0]!.size).toBe(size);
        await upload.discard();
      }
    }
    expect(fs.readdirSync(tmp)).toEqual([]);
  });
});

describe("one tenant's spooled uploads hold no more than its share of the instance's spool disk", () => {
  const shared = (owner: string) => ({ ...limits(), spoolShare: { owner, maxBytes: 10_000 } });
  const raw = (bytes: number, length = true) => request({ 'content-type': 'image/jpeg', ...(length ? { 'content-length': String(bytes) } : {}) }, Readable.from([Buffer.alloc(bytes, 7)]));
  const multipart = (bytes: number) => request({ 'content-type': `multipart/form-data; boundary=${BOUNDARY}` }, Readable.from([multipartHead, Buffer.alloc(bytes, 7), Buffer.from(`\r\n--${BOUNDARY}--\r\n`)]));

  it('past it, the next upload is refused 429 too_many_uploads with Retry-After and leaves no file; another tenant\'s is received; given back when the first ones are discarded', async () => {
    // A bulk import's uploads in progress (stored and awaiting their conversion): 4 + 4 of the 10 kB share.
    const held = [await parseUpload(raw(4000), shared('acme')), await parseUpload(multipart(4000), shared('acme'))];
    expect(spooledBytesOf('acme')).toBe(8000);
    for (const next of [raw(4000), raw(4000, false), multipart(4000)]) {
      await expect(parseUpload(next, shared('acme'))).rejects.toMatchObject({ code: 'too_many_uploads', retryAfterSeconds: 5, extensions: { maxBytes: 10_000 } });
    }
    expect(fs.readdirSync(tmp)).toHaveLength(2);
    expect(spooledBytesOf('acme')).toBe(8000);
    // Another tenant's upload is not refused for it, and small uploads (held in memory) never count.
    const other = await parseUpload(raw(9000), shared('globex'));
    await parseUpload(raw(SPOOL_ABOVE), shared('acme')).then((u) => u.discard());
    for (const u of [...held, other]) await u.discard();
    expect([spooledBytesOf('acme'), spooledBytesOf('globex')]).toEqual([0, 0]);
    expect(fs.readdirSync(tmp)).toEqual([]);
    await parseUpload(raw(9000), shared('acme')).then((u) => u.discard());
  });

  it('the start-up check refuses a share smaller than one upload of the largest size and its rendition', () => {
    expect(() => loadConfig({ ...minimalLocalEnv, ARCHIVE_MAX_UPLOAD_BYTES: String(64 << 20), ARCHIVE_SPOOL_MAX_BYTES_PER_TENANT: String(127 << 20) })).toThrow(/ARCHIVE_SPOOL_MAX_BYTES_PER_TENANT: .* is less than twice ARCHIVE_MAX_UPLOAD_BYTES/);
    expect(loadConfig({ ...minimalLocalEnv, ARCHIVE_MAX_UPLOAD_BYTES: String(64 << 20), ARCHIVE_SPOOL_MAX_BYTES_PER_TENANT: String(128 << 20) }).ARCHIVE_SPOOL_MAX_BYTES_PER_TENANT).toBe(128 << 20);
  });
});

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { parseUpload } from '../../../shared/http/upload';
import type { ArchiveRequest } from '../../../shared/http/types';

const limits = { maxBytes: 1 << 20, maxFiles: 4 };

function request(headers: Record<string, string>, chunks: Buffer[]): ArchiveRequest {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { method: 'POST', url: new URL('http://x/api/documents'), params: {}, headers: { get: (n) => lower[n.toLowerCase()] ?? null }, body: Readable.from(chunks), clientIp: null, requestId: 'r' };
}

function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const p of [...points, bytes.length]) if (p > at) out.push(bytes.subarray(at, (at = p)));
  return out;
}

function multipart(files: Buffer[]): { body: Buffer; type: string } {
  const boundary = 'b0undary';
  const parts = files.flatMap((f, i) => [Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="p${i}.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`), f, Buffer.from('\r\n')]);
  return { body: Buffer.concat([...parts, Buffer.from(`--${boundary}--\r\n`)]), type: `multipart/form-data; boundary=${boundary}` };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('parseUpload: one copy of each file, hashed while it arrives', () => {
  it('a raw body with Content-Length lands in one buffer of exactly that size, shared with the normaliser worker (no chunks+concat copy)', async () => {
    const bytes = Buffer.alloc(200_000, 7);
    const upload = await parseUpload(request({ 'content-type': 'image/jpeg', 'content-length': String(bytes.length) }, split(bytes, [1000, 65_536, 100_001])), limits);
    const file = upload.files[0]!;
    expect(file.bytes!.equals(bytes)).toBe(true);
    expect(file.bytes!.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(file.bytes!.buffer.byteLength).toBe(bytes.length);
    expect(file.sha256).toBe(sha(bytes));
  });

  it('keeps every byte and the right hash however the body is chunked, raw or multipart, with or without Content-Length', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 3000 }), { minLength: 1, maxLength: 3 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.boolean(),
        async (raw, cuts, declare) => {
          const files = raw.map((u) => Buffer.from(u));
          const { body, type } = files.length === 1 ? { body: files[0]!, type: 'image/jpeg' } : multipart(files);
          const upload = await parseUpload(request({ 'content-type': type, ...(declare ? { 'content-length': String(body.length) } : {}) }, split(body, cuts)), limits);
          expect(upload.files.map((f) => f.bytes!.toString('hex'))).toEqual(files.map((f) => f.toString('hex')));
          expect(upload.files.map((f) => f.sha256)).toEqual(files.map(sha));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('still refuses a body past the limit when Content-Length understates it', async () => {
    const bytes = Buffer.alloc(limits.maxBytes + 10, 1);
    await expect(parseUpload(request({ 'content-type': 'image/jpeg', 'content-length': '10' }, split(bytes, [5, 70_000])), limits)).rejects.toMatchObject({ code: 'payload_too_large' });
  });
});

describe('parseUpload: a file above the spool threshold goes to a temporary file, never into memory', () => {
  let tmp: string;
  // A spool directory of this test's own, so "nothing left behind" is exact.
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'upload-spool-'))));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('keeps every byte and the right hash in memory or spooled, whatever the chunking and threshold, and discard() removes the files', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 3000 }), { minLength: 1, maxLength: 3 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.boolean(),
        fc.nat({ max: 3000 }),
        async (raw, cuts, declare, spoolAboveBytes) => {
          const files = raw.map((u) => Buffer.from(u));
          const { body, type } = files.length === 1 ? { body: files[0]!, type: 'image/jpeg' } : multipart(files);
          const upload = await parseUpload(request({ 'content-type': type, ...(declare ? { 'content-length': String(body.length) } : {}) }, split(body, cuts)), { ...limits, spoolAboveBytes, spoolDir: tmp });
          try {
            upload.files.forEach((f, i) => {
              const expected = files[i]!;
              expect(f.spooled !== undefined).toBe(expected.length > spoolAboveBytes);
              expect((f.spooled ? fs.readFileSync(f.spooled.path) : f.bytes).toString('hex')).toBe(expected.toString('hex'));
              expect(f.sha256).toBe(sha(expected));
              expect(f.size).toBe(expected.length);
              if (f.spooled) expect(f.spooled).toEqual({ path: expect.stringContaining(tmp), size: expected.length, sha256: sha(expected) });
            });
          } finally {
            await upload.discard();
          }
          expect(fs.readdirSync(tmp)).toEqual([]);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a refused upload leaves no spooled file behind (too large, raw or multipart)', async () => {
    const bytes = Buffer.alloc(limits.maxBytes + 10, 1);
    await expect(parseUpload(request({ 'content-type': 'image/jpeg', 'content-length': '10' }, split(bytes, [5, 70_000])), { ...limits, spoolAboveBytes: 1000, spoolDir: tmp })).rejects.toMatchObject({ code: 'payload_too_large' });
    const { body, type } = multipart([Buffer.alloc(5000, 2), bytes]);
    await expect(parseUpload(request({ 'content-type': type }, split(body, [100, 9000, 70_000])), { ...limits, spoolAboveBytes: 1000, spoolDir: tmp })).rejects.toMatchObject({ code: 'payload_too_large' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(fs.readdirSync(tmp)).toEqual([]);
  });
});

describe('parseUpload: hostile multipart parts', () => {
  const boundary = 'XyZ';
  const part = (disposition: string, data: string) => `--${boundary}\r\nContent-Disposition: ${disposition}\r\n\r\n${data}\r\n`;
  const send = (body: string) => parseUpload(request({ 'content-type': `multipart/form-data; boundary=${boundary}` }, [Buffer.from(`${body}--${boundary}--\r\n`, 'latin1')]), limits);

  it.each([
    ['a file part', 'form-data; filename="a.jpg"'],
    ['a field', 'form-data'],
  ])('%s without a name → malformed_multipart, not an exception thrown inside busboy', async (_, disposition) => {
    await expect(send(part(disposition, 'abc'))).rejects.toMatchObject({ code: 'malformed_multipart', detail: expect.stringContaining('without a name') });
  });

  it('two metadata parts → invalid_metadata, not the last one silently', async () => {
    const body = part('form-data; name="metadata"', '{"reference":"A"}') + part('form-data; name="metadata"', '{"reference":"B"}') + part('form-data; name="file"; filename="a.jpg"', 'abc');
    await expect(send(body)).rejects.toMatchObject({ code: 'invalid_metadata', detail: expect.stringContaining('one metadata part') });
  });

  it('a metadata part naming a member twice → invalid_metadata naming it, not the last value silently', async () => {
    const body = part('form-data; name="metadata"', '{"counterparty":"A","counterparty":"B"}') + part('form-data; name="file"; filename="a.jpg"', 'abc');
    await expect(send(body)).rejects.toMatchObject({ code: 'invalid_metadata', detail: 'counterparty: sent more than once in one object', extensions: { errors: [{ path: 'counterparty' }] } });
  });
});

describe('parseUpload: a digest sent with the body (RFC 9530) is checked before anything is kept', () => {
  let tmp: string;
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'upload-digest-'))));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const digest = (b: Buffer) => `sha-256=:${createHash('sha256').update(b).digest('base64')}:`;
  const options = () => ({ ...limits, spoolAboveBytes: 1000, spoolDir: tmp });

  it('a raw body or a multipart body that matches its Content-Digest / Repr-Digest is received', async () => {
    const bytes = Buffer.alloc(5000, 3);
    const raw = await parseUpload(request({ 'content-type': 'image/jpeg', 'repr-digest': `sha-512=:${Buffer.alloc(64).toString('base64')}:, ${digest(bytes)}` }, split(bytes, [10, 4000])), options());
    expect(raw.files[0]!.sha256).toBe(sha(bytes));
    await raw.discard();
    const { body, type } = multipart([bytes, Buffer.alloc(300, 4)]);
    const parts = await parseUpload(request({ 'content-type': type, 'content-digest': digest(body), 'repr-digest': digest(body) }, split(body, [7, 2000, 5100])), options());
    expect(parts.files.map((f) => f.size)).toEqual([5000, 300]);
    await parts.discard();
  });

  it('a body damaged on the way is refused (digest_mismatch naming both hashes), and leaves no spooled file behind', async () => {
    const sent = Buffer.alloc(5000, 3);
    const arrived = Buffer.from(sent);
    arrived[4321] = 0xff;
    await expect(parseUpload(request({ 'content-type': 'image/jpeg', 'content-digest': digest(sent) }, [arrived]), options())).rejects.toMatchObject({ code: 'digest_mismatch', extensions: { receivedSha256: sha(arrived), declaredSha256: sha(sent) } });
    const { body, type } = multipart([sent]);
    const { body: damaged } = multipart([arrived]);
    await expect(parseUpload(request({ 'content-type': type, 'repr-digest': digest(body) }, split(damaged, [100, 3000])), options())).rejects.toMatchObject({ code: 'digest_mismatch' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  it.each([
    ['no sha-256 in it', { 'repr-digest': `sha-512=:${Buffer.alloc(64).toString('base64')}:` }],
    ['a sha-256 of the wrong length', { 'content-digest': `sha-256=:${Buffer.alloc(20).toString('base64')}:` }],
    ['two headers that disagree', { 'content-digest': `sha-256=:${Buffer.alloc(32, 1).toString('base64')}:`, 'repr-digest': `sha-256=:${Buffer.alloc(32, 2).toString('base64')}:` }],
  ])('a digest the archive cannot check (%s) is refused, not ignored', async (_what, headers) => {
    await expect(parseUpload(request({ 'content-type': 'image/jpeg', ...headers }, [Buffer.alloc(10, 1)]), options())).rejects.toMatchObject({ code: 'bad_request' });
  });
});

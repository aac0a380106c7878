/**
 * Ingest attacked from a valid uploader account: multipart parts the parser passed over (a page or the metadata left
 * out of a document answered 201), and what retries with an Idempotency-Key leave behind when an attempt stops part-way.
 * The normaliser here, like the real one, embeds the moment of the upload in the rendition.
 */
import { Readable } from 'node:stream';
import { ingestDocument } from '../../../shared/documents/ingest';
import type { ArchiveRequest } from '../../../shared/http/types';
import { parseUpload } from '../../../shared/http/upload';
import type { ArchiveError } from '../../../shared/kernel/errors';
import type { Principal } from '../../../shared/kernel/principal';
import type { Normaliser } from '../../../shared/normalise/pool';
import { inMemoryDeps } from '../../support/in-memory';

const anna: Principal = { tenantId: 'acme', subject: 'anna', kind: 'user', rightsSet: 'uploader', permissions: new Set(['documents:write', 'documents:read']) };
const normaliser: Normaliser = {
  normalise: async (input) => ({
    rendition: Buffer.from(`%PDF-fake ${input.documentId} ${input.createdAt} ${input.title ?? ''}`),
    pageCount: input.files.length,
    originals: input.files.map(() => ({ mediaType: 'image/png', extension: 'png' })),
    conversion: { normaliser: 'fake', pageCount: input.files.length, pages: [], conformance: 'none' },
  }),
  normaliseToFile: async () => {
    throw new Error('in memory only');
  },
  close: async () => undefined,
};

/** A ticking clock (every attempt its own moment), and the first write of a blob named `failing` fails once. */
function world(failing: RegExp) {
  const base = inMemoryDeps();
  let t = Date.parse('2025-03-01T12:00:00Z');
  const deps = { ...base, normaliser, clock: { now: () => new Date((t += 1000)) } };
  const put = base.blobs.putCreateOnly.bind(base.blobs);
  base.blobs.putCreateOnly = async (tenant, name, ...rest) => {
    if (failing.test(name)) {
      base.blobs.putCreateOnly = put;
      throw new Error('storage unavailable');
    }
    return put(tenant, name, ...rest);
  };
  return { deps, base };
}
const files = [
  { bytes: Buffer.from([1, 2, 3]), fileName: 'p1.png' },
  { bytes: Buffer.from([4, 5, 6]), fileName: 'p2.png' },
];
const metadata = { reference: 'INV-7', counterparty: 'Acme' };

it('a retry with the key after an attempt stopped between its rendition and its originals archives the scan (it was 409 idempotency_in_flight forever)', async () => {
  const { deps, base } = world(/original-001\.png$/);
  await expect(ingestDocument({ principal: anna, files, metadata, idempotencyKey: 'k1' }, deps)).rejects.toThrow('storage unavailable');
  const first = [...base.blobs.blobs.keys()];
  const { document, replayed } = await ingestDocument({ principal: anna, files, metadata, idempotencyKey: 'k1' }, deps);
  expect(replayed).toBe(false);
  // One document: the first attempt's rendition (and moment), both pages in order, every blob's hash the catalog's.
  expect(first.every((k) => k.startsWith(`acme/${document.id}/`))).toBe(true);
  expect(base.catalog.documents.size).toBe(1);
  expect(document.createdAt).toBe('2025-03-01T12:00:01.000Z');
  expect(document.originals.map((o) => o.fileName)).toEqual(['p1.png', 'p2.png']);
  const stored = (name: string) => base.blobs.blobs.get(`acme/${name}`)!.bytes;
  expect(stored(document.rendition.blobName).toString()).toContain(document.createdAt);
  const { sha256 } = await import('../../../shared/ids');
  expect(sha256(stored(document.rendition.blobName))).toBe(document.rendition.sha256);
  document.originals.forEach((o, i) => expect(stored(o.blobName)).toEqual(files[i]!.bytes));
  // A third attempt is a replay of it.
  await expect(ingestDocument({ principal: anna, files, metadata, idempotencyKey: 'k1' }, deps)).resolves.toMatchObject({ replayed: true, document: { id: document.id } });
});

it('after such a stop, the key with other metadata or other files is still not archived under it: refused, nothing written beside the rendition', async () => {
  const { deps, base } = world(/original-001\.png$/);
  await expect(ingestDocument({ principal: anna, files, metadata, idempotencyKey: 'k1' }, deps)).rejects.toThrow('storage unavailable');
  const before = [...base.blobs.blobs.keys()];
  const other = await ingestDocument({ principal: anna, files, metadata: { ...metadata, counterparty: 'Other' }, idempotencyKey: 'k1' }, deps).catch((e: ArchiveError) => e);
  expect(other).toMatchObject({ code: 'idempotency_in_flight' });
  const swapped = await ingestDocument({ principal: anna, files: [files[1]!, files[0]!], metadata, idempotencyKey: 'k1' }, deps).catch((e: ArchiveError) => e);
  expect(swapped).toMatchObject({ code: 'idempotency_key_reused' });
  expect([...base.blobs.blobs.keys()]).toEqual(before);
  expect(base.catalog.documents.size).toBe(0);
  // The request as first sent still completes it; metadata sent in another member order is the same request.
  const { document } = await ingestDocument({ principal: anna, files, metadata: { counterparty: 'Acme', reference: 'INV-7' }, idempotencyKey: 'k1' }, deps);
  expect(document.metadata).toMatchObject(metadata);
});

it('two attempts with one key at once, the second converting again with the first moment: one document, one manifest, the other a replay', async () => {
  const { deps, base } = world(/^$/);
  const [a, b] = await Promise.all([
    ingestDocument({ principal: anna, files, metadata, idempotencyKey: 'k2' }, deps).catch((e: ArchiveError) => e),
    ingestDocument({ principal: { ...anna, subject: 'anna-key', kind: 'client', person: 'anna' }, files, metadata, idempotencyKey: 'k2' }, deps).catch((e: ArchiveError) => e),
  ]);
  const answers = [a, b].map((r) => ('document' in r ? (r.replayed ? 'replay' : 'created') : r.code));
  expect(answers.filter((x) => x === 'created')).toHaveLength(1);
  expect(answers.every((x) => ['created', 'replay', 'idempotency_in_flight'].includes(x))).toBe(true);
  expect(base.catalog.documents.size).toBe(1);
  const doc = [...base.catalog.documents.values()][0]!;
  const { sha256 } = await import('../../../shared/ids');
  expect(sha256(base.blobs.blobs.get(`acme/${doc.rendition.blobName}`)!.bytes)).toBe(doc.rendition.sha256);
});

describe('multipart parts the archive would pass over', () => {
  const request = (body: Buffer): ArchiveRequest => ({ method: 'POST', url: new URL('http://x/api/documents'), params: {}, headers: { get: (n) => (n === 'content-type' ? 'multipart/form-data; boundary="b b"' : null) }, body: Readable.from(body.length > 40 ? [body.subarray(0, 37), body.subarray(37, 41), body.subarray(41)] : [body]), clientIp: null, requestId: 'r' });
  const part = (head: string, body: string | Buffer) => Buffer.concat([Buffer.from(`--b b\r\n${head}\r\n\r\n`), Buffer.from(body), Buffer.from('\r\n')]);
  const page1 = part('Content-Disposition: form-data; name="file"; filename="p1.png"', 'AAAA');
  const parse = (...parts: Buffer[]) => parseUpload(request(Buffer.concat([...parts, Buffer.from('--b b--\r\n')])), { maxBytes: 1 << 20, maxFiles: 4 });

  it.each([
    ['a page whose disposition type is attachment', part('Content-Disposition: attachment; name="file"; filename="p2.png"', 'BBBB')],
    ['a page without Content-Disposition', part('Content-Type: image/png', 'BBBB')],
    ['metadata without Content-Disposition', part('Content-Type: application/json', '{"reference":"INV-7"}')],
  ])('%s is refused, not left out of the document', async (_what, skipped) => {
    await expect(parse(page1, skipped)).rejects.toMatchObject({ code: 'malformed_multipart' });
    await expect(parse(skipped, page1)).rejects.toMatchObject({ code: 'malformed_multipart' });
  });

  it('metadata in a charset the parser cannot decode is refused, not taken as absent', async () => {
    const sjis = Buffer.concat([Buffer.from('{"counterparty":"'), Buffer.from([0x93, 0xfa, 0x96, 0x7b]), Buffer.from('"}')]);
    await expect(parse(page1, part('Content-Disposition: form-data; name="metadata"\r\nContent-Type: application/json; charset=shift_jis', sjis))).rejects.toMatchObject({ code: 'invalid_metadata' });
  });

  it('a page holding the boundary (a delimiter, or the close delimiter, amid its bytes) is refused, not cut there', async () => {
    const page2 = (inside: string) => part('Content-Disposition: form-data; name="file"; filename="p2.png"', `BB\r\n--b b${inside}CC`);
    const page3 = part('Content-Disposition: form-data; name="file"; filename="p3.png"', 'DDDD');
    for (const inside of ['x', '--', '--\r\n', '\r\n']) await expect(parse(page1, page2(inside), page3)).rejects.toMatchObject({ code: 'malformed_multipart' });
  });

  it('metadata before, between and after the pages, with a preamble and an epilogue, keeps every page in order', async () => {
    const meta = part('Content-Disposition: form-data; name="metadata"', '{"reference":"INV-7"}');
    const page2 = part('Content-Disposition: form-data; name="file"; filename="p2.png"', 'BB\r\n-b b--');
    for (const order of [[meta, page1, page2], [page1, meta, page2], [page1, page2, meta]]) {
      const body = Buffer.concat([Buffer.from('preamble\r\n'), ...order, Buffer.from('--b b--\r\nepilogue\r\n')]);
      const upload = await parseUpload(request(body), { maxBytes: 1 << 20, maxFiles: 4 });
      expect(upload.files.map((f) => [f.fileName, f.bytes!.toString()])).toEqual([['p1.png', 'AAAA'], ['p2.png', 'BB\r\n-b b--']]);
      expect(upload.metadata).toEqual({ reference: 'INV-7' });
    }
  });
});

/** Ingest and download over HTTP against the local host, real Azurite and the Cosmos server. */
import { call, multipart, rawUpload, sha256hex } from '../support/http';
import { corpusFile, newTenant, startTestArchive, tenantState, TestArchive } from '../support/harness';

const ACCEPTED: [string, string][] = [
  ['img2pdf/normal.jpg', 'image/jpeg'],
  ['img2pdf/CMYK.jpg', 'image/jpeg'],
  ['img2pdf/CMYK.tif', 'image/tiff'],
  ['img2pdf/normal.png', 'image/png'],
  ['img2pdf/gray.png', 'image/png'],
  ['img2pdf/mono.png', 'image/png'],
  ['img2pdf/mono.tif', 'image/tiff'],
  ['ocrmypdf/baiona_color.jpg', 'image/jpeg'],
  ['ocrmypdf/baiona_cmyk.jpg', 'image/jpeg'],
  ['ocrmypdf/baiona_colormapped.png', 'image/png'],
  ['ocrmypdf/baiona_alpha.png', 'image/png'],
  ['ocrmypdf/crom.png', 'image/png'],
  ['derived/baiona-progressive.jpg', 'image/jpeg'],
  ['derived/baiona-gray.jpg', 'image/jpeg'],
  ['derived/baiona-exif-orientation-8.jpg', 'image/jpeg'],
  ['derived/baiona-16bit.png', 'image/png'],
  ['derived/baiona-interlaced.png', 'image/png'],
  ['derived/baiona-lzw.tif', 'image/tiff'],
  ['derived/baiona-packbits.tif', 'image/tiff'],
  ['derived/baiona-jpeg-in.tif', 'image/tiff'],
  ['derived/linn-g4.tif', 'image/tiff'],
  ['derived/linn-g4-multistrip.tif', 'image/tiff'],
  ['derived/two-pages-g4.tif', 'image/tiff'],
  ['ocrmypdf/c02-22.pdf', 'application/pdf'],
  ['ocrmypdf/multipage.pdf', 'application/pdf'],
  ['ocrmypdf/ccitt.pdf', 'application/pdf'],
  ['ocrmypdf/jbig2.pdf', 'application/pdf'],
  ['ocrmypdf/trivial.pdf', 'application/pdf'],
  ['ocrmypdf/epson.pdf', 'application/pdf'],
];

const EXPECTED_PAGES: Record<string, number> = { 'derived/two-pages-g4.tif': 2, 'ocrmypdf/multipage.pdf': 6 };

let archive: TestArchive;
let tenant: string;
let token: string;

beforeAll(async () => {
  archive = await startTestArchive();
  tenant = newTenant('docs');
  token = await archive.token({ tenant, sub: 'uploader@docs.example', rights: 'archivist' });
});
afterAll(() => archive.stop());

describe('POST /documents then download', () => {
  it.each(ACCEPTED)('%s is archived and both representations download with the stored SHA-256', async (file, type) => {
    const bytes = corpusFile(file);
    // Sent as client apps can: with its RFC 9530 digest, which the archive checks before storing anything.
    const init = rawUpload(bytes, type, file.split('/')[1]);
    const digest = `sha-256=:${Buffer.from(sha256hex(bytes), 'hex').toString('base64')}:`;
    const up = await call(`${archive.url}/documents`, { ...init, headers: { ...(init.headers as Record<string, string>), 'Repr-Digest': digest }, token });
    expect(up.status).toBe(201);
    const doc = up.json;
    expect(up.headers.get('location')).toBe(`/api/documents/${doc.id}`);
    expect(doc.original).toEqual({ mediaType: type, size: bytes.length, sha256: sha256hex(bytes), fileName: file.split('/')[1] });
    expect(doc.pages).toBe(EXPECTED_PAGES[file] ?? 1);
    expect(doc.createdBy).toEqual({ subject: 'uploader@docs.example', kind: 'user', person: 'uploader@docs.example' });
    expect(doc.retention.class).toBe('fiscal-7y');

    const original = await call(`${archive.url}/documents/${doc.id}/original`, { token });
    expect(original.status).toBe(200);
    expect(sha256hex(original.bytes)).toBe(sha256hex(bytes));
    expect(original.headers.get('content-type')).toBe(type);
    expect(original.headers.get('repr-digest')).toBe(`sha-256=:${Buffer.from(doc.original.sha256, 'hex').toString('base64')}:`);

    const rendition = await call(`${archive.url}/documents/${doc.id}/rendition`, { token });
    expect(rendition.status).toBe(200);
    expect(rendition.headers.get('content-type')).toBe('application/pdf');
    expect(rendition.bytes.subarray(0, 5).toString()).toBe('%PDF-');
    expect(sha256hex(rendition.bytes)).toBe(doc.rendition.sha256);
    expect(rendition.bytes.length).toBe(doc.rendition.size);
  });

  it('makes one multi-page document of several images, in order, with metadata', async () => {
    const files = [
      { bytes: corpusFile('img2pdf/normal.png'), name: 'p1.png' },
      { bytes: corpusFile('img2pdf/normal.jpg'), name: 'p2.jpg' },
      { bytes: corpusFile('img2pdf/mono.tif'), name: 'p3.tif' },
    ];
    const metadata = { documentDate: '2024-03-15', kind: 'invoice', counterparty: 'Bakkerij Jansen', amount: 12.5, currency: 'EUR', reference: 'INV-2024-001', tags: ['q1'] };
    const up = await call(`${archive.url}/documents`, { method: 'POST', body: multipart(files, metadata), token });
    expect(up.status).toBe(201);
    expect(up.json.pages).toBe(3);
    expect(up.json.originals.map((o: { fileName: string }) => o.fileName)).toEqual(['p1.png', 'p2.jpg', 'p3.tif']);
    expect(up.json.metadata).toEqual(metadata);
    expect(up.json.fiscalYear).toBe(2024);
    expect(up.json.retention).toEqual({ class: 'fiscal-7y', retainUntil: '2032-01-01T00:00:00.000Z' });
    for (const [i, f] of files.entries()) {
      const part = await call(`${archive.url}/documents/${up.json.id}/originals/${i + 1}`, { token });
      expect(part.status).toBe(200);
      expect(sha256hex(part.bytes)).toBe(sha256hex(f.bytes));
    }
    expect((await call(`${archive.url}/documents/${up.json.id}/originals/4`, { token })).status).toBe(404);
  });

  it('answers a retry with the same Idempotency-Key with the first answer and creates nothing', async () => {
    const t = newTenant('idem');
    const tok = await archive.token({ tenant: t, sub: 'app', rights: 'uploader' });
    const bytes = corpusFile('img2pdf/gray.png');
    const send = () => call(`${archive.url}/documents`, { ...rawUpload(bytes, 'image/png'), headers: { 'Content-Type': 'image/png', 'Idempotency-Key': 'order-42' }, token: tok });
    const first = await send();
    expect(first.status).toBe(201);
    const before = await tenantState(archive, t);
    const again = await send();
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json).toEqual(first.json);
    expect(await tenantState(archive, t)).toEqual(before);
    const other = await call(`${archive.url}/documents`, { ...rawUpload(corpusFile('img2pdf/mono.png'), 'image/png'), headers: { 'Content-Type': 'image/png', 'Idempotency-Key': 'order-42' }, token: tok });
    expect(other.status).toBe(422);
    expect(other.json.code).toBe('idempotency_key_reused');
  });

  it('refuses the same original bytes twice with 409 naming the archived document', async () => {
    const t = newTenant('dup');
    const tok = await archive.token({ tenant: t, sub: 'app', rights: 'uploader' });
    const bytes = corpusFile('img2pdf/normal.jpg');
    const first = await call(`${archive.url}/documents`, { ...rawUpload(bytes, 'image/jpeg'), token: tok });
    const before = await tenantState(archive, t);
    const second = await call(`${archive.url}/documents`, { ...rawUpload(bytes, 'image/jpeg'), token: tok });
    expect(second.status).toBe(409);
    expect(second.headers.get('content-type')).toBe('application/problem+json');
    expect(second.json.documentId).toBe(first.json.id);
    expect(second.json.detail).toContain(first.json.id);
    expect(await tenantState(archive, t)).toEqual(before);
  });
});

describe('downloads', () => {
  let id: string;
  let bytes: Buffer;
  let etag: string;
  beforeAll(async () => {
    bytes = corpusFile('ocrmypdf/baiona_color.jpg');
    const t = newTenant('range');
    token = await archive.token({ tenant: t, sub: 'acc', rights: 'archivist' });
    id = (await call(`${archive.url}/documents`, { ...rawUpload(bytes, 'image/jpeg', 'photo.jpg'), token })).json.id;
    etag = `"${sha256hex(bytes)}"`;
  });

  it('serves byte ranges with 206 and Content-Range', async () => {
    const r = await call(`${archive.url}/documents/${id}/original`, { token, headers: { Range: 'bytes=100-199' } });
    expect(r.status).toBe(206);
    expect(r.headers.get('content-range')).toBe(`bytes 100-199/${bytes.length}`);
    expect(r.bytes.equals(bytes.subarray(100, 200))).toBe(true);
    const tail = await call(`${archive.url}/documents/${id}/original`, { token, headers: { Range: 'bytes=-10' } });
    expect(tail.bytes.equals(bytes.subarray(bytes.length - 10))).toBe(true);
    const open = await call(`${archive.url}/documents/${id}/original`, { token, headers: { Range: `bytes=${bytes.length - 5}-` } });
    expect(open.bytes.equals(bytes.subarray(bytes.length - 5))).toBe(true);
  });

  it('answers 416 for a range beyond the end', async () => {
    const r = await call(`${archive.url}/documents/${id}/original`, { token, headers: { Range: `bytes=${bytes.length}-` } });
    expect(r.status).toBe(416);
    expect(r.headers.get('content-range')).toBe(`bytes */${bytes.length}`);
  });

  it('honours If-Range and If-None-Match with the SHA-256 ETag', async () => {
    const same = await call(`${archive.url}/documents/${id}/original`, { token, headers: { Range: 'bytes=0-9', 'If-Range': etag } });
    expect(same.status).toBe(206);
    const changed = await call(`${archive.url}/documents/${id}/original`, { token, headers: { Range: 'bytes=0-9', 'If-Range': '"other"' } });
    expect(changed.status).toBe(200);
    expect(changed.bytes.length).toBe(bytes.length);
    const cached = await call(`${archive.url}/documents/${id}/original`, { token, headers: { 'If-None-Match': etag } });
    expect(cached.status).toBe(304);
  });

  it('names the file safely in Content-Disposition', async () => {
    const r = await call(`${archive.url}/documents/${id}/original`, { token });
    expect(r.headers.get('content-disposition')).toBe(`attachment; filename="photo.jpg"; filename*=UTF-8''photo.jpg`);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('GET /documents', () => {
  it('lists the tenant documents newest first, filtered and paged with a continuation token', async () => {
    const t = newTenant('list');
    const tok = await archive.token({ tenant: t, sub: 'app', rights: 'archivist' });
    const files = ['img2pdf/normal.jpg', 'img2pdf/gray.png', 'img2pdf/mono.png', 'img2pdf/normal.png', 'img2pdf/mono.tif'];
    const ids: string[] = [];
    for (const [i, f] of files.entries()) {
      const meta = { fiscalYear: i % 2 === 0 ? 2023 : 2024, kind: 'receipt' };
      const up = await call(`${archive.url}/documents`, { method: 'POST', body: multipart([{ bytes: corpusFile(f), name: f }], meta), token: tok });
      expect(up.status).toBe(201);
      ids.push(up.json.id);
    }
    const seen: string[] = [];
    let cont: string | null = null;
    do {
      const q: string = `limit=2${cont ? `&continuationToken=${encodeURIComponent(cont)}` : ''}`;
      const page = await call(`${archive.url}/documents?${q}`, { token: tok });
      expect(page.status).toBe(200);
      expect(page.json.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.json.items.map((d: { id: string }) => d.id));
      cont = page.json.continuationToken;
    } while (cont);
    expect(seen).toEqual([...ids].reverse());
    const fy = await call(`${archive.url}/documents?fiscalYear=2023`, { token: tok });
    expect(fy.json.items.map((d: { id: string }) => d.id).sort()).toEqual([ids[0], ids[2], ids[4]].sort());
    const bad = await call(`${archive.url}/documents?fiscalYear=soon`, { token: tok });
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('invalid_query');
  });
});

describe('health', () => {
  it('answers without a credential and checks both stores', async () => {
    expect((await call(`${archive.url}/health`)).json).toEqual({ status: 'ok' });
    const ready = await call(`${archive.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.json.checks).toEqual({ blob: 'ok', cosmos: 'ok' });
  });
});

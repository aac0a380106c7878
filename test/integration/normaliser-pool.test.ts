/**
 * Small bombs must not stall the host: uploads are converted in worker threads, a pixel budget per
 * request is checked from headers before anything is decoded, and a job past its timeout is stopped.
 */
import sharp from 'sharp';
import { call, rawUpload } from '../support/http';
import { corpusFile, newTenant, startTestArchive, tenantState, TestArchive } from '../support/harness';
import { interlacedGrayPng as interlacedPng } from '../support/png';

async function uploader(archive: TestArchive) {
  const tenant = newTenant('pool');
  const token = await archive.token({ tenant, sub: 'app', rights: 'uploader' });
  const upload = (bytes: Buffer, type: string) => call(`${archive.url}/documents`, { ...rawUpload(bytes, type), token });
  return { tenant, upload };
}

describe('normalisation off the event loop, within a pixel budget', () => {
  let archive: TestArchive;
  // The worst file this host accepts: 4000×4000 interlaced, exactly its decoded-pixel budget.
  const budget = 4000 * 4000;
  beforeAll(async () => {
    archive = await startTestArchive({ ARCHIVE_MAX_DECODED_PIXELS_PER_REQUEST: String(budget), ARCHIVE_MAX_PIXELS_PER_REQUEST: String(4 * budget), ARCHIVE_NORMALISE_THREADS: '1' });
  });
  afterAll(() => archive.stop());

  it('/health answers while the worst accepted file is being converted', async () => {
    const { upload } = await uploader(archive);
    // Known once a worker has the job: from then on the conversion is under way.
    let converting!: () => void;
    const started = new Promise<void>((resolve) => (converting = resolve));
    const normaliser = archive.host.deps.normaliser;
    const original = normaliser.normalise.bind(normaliser);
    const order: string[] = [];
    normaliser.normalise = (input) => {
      converting();
      return original(input).then((r) => (order.push('converted'), r));
    };
    try {
      const uploaded = upload(interlacedPng(4000), 'image/png').then((r) => (order.push('upload'), r));
      await started;
      // /health asked over and over while the file is converted: each answer must come back before the conversion ends.
      const answers: number[] = [];
      while (!order.includes('converted')) {
        const health = await call(`${archive.url}/health`);
        if (!order.includes('converted')) order.push('health');
        answers.push(health.status);
      }
      expect((await uploaded).status).toBe(201);
      // Ordering, not timing: several /health answers came while the file was still being converted.
      expect(order.indexOf('converted')).toBeGreaterThanOrEqual(3);
      expect(order.slice(0, 3)).toEqual(['health', 'health', 'health']);
      expect(answers.every((s) => s === 200)).toBe(true);
      expect(order.at(-1)).toBe('upload');
    } finally {
      normaliser.normalise = original;
    }
  });

  it('refuses an interlaced PNG over the budget with 422, from its header, and stores nothing', async () => {
    const { tenant, upload } = await uploader(archive);
    const bomb = interlacedPng(4001);
    const res = await upload(bomb, 'image/png');
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.json).toMatchObject({ code: 'pixel_budget_exceeded', decodedPixels: 4001 * 4001, maxDecodedPixelsPerRequest: budget });
    expect(res.json.detail).toContain('16,008,001');
    expect(await tenantState(archive, tenant)).toEqual({ blobs: [], documents: 0 });
  });

  it('refuses a multi-page Deflate TIFF whose pages together exceed the budget, each page within it', async () => {
    const { tenant, upload } = await uploader(archive);
    // Five 2000×2000 pages: 20 MP in all, 4 MP a page.
    const tall = Buffer.alloc(2000 * 2000 * 5, 200);
    const tiff = await sharp(tall, { raw: { width: 2000, height: 10000, channels: 1, pageHeight: 2000 } }).tiff({ compression: 'deflate' }).toBuffer();
    const res = await upload(tiff, 'image/tiff');
    expect({ status: res.status, code: res.json?.code, decoded: res.json?.decodedPixels, pages: res.json?.pages }).toEqual({ status: 422, code: 'pixel_budget_exceeded', decoded: 20_000_000, pages: 5 });
    expect(await tenantState(archive, tenant)).toEqual({ blobs: [], documents: 0 });
  });
});

describe('a conversion past its timeout', () => {
  let archive: TestArchive;
  beforeAll(async () => {
    archive = await startTestArchive({ ARCHIVE_NORMALISE_TIMEOUT_MS: '500', ARCHIVE_NORMALISE_THREADS: '1' });
  });
  afterAll(() => archive.stop());

  it('is stopped and refused (422 normalisation_timeout, nothing stored), and the pool converts the next upload', async () => {
    const { tenant, upload } = await uploader(archive);
    // ~36 MP to decode: many times the 500 ms this host allows.
    const res = await upload(interlacedPng(6000), 'image/png');
    expect(res.status).toBe(422);
    expect(res.json).toMatchObject({ code: 'normalisation_timeout', timeoutMs: 500 });
    expect(await tenantState(archive, tenant)).toEqual({ blobs: [], documents: 0 });
    // The one worker was terminated; a new one takes the next job (a PNG: a small JPEG would not need a worker).
    const next = await upload(corpusFile('img2pdf/normal.png'), 'image/png');
    expect(next.status).toBe(201);
    expect((await call(`${archive.url}/health`)).status).toBe(200);
  });
});

/** A PDF whose one object is an array of `n` numbers: a few bytes each in the file, a JavaScript object each once parsed. */
function manyPartsPdf(n: number): Buffer {
  const objects = ['<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Kids [3 0 R] /Count 1 >>', '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Filler 4 0 R >>', `[${'1 '.repeat(n)}]`];
  let pdf = '%PDF-1.7\n';
  const offsets = objects.map((o, i) => {
    const at = pdf.length;
    pdf += `${i + 1} 0 obj\n${o}\nendobj\n`;
    return at;
  });
  const xref = pdf.length;
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(pdf, 'latin1');
}

describe('a conversion past its working memory', () => {
  let archive: TestArchive;
  beforeAll(async () => {
    archive = await startTestArchive({ ARCHIVE_NORMALISE_WORKER_HEAP_MB: '64', ARCHIVE_NORMALISE_THREADS: '1' });
  });
  afterAll(() => archive.stop());

  it('is stopped and refused (422 normalisation_memory, nothing stored), and the pool converts the next upload', async () => {
    const { tenant, upload } = await uploader(archive);
    // 4 MB of "1 ": two million parsed objects, past a 64 MiB heap. Before the limit a worker's heap was node's
    // default, and a file of such parts scaled to the upload limit ended in an unexplained 500.
    const res = await upload(manyPartsPdf(2_000_000), 'application/pdf');
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.json).toMatchObject({ code: 'normalisation_memory', heapMb: 64 });
    expect(await tenantState(archive, tenant)).toEqual({ blobs: [], documents: 0 });
    const next = await upload(corpusFile('img2pdf/normal.png'), 'image/png');
    expect(next.status).toBe(201);
    expect((await call(`${archive.url}/health`)).status).toBe(200);
  });
});

/**
 * A blob endpoint that accepts connections and never answers (a half-open link, a stalled proxy): every
 * Blob Storage call still ends, refused, once each try has waited its bound for the response's headers,
 * the try retried as a network error. Only the wait for the headers is bounded: an upload whose body is
 * still within its size allowance, and a download whose body trickles, are never cut.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import type { BlobServiceClient } from '@azure/storage-blob';
import { blobServiceClient } from '../../../shared/adapters/azure/blob-service';
import { BlobArchive } from '../../../shared/adapters/azure/blobs';
import { AZURITE_ACCOUNT, AZURITE_KEY } from '../../../local/emulators';

const BASE_MS = 200;
const worm = { retainUntil: null, legalHold: false };

function connectionString(port: number): string {
  return `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=http://127.0.0.1:${port}/${AZURITE_ACCOUNT};`;
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

async function elapsed(call: () => Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const start = Date.now();
  const error = await call().then(() => null, (err: unknown) => err);
  return { ms: Date.now() - start, error };
}

describe('an endpoint that accepts and never answers', () => {
  let silent: net.Server;
  const held: net.Socket[] = [];
  let service: BlobServiceClient;

  beforeAll(async () => {
    silent = net.createServer((socket) => void held.push(socket)); // reads the request, never answers
    const port = await listen(silent);
    service = blobServiceClient({ connectionString: connectionString(port) }, { bound: { baseMs: BASE_MS, bytesPerSecond: 1024 * 1024 }, retryOptions: { maxTries: 2, retryDelayInMs: 10 } });
  });
  afterAll(async () => {
    held.forEach((s) => s.destroy());
    await new Promise((resolve) => silent.close(resolve));
  });

  it('refuses each call of the archive once its tries are up, each try on a new connection', async () => {
    const blobs = new BlobArchive(service, 'enforce');
    const calls: [string, () => Promise<unknown>][] = [
      ['put', () => blobs.putCreateOnly('t-1', 'd-1/original.pdf', Buffer.from('%PDF-1.7'), 'application/pdf', worm, {})],
      ['read', () => blobs.read('t-1', 'd-1/original.pdf')],
      ['exists', () => blobs.exists('t-1', 'd-1/original.pdf')],
      ['setLegalHold', () => blobs.setLegalHold('t-1', 'd-1/original.pdf', true)],
      ['listing', () => blobs.documentBlobs('t-1', 'd-1')],
    ];
    for (const [name, call] of calls) {
      const before = held.length;
      const { ms, error } = await elapsed(call);
      expect([name, String(error)]).toEqual([name, expect.stringMatching(/ETIMEDOUT/)]);
      expect([name, held.length - before]).toEqual([name, 2]); // reached the endpoint, and the cut try was retried
      expect(ms).toBeGreaterThanOrEqual(2 * BASE_MS - 20); // two tries, each cut at its bound (never sooner)
    }
  });

  it('leaves an abort the caller asked for an abort', async () => {
    const { error } = await elapsed(() => service.getContainerClient('c').getBlobClient('b').exists({ abortSignal: AbortSignal.timeout(50) }));
    expect((error as Error).name).toBe('AbortError');
  });
});

it('the account URL branch bounds its requests the same way, after the retry policy', () => {
  const credential = { getToken: () => Promise.resolve({ token: 't', expiresOnTimestamp: Date.now() + 3_600_000 }) };
  const service = blobServiceClient({ url: 'https://account.blob.core.windows.net', credential });
  const names = (service as unknown as { storageClientContext: { pipeline: { getOrderedPolicies(): { name: string }[] } } }).storageClientContext.pipeline.getOrderedPolicies().map((p) => p.name);
  expect(names).toContain('archiveBlobHeadersBound');
  expect(names.indexOf('archiveBlobHeadersBound')).toBeGreaterThan(names.indexOf('storageRetryPolicy'));
});

describe('an endpoint that is slow but answers', () => {
  let server: http.Server;
  let port: number;
  const trickled = Buffer.alloc(8 * 1024, 7);

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.method === 'GET' && !req.url?.includes('comp=')) {
        // A download: the headers at once, the body in eight pieces over 4 × the base bound.
        res.writeHead(200, { 'Content-Length': trickled.length, 'Content-Type': 'application/pdf', ETag: '"0x1"', 'x-ms-blob-type': 'BlockBlob', 'Last-Modified': new Date().toUTCString() });
        let piece = 0;
        const next = () => {
          res.write(trickled.subarray(piece * 1024, (piece + 1) * 1024));
          if (++piece < 8) setTimeout(next, BASE_MS / 2);
          else res.end();
        };
        setTimeout(next, BASE_MS / 2);
        return;
      }
      // Anything else: nothing of the body is read for 3 × the base bound, then it is read and answered.
      req.pause();
      setTimeout(() => {
        req.resume();
        req.on('end', () => {
          res.writeHead(req.method === 'PUT' ? 201 : 200, { ETag: '"0x1"', 'Last-Modified': new Date().toUTCString(), 'Content-Length': 0 });
          res.end();
        });
      }, 3 * BASE_MS);
    });
    port = await listen(server);
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  // 64 KiB at 64 KiB/s: a second of allowance beside the base bound.
  const client = () => blobServiceClient({ connectionString: connectionString(port) }, { bound: { baseMs: BASE_MS, bytesPerSecond: 64 * 1024 }, retryOptions: { maxTries: 1 } });

  it('cuts a call whose headers come after the base bound', async () => {
    const { error } = await elapsed(() => new BlobArchive(client(), 'enforce').exists('t-1', 'd-1/original.pdf'));
    expect(String(error)).toMatch(/ETIMEDOUT/);
  });

  it('does not cut an upload whose body is read within its size allowance', async () => {
    const { ms, error } = await elapsed(() => new BlobArchive(client(), 'enforce').putCreateOnly('t-1', 'd-1/original.pdf', Buffer.alloc(64 * 1024, 1), 'application/pdf', worm, {}));
    expect(error).toBeNull();
    expect(ms).toBeGreaterThanOrEqual(3 * BASE_MS - 20);
  });

  it('does not cut a download whose body trickles for longer than the bound', async () => {
    const start = Date.now();
    const read = await new BlobArchive(client(), 'enforce').read('t-1', 'd-1/original.pdf');
    const chunks: Buffer[] = [];
    for await (const chunk of read.stream) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks)).toEqual(trickled);
    expect(Date.now() - start).toBeGreaterThanOrEqual(3 * BASE_MS);
  });
});

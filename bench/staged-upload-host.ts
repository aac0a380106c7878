/**
 * The relay of `npm run bench:staged` in a process of its own (as the archive host is): `POST /buffered/<name>`
 * receives the upload, then writes it twice (rendition and original) with one Put Blob each, in parallel, as
 * ingest does; `POST /staged/<name>` sends the body to storage while it arrives, as one staged block of the
 * original (Put Block, the length from Content-Length), then writes the rendition and commits the block
 * (Put Block List) in parallel. No archive code: only the storage calls differ. Prints `READY <url>`.
 */
import * as http from 'node:http';
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { BlobServiceClient } from '@azure/storage-blob';

async function main() {
  const container = BlobServiceClient.fromConnectionString(process.env.STORAGE_CONNECTION_STRING!).getContainerClient('staged-bench');
  await container.createIfNotExists();
  const create = { conditions: { ifNoneMatch: '*' } };
  const server = http.createServer((req, res) => {
    const [, mode, name] = (req.url ?? '').split('/');
    const length = Number(req.headers['content-length']);
    const original = container.getBlockBlobClient(`${name}/original.jpg`);
    const rendition = container.getBlockBlobClient(`${name}/rendition.pdf`);
    const chunks: Buffer[] = [];
    const received = new Promise<Buffer>((resolve, reject) => {
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('error', reject);
    });
    const stored =
      mode === 'staged'
        ? (async () => {
            // One block, streamed as the body arrives: the bytes go on to storage while they are received.
            const blockId = Buffer.from(randomUUID()).toString('base64');
            const body = new PassThrough();
            req.pipe(body);
            const staged = original.stageBlock(blockId, () => body, length);
            const bytes = await received;
            await staged;
            await Promise.all([rendition.upload(bytes, bytes.length, create), original.commitBlockList([blockId], create)]);
          })()
        : (async () => {
            const bytes = await received;
            await Promise.all([rendition.upload(bytes, bytes.length, create), original.upload(bytes, bytes.length, create)]);
          })();
    stored.then(
      () => res.writeHead(201).end('{}'),
      () => res.writeHead(502).end(),
    );
  });
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as { port: number };
    process.stdout.write(`READY http://127.0.0.1:${port}\n`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

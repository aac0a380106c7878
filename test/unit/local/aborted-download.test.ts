/**
 * A client that goes away mid-download: the local host stops reading the blob. It piped the blob's stream into
 * the answer, and a pipe only unhooks when its destination closes: the stream from storage stayed open, paused,
 * with its buffered bytes and its connection to Azurite, for every download a client started and dropped.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { ROUTES } from '../../../functions/routes';
import { createArchiveServer } from '../../../local/server';
import { loadConfig } from '../../../shared/config';
import type { ArchivedDocument } from '../../../shared/kernel/document';
import { BUILT_IN_RIGHTS_SETS, type Principal } from '../../../shared/kernel/principal';
import { minimalLocalEnv } from '../../support/config-env';
import { inMemoryDeps } from '../../support/in-memory';
import { keepManifest } from '../../support/seed';

const T = 'acme';
const ID = '01890a5d-ac96-774b-bcce-b302099a8057';
const SIZE = 64 * 1024 * 1024;

it('destroys the blob stream when the client closes the connection before the last byte', async () => {
  // Streamed whole (above the default cap it would be a link): the local host must still let go of what it streams.
  const deps = inMemoryDeps(loadConfig({ ...minimalLocalEnv, ARCHIVE_STREAMED_ANSWER_MAX_BYTES: String(SIZE) }));
  const alice: Principal = { tenantId: T, subject: 'alice', kind: 'user', rightsSet: 'accountant', permissions: new Set(BUILT_IN_RIGHTS_SETS.accountant) };
  deps.authenticator = { authenticate: async () => alice };
  const rendition = { blobName: `${ID}/rendition.pdf`, sha256: 'ab'.repeat(32), size: SIZE, mediaType: 'application/pdf' };
  const doc = { id: ID, tenantId: T, type: 'document', status: 'active', original: { ...rendition, fileName: null }, originals: [], rendition, } as unknown as ArchivedDocument;
  deps.catalog.documents.set(`${T}/${ID}`, doc);
  await keepManifest(deps, doc); // a download serves only a folder the archive's manifest witnesses
  // A large blob, read as storage serves it: chunk by chunk, as fast as it is asked for.
  let sent = 0;
  const blob = new Readable({
    read() {
      const chunk = Buffer.alloc(Math.min(64 * 1024, SIZE - sent));
      sent += chunk.length;
      this.push(chunk.length > 0 ? chunk : null);
    },
  });
  deps.blobs.read = async () => ({ stream: blob, size: SIZE, contentLength: SIZE, etag: '"x"', contentType: 'application/pdf', createdOn: null });

  const server = createArchiveServer(ROUTES, deps);
  const answered = new Promise<http.ServerResponse>((resolve) => server.on('request', (_req, res: http.ServerResponse) => resolve(res)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const req = http.get({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, path: `/api/documents/${ID}/rendition` });
    req.on('error', () => undefined);
    const [res] = (await once(req, 'response')) as [http.IncomingMessage];
    expect(res.statusCode).toBe(200);
    await once(res, 'data');
    const answer = await answered;
    req.destroy();
    if (!answer.closed) await once(answer, 'close');
    await new Promise((resolve) => setImmediate(resolve));
    expect(blob.destroyed).toBe(true);
    expect(sent).toBeLessThan(SIZE);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

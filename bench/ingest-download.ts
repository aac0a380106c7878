/**
 * `npm run bench`: ingest and download through the local host (real handlers, Azurite,
 * Cosmos protocol server) beside raw Azurite uploads/downloads of the same bytes, same run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { startArchiveHost } from '../local/archive-host';
import { startAzurite, startCosmos } from '../local/emulators';
import { LOCAL_AUDIENCE, newSigningKey, startOidcIssuer } from '../local/oidc';

const CORPUS = path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'corpus');
const COUNT = Number(process.env.BENCH_DOCS ?? 200);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Distinct bytes per document (the archive refuses duplicates): a unique tail after the JPEG's EOI. */
function variants(base: Buffer, n: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => Buffer.concat([base, Buffer.from(`bench-${i}-${Date.now()}`)]));
}

async function pool<T>(items: T[], worker: (item: T, i: number) => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < items.length) {
      const i = next++;
      await worker(items[i]!, i);
    }
  }));
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function row(label: string, docs: number, bytes: number, seconds: number): string {
  return `${label.padEnd(44)} ${(docs / seconds).toFixed(1).padStart(9)} docs/s ${(bytes / seconds / 1e6).toFixed(2).padStart(9)} MB/s`;
}

async function main() {
  const [azurite, cosmos, oidc] = await Promise.all([startAzurite(), startCosmos(), startOidcIssuer(await newSigningKey())]);
  const host = await startArchiveHost({
    env: { STORAGE_CONNECTION_STRING: azurite.connectionString, COSMOS_ENDPOINT: cosmos.endpoint, COSMOS_KEY: cosmos.key, AUTH_ISSUER: oidc.issuer, AUTH_AUDIENCE: LOCAL_AUDIENCE, AUTH_JWKS_URI: oidc.jwksUri, ARCHIVE_WORM: 'emulator' },
    log: quiet,
  });
  const token = await oidc.mint({ tenant: 'bench', sub: 'bench', rights: 'archivist' });
  const docs = variants(fs.readFileSync(path.join(CORPUS, 'ocrmypdf', 'baiona_color.jpg')), COUNT);
  const totalBytes = docs.reduce((s, d) => s + d.length, 0);
  const auth = { Authorization: `Bearer ${token}` };

  const ids: string[] = [];
  const ingest = await pool(docs, async (bytes, i) => {
    const res = await fetch(`${host.url}/documents`, { method: 'POST', body: new Uint8Array(bytes), headers: { ...auth, 'Content-Type': 'image/jpeg' } });
    if (res.status !== 201) throw new Error(`ingest ${res.status}: ${await res.text()}`);
    ids[i] = ((await res.json()) as { id: string }).id;
  });
  const download = await pool(ids, async (id) => {
    const res = await fetch(`${host.url}/documents/${id}/original`, { headers: auth });
    if (res.status !== 200) throw new Error(`download ${res.status}`);
    await res.arrayBuffer();
  });

  const raw = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('raw-bench');
  await raw.createIfNotExists();
  const rawUp = await pool(docs, async (bytes, i) => {
    await raw.getBlockBlobClient(`doc-${i}.jpg`).upload(bytes, bytes.length);
  });
  const rawDown = await pool(docs, async (_, i) => {
    await raw.getBlobClient(`doc-${i}.jpg`).downloadToBuffer();
  });

  console.log(`\n${COUNT} JPEG scans of ${(docs[0]!.length / 1024).toFixed(0)} KiB, ${CONCURRENCY} concurrent requests, one run:\n`);
  console.log(row('archive ingest (POST /documents)', COUNT, totalBytes, ingest));
  console.log(row('raw Azurite upload (Put Blob, same bytes)', COUNT, totalBytes, rawUp));
  console.log(row('archive download (GET …/original)', COUNT, totalBytes, download));
  console.log(row('raw Azurite download (same bytes)', COUNT, totalBytes, rawDown));
  console.log(`\ningest writes original + rendition + manifest blobs, a catalog item and an audit entry per document;`);
  console.log(`download/raw download ratio: ${((rawDown / download) * 100).toFixed(0)}% of raw throughput\n`);

  await host.stop();
  await Promise.all([oidc.stop(), cosmos.stop(), azurite.stop()]);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

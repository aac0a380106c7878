/**
 * `npm run bench`: ingest and small download through the local host (real handlers, Azurite,
 * Cosmos protocol server) beside the floor (the same blob creates and Cosmos creates issued
 * directly with the SDKs), at 1 and 4 concurrent, with 0 and 5,000 documents in the tenant; the
 * SDK round trips per request (every http(s).request the host process issues is counted), and
 * the host's RSS during a 40 MB upload. One run; the figures depend on the (shared) machine.
 */
import * as fs from 'node:fs';
import * as diagnostics from 'node:diagnostics_channel';
import * as path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { startArchiveHost } from '../local/archive-host';
import { startAzurite, startCosmos } from '../local/emulators';
import { LOCAL_AUDIENCE, newSigningKey, startOidcIssuer } from '../local/oidc';
import { seedMany } from '../test/support/seed';

const CORPUS = path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'corpus');
const COUNT = Number(process.env.BENCH_DOCS ?? 60);
const SEEDED = Number(process.env.BENCH_SEEDED ?? 5000);
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** SDK round trips: the archive's SDK clients use node's http client (the bench's own fetch, undici, does not). */
let roundTrips = 0;
diagnostics.subscribe('http.client.request.start', () => void roundTrips++);

const percentile = (ms: number[], p: number) => [...ms].sort((a, b) => a - b)[Math.min(ms.length - 1, Math.ceil((p / 100) * ms.length) - 1)]!;

async function pool<T>(items: T[], concurrency: number, worker: (item: T, i: number) => Promise<void>): Promise<{ seconds: number; latencies: number[] }> {
  const started = process.hrtime.bigint();
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        const t = process.hrtime.bigint();
        await worker(items[i]!, i);
        latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    }),
  );
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, latencies };
}

const fmt = (label: string, r: { seconds: number; latencies: number[] }, n: number, trips?: number) =>
  `${label.padEnd(40)} ${(n / r.seconds).toFixed(1).padStart(7)} req/s  p50 ${percentile(r.latencies, 50).toFixed(0).padStart(5)} ms  p95 ${percentile(r.latencies, 95).toFixed(0).padStart(5)} ms${trips === undefined ? '' : `  ${(trips / n).toFixed(1)} round trips/req`}`;

async function main() {
  const [azurite, cosmos, oidc] = await Promise.all([startAzurite(), startCosmos(), startOidcIssuer(await newSigningKey())]);
  const host = await startArchiveHost({
    env: { STORAGE_CONNECTION_STRING: azurite.connectionString, COSMOS_ENDPOINT: cosmos.endpoint, COSMOS_KEY: cosmos.key, AUTH_ISSUER: oidc.issuer, AUTH_AUDIENCE: LOCAL_AUDIENCE, AUTH_JWKS_URI: oidc.jwksUri, ARCHIVE_WORM: 'emulator' },
    log: quiet,
  });
  const base = fs.readFileSync(path.join(CORPUS, 'ocrmypdf', 'baiona_color.jpg'));
  let serial = 0;
  // Distinct bytes per scan (duplicates are refused; trailing data too): tagged in comment (COM) segments after SOI.
  const tagged = (tag: string, padding = 0) => {
    const segments: Buffer[] = [];
    for (let left = padding, first = true; first || left > 0; first = false) {
      const body = Buffer.concat([Buffer.from(first ? tag : ''), Buffer.alloc(Math.min(left, 60_000), 0x20)]);
      left -= Math.min(left, 60_000);
      const head = Buffer.alloc(4);
      head.writeUInt16BE(0xfffe, 0);
      head.writeUInt16BE(body.length + 2, 2);
      segments.push(head, body);
    }
    return Buffer.concat([base.subarray(0, 2), ...segments, base.subarray(2)]);
  };
  const scan = () => tagged(`bench-${serial++}-${Date.now()}`);
  const small = Buffer.from(`small-${Date.now()}`);
  const floorContainer = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('floor-bench');
  await floorContainer.createIfNotExists();
  const floorCosmos = host.deps.cosmos.documents;

  console.log(`\nOne run, shared 2-core machine; ${COUNT} scans of ${(base.length / 1024).toFixed(0)} KiB per row.\n`);
  for (const size of [0, SEEDED]) {
    const tenant = `bench${size}`;
    const token = await oidc.mint({ tenant, sub: 'bench', rights: 'archivist' });
    const auth = { Authorization: `Bearer ${token}` };
    if (size > 0) {
      // Catalog items and markers written directly (not through HTTP), with stand-in blobs.
      await seedMany(host.deps, tenant, Array.from({ length: size }, () => ({ metadata: {} })), 32);
    }
    const warm = await fetch(`${host.url}/documents`, { method: 'POST', body: new Uint8Array(scan()), headers: { ...auth, 'Content-Type': 'image/jpeg' } });
    const smallId = ((await warm.json()) as { id: string }).id;
    console.log(`tenant with ${size} documents:`);
    for (const concurrency of [1, 4]) {
      const docs = Array.from({ length: COUNT }, () => new Uint8Array(scan()));
      let before = roundTrips;
      const ingest = await pool(docs, concurrency, async (bytes) => {
        const res = await fetch(`${host.url}/documents`, { method: 'POST', body: bytes, headers: { ...auth, 'Content-Type': 'image/jpeg' } });
        if (res.status !== 201) throw new Error(`ingest ${res.status}: ${await res.text()}`);
        await res.arrayBuffer();
      });
      const ingestTrips = roundTrips - before;
      // The floor: what ingest must store, issued directly: rendition + original + manifest blobs, catalog item + audit entry.
      const floor = await pool(docs, concurrency, async (bytes, i) => {
        const name = `${tenant}-${concurrency}-${i}-${Date.now()}`;
        await floorContainer.getBlockBlobClient(`${name}/rendition.pdf`).upload(bytes, bytes.length, { conditions: { ifNoneMatch: '*' } });
        await floorContainer.getBlockBlobClient(`${name}/original.jpg`).upload(bytes, bytes.length, { conditions: { ifNoneMatch: '*' } });
        await floorContainer.getBlockBlobClient(`${name}/manifest.json`).upload('{}', 2, { conditions: { ifNoneMatch: '*' } });
        await floorCosmos.items.create({ id: name, tenantId: `floor-${tenant}`, type: 'floor' });
        await floorCosmos.items.create({ id: `${name}-audit`, tenantId: `floor-${tenant}`, type: 'floor' });
      });
      before = roundTrips;
      const downloads = Array.from({ length: COUNT }, () => smallId);
      const download = await pool(downloads, concurrency, async (id) => {
        const res = await fetch(`${host.url}/documents/${id}/original`, { headers: auth });
        if (res.status !== 200) throw new Error(`download ${res.status}`);
        await res.arrayBuffer();
      });
      const downloadTrips = roundTrips - before;
      const downloadFloor = await pool(downloads, concurrency, async () => {
        await floorContainer.getBlobClient(`${tenant}-small`).downloadToBuffer().catch(async () => {
          await floorContainer.getBlockBlobClient(`${tenant}-small`).upload(small, small.length);
        });
      });
      console.log(`  ${concurrency} concurrent:`);
      console.log(`    ${fmt('ingest (POST /documents)', ingest, COUNT, ingestTrips)}`);
      console.log(`    ${fmt('ingest floor (3 blob + 2 Cosmos creates)', floor, COUNT)}  → ${(floor.seconds / ingest.seconds).toFixed(2)}× floor`);
      console.log(`    ${fmt('small download (GET …/original)', download, COUNT, downloadTrips)}`);
      console.log(`    ${fmt('download floor (one blob read)', downloadFloor, COUNT)}  → ${(downloadFloor.seconds / download.seconds).toFixed(2)}× floor`);
    }
  }

  // Host RSS during one 40 MB upload (the Cosmos protocol server runs in this process too; Azurite does not).
  const big = new Uint8Array(tagged('big', 40 * 1024 * 1024 - base.length));
  const token = await oidc.mint({ tenant: 'benchbig', sub: 'bench', rights: 'archivist' });
  global.gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const res = await fetch(`${host.url}/documents`, { method: 'POST', body: big, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'image/jpeg' } });
  clearInterval(sampler);
  console.log(`\n40 MB upload: ${res.status}; host RSS rose by ${((peak - baseline) / 1e6).toFixed(0)} MB = ${((peak - baseline) / big.length).toFixed(2)}× the file (baseline ${(baseline / 1e6).toFixed(0)} MB)\n`);

  await host.stop();
  await Promise.all([oidc.stop(), cosmos.stop(), azurite.stop()]);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

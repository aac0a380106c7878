/**
 * `npm run bench`: ingest and small download through the local host (real handlers, Azurite,
 * Cosmos protocol server) beside the floor (the same blob creates and Cosmos creates issued
 * directly with the SDKs), at 1 and 4 concurrent, with 0 and 5,000 documents in the tenant; the
 * SDK round trips per request (every http(s).request the host process issues is counted), and
 * the host's RSS rise during a 40 MB upload (the host then in a process of its own). One run; the figures depend on the (shared) machine.
 */
import { spawn } from 'node:child_process';
import * as diagnostics from 'node:diagnostics_channel';
import * as path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { BENCH_SCAN, startBenchHost, taggedScan } from './bench-host';
import { LOCAL_AUDIENCE } from '../local/oidc';
import { seedMany } from '../test/support/seed';

const COUNT = Number(process.env.BENCH_DOCS ?? 60);
const SEEDED = Number(process.env.BENCH_SEEDED ?? 5000);

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
  const { host, azurite, cosmos, oidc } = await startBenchHost();
  const base = BENCH_SCAN;
  let serial = 0;
  const tagged = taggedScan;
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

  // Host RSS during one 40 MB upload, measured in a host process of its own (bench/download-host.ts):
  // this process holds the 40 MB body and the client's copies of it, which are not the host's.
  const big = new Uint8Array(tagged('big', 40 * 1024 * 1024 - base.length));
  const memory = await largeUpload(big, { azurite, cosmos, oidc });
  console.log(`\n40 MB upload (host in its own process): ${memory.status}; host RSS rose by ${(memory.rise / 1e6).toFixed(0)} MB = ${(memory.rise / big.length).toFixed(2)}× the file (idle baseline ${(memory.baseline / 1e6).toFixed(0)} MB)\n`);

  await host.stop();
  await Promise.all([oidc.stop(), cosmos.stop(), azurite.stop()]);
}

/** One large upload to a fresh host process, warmed by one small upload first; its RSS rise over its idle baseline. */
async function largeUpload(body: Uint8Array, emulators: Pick<Awaited<ReturnType<typeof startBenchHost>>, 'azurite' | 'cosmos' | 'oidc'>): Promise<{ status: number; rise: number; baseline: number }> {
  const { azurite, cosmos, oidc } = emulators;
  const env = { STORAGE_CONNECTION_STRING: azurite.connectionString, COSMOS_ENDPOINT: cosmos.endpoint, COSMOS_KEY: cosmos.key, AUTH_ISSUER: oidc.issuer, AUTH_AUDIENCE: LOCAL_AUDIENCE, AUTH_JWKS_URI: oidc.jwksUri, ARCHIVE_WORM: 'emulator' };
  const child = spawn(process.execPath, ['--expose-gc', path.join(__dirname, 'download-host.js')], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const waitFor = (re: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const m = re.exec(out);
        if (!m) return;
        out = out.slice(m.index + m[0].length);
        child.stdout.off('data', onData);
        child.off('exit', onExit);
        resolve(m);
      };
      const onData = (d: Buffer) => {
        out += d.toString();
        check();
      };
      const onExit = (code: number | null) => reject(new Error(`bench host exited ${code}`));
      child.stdout.on('data', onData);
      child.once('exit', onExit);
      check();
    });
  try {
    const url = (await waitFor(/READY (\S+)\n/))[1]!;
    const auth = { Authorization: `Bearer ${await oidc.mint({ tenant: 'benchbig', sub: 'bench', rights: 'archivist' })}`, 'Content-Type': 'image/jpeg' };
    const warm = await fetch(`${url}/documents`, { method: 'POST', body: new Uint8Array(taggedScan(`warm-${Date.now()}`)), headers: auth });
    await warm.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, 500));
    child.stdin.write('MARK\n');
    const res = await fetch(`${url}/documents`, { method: 'POST', body, headers: auth });
    await res.arrayBuffer();
    child.stdin.write('PEAK\n');
    const m = await waitFor(/PEAK (\d+) (\d+)\n/);
    return { status: res.status, rise: Number(m[1]), baseline: Number(m[2]) };
  } finally {
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

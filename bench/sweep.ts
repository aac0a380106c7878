/**
 * `npm run bench:sweep`: the retention sweep disposing of N expired documents (default
 * 10,000; 3 blobs, a catalog item and an audit entry each) beside raw Azurite deletes of
 * the same number of blobs, same run. Starts its own Azurite (in memory) and Cosmos protocol
 * server, each in its own process; seeds blobs and catalog directly (not through HTTP ingest)
 * to keep seeding fast.
 * BENCH_PROFILE=1 also prints the round trips per disposal, by kind, and their mean time.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { Item, Items, QueryIterator } from '@azure/cosmos';
import { BlobClient, BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { buildDeps } from '../shared/app';
import { loadConfig } from '../shared/config';
import type { ArchivedDocument } from '../shared/kernel/document';
import { sha256, uuidv7 } from '../shared/ids';
import { sweep } from '../shared/retention/sweep';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { COSMOS_EMULATOR_KEY, freePort, startAzurite } from '../local/emulators';
import { azuriteIndexPatch } from './bench-host';

const COUNT = Number(process.env.BENCH_DOCS ?? 10_000);
const TENANTS = Number(process.env.BENCH_TENANTS ?? 50);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const PROFILE = process.env.BENCH_PROFILE === '1';
const quiet = { info: () => undefined, warn: () => undefined, error: (m: string, f?: Record<string, unknown>) => console.error(m, f) };

async function pool<T>(items: T[], worker: (item: T) => Promise<void>, concurrency = CONCURRENCY): Promise<number> {
  const started = process.hrtime.bigint();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await worker(items[next++]!);
  }));
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function document(tenantId: string, i: number, original: Buffer, rendition: Buffer): ArchivedDocument {
  const id = uuidv7(Date.UTC(2020, 5, 1) + i);
  const o = { mediaType: 'image/jpeg', size: original.length, sha256: sha256(original), fileName: `scan-${i}.jpg`, blobName: `${id}/original.jpg` };
  return {
    id, tenantId, type: 'document', status: 'active', pages: 1, original: o, originals: [o], contentKey: o.sha256,
    rendition: { mediaType: 'application/pdf', size: rendition.length, sha256: sha256(rendition), blobName: `${id}/rendition.pdf`, conformance: 'PDF/A-2b' },
    conversion: {} as ArchivedDocument['conversion'],
    metadata: { fiscalYear: 2020, kind: 'invoice' }, fiscalYear: 2020,
    retention: { class: 'fiscal-7y', retainUntil: '2028-01-01T00:00:00.000Z' }, legalHold: false,
    createdAt: '2020-06-01T00:00:00.000Z', createdBy: { subject: 'bench', kind: 'user' },
  };
}

/** Counts and times every Cosmos and Blob round trip by kind (BENCH_PROFILE=1), while `on`. */
const calls = new Map<string, { n: number; ms: number }>();
let profiling = false;
function instrument(proto: object, method: string, label: string, generator = false) {
  const target = proto as Record<string, (...a: unknown[]) => unknown>;
  const original = target[method]!;
  target[method] = generator
    ? function (this: unknown, ...args: unknown[]) {
        if (profiling) count(label, 0);
        return original.apply(this, args);
      }
    : async function (this: unknown, ...args: unknown[]) {
        const t0 = process.hrtime.bigint();
        try {
          return await original.apply(this, args);
        } finally {
          if (profiling) count(label, Number(process.hrtime.bigint() - t0) / 1e6);
        }
      };
}
function count(label: string, ms: number) {
  const c = calls.get(label) ?? { n: 0, ms: 0 };
  c.n++;
  c.ms += ms;
  calls.set(label, c);
}
if (PROFILE) {
  instrument(Item.prototype, 'read', 'cosmos read');
  instrument(Item.prototype, 'replace', 'cosmos replace');
  instrument(Items.prototype, 'create', 'cosmos create');
  instrument(Items.prototype, 'upsert', 'cosmos upsert');
  instrument(QueryIterator.prototype, 'fetchNext', 'cosmos query page');
  instrument(QueryIterator.prototype, 'fetchAll', 'cosmos query (all)');
  instrument(BlobClient.prototype, 'delete', 'blob delete');
  instrument(ContainerClient.prototype, 'listBlobsFlat', 'blob list', true);
}

/**
 * The Cosmos protocol server in a process of its own, as Cosmos is a service of its own: in this
 * process, its work for the sweep's ~4 catalog and audit calls per disposal would compete with
 * the sweep's own CPU, while the raw delete's server (Azurite) runs elsewhere.
 */
async function startCosmosProcess(): Promise<{ endpoint: string; key: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const cli = path.join(path.dirname(require.resolve('@vercel/cosmosdb-server/package.json')), 'lib/cli.js');
  const child = spawn(process.execPath, [cli, '--no-ssl', '--host', '127.0.0.1', '--port', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      if (output.includes('Ready to accept')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`cosmosdb-server exited with ${code}: ${output}`)));
  });
  child.stdout.resume();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    key: COSMOS_EMULATOR_KEY,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

async function main() {
  // In memory: on disk, Azurite took ~1000 s to seed 10,000 documents. The raw blobs get an
  // Azurite of their own: in-memory Azurite's cost per call grows with the blobs it holds, so
  // both sides then work against the same number of blobs (3 per document).
  // Both get bench/azurite-index-patch (indexed lookups instead of scans; see there).
  const [azurite, rawAzurite] = await Promise.all([startAzurite({ nodeArgs: azuriteIndexPatch }), startAzurite({ nodeArgs: azuriteIndexPatch })]);
  const cosmos = await startCosmosProcess();
  const config = loadConfig({
    STORAGE_CONNECTION_STRING: azurite.connectionString, COSMOS_ENDPOINT: cosmos.endpoint, COSMOS_KEY: cosmos.key,
    AUTH_ISSUER: 'http://127.0.0.1:9', AUTH_AUDIENCE: 'api://bench', AUTH_JWKS_URI: 'http://127.0.0.1:9/jwks', ARCHIVE_WORM: 'emulator',
  });
  let now = new Date('2025-01-01T00:00:00Z');
  const deps = await buildDeps(config, { log: quiet, clock: { now: () => now } });

  // Seed: N documents over TENANTS tenants, blobs + manifest + catalog item each; and the raw blobs.
  // Small files: the sweep's cost is per blob and per catalog item, not per byte.
  const original = randomBytes(2 * 1024);
  const rendition = randomBytes(3 * 1024);
  const tenants = Array.from({ length: TENANTS }, (_, i) => `bench-${String(i).padStart(3, '0')}`);
  for (const t of tenants) await deps.blobs.prepareTenant(t);
  const docs = Array.from({ length: COUNT }, (_, i) => document(tenants[i % TENANTS]!, i, original, rendition));
  const worm = { retainUntil: '2028-01-01T00:00:00.000Z', legalHold: false };
  const raw = BlobServiceClient.fromConnectionString(rawAzurite.connectionString).getContainerClient('raw-bench');
  await raw.createIfNotExists();
  const seedStart = process.hrtime.bigint();
  let seeded = 0;
  await pool(docs, async (d) => {
    if (++seeded % 2000 === 0) console.error(`  seeding: ${seeded}/${COUNT}`);
    // The seven writes of one document are independent: in parallel.
    const manifest = Buffer.from(JSON.stringify(d));
    await Promise.all([
      deps.blobs.putCreateOnly(d.tenantId, d.original.blobName, original, 'image/jpeg', worm, {}),
      deps.blobs.putCreateOnly(d.tenantId, d.rendition.blobName, rendition, 'application/pdf', worm, {}),
      deps.blobs.putCreateOnly(d.tenantId, `${d.id}/manifest.json`, manifest, 'application/json', worm, {}),
      deps.catalog.create(d),
      ...([['original.jpg', original], ['rendition.pdf', rendition], ['manifest.json', manifest]] as const).map(([name, bytes]) => raw.getBlockBlobClient(`${d.id}/${name}`).upload(bytes, bytes.length)),
    ]);
  }, 16);
  const seedSeconds = Number(process.hrtime.bigint() - seedStart) / 1e9;
  console.error(`seeded ${COUNT} documents in ${seedSeconds.toFixed(1)} s; sweeping…`);

  // Sweep at the end of retention, until done.
  now = new Date('2028-01-01T00:00:00Z');
  let continuation: string | null = null;
  let disposed = 0;
  let runs = 0;
  const sweepStart = process.hrtime.bigint();
  profiling = PROFILE;
  do {
    const r = await sweep({ now, budget: { maxItems: 2000, maxMillis: 240_000 }, continuation, concurrency: CONCURRENCY }, deps);
    disposed += r.disposed.length;
    if (r.blocked.length) console.error('blocked:', r.blocked.slice(0, 5));
    continuation = r.continuation;
    runs++;
    console.error(`  run ${runs}: ${disposed} disposed so far`);
  } while (continuation);
  const sweepSeconds = Number(process.hrtime.bigint() - sweepStart) / 1e9;
  profiling = false;
  const second = await sweep({ now, budget: { maxItems: 100_000, maxMillis: 240_000 }, continuation: null }, deps);

  // Raw: delete the same number of blobs (3 per document) straight from Azurite, same concurrency.
  const rawNames = docs.flatMap((d) => [`${d.id}/original.jpg`, `${d.id}/rendition.pdf`, `${d.id}/manifest.json`]);
  const rawSeconds = await pool(rawNames, async (name) => {
    await raw.getBlobClient(name).delete();
  });

  console.log(`\n${COUNT} expired documents (3 blobs each, ${TENANTS} tenants), concurrency ${CONCURRENCY}, one run; seeding took ${seedSeconds.toFixed(1)} s\n`);
  console.log(`${'retention sweep (claim, delete 3 blobs, tombstone, audit entry)'.padEnd(66)} ${(disposed / sweepSeconds).toFixed(1).padStart(8)} disposals/s  (${disposed} in ${sweepSeconds.toFixed(1)} s, ${runs} bounded runs of ≤2000)`);
  console.log(`${'raw Azurite delete of the same blobs (own Azurite)'.padEnd(66)} ${(COUNT / rawSeconds).toFixed(1).padStart(8)} docs/s       (${rawNames.length} blobs, ${(rawNames.length / rawSeconds).toFixed(0)} blobs/s, ${rawSeconds.toFixed(1)} s)`);
  console.log(`\nsweep/raw: ${((COUNT / sweepSeconds / (COUNT / rawSeconds)) * 100).toFixed(0)}% of raw delete throughput; second sweep disposed ${second.disposed.length} (idempotent)\n`);
  if (PROFILE) {
    console.log('round trips per disposal during the sweep (mean time of one call):');
    for (const [label, c] of [...calls].sort((a, b) => b[1].n - a[1].n)) console.log(`  ${label.padEnd(22)} ${(c.n / Math.max(1, disposed)).toFixed(2).padStart(6)} / disposal  ${c.ms ? `${(c.ms / c.n).toFixed(2)} ms` : ''}`);
  }
  if (disposed !== COUNT || second.disposed.length !== 0) throw new Error(`expected ${COUNT} disposals then none, got ${disposed} and ${second.disposed.length}`);
  await Promise.all([cosmos.stop(), azurite.stop(), rawAzurite.stop()]);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

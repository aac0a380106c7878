/**
 * `npm run bench:export`: a fiscal year's export at the size real tenants have (many small receipts). Per N (default
 * 1,000 and 5,000; `BENCH_EXPORT_SIZES=1000,5000,20000` for others), one tenant's year of N small documents is seeded
 * straight through the ports (rendition, original, manifest blob and catalog item each, as ingest leaves them), then:
 *
 * - the export worker (`runExport`) runs in this process against the real emulators (Azurite with the index patch and
 *   the Cosmos protocol server, each in a process of its own): time, documents/s, this process's peak rise of RSS and
 *   of heap + external memory (sampled every 20 ms, baseline after a GC; RSS also moves with what seeding left), the
 *   Cosmos and blob round trips it issued per document, the CPU per document of this process, Azurite and the Cosmos
 *   server, the ZIP's size and the job record's size as stored;
 * - the peer, same run and same blobs: a bare SDK loop that reads the same renditions (4 ahead, as the worker) through
 *   yazl into one blob, with no catalog, manifest or checks;
 * - the CLI's download and verify (`exportToDir` picking up the completed export from its state file: download through
 *   the archive host in its own process, unpack, verify every file against manifest.json), beside a raw SDK download of
 *   the same ZIP blob then `unzip -q` of it.
 */
import { spawnSync } from 'node:child_process';
import * as diagnostics from 'node:diagnostics_channel';
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { BlobServiceClient } from '@azure/storage-blob';
import { ZipFile } from 'yazl';
import { sha256, uuidv7 } from '../shared/ids';
import type { ArchivedDocument } from '../shared/kernel/document';
import { blobLayout } from '../shared/kernel/blob-layout';
import { sealedManifest } from '../shared/documents/manifest';
import { startExport } from '../shared/exports/start-export';
import { runExport } from '../shared/exports/run-export';
import { exportToDir, type Client } from '../cli/core';
import { verifiedOffline } from '../cli/copy-check';
import { startBenchServices } from './bench-host';

const SIZES = (process.env.BENCH_EXPORT_SIZES ?? '1000,5000').split(',').map(Number);
const SEED_CONCURRENCY = 16;

/** Requests this process issues, by server (the SDKs use node's http client). */
const trips = new Map<string, number>();
let counting = false;
diagnostics.subscribe('http.client.request.start', (m) => {
  if (!counting) return;
  const { request } = m as { request: http.ClientRequest };
  const key = String(request.getHeader('host') ?? request.host);
  trips.set(key, (trips.get(key) ?? 0) + 1);
});

let peakRss = 0;
let peakHeap = 0;
let sampling = false;
const sampler = setInterval(() => {
  if (!sampling) return;
  const m = process.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  peakHeap = Math.max(peakHeap, m.heapUsed + m.external);
}, 20);
const heapNow = () => process.memoryUsage().heapUsed + process.memoryUsage().external;

const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const gc = () => (globalThis as { gc?: () => void }).gc?.();

const KINDS = ['receipt', 'receipt', 'receipt', 'invoice', 'credit-note'] as const;
const SHOPS = ['Albert Heijn', 'Jumbo', 'Shell', 'NS', 'Bol.com', 'Coolblue', 'Hema', 'Praxis', 'Kruidvat', 'Gamma'];

/** A small receipt as ingest leaves it: ~2 KB original, ~3 KB rendition; same shop and day often (names clash). */
function receipt(tenantId: string, i: number): { doc: ArchivedDocument; original: Buffer; rendition: Buffer } {
  const id = uuidv7(Date.UTC(2024, 0, 1) + i);
  const original = Buffer.concat([Buffer.from(`receipt ${i} `), Buffer.alloc(2048, i % 251)]);
  const rendition = Buffer.concat([Buffer.from(`%PDF-1.7\n% rendition ${i}\n`), Buffer.alloc(3072, (i * 7) % 251), Buffer.from('\n%%EOF\n')]);
  const o = { mediaType: 'image/jpeg', size: original.length, sha256: sha256(original), fileName: `scan-${i}.jpg`, blobName: `${id}/original.jpg` };
  const day = new Date(Date.UTC(2024, 0, 1) + (i % 366) * 86_400_000).toISOString().slice(0, 10);
  const doc = {
    id, tenantId, type: 'document', status: 'active', pages: 1, original: o, originals: [o], contentKey: o.sha256,
    rendition: { mediaType: 'application/pdf', size: rendition.length, sha256: sha256(rendition), blobName: `${id}/rendition.pdf`, conformance: 'PDF/A-2b' },
    conversion: { normaliser: 'bench', pageCount: 1, pages: [], conformance: 'PDF/A-2b' },
    metadata: { documentDate: day, kind: KINDS[i % KINDS.length], counterparty: SHOPS[i % SHOPS.length], amount: (i % 9000) / 100 + 1, currency: 'EUR', ...(i % 3 === 0 ? { reference: `R-${i % 500}` } : {}) },
    fiscalYear: 2024, retention: { class: 'fiscal-7y', retainUntil: '2099-01-01T00:00:00.000Z' }, legalHold: false,
    createdAt: new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString(), createdBy: { subject: 'bench', kind: 'user' },
  } as unknown as ArchivedDocument;
  return { doc, original, rendition };
}

async function pool(count: number, worker: (i: number) => Promise<void>, concurrency: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) await worker(next++);
  }));
}

async function main() {
  const services = await startBenchServices();
  const { deps, env, azurite, oidc } = services;
  const cosmosHost = new URL(env.COSMOS_ENDPOINT!).host;
  const blobHost = `127.0.0.1:${azurite.port}`;
  const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
  const worm = { retainUntil: '2099-01-01T00:00:00.000Z', legalHold: false };
  const rows: string[] = [];
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-export-'));
  try {
    for (const n of SIZES) {
      const tenant = `bench-year-${n}`;
      await deps.blobs.prepareTenant(tenant);
      const seedStart = process.hrtime.bigint();
      const renditions: string[] = [];
      await pool(n, async (i) => {
        const r = receipt(tenant, i);
        renditions[i] = r.doc.rendition.blobName;
        await Promise.all([
          deps.blobs.putCreateOnly(tenant, r.doc.original.blobName, r.original, 'image/jpeg', worm, {}),
          deps.blobs.putCreateOnly(tenant, r.doc.rendition.blobName, r.rendition, 'application/pdf', worm, {}),
          // Sealed as ingest writes it: an export takes only a manifest the archive kept (manifestByArchive).
          sealedManifest(r.doc, deps).then((m) => deps.blobs.putCreateOnly(tenant, blobLayout.manifest(r.doc.id), m, 'application/json', worm, {})),
          deps.catalog.create(r.doc),
        ]);
      }, SEED_CONCURRENCY);
      console.error(`seeded ${n} documents in ${seconds(seedStart).toFixed(1)} s`);

      // The export worker, in process.
      const principal = { tenantId: tenant, subject: 'accountant@bench', kind: 'user' as const, rightsSet: 'accountant', permissions: new Set<never>() };
      const { job: started } = await startExport(principal, { fiscalYear: 2024, includeOriginals: false }, `req-${n}`, deps);
      gc();
      const rssBefore = process.memoryUsage().rss;
      const heapBefore = heapNow();
      peakRss = rssBefore;
      peakHeap = heapBefore;
      trips.clear();
      counting = true;
      sampling = true;
      const cpu0 = services.cpu();
      const t0 = process.hrtime.bigint();
      const job = await runExport(tenant, started.id, deps);
      const cpu1 = services.cpu();
      const exportSeconds = seconds(t0);
      sampling = false;
      counting = false;
      if (job.status !== 'completed' || !job.archive) throw new Error(`export of ${n}: ${job.status} ${job.error ?? ''}`);
      const cosmosTrips = trips.get(cosmosHost) ?? 0;
      const blobTrips = trips.get(blobHost) ?? 0;
      const rssRise = peakRss - rssBefore;
      const heapRise = peakHeap - heapBefore;
      const cpuPerDoc = (k: 'bench' | 'azurite' | 'cosmos') => ((cpu1[k] - cpu0[k]) / n).toFixed(2);
      const jobBytes = Buffer.byteLength(JSON.stringify(await deps.exportJobs.get(tenant, job.id)));

      // Peer: the same renditions read with the SDK, 4 ahead, zipped with yazl into one blob; nothing else.
      const docs = service.getContainerClient(blobLayout.documentsContainer(tenant));
      const peerContainer = service.getContainerClient(`peer-${n}`);
      await peerContainer.createIfNotExists();
      const p0 = process.hrtime.bigint();
      const zip = new ZipFile();
      const through = new PassThrough();
      (zip.outputStream as Readable).pipe(through);
      const upload = peerContainer.getBlockBlobClient('peer.zip').uploadStream(through, 4 * 1024 * 1024, 4);
      const ahead: Promise<NodeJS.ReadableStream>[] = [];
      let next = 0;
      const fill = () => {
        while (ahead.length < 4 && next < renditions.length) ahead.push(docs.getBlobClient(renditions[next++]!).download().then((d) => d.readableStreamBody!));
      };
      fill();
      for (let i = 0; i < renditions.length; i++) {
        const stream = (await ahead.shift()!) as Readable;
        fill();
        const done = new Promise((resolve, reject) => stream.on('end', resolve).on('error', reject));
        zip.addReadStream(stream, `documents/${renditions[i]!.replace('/', '-')}`, { compress: false });
        await done;
      }
      zip.end();
      await upload;
      const peerSeconds = seconds(p0);

      // The CLI: pick up the completed export from its state file, download through the host, unpack, verify.
      const out = path.join(scratch, `cli-${n}`);
      fs.mkdirSync(out, { recursive: true });
      fs.writeFileSync(path.join(out, '.archive-export.json'), JSON.stringify({ exportId: job.id, request: JSON.stringify({ fiscalYear: 2024, includeOriginals: false }) }));
      const token = await oidc.mint({ tenant, sub: 'bench', rights: 'accountant' });
      const client: Client = { config: { url: services.hostUrl, token }, fetch: (url, init) => fetch(url, init) };
      gc();
      const cliRssBefore = process.memoryUsage().rss;
      peakRss = cliRssBefore;
      sampling = true;
      const c0 = process.hrtime.bigint();
      const summary = await exportToDir(client, { fiscalYear: 2024 }, { outDir: out, viaArchive: true });
      const cliSeconds = seconds(c0);
      sampling = false;
      const cliRssRise = peakRss - cliRssBefore;
      if (!verifiedOffline(summary) || summary.documents !== n) throw new Error(`CLI verify of ${n}: not verified`);

      // Its peer: the ZIP blob downloaded with the SDK, then `unzip -q` (CRC-checks every entry as it unpacks).
      const rawZip = path.join(scratch, `raw-${n}.zip`);
      const r0 = process.hrtime.bigint();
      await service.getContainerClient(blobLayout.exportsContainer(tenant)).getBlobClient(job.blobName).downloadToFile(rawZip);
      const unzip = spawnSync('unzip', ['-q', '-o', rawZip, '-d', path.join(scratch, `raw-${n}`)]);
      const rawSeconds = seconds(r0);
      if (unzip.status !== 0) throw new Error(`unzip: ${unzip.stderr.toString()}`);
      fs.rmSync(out, { recursive: true, force: true });
      fs.rmSync(path.join(scratch, `raw-${n}`), { recursive: true, force: true });
      fs.rmSync(rawZip, { force: true });

      rows.push(
        [
          `N = ${n} (${(job.archive.size / 1e6).toFixed(1)} MB ZIP, job record ${(jobBytes / 1024).toFixed(1)} KiB)`,
          `  export worker   ${exportSeconds.toFixed(1).padStart(6)} s  ${(n / exportSeconds).toFixed(0).padStart(5)} documents/s   peak rise: RSS ${(rssRise / 1e6).toFixed(0)} MB, heap ${(heapRise / 1e6).toFixed(0)} MB   round trips / document: Cosmos ${(cosmosTrips / n).toFixed(3)}, blob ${(blobTrips / n).toFixed(3)}`,
          `                  CPU ms / document: this process ${cpuPerDoc('bench')}, Azurite ${cpuPerDoc('azurite')}, Cosmos server ${cpuPerDoc('cosmos')}`,
          `  peer: SDK read + yazl, same renditions ${peerSeconds.toFixed(1).padStart(5)} s  ${(n / peerSeconds).toFixed(0).padStart(5)} documents/s   (worker / peer ${((peerSeconds / exportSeconds) * 100).toFixed(0)} %)`,
          `  CLI download + unpack + verify ${cliSeconds.toFixed(1).padStart(6)} s  ${(n / cliSeconds).toFixed(0).padStart(5)} documents/s   RSS rise ${(cliRssRise / 1e6).toFixed(0).padStart(4)} MB`,
          `  peer: SDK download + unzip -q  ${rawSeconds.toFixed(1).padStart(6)} s  ${(n / rawSeconds).toFixed(0).padStart(5)} documents/s`,
        ].join('\n'),
      );
      console.error(rows[rows.length - 1]);
    }
    console.log(`\nfiscal-year export of N small documents (rendition ~3 KB each, no originals), one run each:\n`);
    console.log(rows.join('\n\n'));
    console.log('');
  } finally {
    clearInterval(sampler);
    fs.rmSync(scratch, { recursive: true, force: true });
    await services.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

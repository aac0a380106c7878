/**
 * `npm run bench:download`: single-file download throughput through the local host beside raw
 * Azurite reads of the same blob (same run), the `?delivery=redirect` path, export documents/s
 * for 1,000 documents, and peak memory. The host runs in its own process (bench/download-host.ts),
 * which also serves a bare relay: the ceiling for any server that streams bytes it does not hold.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { BlobSASPermissions, BlobServiceClient } from '@azure/storage-blob';
import { buildDeps } from '../shared/app';
import { loadConfig } from '../shared/config';
import { startAzurite, startCosmos } from '../local/emulators';
import { LOCAL_AUDIENCE, newSigningKey, startOidcIssuer } from '../local/oidc';
import { blobLayout } from '../shared/kernel/blob-layout';
import { seedDocument, seedMany } from '../test/support/seed';

const CORPUS = path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'corpus');
const FILE_MB = Number(process.env.BENCH_FILE_MB ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const LARGE_MB = Number(process.env.BENCH_LARGE_FILE_MB ?? 256);
const EXPORT_DOCS = Number(process.env.BENCH_EXPORT_DOCS ?? 1000);
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);

async function drain(body: ReadableStream<Uint8Array> | NodeJS.ReadableStream): Promise<number> {
  let n = 0;
  for await (const chunk of body as AsyncIterable<Uint8Array>) n += chunk.length;
  return n;
}

async function timed(fn: () => Promise<number>): Promise<{ seconds: number; bytes: number }> {
  const t = process.hrtime.bigint();
  const bytes = await fn();
  return { seconds: Number(process.hrtime.bigint() - t) / 1e9, bytes };
}

const mbps = (r: { seconds: number; bytes: number }) => r.bytes / r.seconds / 1e6;
const best = (xs: number[]) => Math.max(...xs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const [azurite, cosmos, oidc] = await Promise.all([startAzurite(), startCosmos(), startOidcIssuer(await newSigningKey())]);
  const env = {
    STORAGE_CONNECTION_STRING: azurite.connectionString, COSMOS_ENDPOINT: cosmos.endpoint, COSMOS_KEY: cosmos.key, AUTH_ISSUER: oidc.issuer, AUTH_AUDIENCE: LOCAL_AUDIENCE, AUTH_JWKS_URI: oidc.jwksUri, ARCHIVE_WORM: 'emulator',
    // The streamed path is what is measured: the default cap would answer the BENCH_FILE_MB file with a link.
    ARCHIVE_STREAMED_ANSWER_MAX_BYTES: String(Math.max(16, FILE_MB) * 1024 * 1024),
  };
  // The host runs in its own process (as in production); this process is the client and seeds through its own deps.
  const child = spawn(process.execPath, [path.join(__dirname, 'download-host.js')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let childOut = '';
  const host = {
    url: await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        childOut += d.toString();
        const m = /READY (\S+)/.exec(childOut);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`host exited ${code}`)));
    }),
    stop: () =>
      new Promise<number>((resolve) => {
        child.once('exit', () => resolve(Number(/MAXRSS (\d+)/.exec(childOut)?.[1] ?? 0)));
        child.kill('SIGTERM');
      }),
  };
  const relayUrl = /RELAY (\S+)/.exec(childOut)![1]!;
  const deps = await buildDeps(loadConfig(env), { log: quiet });
  const tenant = 'bench-download';
  const auth = { Authorization: `Bearer ${await oidc.mint({ tenant, sub: 'bench', rights: 'archivist' })}` };

  // One large original written straight to the blob store + catalog.
  const big = randomBytes(FILE_MB * 1024 * 1024);
  const doc = await seedDocument(deps, tenant, { metadata: { documentDate: '2023-06-30', kind: 'contract' }, original: big, originalType: 'application/pdf', fileName: 'big.pdf' });
  const raw = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(blobLayout.documentsContainer(tenant)).getBlobClient(doc.original.blobName);

  // Raw reads: the same Node http client as every other line, straight at Azurite (account-key SAS), no SDK in between.
  const rawUrl = await raw.generateSasUrl({ permissions: BlobSASPermissions.parse('r'), expiresOn: new Date(Date.now() + 3600_000) });
  const archive: number[] = [];
  const direct: number[] = [];
  const relay: number[] = [];
  const redirect: number[] = [];
  const httpGet = (url: string, headers: Record<string, string> = {}) =>
    timed(
      () =>
        new Promise<number>((resolve, reject) => {
          http
            .get(url, { headers }, (res) => {
              if (res.statusCode !== 200) reject(new Error(`GET ${url}: ${res.statusCode}`));
              drain(res).then(resolve, reject);
            })
            .on('error', reject);
        }),
    );
  // 303 from the archive (credential, catalog, audit entry, SAS), then the bytes from storage with the same client as raw.
  const viaRedirect = async (id: string) => {
    const t = process.hrtime.bigint();
    const res = await fetch(`${host.url}/documents/${id}/original?delivery=redirect`, { headers: auth, redirect: 'manual' });
    if (res.status !== 303) throw new Error(`redirect ${res.status}`);
    const got = await httpGet(res.headers.get('location')!);
    return { seconds: Number(process.hrtime.bigint() - t) / 1e9, bytes: got.bytes };
  };
  for (let i = 0; i < ROUNDS; i++) {
    // Alternate which goes first so neither always gets the warmer cache.
    // Every side reads with the same Node http client, so the client is not what differs.
    const viaHost = () => httpGet(`${host.url}/documents/${doc.id}/original`, auth);
    const viaAzurite = () => httpGet(rawUrl);
    const a = i % 2 ? await viaAzurite() : await viaHost();
    const b = i % 2 ? await viaHost() : await viaAzurite();
    archive.push(mbps(i % 2 ? b : a));
    direct.push(mbps(i % 2 ? a : b));
    relay.push(mbps(await httpGet(`${relayUrl}/${blobLayout.documentsContainer(tenant)}/${encodeURIComponent(doc.original.blobName)}`)));
    redirect.push(mbps(await viaRedirect(doc.id)));
  }

  // The redirect path on a large file, where the one request to the archive weighs little.
  const large = randomBytes(LARGE_MB * 1024 * 1024);
  const largeDoc = await seedDocument(deps, tenant, { metadata: { documentDate: '2023-06-30', kind: 'contract' }, original: large, originalType: 'application/pdf', fileName: 'large.pdf' });
  const largeRaw = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(blobLayout.documentsContainer(tenant)).getBlobClient(largeDoc.original.blobName);
  const largeRedirect: number[] = [];
  const largeDirect: number[] = [];
  for (let i = 0; i < 3; i++) {
    const largeRawUrl = await largeRaw.generateSasUrl({ permissions: BlobSASPermissions.parse('r'), expiresOn: new Date(Date.now() + 3600_000) });
    const viaAzurite = async () => mbps(await httpGet(largeRawUrl));
    const viaLink = async () => mbps(await viaRedirect(largeDoc.id));
    if (i % 2) {
      largeDirect.push(await viaAzurite());
      largeRedirect.push(await viaLink());
    } else {
      largeRedirect.push(await viaLink());
      largeDirect.push(await viaAzurite());
    }
  }

  // Fixed cost of one request (credential, catalog read, audit entry): a one-byte range.
  const oneByte: number[] = [];
  for (let i = 0; i < 20; i++) {
    oneByte.push((await timed(async () => drain((await fetch(`${host.url}/documents/${doc.id}/original`, { headers: { ...auth, Range: 'bytes=0-0' } })).body!))).seconds * 1000);
  }

  // Export of EXPORT_DOCS documents (rendition + a ~200 KB JPEG original each).
  const jpeg = fs.readFileSync(path.join(CORPUS, 'ocrmypdf', 'baiona_color.jpg'));
  const exportTenant = 'bench-export';
  await seedMany(
    deps,
    exportTenant,
    Array.from({ length: EXPORT_DOCS }, (_, i) => ({
      metadata: { documentDate: `2024-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`, kind: 'receipt' as const, counterparty: `Shop ${i % 40}` },
      original: Buffer.concat([jpeg, Buffer.from(`bench-${i}`)]),
    })),
    16,
  );
  const exportAuth = { Authorization: `Bearer ${await oidc.mint({ tenant: exportTenant, sub: 'bench', rights: 'accountant' })}`, 'Content-Type': 'application/json' };
  const rssBeforeExport = process.memoryUsage().rss;
  peakRss = rssBeforeExport;
  const t0 = process.hrtime.bigint();
  const started = (await (await fetch(`${host.url}/exports`, { method: 'POST', headers: exportAuth, body: JSON.stringify({ fiscalYear: 2024, includeOriginals: true }) })).json()) as { id: string };
  let job: { status: string; progress: { documents: number; bytes: number }; archive?: { size: number } };
  do {
    await new Promise((r) => setTimeout(r, 100));
    job = (await (await fetch(`${host.url}/exports/${started.id}`, { headers: exportAuth })).json()) as typeof job;
  } while (job.status === 'running');
  const exportSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (job.status !== 'completed') throw new Error(`export ${job.status}`);
  const exportPeak = peakRss;

  const ratio = median(archive) / median(direct);
  const relayRatio = median(relay) / median(direct);
  console.log(`\nsingle file of ${FILE_MB} MiB, ${ROUNDS} rounds each, same run (median / best):\n`);
  console.log(`  archive download (GET …/original)        ${median(archive).toFixed(0).padStart(6)} / ${best(archive).toFixed(0).padStart(6)} MB/s`);
  console.log(`  raw Azurite read of the same blob        ${median(direct).toFixed(0).padStart(6)} / ${best(direct).toFixed(0).padStart(6)} MB/s`);
  console.log(`  ?delivery=redirect (303 + SAS read)      ${median(redirect).toFixed(0).padStart(6)} / ${best(redirect).toFixed(0).padStart(6)} MB/s`);
  console.log(`  bare relay, no archive logic (ceiling)   ${median(relay).toFixed(0).padStart(6)} / ${best(relay).toFixed(0).padStart(6)} MB/s`);
  console.log(`  archive / raw (median)                   ${(ratio * 100).toFixed(0).padStart(6)} %   (bare relay / raw ${(relayRatio * 100).toFixed(0)} %; archive / bare relay ${((median(archive) / median(relay)) * 100).toFixed(0)} %)`);
  console.log(`  ${`?delivery=redirect, ${LARGE_MB} MiB file`.padEnd(41)}${median(largeRedirect).toFixed(0).padStart(6)} / ${best(largeRedirect).toFixed(0).padStart(6)} MB/s   (raw read of it ${median(largeDirect).toFixed(0)} MB/s: ${((median(largeRedirect) / median(largeDirect)) * 100).toFixed(0)} %)`);
  console.log(`  one-byte range through the archive       ${median(oneByte).toFixed(1).padStart(6)} ms median (fixed cost a request)`);
  console.log(`\nexport of ${EXPORT_DOCS} documents (rendition + original each, ${(job.archive!.size / 1e6).toFixed(1)} MB ZIP):`);
  console.log(`  ${(EXPORT_DOCS / exportSeconds).toFixed(0)} documents/s, ${(job.archive!.size / exportSeconds / 1e6).toFixed(1)} MB/s, ${exportSeconds.toFixed(1)} s`);
  const hostMaxRss = await host.stop();
  console.log(`\nmemory:`);
  console.log(`  host process peak RSS (resourceUsage maxRSS, whole run incl. the export) ${(hostMaxRss / 1024).toFixed(0)} MB`);
  console.log(`  bench/client process: RSS before export ${(rssBeforeExport / 1e6).toFixed(0)} MB, peak during export ${(exportPeak / 1e6).toFixed(0)} MB\n`);

  clearInterval(sampler);
  await Promise.all([oidc.stop(), cosmos.stop(), azurite.stop()]);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

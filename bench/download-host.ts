/**
 * The archive host as its own process for `npm run bench:download` (as in production, where the
 * client is not in the server's process). Environment from the parent; prints `READY <url>`, and
 * its peak RSS (`MAXRSS <kB>`) when told to stop.
 *
 * The same process also serves a bare relay (`RELAY <url>`): `GET /<container>/<blob>` pipes the
 * blob from storage to the client with no archive logic at all. It is the ceiling for any server
 * that streams bytes it does not hold, so the bench can show what the archive's own work costs.
 *
 * The relay also answers `POST /floor/<name>`: the ingest floor's writes (rendition, original and
 * manifest blob creates, catalog and audit Cosmos creates) of the posted bytes, from this process, with
 * no archive logic: what ingest costs at the least once the upload has to cross HTTP to a server.
 *
 * Round trips, on stdin: `TRIPS` answers `TRIPS <n>`, the http(s) client requests this process has
 * issued so far (the SDKs use node's http client), so `npm run bench` can count them per request;
 * gathered validation requests are sent first, so their queue messages count too.
 *
 * CPU, on stdin: `PROFILE` starts the V8 profiler on this process's main thread (answers `PROFILING`),
 * `PROFILE-END <file>` stops it and writes the profile there (answers `PROFILED`).
 *
 * Memory, on stdin (for `npm run bench`'s large upload): `MARK` collects garbage (with --expose-gc),
 * takes the idle RSS as the baseline and samples RSS every 2 ms from then on; `PEAK` answers
 * `PEAK <peak rise in bytes> <baseline in bytes>`, the peak being the larger of the samples and the
 * kernel's high-water mark (maxRSS) when that rose after MARK.
 */
import * as diagnostics from 'node:diagnostics_channel';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { Session } from 'node:inspector/promises';
import { BlobServiceClient } from '@azure/storage-blob';
import { startArchiveHost } from '../local/archive-host';
import { listen } from '../local/emulators';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

let roundTrips = 0;
diagnostics.subscribe('http.client.request.start', () => void roundTrips++);

/**
 * BENCH_TRACE=1: for every archive request served, prints (stderr) when each SDK call it caused
 * started and ended, relative to its arrival: where one request's latency goes (1 concurrent only).
 */
if (process.env.BENCH_TRACE === '1') {
  const t0 = () => Number(process.hrtime.bigint()) / 1e6;
  let arrived = 0;
  let lines: string[] = [];
  const calls = new WeakMap<object, { at: number; what: string }>();
  diagnostics.subscribe('http.server.request.start', (m) => {
    const { request } = m as { request: http.IncomingMessage };
    arrived = t0();
    lines = [`${request.method} ${request.url?.slice(0, 40)}`];
  });
  diagnostics.subscribe('http.client.request.start', (m) => {
    const { request } = m as { request: http.ClientRequest };
    calls.set(request, { at: t0(), what: `${request.method} ${request.path.replace(/\?.*/, '').slice(0, 70)}` });
  });
  diagnostics.subscribe('http.client.response.finish', (m) => {
    const { request, response } = m as { request: http.ClientRequest; response: http.IncomingMessage };
    const c = calls.get(request);
    if (c) lines.push(`  ${(c.at - arrived).toFixed(1).padStart(6)} → ${(t0() - arrived).toFixed(1).padStart(6)} ms  ${response.statusCode} ${c.what}`);
  });
  diagnostics.subscribe('http.server.response.finish', () => {
    lines.push(`  answered at ${(t0() - arrived).toFixed(1)} ms`);
    process.stderr.write(lines.join('\n') + '\n');
  });
}

async function main() {
  const host = await startArchiveHost({ env: process.env, log: quiet });
  const service = BlobServiceClient.fromConnectionString(process.env.STORAGE_CONNECTION_STRING!);
  const floorBlobs = service.getContainerClient('floor-bench');
  await floorBlobs.createIfNotExists();
  const relay = http.createServer((req, res) => {
    if (req.method === 'POST') return void floorBehindHttp(req, res);
    const [, container, ...blob] = (req.url ?? '/').split('/');
    service
      .getContainerClient(container!)
      .getBlobClient(decodeURIComponent(blob.join('/')))
      .download()
      .then((d) => {
        res.writeHead(200, { 'Content-Length': String(d.contentLength) });
        d.readableStreamBody!.pipe(res);
      })
      .catch(() => res.writeHead(502).end());
  });
  async function floorBehindHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const bytes = Buffer.concat(chunks);
      const name = decodeURIComponent((req.url ?? '').slice('/floor/'.length));
      await floorBlobs.getBlockBlobClient(`${name}/rendition.pdf`).upload(bytes, bytes.length, { conditions: { ifNoneMatch: '*' } });
      await floorBlobs.getBlockBlobClient(`${name}/original.jpg`).upload(bytes, bytes.length, { conditions: { ifNoneMatch: '*' } });
      await floorBlobs.getBlockBlobClient(`${name}/manifest.json`).upload('{}', 2, { conditions: { ifNoneMatch: '*' } });
      await host.deps.cosmos.documents.items.create({ id: name, tenantId: 'floor-relay', type: 'floor' });
      await host.deps.cosmos.documents.items.create({ id: `${name}-audit`, tenantId: 'floor-relay', type: 'floor' });
      res.writeHead(201).end('{}');
    } catch {
      res.writeHead(502).end();
    }
  }
  const relayPort = await listen(relay, 0);
  process.stdout.write(`RELAY http://127.0.0.1:${relayPort}\nREADY ${host.url}\n`);
  let baseline = 0;
  let peak = 0;
  let maxRssAtMark = 0;
  let sampler: NodeJS.Timeout | undefined;
  const sample = () => (peak = Math.max(peak, process.memoryUsage.rss()));
  let input = '';
  process.stdin.on('data', (d: Buffer) => {
    input += d.toString();
    for (let nl = input.indexOf('\n'); nl >= 0; nl = input.indexOf('\n')) {
      const command = input.slice(0, nl).trim();
      input = input.slice(nl + 1);
      if (command === 'PROFILE') {
        void startProfile().then(() => process.stdout.write('PROFILING\n'));
      } else if (command.startsWith('PROFILE-END ')) {
        void endProfile(command.slice('PROFILE-END '.length)).then(() => process.stdout.write('PROFILED\n'));
      } else if (command === 'TRIPS') {
        // Validation requests gathered during a run go out first: their messages are that run's trips.
        void host.deps.validationRequests.flush().then(() => process.stdout.write(`TRIPS ${roundTrips}\n`));
      } else if (command === 'MARK') {
        (globalThis as { gc?: () => void }).gc?.();
        clearInterval(sampler);
        baseline = peak = process.memoryUsage.rss();
        maxRssAtMark = process.resourceUsage().maxRSS * 1024;
        sampler = setInterval(sample, 2);
      } else if (command === 'PEAK') {
        sample();
        const maxRss = process.resourceUsage().maxRSS * 1024;
        const highest = maxRss > maxRssAtMark ? Math.max(peak, maxRss) : peak;
        process.stdout.write(`PEAK ${highest - baseline} ${baseline}\n`);
      }
    }
  });
  process.on('SIGTERM', () => {
    clearInterval(sampler);
    process.stdin.destroy();
    relay.close();
    void host.stop().finally(() => {
      process.stdout.write(`MAXRSS ${process.resourceUsage().maxRSS}\n`, () => process.exit(0));
    });
  });
}

const profiler = new Session();
async function startProfile(): Promise<void> {
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.start');
}
async function endProfile(file: string): Promise<void> {
  const { profile } = await profiler.post('Profiler.stop');
  profiler.disconnect();
  fs.writeFileSync(file, JSON.stringify(profile));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

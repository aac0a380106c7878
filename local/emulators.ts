/**
 * Local stand-ins for the Azure services, shared by `npm start`, the test setup and
 * the benchmarks: Azurite (Blob and Queue), the Cosmos DB protocol server, and an OIDC issuer.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
// Before the server's own modules load: its batch handler is wrapped to be all or nothing, as Cosmos DB's is.
import './cosmos-atomic-batch';
import { createHttpServer } from '@vercel/cosmosdb-server';
import { BlobServiceClient } from '@azure/storage-blob';
import { CosmosJournal } from './cosmos-journal';
import { CONTAINER_SPECS } from '../shared/adapters/azure/cosmos';

/** The emulators' published development credentials (not secrets). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
export const COSMOS_EMULATOR_KEY = 'C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==';

export interface Running {
  stop: () => Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  server.close();
  await once(server, 'close');
  return port;
}

export async function listen(server: http.Server, port: number): Promise<number> {
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}

export interface AzuriteOptions {
  port?: number;
  /** Directory for durable data; in memory when absent (tests). */
  location?: string;
  queuePort?: number;
  /** Extra node arguments for the Azurite processes (benches: `--require` bench/azurite-index-patch). */
  nodeArgs?: string[];
}

export async function startAzurite(opts: AzuriteOptions = {}): Promise<Running & { connectionString: string; port: number; queuePort: number; pid: number; queuePid: number }> {
  // Blob (documents) and Queue (rendition validation requests): one Azurite process each.
  const blob = await startAzuriteService('blob', opts.port ?? (await freePort()), opts.location, opts.nodeArgs);
  const queue = await startAzuriteService('queue', opts.queuePort ?? (await freePort()), opts.location, opts.nodeArgs).catch(async (err: unknown) => {
    await blob.stop();
    throw err;
  });
  return {
    port: blob.port,
    queuePort: queue.port,
    pid: blob.pid,
    queuePid: queue.pid,
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
      `BlobEndpoint=http://127.0.0.1:${blob.port}/${AZURITE_ACCOUNT};QueueEndpoint=http://127.0.0.1:${queue.port}/${AZURITE_ACCOUNT};`,
    stop: async () => {
      await Promise.all([blob.stop(), queue.stop()]);
    },
  };
}

/**
 * The blob service CORS rule the web app needs, as infra/main.bicep sets it on the archive account: a download
 * above ARCHIVE_STREAMED_ANSWER_MAX_BYTES is answered 303 to a blob link, and the app's fetch follows it across
 * origins. GET and HEAD only; the headers the app reads exposed. Authorization is not an allowed request header:
 * a browser that kept the API's token on the redirect fails the preflight rather than hand the token to storage.
 */
export const WEB_DOWNLOAD_CORS = {
  allowedMethods: 'GET,HEAD',
  allowedHeaders: 'range,if-range,if-match,if-none-match',
  exposedHeaders: 'content-length,content-range,content-disposition,etag,content-md5,x-ms-*',
  maxAgeInSeconds: 3600,
} as const;

/**
 * Lets the web app served from `origins` read download links from Azurite (a local emulator only: never call it
 * with a real account's connection string). Origins already allowed stay allowed, so hosts sharing one Azurite
 * (tests) each add their own. Service properties have no ETag to write them conditionally: two hosts adding at
 * once may each write over the other's read, so the rule is read back and written again until it names ours.
 */
export async function allowWebOriginsOnAzurite(connectionString: string, origins: string[]): Promise<void> {
  const service = BlobServiceClient.fromConnectionString(connectionString);
  const wanted = origins.map((o) => new URL(o).origin);
  const isOurs = (r: { allowedMethods: string; exposedHeaders: string }) => r.allowedMethods === WEB_DOWNLOAD_CORS.allowedMethods && r.exposedHeaders === WEB_DOWNLOAD_CORS.exposedHeaders;
  for (let attempt = 1; ; attempt++) {
    const current = (await service.getProperties()).cors ?? [];
    const ours = current.find(isOurs);
    const allowed = new Set(ours?.allowedOrigins.split(',') ?? []);
    if (wanted.every((o) => allowed.has(o))) return;
    if (attempt > 10) throw new Error(`Azurite's CORS rule still lacks ${wanted.filter((o) => !allowed.has(o)).join(', ')} after ${attempt - 1} writes`);
    for (const o of wanted) allowed.add(o);
    await service.setProperties({ cors: [...current.filter((r) => r !== ours), { ...WEB_DOWNLOAD_CORS, allowedOrigins: [...allowed].join(',') }] });
    // Apart from a concurrent writer before reading back, so the two do not keep overwriting each other in step.
    await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
  }
}

async function startAzuriteService(service: 'blob' | 'queue', port: number, location: string | undefined, nodeArgs: string[] = []): Promise<Running & { port: number; pid: number }> {
  const main = path.join(path.dirname(require.resolve('azurite/package.json')), `dist/src/${service}/main.js`);
  const args = [...nodeArgs, main, `--${service}Host`, '127.0.0.1', `--${service}Port`, String(port), '--loose', '--skipApiVersionCheck', '--disableTelemetry', '--silent'];
  args.push(...(location ? ['--location', location] : ['--inMemoryPersistence']));
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Azurite (${service}) did not start on port ${port}:\n${output}`)), 30_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (/successfully listens/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Azurite (${service}) exited with ${code}:\n${output}`));
    });
  });
  child.stdout!.resume();
  child.stderr!.resume();
  return {
    port,
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/**
 * The Cosmos DB protocol server keeps everything in memory. With `dataDir` every write is
 * journaled and fsync'ed before it is acknowledged, and the data is restored on start
 * (local/cosmos-journal.ts); without it (tests, benches) nothing is kept.
 */
export async function startCosmos(opts: { port?: number; dataDir?: string } = {}): Promise<Running & { endpoint: string; key: string; restoredEntries: number }> {
  // The server answers `Connection: close` unless told otherwise, so every SDK call paid a new
  // connection. The SDK's default http agent already keeps alive (a custom `agent` would be
  // refused for plain http: the SDK only sets allowInsecureConnection with its own agent).
  const server = createHttpServer({ keepAlive: true });
  // The SDK's agent keeps idle sockets without a timeout of its own; with Node's 5 s server default a
  // socket the server is closing can be picked for the next request ("socket hang up"). Idle sockets
  // are kept far longer than any pause between calls, so that race needs a 10-minute idle client.
  server.keepAliveTimeout = 10 * 60_000;
  const journal = opts.dataDir ? new CosmosJournal({ dir: opts.dataDir, indexingPolicies: Object.fromEntries(Object.entries(CONTAINER_SPECS).map(([id, spec]) => [id, spec.indexingPolicy])) }) : null;
  journal?.attach(server);
  const port = await listen(server, opts.port ?? 0);
  const endpoint = `http://127.0.0.1:${port}`;
  const restoredEntries = journal ? await journal.restore(endpoint) : 0;
  return {
    endpoint,
    key: COSMOS_EMULATOR_KEY,
    restoredEntries,
    stop: async () => {
      await journal?.close(); // folds the journal into the snapshot while the server still answers
      await closeServer(server);
    },
  };
}

/**
 * What the ingest benches share: the archive host, the Cosmos server and Azurite each in a process
 * of their own (as `npm start` runs them, minus timers and persistence), and distinct scans of one
 * corpus JPEG.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { COSMOS_EMULATOR_KEY, startAzurite } from '../local/emulators';
import { buildDeps, type AzureDeps } from '../shared/app';
import { loadConfig } from '../shared/config';
import { LOCAL_AUDIENCE, newSigningKey, startOidcIssuer } from '../local/oidc';
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { paddedJpeg } from '../test/support/large-jpeg';

export const CORPUS = path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'corpus');
export const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * Node arguments that preload bench/azurite-index-patch into a bench's Azurite (indexed lookups
 * instead of scans; see there), unless BENCH_AZURITE_PATCH=0. Both sides of a comparison get it.
 */
export const azuriteIndexPatch: string[] = process.env.BENCH_AZURITE_PATCH === '0' ? [] : ['--require', path.join(__dirname, 'azurite-index-patch.js')];

/** The bench scan: a 128 KiB baseline colour JPEG from the corpus. */
export const BENCH_SCAN = fs.readFileSync(path.join(CORPUS, 'ocrmypdf', 'baiona_color.jpg'));

/**
 * Distinct bytes per scan (duplicates are refused, and so is data after the JPEG's end): the tag,
 * and `padding` spaces if asked, in comment (COM) segments right after SOI.
 */
export function taggedScan(tag: string, padding = 0, base: Buffer = BENCH_SCAN): Buffer {
  return paddedJpeg(base, tag, padding);
}

/** A bench process of our own (the host, the Cosmos server): commands on stdin, lines on stdout. */
export interface BenchProcess {
  pid: number;
  send(command: string): void;
  /** The next stdout match of `re` (output before it is consumed). */
  waitFor(re: RegExp): Promise<RegExpExecArray>;
  stop(): Promise<void>;
}

export function spawnBenchProcess(script: string, env: NodeJS.ProcessEnv, nodeArgs: string[] = []): BenchProcess {
  const child = spawn(process.execPath, [...nodeArgs, path.join(__dirname, script)], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => void (out += d.toString()));
  return {
    pid: child.pid!,
    send: (command) => void child.stdin.write(`${command}\n`),
    waitFor: (re) =>
      new Promise<RegExpExecArray>((resolve, reject) => {
        const check = () => {
          const m = re.exec(out);
          if (!m) return;
          out = out.slice(m.index + m[0].length);
          child.stdout.off('data', check);
          child.off('exit', onExit);
          resolve(m);
        };
        const onExit = (code: number | null) => reject(new Error(`${script} exited ${code}`));
        child.stdout.on('data', check);
        child.once('exit', onExit);
        check();
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export interface CpuByProcess {
  bench: number;
  host: number;
  azurite: number;
  cosmos: number;
}

/** CPU time (ms) a process has used, from /proc (Linux; USER_HZ is 100 ticks a second); NaN elsewhere. */
export function cpuMsOf(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/**
 * The servers a bench host runs against, each in a process of its own (Azurite with the index
 * patch, the Cosmos protocol server) plus the OIDC issuer, and the host's environment for them.
 */
export async function startBenchEmulators(): Promise<{
  cosmos: BenchProcess;
  azurite: Awaited<ReturnType<typeof startAzurite>>;
  oidc: Awaited<ReturnType<typeof startOidcIssuer>>;
  /** An archive host's environment against these servers (emulator WORM). */
  env: Record<string, string>;
}> {
  const cosmos = spawnBenchProcess('cosmos-host.js', {});
  const [azurite, oidc, endpoint] = await Promise.all([startAzurite({ nodeArgs: azuriteIndexPatch }), startOidcIssuer(await newSigningKey()), cosmos.waitFor(/READY (\S+)\n/).then((m) => m[1]!)]);
  const env = { STORAGE_CONNECTION_STRING: azurite.connectionString, COSMOS_ENDPOINT: endpoint, COSMOS_KEY: COSMOS_EMULATOR_KEY, AUTH_ISSUER: oidc.issuer, AUTH_AUDIENCE: LOCAL_AUDIENCE, AUTH_JWKS_URI: oidc.jwksUri, ARCHIVE_WORM: 'emulator' };
  return { cosmos, azurite, oidc, env };
}

/**
 * `npm run bench`'s set-up, as on Azure: Azurite, the Cosmos protocol server and the archive host
 * each in a process of their own, so the bench (client and floor) and the host reach the same
 * servers over HTTP and none competes with another's event loop. `profile(file)` records a CPU
 * profile of the host process's main thread until the returned stop is called (a measured run only,
 * not start-up or warm-up); `node dist/bench/cpu-top.js <file>` lists its top functions.
 */
export async function startBenchServices(): Promise<{
  hostUrl: string;
  /** The host process's bare relay (bench/download-host.ts), e.g. `POST /floor/<name>`. */
  relayUrl: string;
  host: BenchProcess;
  /** The bench's own ports on the same servers: seeding and the floor. */
  deps: AzureDeps;
  env: NodeJS.ProcessEnv;
  azurite: Awaited<ReturnType<typeof startAzurite>>;
  oidc: Awaited<ReturnType<typeof startOidcIssuer>>;
  /** SDK round trips the host process has issued so far. */
  roundTrips(): Promise<number>;
  /** CPU time (ms, user + system) each process has used so far: this bench, the host, Azurite (blob and queue), the Cosmos server. */
  cpu(): CpuByProcess;
  /** Starts a CPU profile of the host's main thread; the returned function stops it and writes it to `file`. */
  profile(file: string): Promise<() => Promise<void>>;
  stop(): Promise<void>;
}> {
  const { cosmos, azurite, oidc, env } = await startBenchEmulators();
  const host = spawnBenchProcess('download-host.js', env, ['--expose-gc']);
  const relayUrl = (await host.waitFor(/RELAY (\S+)\n/))[1]!;
  const hostUrl = (await host.waitFor(/READY (\S+)\n/))[1]!;
  const deps = await buildDeps(loadConfig(env), { log: quiet });
  return {
    hostUrl,
    relayUrl,
    host,
    deps,
    env,
    azurite,
    oidc,
    cpu: () => {
      const own = process.cpuUsage(); // one reading: user and system of the same moment
      return { bench: (own.user + own.system) / 1000, host: cpuMsOf(host.pid), azurite: cpuMsOf(azurite.pid) + cpuMsOf(azurite.queuePid), cosmos: cpuMsOf(cosmos.pid) };
    },
    roundTrips: async () => {
      host.send('TRIPS');
      return Number((await host.waitFor(/TRIPS (\d+)\n/))[1]);
    },
    profile: async (file) => {
      host.send('PROFILE');
      await host.waitFor(/PROFILING\n/);
      return async () => {
        host.send(`PROFILE-END ${file}`);
        await host.waitFor(/PROFILED\n/);
      };
    },
    stop: async () => {
      await host.stop();
      await deps.normaliser.close();
      await Promise.all([oidc.stop(), cosmos.stop(), azurite.stop()]);
    },
  };
}

/** A baseline colour JPEG of noise of about `bytes` (sharp, quality 90): a scan's size without a scan's file. */
export async function noiseJpeg(bytes: number): Promise<Buffer> {
  const make = (side: number) => sharp(randomBytes(side * side * 3), { raw: { width: side, height: side, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
  let side = 500;
  let jpeg = await make(side);
  for (let i = 0; i < 3; i++) jpeg = await make((side = Math.round(side * Math.sqrt(bytes / jpeg.length))));
  return jpeg;
}

import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { ArchiveError } from '../kernel/errors';
import type { SpooledFile } from '../ports';
import { normalise } from './index';
import { NormaliseInput, NormaliseResult } from './types';
import type { NormaliseOutcome, NormaliseTask } from './worker';

/** What ingest needs from the normaliser: `normalise()`'s signature, wherever it runs. */
export interface Normaliser {
  /** `owner`: whose upload it is (the tenant); owners take turns at the workers. */
  normalise(input: NormaliseInput, owner?: string): Promise<NormaliseResult>;
  /** `normaliseToFile()`: the rendition written to `renditionPath` (for spooled uploads); the caller removes it. */
  normaliseToFile(input: NormaliseInput, renditionPath: string, owner?: string): Promise<NormaliseResult<SpooledFile>>;
  close(): Promise<void>;
}

export interface NormaliserPoolOptions {
  /** Worker threads; default: the machine's cores. */
  threads?: number;
  /** Longest one job may run in its worker; the worker is then terminated. */
  timeoutMs: number;
  /** The JavaScript heap a worker may use (MiB); a job that needs more has its worker terminated. Default: node's. */
  heapMb?: number;
  /** In-memory JPEG uploads up to this many bytes in all are converted on the calling thread (0: never). */
  inlineJpegBytes?: number;
  /** How long a worker beyond the first may idle before it exits; default 60 s. */
  idleTimeoutMs?: number;
}

/**
 * A JPEG is never decoded: it is passed through into the rendition or refused from its headers. Its
 * conversion is a walk over its markers and a copy, bounded by its size (~1 ms for 128 KiB, ~4 ms
 * for 2 MiB), and handing it to a worker thread cost the host more CPU than that (~2 ms an upload
 * at 128 KiB, 3–4 ms at 660 KB: `npm run bench:inline-jpeg`). So a small in-memory JPEG upload is
 * converted on the calling thread; every other upload, which may be decoded (PNG, TIFF, PDF) or is
 * large, goes to a worker.
 */
function isSmallJpegUpload(input: NormaliseInput, limit: number): boolean {
  let total = 0;
  for (const f of input.files) {
    if (!f.bytes || f.bytes[0] !== 0xff || f.bytes[1] !== 0xd8 || f.bytes[2] !== 0xff) return false;
    total += f.bytes.length;
  }
  return input.files.length > 0 && total <= limit;
}

/**
 * Who gets the next free worker. One deployment serves every tenant, and the pool's own queue is first come,
 * first served: a tenant that sent a pile of slow but allowed conversions at once (the largest PNGs and TIFFs
 * to re-compress) put every other tenant's upload behind all of them, and the timeout only counts from when a
 * worker starts a job, so such an upload waited a conversion time per job ahead of it, past the functions'
 * timeout. Here jobs wait per owner, and a freed worker goes to the waiting owner with the fewest jobs running, then
 * to the one served longest ago: another
 * tenant's upload waits for the conversions under way, not for the pile.
 */
export class TakingTurns {
  private running = 0;
  private served = 0;
  /** Owners with jobs running or waiting: how many run, who waits, and when the owner was last given a worker. */
  private readonly owners = new Map<string, { running: number; waiting: (() => void)[]; servedAt: number }>();

  constructor(private readonly slots: number) {}

  /** Resolves when the job may go to a worker; the caller calls `done` once the worker is finished with it. */
  async turn(owner: string): Promise<{ done: () => void }> {
    let of = this.owners.get(owner);
    if (!of) this.owners.set(owner, (of = { running: 0, waiting: [], servedAt: 0 }));
    const mine = of;
    if (this.running < this.slots && ![...this.owners.values()].some((o) => o.waiting.length > 0)) this.start(mine);
    else await new Promise<void>((resolve) => mine.waiting.push(resolve));
    let once = false;
    return { done: () => {
      if (once) return;
      once = true;
      this.running--;
      mine.running--;
      if (mine.running === 0 && mine.waiting.length === 0) this.owners.delete(owner);
      this.next();
    } };
  }

  private start(of: { running: number; servedAt: number }): void {
    this.running++;
    of.running++;
    of.servedAt = ++this.served;
  }

  /** Free workers go to the waiting owner with the fewest jobs running, then the one served longest ago. */
  private next(): void {
    while (this.running < this.slots) {
      let pick: { running: number; waiting: (() => void)[]; servedAt: number } | undefined;
      for (const of of this.owners.values()) {
        if (of.waiting.length === 0) continue;
        if (!pick || of.running < pick.running || (of.running === pick.running && of.servedAt < pick.servedAt)) pick = of;
      }
      if (!pick) return;
      this.start(pick);
      pick.waiting.shift()!();
    }
  }
}

/** From `dist/` the compiled worker; from TypeScript sources (ts-jest) a bootstrap that transpiles on require. */
const WORKER_FILE = path.join(__dirname, __filename.endsWith('.ts') ? 'worker-ts.js' : 'worker.js');

/**
 * Decoding and re-compressing images is CPU-bound and synchronous in places: on the event loop it
 * would stall every other request (and `/health`). So each upload (but a small JPEG, see
 * isSmallJpegUpload) is converted in a worker thread of a bounded pool (piscina); a job past its timeout has its worker terminated (piscina replaces
 * it) and is refused with `normalisation_timeout`; one past its heap limit (`heapMb`) likewise, with `normalisation_memory`.
 */
export class NormaliserPool implements Normaliser {
  private pool: Piscina | undefined;
  private readonly turns: TakingTurns;

  constructor(private readonly opts: NormaliserPoolOptions) {
    this.turns = new TakingTurns(opts.threads ?? availableParallelism());
  }

  private workers(): Piscina {
    // Started on first use: hosts that never ingest (timers, CLI) start no threads. From then on
    // one worker stays, however long the host idles: a new one takes ~200 ms to load the normaliser,
    // which an upload that came alone (a receipt every few minutes) would otherwise pay every time.
    this.pool ??= new Piscina({
      filename: WORKER_FILE,
      maxThreads: this.opts.threads ?? availableParallelism(),
      minThreads: 1,
      idleTimeout: this.opts.idleTimeoutMs ?? 60_000,
      ...(this.opts.heapMb ? { resourceLimits: { maxOldGenerationSizeMb: this.opts.heapMb } } : {}),
    });
    return this.pool;
  }

  async normalise(input: NormaliseInput, owner = ''): Promise<NormaliseResult> {
    if (isSmallJpegUpload(input, this.opts.inlineJpegBytes ?? 0)) {
      // After this turn of the event loop: requests started just before (the duplicate check's
      // read) go out first, so the conversion overlaps their round trips instead of delaying them.
      await new Promise((resolve) => setImmediate(resolve));
      return normalise(input);
    }
    const r = (await this.run({ input }, owner)) as NormaliseResult<Uint8Array>;
    return { ...r, rendition: Buffer.from(r.rendition.buffer, r.rendition.byteOffset, r.rendition.byteLength) };
  }

  async normaliseToFile(input: NormaliseInput, renditionPath: string, owner = ''): Promise<NormaliseResult<SpooledFile>> {
    return (await this.run({ input, renditionPath }, owner)) as NormaliseResult<SpooledFile>;
  }

  /** One job at a time per free worker, owners taking turns (see TakingTurns); piscina's own queue stays empty. */
  private async run(job: Omit<NormaliseTask, 'started'>, owner: string): Promise<NormaliseResult<Uint8Array | SpooledFile>> {
    const { done } = await this.turns.turn(owner);
    try {
      return await this.runInWorker(job);
    } finally {
      done();
    }
  }

  private async runInWorker(job: Omit<NormaliseTask, 'started'>): Promise<NormaliseResult<Uint8Array | SpooledFile>> {
    const pool = this.workers();
    const abort = new AbortController();
    const { port1, port2 } = new MessageChannel();
    let timer: NodeJS.Timeout | undefined;
    // The clock starts when a worker takes the job: time spent waiting for a free worker is not the upload's fault.
    port1.once('message', () => {
      timer = setTimeout(() => abort.abort(), this.opts.timeoutMs);
    });
    const task: NormaliseTask = { ...job, started: port2 };
    let outcome: NormaliseOutcome;
    try {
      outcome = (await pool.run(task, { signal: abort.signal, transferList: [port2] })) as NormaliseOutcome;
    } catch (err) {
      if (abort.signal.aborted) {
        throw new ArchiveError('normalisation_timeout', {
          detail: `Converting the upload took longer than ${this.opts.timeoutMs} ms; it was stopped and nothing was stored.`,
          extensions: { timeoutMs: this.opts.timeoutMs },
          cause: err,
        });
      }
      // Node terminates a worker that reaches its heap limit (piscina replaces it): the upload's structure, not a fault.
      if ((err as { code?: unknown }).code === 'ERR_WORKER_OUT_OF_MEMORY') {
        throw new ArchiveError('normalisation_memory', {
          detail: `Converting the upload needed more than the ${this.opts.heapMb ?? 'default'} MiB of working memory a conversion may use (a file of very many parts); it was stopped and nothing was stored.`,
          extensions: { heapMb: this.opts.heapMb ?? null },
          cause: err,
        });
      }
      throw err;
    } finally {
      clearTimeout(timer);
      port1.close();
    }
    if (outcome.ok) return outcome.result;
    if (outcome.archiveError) {
      const { code, detail, extensions } = outcome.archiveError;
      throw new ArchiveError(code, { ...(detail !== undefined ? { detail } : {}), extensions });
    }
    const err = new Error(outcome.message);
    if (outcome.stack) err.stack = outcome.stack;
    throw err;
  }

  /** Worker threads running now: 0 until a worker is first needed, then at least 1. */
  get threadCount(): number {
    return this.pool?.threads.length ?? 0;
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.destroy();
  }
}

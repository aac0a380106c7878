import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import runNormaliseTask, { NormaliseOutcome } from '../../../shared/normalise/worker';
import { NormaliserPool } from '../../../shared/normalise/pool';
import { normalise } from '../../../shared/normalise';
import { corpus, input } from './helpers';

const SCAN = 'img2pdf/gray.png';

function task(bytes: Buffer) {
  const { port1, port2 } = new MessageChannel();
  port1.close();
  return { input: input([bytes]), started: port2 };
}

describe('the normaliser pool hands memory over instead of copying it', () => {
  it('the worker moves the rendition back (its ArrayBuffer is in the transfer list), it does not clone it', async () => {
    const moved = (await runNormaliseTask(task(corpus(SCAN)))) as unknown as Record<symbol, unknown>;
    expect(Piscina.transferableSymbol in moved).toBe(true);
    const outcome = moved[Piscina.valueSymbol] as NormaliseOutcome;
    if (!outcome.ok) throw new Error(outcome.message);
    const rendition = outcome.result.rendition as Buffer;
    expect(moved[Piscina.transferableSymbol]).toEqual([rendition.buffer]);
    expect(rendition.byteLength).toBe(rendition.buffer.byteLength);
  });

  it('an upload in shared memory reaches the worker as that memory, and the rendition equals the in-thread conversion', async () => {
    const bytes = corpus(SCAN);
    const shared = Buffer.from(new SharedArrayBuffer(bytes.length));
    bytes.copy(shared);
    const pool = new NormaliserPool({ threads: 1, timeoutMs: 60_000 });
    const run = jest.spyOn(Piscina.prototype, 'run');
    try {
      const result = await pool.normalise(input([shared]));
      const sent = run.mock.calls[0]![0] as { input: { files: { bytes: Buffer }[] } };
      expect(sent.input.files[0]!.bytes.buffer).toBe(shared.buffer);
      expect(result.rendition.equals((await normalise(input([bytes]))).rendition)).toBe(true);
      expect(shared.equals(bytes)).toBe(true);
    } finally {
      run.mockRestore();
      await pool.close();
    }
  });
});

describe('small JPEG uploads are converted on the calling thread', () => {
  const JPEG = corpus('img2pdf/normal.jpg');
  const PNG = corpus('img2pdf/normal.png');

  async function viaPool(files: Buffer[], inlineJpegBytes: number): Promise<{ usedWorker: boolean; outcome: Awaited<ReturnType<NormaliserPool['normalise']>> | { code: unknown } }> {
    const pool = new NormaliserPool({ threads: 1, timeoutMs: 60_000, inlineJpegBytes });
    const run = jest.spyOn(Piscina.prototype, 'run');
    try {
      const outcome = await pool.normalise(input(files)).catch((err: { code?: unknown }) => ({ code: err.code }));
      return { usedWorker: run.mock.calls.length > 0, outcome };
    } finally {
      run.mockRestore();
      await pool.close();
    }
  }

  it('a JPEG within the limit never reaches a worker, and its rendition is the worker\'s', async () => {
    const inline = await viaPool([JPEG], JPEG.length);
    const worker = await viaPool([JPEG], 0);
    expect([inline.usedWorker, worker.usedWorker]).toEqual([false, true]);
    expect((inline.outcome as { rendition: Buffer }).rendition.equals((worker.outcome as { rendition: Buffer }).rendition)).toBe(true);
  });

  it.each([
    ['a JPEG over the limit', () => [JPEG], JPEG.length - 1],
    ['a PNG (it may have to be decoded)', () => [PNG], 10 * PNG.length],
    ['a JPEG together with a PNG', () => [JPEG, PNG], 10 * (JPEG.length + PNG.length)],
  ])('%s goes to a worker', async (_, files, limit) => {
    expect((await viaPool(files(), limit)).usedWorker).toBe(true);
  });

  it('a corrupt JPEG is refused on the calling thread exactly as a worker refuses it', async () => {
    const cut = JPEG.subarray(0, Math.floor(JPEG.length / 2));
    const inline = await viaPool([cut], JPEG.length);
    const worker = await viaPool([cut], 0);
    expect(inline.usedWorker).toBe(false);
    expect(inline.outcome).toEqual({ code: 'corrupt_file' });
    expect(worker.outcome).toEqual(inline.outcome);
  });
});

describe('the pool keeps one worker warm', () => {
  it('no thread before a worker is needed; once started, one stays however long the pool idles', async () => {
    const pool = new NormaliserPool({ threads: 2, timeoutMs: 60_000, idleTimeoutMs: 20 });
    try {
      expect(pool.threadCount).toBe(0);
      const png = corpus('img2pdf/normal.png');
      await pool.normalise(input([png]));
      expect(pool.threadCount).toBe(1);
      // Ten idle timeouts: a worker past the first would have exited (with no minimum, this one would have).
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(pool.threadCount).toBe(1);
      await pool.normalise(input([png]));
      expect(pool.threadCount).toBe(1);
    } finally {
      await pool.close();
    }
  });
});

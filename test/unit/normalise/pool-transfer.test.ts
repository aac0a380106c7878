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

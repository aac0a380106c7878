/**
 * `npm run bench:staged`: would sending an upload's bytes to storage while they arrive (a staged block, committed
 * once the upload is checked) make ingest faster? Issue #17 asks for ingest at 0.7× its floor, and the bare relay
 * (receive, then store) is already near that at one client. This measures only the storage calls' shape, with
 * no archive code: a relay in its own process that receives a 660 KB upload and writes it twice (rendition and
 * original) after it has arrived, against one that streams the original into a staged block while receiving and
 * then writes the rendition and commits the block. Azurite (with the bench's index patch) in its own process,
 * 1 and 4 concurrent clients, BENCH_REPS runs of BENCH_DOCS uploads each, alternating; the median and spread.
 */
import { randomBytes } from 'node:crypto';
import { startAzurite } from '../local/emulators';
import { azuriteIndexPatch, spawnBenchProcess } from './bench-host';
import { closeClient, request } from './http-client';

const COUNT = Number(process.env.BENCH_DOCS ?? 60);
const REPS = Number(process.env.BENCH_REPS ?? 5);
const SIZE = 660_000;

async function run(url: string, mode: 'buffered' | 'staged', concurrency: number, count: number, body: Buffer): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++;
        const res = await request(`${url}/${mode}/${mode}-${Date.now()}-${randomBytes(6).toString('hex')}`, { method: 'POST', body, headers: { 'Content-Type': 'image/jpeg' } });
        if (res.status !== 201) throw new Error(`${mode}: ${res.status}`);
      }
    }),
  );
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

const summary = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, max: sorted[sorted.length - 1]! };
};

async function main() {
  const azurite = await startAzurite({ nodeArgs: azuriteIndexPatch });
  const relay = spawnBenchProcess('staged-upload-host.js', { STORAGE_CONNECTION_STRING: azurite.connectionString });
  try {
    const url = (await relay.waitFor(/READY (\S+)\n/))[1]!;
    const body = randomBytes(SIZE);
    console.log(`\nUploads of ${(SIZE / 1000).toFixed(0)} KB through a bare relay to Azurite, ${COUNT} per run, ${REPS} runs (median [min–max] req/s):`);
    for (const concurrency of [1, 4]) {
      await run(url, 'buffered', concurrency, 12, body);
      await run(url, 'staged', concurrency, 12, body);
      const buffered: number[] = [];
      const staged: number[] = [];
      for (let rep = 0; rep < REPS; rep++) {
        buffered.push(await run(url, 'buffered', concurrency, COUNT, body));
        staged.push(await run(url, 'staged', concurrency, COUNT, body));
      }
      const b = summary(buffered);
      const s = summary(staged);
      const ratios = summary(staged.map((x, i) => x / buffered[i]!));
      console.log(
        `  ${concurrency} concurrent: received, then 2 Put Blob: ${b.median.toFixed(1)} [${b.min.toFixed(0)}–${b.max.toFixed(0)}]   ` +
          `staged while received, then Put Blob + Put Block List: ${s.median.toFixed(1)} [${s.min.toFixed(0)}–${s.max.toFixed(0)}]   → staged ${ratios.median.toFixed(2)}× [${ratios.min.toFixed(2)}–${ratios.max.toFixed(2)}]`,
      );
    }
  } finally {
    closeClient();
    await relay.stop();
    await azurite.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

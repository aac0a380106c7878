/**
 * `npm run bench:inline-jpeg`: what converting a JPEG upload on the request's thread saves over
 * handing it to a normaliser worker (ARCHIVE_INLINE_JPEG_BYTES). 660 KB scans (the size issue #17
 * was measured with) are ingested at 4 and 1 concurrent by a fresh host process per trial, with
 * the limit at 512 KiB (the worker converts them) and at 2 MiB (the request's thread does),
 * alternating, BENCH_INLINE_TRIALS (4) times each; Azurite and the Cosmos protocol server run in
 * processes of their own, as in `npm run bench`. Printed per trial: req/s and the host process's
 * CPU per upload (all its threads, from /proc). On this shared 2-core machine one run says little
 * alone: compare within a pair.
 */
import { cpuMsOf, noiseJpeg, spawnBenchProcess, startBenchEmulators, taggedScan } from './bench-host';
import { closeClient, request } from './http-client';

const TRIALS = Number(process.env.BENCH_INLINE_TRIALS ?? 4);
const COUNT = 120;
const WARMUP = 20;
const LIMITS = [
  { label: 'worker (limit 512 KiB)', bytes: 512 * 1024 },
  { label: 'inline (limit 2 MiB)  ', bytes: 2 * 1024 * 1024 },
];

async function main() {
  const { cosmos, azurite, oidc, env: emulators } = await startBenchEmulators();
  const base = await noiseJpeg(660_000);
  const token = await oidc.mint({ tenant: 'benchinline', sub: 'bench', rights: 'archivist' });
  let serial = 0;
  console.log(`\n660 KB JPEG ingest, ${COUNT} uploads per trial after ${WARMUP} to warm up, a fresh host per trial:`);
  const sums = new Map<string, { cpu: number; rate: number; n: number }>();
  for (const concurrency of [4, 1]) {
    for (let trial = 0; trial < TRIALS; trial++) {
      for (const limit of LIMITS) {
        const host = spawnBenchProcess('download-host.js', { ...emulators, ARCHIVE_INLINE_JPEG_BYTES: String(limit.bytes) });
        try {
          const url = (await host.waitFor(/READY (\S+)\n/))[1]!;
          const one = async () => {
            const res = await request(`${url}/documents`, { method: 'POST', body: taggedScan(`inline-${serial++}-${Date.now()}`, 0, base), headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'image/jpeg' } });
            if (res.status !== 201) throw new Error(`ingest ${res.status}: ${res.text()}`);
          };
          for (let i = 0; i < WARMUP; i++) await one();
          const cpuBefore = cpuMsOf(host.pid);
          const started = process.hrtime.bigint();
          let left = COUNT;
          await Promise.all(Array.from({ length: concurrency }, async () => {
            while (left-- > 0) await one();
          }));
          const rate = COUNT / (Number(process.hrtime.bigint() - started) / 1e9);
          const cpu = (cpuMsOf(host.pid) - cpuBefore) / COUNT;
          console.log(`  ${concurrency} concurrent, trial ${trial + 1}, ${limit.label}: ${rate.toFixed(1).padStart(5)} req/s, host CPU ${cpu.toFixed(1).padStart(5)} ms an upload`);
          const key = `${concurrency} concurrent, ${limit.label}`;
          const s = sums.get(key) ?? { cpu: 0, rate: 0, n: 0 };
          sums.set(key, { cpu: s.cpu + cpu, rate: s.rate + rate, n: s.n + 1 });
        } finally {
          await host.stop();
        }
      }
    }
  }
  console.log('\nmeans:');
  for (const [key, s] of sums) console.log(`  ${key}: ${(s.rate / s.n).toFixed(1).padStart(5)} req/s, host CPU ${(s.cpu / s.n).toFixed(1).padStart(5)} ms an upload`);
  closeClient();
  await Promise.all([oidc.stop(), cosmos.stop(), azurite.stop()]);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

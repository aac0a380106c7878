/**
 * `npm run bench:health`: `/health` latency on an idle host beside `/health` latency while the
 * worst-case accepted image is converted (same run, same host). The image is an interlaced PNG
 * (every pixel decoded) just under the per-page limit: with conversion in worker threads the
 * event loop keeps answering. The host, the Cosmos server and Azurite each run in a process of their
 * own (startBenchServices), so only the host's own work competes with `/health`.
 *
 *   BENCH_SIDE=12000 (pixels a side, gray 8-bit, Adam7)   BENCH_IDLE_SAMPLES=200
 */
import { startBenchServices } from './bench-host';
import { interlacedGrayPng as interlacedPng } from '../test/support/png';

const SIDE = Number(process.env.BENCH_SIDE ?? 12000);
const IDLE_SAMPLES = Number(process.env.BENCH_IDLE_SAMPLES ?? 200);

async function healthMs(url: string): Promise<number> {
  const t = process.hrtime.bigint();
  const res = await fetch(`${url}/health`);
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`/health answered ${res.status}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function summary(label: string, ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
  return `${label.padEnd(46)} n=${String(s.length).padStart(5)}  p50 ${q(0.5).toFixed(1).padStart(7)} ms  p95 ${q(0.95).toFixed(1).padStart(7)} ms  max ${s.at(-1)!.toFixed(1).padStart(7)} ms`;
}

async function main() {
  const svc = await startBenchServices();
  const { hostUrl, oidc } = svc;
  try {
    const token = await oidc.mint({ tenant: 'bench-health', sub: 'bench', rights: 'archivist' });
    const png = interlacedPng(SIDE);
    // Warm-up: one small conversion starts a worker, so the loaded phase measures conversion, not thread start.
    await fetch(`${hostUrl}/documents`, { method: 'POST', body: new Uint8Array(interlacedPng(64)), headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'image/png' } }).then((r) => r.arrayBuffer());

    const idle: number[] = [];
    for (let i = 0; i < IDLE_SAMPLES; i++) idle.push(await healthMs(hostUrl));

    const loaded: number[] = [];
    const t0 = process.hrtime.bigint();
    let done = false;
    const upload = fetch(`${hostUrl}/documents`, { method: 'POST', body: new Uint8Array(png), headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'image/png' } })
      .then(async (r) => ({ status: r.status, body: await r.text() }))
      .finally(() => (done = true));
    while (!done) loaded.push(await healthMs(hostUrl));
    const answer = await upload;
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (answer.status !== 201) throw new Error(`the worst-case image was not accepted: ${answer.status} ${answer.body}`);

    console.log(`/health latency — node ${process.version}; worst-case accepted image: interlaced PNG ${SIDE}×${SIDE} (${(SIDE * SIDE / 1e6).toFixed(0)} MP decoded, ${(png.length / 1024).toFixed(0)} KiB), converted in ${seconds.toFixed(1)} s`);
    console.log(summary('/health, idle host', idle));
    console.log(summary('/health, while the image is converted', loaded));
  } finally {
    await svc.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

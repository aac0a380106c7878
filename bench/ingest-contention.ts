/**
 * Part of `npm run bench`: ingest p95 latency on an idle tenant beside ingest p95 while 100 reads
 * are kept in flight in the same tenant (every read appends to the tenant's audit chain), same run.
 * The host, the Cosmos server and Azurite each run in a process of their own (startBenchServices).
 */
import { startBenchServices, taggedScan } from './bench-host';

const INGESTS = Number(process.env.BENCH_CONTENTION_DOCS ?? 60);
const INGEST_CONCURRENCY = 4;
const READERS = 100;

const percentile = (ms: number[], p: number) => [...ms].sort((a, b) => a - b)[Math.min(ms.length - 1, Math.ceil((p / 100) * ms.length) - 1)]!;

async function main() {
  const svc = await startBenchServices();
  const { hostUrl, oidc } = svc;
  let serial = 0;

  /** Ingest latencies (ms) of INGESTS distinct scans into one tenant, INGEST_CONCURRENCY at a time. */
  async function ingest(token: string): Promise<number[]> {
    const latencies: number[] = [];
    let next = 0;
    await Promise.all(Array.from({ length: INGEST_CONCURRENCY }, async () => {
      while (next++ < INGESTS) {
        const body = new Uint8Array(taggedScan(`contention-${serial++}-${Date.now()}`));
        const started = performance.now();
        const res = await fetch(`${hostUrl}/documents`, { method: 'POST', body, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'image/jpeg' } });
        await res.arrayBuffer();
        if (res.status !== 201) throw new Error(`ingest ${res.status}`);
        latencies.push(performance.now() - started);
      }
    }));
    return latencies;
  }

  const idle = await ingest(await oidc.mint({ tenant: 'bench-idle', sub: 'bench', rights: 'archivist' }));

  const busyToken = await oidc.mint({ tenant: 'bench-busy', sub: 'bench', rights: 'archivist' });
  let reading = true;
  const reads = { ok: 0, failed: 0 };
  const readers = Array.from({ length: READERS }, async () => {
    while (reading) {
      const res = await fetch(`${hostUrl}/documents?limit=1`, { headers: { Authorization: `Bearer ${busyToken}` } });
      await res.arrayBuffer();
      if (res.status === 200) reads.ok++;
      else reads.failed++;
    }
  });
  const busy = await ingest(busyToken);
  reading = false;
  await Promise.all(readers);
  const verify = await (await fetch(`${hostUrl}/audit/verify?month=${new Date().toISOString().slice(0, 7)}`, { headers: { Authorization: `Bearer ${await oidc.mint({ tenant: 'bench-busy', sub: 'auditor', rights: 'auditor' })}` } })).json() as { ok: boolean; entries: number };

  const line = (label: string, ms: number[]) => `${label.padEnd(58)} p50 ${percentile(ms, 50).toFixed(0).padStart(6)} ms   p95 ${percentile(ms, 95).toFixed(0).padStart(6)} ms`;
  console.log(`\n${INGESTS} JPEG ingests per tenant, ${INGEST_CONCURRENCY} at a time, one run:\n`);
  console.log(line('ingest, idle tenant', idle));
  console.log(line(`ingest, same tenant with ${READERS} concurrent reads in flight`, busy));
  console.log(`\nreads meanwhile: ${reads.ok} answered 200, ${reads.failed} not; audit chain of the busy tenant: ${verify.entries} entries, verify ok=${verify.ok}\n`);

  await svc.stop();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

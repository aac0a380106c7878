/**
 * The ingest benches' HTTP client: node:http over kept-alive sockets, the body written as given.
 * A load generator should cost little beside what it loads (as wrk or autocannon do): on this
 * shared 2-core machine every millisecond the client spends is taken from the host and the
 * emulators. Global fetch (undici) copied each 128 KiB body into a web stream and cost the bench
 * process ~2–3 ms of CPU per upload, of which the floor (SDK calls over node:http) paid none.
 */
import * as http from 'node:http';

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

export interface BenchResponse {
  status: number;
  body: Buffer;
  json<T>(): T;
  text(): string;
}

/** One request; resolves with the whole response body (small in these benches). */
export function request(url: string, init: { method?: string; headers?: Record<string, string>; body?: Uint8Array } = {}): Promise<BenchResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...init.headers };
    if (init.body) headers['Content-Length'] = init.body.length;
    const req = http.request(url, { method: init.method ?? 'GET', agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, body, json: <T>() => JSON.parse(body.toString('utf8')) as T, text: () => body.toString('utf8') });
      });
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** Closes the kept-alive sockets, so the process can exit. */
export function closeClient(): void {
  agent.destroy();
}

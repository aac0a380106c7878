import { setTimeout as sleep } from 'node:timers/promises';
import { ArchiveError } from './errors';

/** What an attempt returns when the record changed after it was read: read again, decide again. */
export const CHANGED: unique symbol = Symbol('changed');

/**
 * Optimistic concurrency, one way for every read-decide-write of the archive: `attempt` reads,
 * decides on what it read and writes only over that version (an etag); when someone wrote in
 * between it returns CHANGED and runs again on a fresh read. After `tries` such rounds the caller
 * gets 503 with Retry-After (CONCURRENT_CHANGE_RETRY_SECONDS): a change is never written over a version it was not
 * judged on, and a client that retries at once only joins the writers it lost to.
 */
export const CONCURRENT_CHANGE_RETRY_SECONDS = 1;
/** The most a writer waits after its first lost round (doubling each round after: at most ~150 ms over five rounds). */
const ROUND_JITTER_MS = 10;

export async function withFreshReads<R>(what: string, attempt: () => Promise<R | typeof CHANGED>, tries = 5): Promise<R> {
  for (let i = 0; i < tries; i++) {
    // A round lost to another writer: wait a random few milliseconds (more each round) before reading again, so that
    // several writers of one record at once (holds placed on one document) do not all meet again in the next round.
    if (i > 0) await sleep(Math.random() * ROUND_JITTER_MS * 2 ** (i - 1));
    const result = await attempt();
    if (result !== CHANGED) return result;
  }
  throw new ArchiveError('dependency_unavailable', { detail: `${what} is being changed concurrently; try again.`, retryAfterSeconds: CONCURRENT_CHANGE_RETRY_SECONDS });
}

/** `fn` over `items`, at most `limit` at once, the results in the items' order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!);
      }
    }),
  );
  return results;
}

/**
 * Retry-After: the archive sends it (in seconds) when a later try can pass — 429 too_many_refusals and
 * too_many_exports and too_many_verifications, 503 dependency_unavailable and audit_contention, 409 idempotency_in_flight — and a
 * proxy or Azure's front end may send an HTTP date instead. The web app asks again no sooner: a person's
 * retry or submit stays disabled, a poller holds its next request, a query does not retry early.
 */

/** Longest wait honoured: beyond it a header is more likely wrong than meant, and a button disabled for hours looks broken. */
export const MAX_WAIT_MS = 10 * 60_000;

/** Longest wait a query spends retrying behind its spinner; a longer one is shown with its countdown instead. */
export const MAX_SILENT_WAIT_MS = 5_000;

/** When the same request may go again (ms since the epoch), from a failed answer's Retry-After; undefined when it names no wait. */
export function retryAtOf(header: string | null, now: number): number | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  const at = /^\d+$/.test(value) ? now + Number(value) * 1000 : Date.parse(value);
  if (Number.isNaN(at) || at <= now) return undefined;
  return Math.min(at, now + MAX_WAIT_MS);
}

/** Milliseconds before `error`'s answer lets the same request go again; 0 when it named no wait or the wait is over. */
export function waitLeft(error: unknown, now: number): number {
  const at = error !== null && typeof error === 'object' && 'retryAt' in error ? error.retryAt : undefined;
  return typeof at === 'number' ? Math.max(0, at - now) : 0;
}

/** Whole seconds of that wait, as a person reads it (1.2 s left is "2 s", never "0 s" while still disabled). */
export function secondsLeft(error: unknown, now: number): number {
  return Math.ceil(waitLeft(error, now) / 1000);
}

/** A poller's next delay: its own pace, or the wait the last answer asked for when that is longer. */
export function pollDelay(pace: number, error: unknown, now: number): number {
  return Math.max(pace, waitLeft(error, now));
}

/** A refetchInterval for react-query: every `pace` ms while `running` says so of the last answer, and after a failed poll no sooner than its Retry-After. */
export function pollWhile<T>(pace: number, running: (data: T) => boolean) {
  return (query: { state: { data: T | undefined; error: unknown } }): number | false =>
    query.state.data !== undefined && running(query.state.data) ? pollDelay(pace, query.state.error, Date.now()) : false;
}

function statusOf(error: unknown): number | undefined {
  if (error === null || typeof error !== 'object' || !('problem' in error)) return undefined;
  const problem = error.problem;
  return problem !== null && typeof problem === 'object' && 'status' in problem && typeof problem.status === 'number' ? problem.status : undefined;
}

/** Whether a failed query tries again by itself: twice at most, never after a refusal (4xx: asking again will not change it), nor when the wait asked for is long. */
export function retriesQuery(failures: number, error: unknown, now: number): boolean {
  const status = statusOf(error);
  if (failures >= 2 || (status !== undefined && status < 500)) return false;
  return waitLeft(error, now) <= MAX_SILENT_WAIT_MS;
}

/** The delay before a query's retry: react-query's own back-off, or the answer's Retry-After when that is longer. */
export function queryRetryDelay(failures: number, error: unknown, now: number): number {
  return Math.max(Math.min(1000 * 2 ** failures, 30_000), waitLeft(error, now));
}

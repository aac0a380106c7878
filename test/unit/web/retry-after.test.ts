/**
 * Retry-After in the web app: the API layer reads it (seconds or HTTP date) off a 429 or 503, and a
 * poller or a query's retry asks again no sooner. Time is jest's fake clock; calls go through
 * openapi-fetch and `unwrap` as web/src/api.ts makes them (without its browser sign-in), the poller is
 * react-query's own QueryObserver with the refetchInterval the exports screen uses.
 */
import { environmentManager, QueryClient, QueryObserver } from '@tanstack/react-query';
import createClient from 'openapi-fetch';
import type { paths } from '../../../cli/api/openapi-types';
import { ProblemError, refusalOf, unwrap } from '../../../web/src/problem';
import { en } from '../../../web/src/i18n/en';
import { nl } from '../../../web/src/i18n/nl';
import { MAX_WAIT_MS, pollWhile, queryRetryDelay, retriesQuery, retryAtOf, secondsLeft, waitLeft } from '../../../web/src/lib/retry-after';

const NOW = Date.parse('2025-03-01T12:00:00Z');

beforeEach(() => {
  jest.useFakeTimers({ now: NOW });
});
afterEach(() => {
  jest.useRealTimers();
});

function problemAnswer(status: number, code: string, retryAfter?: string): Response {
  const headers: Record<string, string> = { 'Content-Type': 'application/problem+json' };
  if (retryAfter !== undefined) headers['Retry-After'] = retryAfter;
  return new Response(JSON.stringify({ type: 'about:blank', title: code, status, code, requestId: 'req-1' }), { status, headers });
}

/** A client whose API answers each request with the next of `answers` (the last one repeats), and the requests it saw. */
function apiAnswering(...answers: (() => Response)[]) {
  const seen: Request[] = [];
  const fetch = async (request: Request) => {
    seen.push(request);
    return answers[Math.min(seen.length, answers.length) - 1]!();
  };
  return { api: createClient<paths>({ baseUrl: 'http://archive.test/api', fetch }), seen };
}

async function refusal(call: Promise<unknown>): Promise<ProblemError> {
  const error = await call.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ProblemError);
  return error as ProblemError;
}

describe('reading Retry-After', () => {
  it('takes seconds and an HTTP date; ignores a date gone by, a value it cannot read, and no header', () => {
    expect(retryAtOf('30', NOW)).toBe(NOW + 30_000);
    expect(retryAtOf(' 5 ', NOW)).toBe(NOW + 5_000);
    expect(retryAtOf('Sat, 01 Mar 2025 12:00:45 GMT', NOW)).toBe(NOW + 45_000);
    expect(retryAtOf('Sat, 01 Mar 2025 11:59:00 GMT', NOW)).toBeUndefined();
    expect(retryAtOf('0', NOW)).toBeUndefined();
    expect(retryAtOf('soon', NOW)).toBeUndefined();
    expect(retryAtOf('', NOW)).toBeUndefined();
    expect(retryAtOf(null, NOW)).toBeUndefined();
  });

  it('holds back no longer than ten minutes, whatever the header says', () => {
    expect(retryAtOf('86400', NOW)).toBe(NOW + MAX_WAIT_MS);
    expect(retryAtOf('Sun, 02 Mar 2025 12:00:00 GMT', NOW)).toBe(NOW + MAX_WAIT_MS);
  });

  it('counts down in whole seconds, rounding up while any wait is left', () => {
    const error = { retryAt: NOW + 30_000 };
    expect(secondsLeft(error, NOW)).toBe(30);
    expect(secondsLeft(error, NOW + 28_800)).toBe(2);
    expect(secondsLeft(error, NOW + 29_999)).toBe(1);
    expect(secondsLeft(error, NOW + 30_000)).toBe(0);
    expect(waitLeft(new Error('network'), NOW)).toBe(0);
    expect(waitLeft(undefined, NOW)).toBe(0);
  });

  it('is said in both languages', () => {
    expect(en.problem.retryIn(30)).toBe('Try again in 30 s.');
    expect(nl.problem.retryIn(30)).toBe('Probeer het over 30 s opnieuw.');
  });
});

describe('the API layer', () => {
  it('gives a 429 its wait: a typed call and a raw answer', async () => {
    const { api } = apiAnswering(() => problemAnswer(429, 'too_many_exports', '60'));
    const typed = await refusal(unwrap(api.POST('/exports', { body: { fiscalYear: 2024 } })));
    expect(typed.problem.code).toBe('too_many_exports');
    expect(typed.retryAt).toBe(NOW + 60_000);
    const raw = await refusalOf(problemAnswer(429, 'too_many_refusals', '10'));
    expect(raw.retryAt).toBe(NOW + 10_000);
  });

  it('gives a 503 the wait of its HTTP date', async () => {
    const { api } = apiAnswering(() => problemAnswer(503, 'dependency_unavailable', 'Sat, 01 Mar 2025 12:00:30 GMT'));
    const error = await refusal(unwrap(api.GET('/exports/{id}', { params: { path: { id: 'x1' } } })));
    expect(error.problem.code).toBe('dependency_unavailable');
    expect(waitLeft(error, Date.now())).toBe(30_000);
  });

  it('names no wait when the answer did not', async () => {
    const { api } = apiAnswering(() => problemAnswer(503, 'dependency_unavailable'));
    expect((await refusal(unwrap(api.GET('/exports/{id}', { params: { path: { id: 'x1' } } })))).retryAt).toBeUndefined();
  });
});

describe('a query asking again', () => {
  const unavailable = (seconds: number) => Object.assign(new ProblemError({ type: 'about:blank', title: 'x', status: 503, code: 'dependency_unavailable', requestId: 'r' }), { retryAt: NOW + seconds * 1000 });

  it('retries a 5xx after its Retry-After when that is short, and shows a long one instead of waiting behind a spinner', () => {
    expect(retriesQuery(0, unavailable(3), NOW)).toBe(true);
    expect(queryRetryDelay(0, unavailable(3), NOW)).toBe(3_000);
    expect(retriesQuery(0, unavailable(30), NOW)).toBe(false);
  });

  it('never retries a refusal, nor more than twice', () => {
    const tooMany = new ProblemError({ type: 'about:blank', title: 'x', status: 429, code: 'too_many_refusals', requestId: 'r' }, NOW + 1_000);
    expect(retriesQuery(0, tooMany, NOW)).toBe(false);
    expect(retriesQuery(2, new Error('network'), NOW)).toBe(false);
    expect(retriesQuery(1, new Error('network'), NOW)).toBe(true);
    expect(queryRetryDelay(1, new Error('network'), NOW)).toBe(2_000);
  });
});

describe('an export progress poller', () => {
  beforeAll(() => environmentManager.setIsServer(() => false));
  afterAll(() => environmentManager.setIsServer(() => !('window' in globalThis)));

  it('after a 503 with Retry-After: 30, sends its next request no sooner than 30 s later, then keeps its own pace', async () => {
    const running = () => new Response(JSON.stringify({ id: 'x1', status: 'running' }), { status: 200, headers: { 'Content-Type': 'application/json' } });
    const { api, seen } = apiAnswering(running, () => problemAnswer(503, 'dependency_unavailable', '30'), running);
    const client = new QueryClient({ defaultOptions: { queries: { retry: (n, e) => retriesQuery(n, e, Date.now()), retryDelay: (n, e) => queryRetryDelay(n, e, Date.now()) } } });
    const observer = new QueryObserver(client, {
      queryKey: ['export', 'x1'],
      queryFn: () => unwrap(api.GET('/exports/{id}', { params: { path: { id: 'x1' } } })),
      refetchInterval: pollWhile<{ status: string }>(1000, (e) => e.status === 'running'),
    });
    const stop = observer.subscribe(() => undefined);
    try {
      await jest.advanceTimersByTimeAsync(0);
      expect(seen).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(1000);
      expect(seen).toHaveLength(2);
      expect(observer.getCurrentResult().error).toBeInstanceOf(ProblemError);

      // The poller's own pace is 1 s: 29 s on, it has still not asked again.
      await jest.advanceTimersByTimeAsync(29_000);
      expect(seen).toHaveLength(2);
      await jest.advanceTimersByTimeAsync(1_000);
      expect(seen).toHaveLength(3);
      expect(observer.getCurrentResult().error).toBeNull();
      await jest.advanceTimersByTimeAsync(1_000);
      expect(seen).toHaveLength(4);
    } finally {
      stop();
      client.clear();
    }
  });
});

/**
 * A change that lost every round of optimistic concurrency is 503 with Retry-After: without it a client retried at
 * once and only joined the writers it had lost to (the hostile-values sweep saw eight writers on one record get 503s).
 */
import { CHANGED, CONCURRENT_CHANGE_RETRY_SECONDS, withFreshReads } from '../../../shared/kernel/concurrency';
import { ArchiveError } from '../../../shared/kernel/errors';
import { problemResponse } from '../../../shared/http/pipeline';

it('a change that keeps losing to concurrent writers is 503 dependency_unavailable with Retry-After', async () => {
  let rounds = 0;
  const refusal = await withFreshReads('The legal hold', async () => {
    rounds++;
    return CHANGED;
  }).catch((err: unknown) => err);
  expect(rounds).toBe(5);
  expect(refusal).toBeInstanceOf(ArchiveError);
  const answer = problemResponse(refusal as ArchiveError, 'req-1');
  expect(answer.status).toBe(503);
  expect(answer.headers?.['Retry-After']).toBe(String(CONCURRENT_CHANGE_RETRY_SECONDS));
  expect(JSON.parse(answer.body as string)).toMatchObject({ code: 'dependency_unavailable', detail: 'The legal hold is being changed concurrently; try again.' });
});

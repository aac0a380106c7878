import { useEffect, useReducer } from 'react';
import { secondsLeft, waitLeft } from './retry-after';

/**
 * Seconds before `error`'s Retry-After lets the same request go again (0: now), counting down: the
 * component renders again each second until the wait is over, so a button disabled by it comes back.
 */
export function useRetryWait(error: unknown): number {
  const [, tick] = useReducer((n: number) => n + 1, 0);
  const now = Date.now();
  const left = waitLeft(error, now);
  useEffect(() => {
    if (left <= 0) return;
    // Wake when the shown number changes: at the next whole second left.
    const timer = setTimeout(tick, left % 1000 || 1000);
    return () => clearTimeout(timer);
  }, [error, left]);
  return secondsLeft(error, now);
}

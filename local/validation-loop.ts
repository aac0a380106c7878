import type { Deps } from '../shared/deps';
import { validateRenditions, ValidationDeps } from '../shared/validation/worker';

const INTERVAL_MS = 3000;

/**
 * The local stand-in for the Java Function App: every few seconds, one batch from the queue
 * (one JVM). A failing pass is logged and the loop goes on. (Re-queueing documents left pending
 * is the requeueValidations timer's, which the local host runs on its Azure schedule.)
 */
export function startValidationLoop(deps: ValidationDeps & Pick<Deps, 'config' | 'clock'>): { stop(): Promise<void> } {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const pass = async () => {
    await validateRenditions({ now: deps.clock.now(), max: 16 }, deps);
  };
  const tick = () => {
    if (stopped) return;
    running = pass()
      .catch((err: unknown) => deps.log.warn('validation pass failed; trying again shortly', { error: String(err) }))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, INTERVAL_MS);
      });
  };
  let timer = setTimeout(tick, INTERVAL_MS);
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

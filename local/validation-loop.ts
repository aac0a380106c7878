import type { Deps } from '../shared/app';
import { requeuePendingValidations } from '../shared/validation/request';
import { validateRenditions, ValidationDeps } from '../shared/validation/worker';

const INTERVAL_MS = 3000;

/**
 * The local stand-in for the Java Function App: every few seconds, one batch from the queue
 * (one JVM) and the re-queue pass. A failing pass is logged and the loop goes on.
 */
export function startValidationLoop(deps: ValidationDeps & Pick<Deps, 'config' | 'clock' | 'cosmos'>, changed: () => void): { stop(): Promise<void> } {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const pass = async () => {
    const now = deps.clock.now();
    await requeuePendingValidations({ now, olderThanSeconds: deps.config.ARCHIVE_VALIDATION_PENDING_SECONDS, max: 100 }, deps);
    const r = await validateRenditions({ now, max: 16 }, deps);
    if (r.recorded.length > 0) changed();
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

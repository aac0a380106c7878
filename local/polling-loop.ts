import type { Logger } from '../shared/ports';

/**
 * A local stand-in for a Functions trigger: `pass` every `intervalMs()` after the previous one ends (never two at once).
 * A failing pass is logged (`failed`) and the loop goes on; `stop` waits for a pass in progress.
 */
export function startPollingLoop(pass: () => Promise<void>, intervalMs: () => number, log: Pick<Logger, 'warn'>, failed: string): { stop(): Promise<void> } {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    if (stopped) return;
    running = pass()
      .catch((err: unknown) => log.warn(failed, { error: String(err) }))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, intervalMs());
      });
  };
  let timer = setTimeout(tick, intervalMs());
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

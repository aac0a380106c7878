import type { Deps } from '../shared/deps';
import { validateRenditions, ValidationDeps } from '../shared/validation/worker';
import { startPollingLoop } from './polling-loop';

const INTERVAL_MS = 3000;

/**
 * The local stand-in for the Java Function App: every few seconds, one batch from the queue
 * (one JVM). A failing pass is logged and the loop goes on. (Re-queueing documents left pending
 * is the requeueValidations timer's, which the local host runs on its Azure schedule.)
 */
export function startValidationLoop(deps: ValidationDeps & Pick<Deps, 'config' | 'clock'>): { stop(): Promise<void> } {
  return startPollingLoop(() => validateRenditions({ now: deps.clock.now(), max: 16 }, deps).then(() => undefined), () => INTERVAL_MS, deps.log, 'validation pass failed; trying again shortly');
}

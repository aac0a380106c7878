import type { Deps } from '../shared/deps';
import type { Config } from '../shared/config';
import { sealAuditLog } from '../shared/audit/seal';
import { runFixityTimer, runReconcileTimer, runSweepTimer, SWEEP_FAILED } from '../shared/retention/timers';
import { exportTimer } from './exports';
import { requeuePendingValidations } from '../shared/validation/request';

export interface TimerDef {
  /** Unique; also the Azure Functions function name. */
  name: string;
  /** What it does, for the OpenAPI description (x-timers) and the README. */
  description?: string;
  schedule: (config: Config) => string;
  run: (deps: Deps) => Promise<unknown>;
  /** The phrase a failed run is logged (and alerted) with when the timer has an alert of its own; else TIMER_FAILED. One failure, one alert. */
  failureAlert?: string;
}

/** The one timer table: registered by functions/index.ts (app.timer) and run by the local host; each is a plain function of deps. */
export const TIMERS: TimerDef[] = [
  { name: 'retentionSweep', description: 'Disposes of documents whose retention has ended (approved, no legal hold)', schedule: (c) => c.ARCHIVE_SWEEP_SCHEDULE, run: runSweepTimer, failureAlert: SWEEP_FAILED },
  { name: 'fixityCheck', description: 'Re-hashes archived files against their catalog SHA-256', schedule: (c) => c.ARCHIVE_FIXITY_SCHEDULE, run: runFixityTimer },
  { name: 'reconcileCatalog', description: 'Rebuilds missing catalog items from manifests and lists orphan blobs', schedule: (c) => c.ARCHIVE_RECONCILE_SCHEDULE, run: runReconcileTimer },
  { name: 'requeueValidations', description: 'Queues again the rendition validation of documents still pending (a lost queue message)', schedule: (c) => c.ARCHIVE_VALIDATION_REQUEUE_SCHEDULE, run: (deps) => requeuePendingValidations({ now: deps.clock.now(), olderThanSeconds: deps.config.ARCHIVE_VALIDATION_PENDING_SECONDS, max: 500 }, deps) },
  { name: 'sealAuditLog', description: 'Writes each grown audit partition\'s chain head as an immutable seal blob', schedule: (c) => c.AUDIT_SEAL_SCHEDULE, run: (deps) => sealAuditLog({ now: deps.clock.now(), deps }) },
  exportTimer,
];

/** Operators are alerted on this exact phrase (infra/main.bicep, timerFailedAlert); the local host logs it too. */
export const TIMER_FAILED = 'timer failed';

/**
 * One run of a timer as the hosts start it: a run that throws is logged with the alerted phrase before the
 * host records the failure, once: the sweep's with its own alert's phrase, every other timer's with
 * TIMER_FAILED (a fixity check, reconciler or audit seal failing on every run used to stop silently).
 */
export async function runTimer(timer: TimerDef, deps: Deps): Promise<unknown> {
  try {
    return await timer.run(deps);
  } catch (err) {
    deps.log.error(timer.failureAlert ?? TIMER_FAILED, { timer: timer.name, error: err instanceof Error ? err.message : String(err) });
    throw err;
  }
}

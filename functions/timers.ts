import type { Deps } from '../shared/app';
import type { Config } from '../shared/config';
import { sealAuditLog } from '../shared/audit/seal';
import { runFixityTimer, runReconcileTimer, runSweepTimer } from '../shared/retention/timers';
import { exportTimer } from './exports';
import { requeuePendingValidations } from '../shared/validation/request';

export interface TimerDef {
  /** Unique; also the Azure Functions function name. */
  name: string;
  schedule: (config: Config) => string;
  run: (deps: Deps) => Promise<unknown>;
}

/** The one timer table: registered by functions/index.ts (app.timer) and run by the local host; each is a plain function of deps. */
export const TIMERS: TimerDef[] = [
  { name: 'retentionSweep', schedule: (c) => c.ARCHIVE_SWEEP_SCHEDULE, run: runSweepTimer },
  { name: 'fixityCheck', schedule: (c) => c.ARCHIVE_FIXITY_SCHEDULE, run: runFixityTimer },
  { name: 'reconcileCatalog', schedule: (c) => c.ARCHIVE_RECONCILE_SCHEDULE, run: runReconcileTimer },
  /** Writes each grown audit partition's chain head as an immutable blob (shared/audit/seal.ts). */
  /** Documents whose rendition validation is still pending (a lost queue message) are queued again. */
  { name: 'requeueValidations', schedule: (c) => c.ARCHIVE_VALIDATION_REQUEUE_SCHEDULE, run: (deps) => requeuePendingValidations({ now: deps.clock.now(), olderThanSeconds: deps.config.ARCHIVE_VALIDATION_PENDING_SECONDS, max: 500 }, deps) },
  { name: 'sealAuditLog', schedule: (c) => c.AUDIT_SEAL_SCHEDULE, run: (deps) => sealAuditLog({ now: deps.clock.now(), deps }) },
  exportTimer,
];

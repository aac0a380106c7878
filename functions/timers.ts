import type { Deps } from '../shared/deps';
import type { Config } from '../shared/config';
import { sealAuditLog } from '../shared/audit/seal';
import { runFixityTimer, runReconcileTimer, runSweepTimer } from '../shared/retention/timers';
import { exportTimer } from './exports';

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
  { name: 'sealAuditLog', schedule: (c) => c.AUDIT_SEAL_SCHEDULE, run: (deps) => sealAuditLog({ now: deps.clock.now(), deps }) },
  exportTimer,
];

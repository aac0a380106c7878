import type { Deps } from '../shared/app';
import type { Config } from '../shared/config';
import { runFixityTimer, runReconcileTimer, runSweepTimer } from '../shared/retention/timers';

export interface TimerDef {
  /** Unique; also the Azure Functions function name. */
  name: string;
  schedule: (config: Config) => string;
  run: (deps: Deps) => Promise<unknown>;
}

/** Timers registered by functions/index.ts (app.timer); each is a plain function of deps. */
export const TIMERS: TimerDef[] = [
  { name: 'retentionSweep', schedule: (c) => c.ARCHIVE_SWEEP_SCHEDULE, run: runSweepTimer },
  { name: 'fixityCheck', schedule: (c) => c.ARCHIVE_FIXITY_SCHEDULE, run: runFixityTimer },
  { name: 'reconcileCatalog', schedule: (c) => c.ARCHIVE_RECONCILE_SCHEDULE, run: runReconcileTimer },
];

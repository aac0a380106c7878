import type { Deps } from '../deps';
import { checkFixity } from './fixity';
import { reconcile } from './reconcile';
import { sweep } from './sweep';
import { restoreRevocations } from '../auth/revocation-blobs';
import { restoreDecisions } from '../auth/decision-blobs';
import { restoreSettings } from '../auth/rights-sets/settings-blobs';

/**
 * The retention timers as plain functions of (deps): each resumes from the continuation
 * its previous run stored, does one bounded run and stores where the next one resumes.
 */
/** Operators are alerted on this exact phrase (infra/main.bicep, sweepFailedAlert); the hosts' timer runner logs it when a sweep run fails. */
export const SWEEP_FAILED = 'retention sweep failed';

export async function runSweepTimer(deps: Deps) {
  const continuation = await deps.retention.timers.get<string>('sweep-continuation');
  const result = await sweep({ now: deps.clock.now(), budget: { maxItems: deps.config.ARCHIVE_SWEEP_MAX_ITEMS, maxMillis: deps.config.ARCHIVE_SWEEP_MAX_SECONDS * 1000 }, continuation }, deps);
  await deps.retention.timers.set('sweep-continuation', result.continuation);
  return result;
}

/** Operators are alerted on this exact phrase (infra/main.bicep, fixityOverrunAlert). */
export const FIXITY_CYCLE_OVERRUN = 'fixity cycle overrun: a pass over the archive takes longer than ARCHIVE_FIXITY_CYCLE_DAYS';

export async function runFixityTimer(deps: Deps) {
  const now = deps.clock.now();
  const continuation = await deps.retention.timers.get<string>('fixity-continuation');
  // When the pass this run continues began: a pass longer than the cycle leaves documents unchecked for longer than promised.
  const passStartedAt = (continuation && (await deps.retention.timers.get<string>('fixity-pass-started'))) || now.toISOString();
  const result = await checkFixity({ now, cycleDays: deps.config.ARCHIVE_FIXITY_CYCLE_DAYS, maxItems: deps.config.ARCHIVE_FIXITY_MAX_ITEMS, continuation }, deps);
  await deps.retention.timers.set('fixity-continuation', result.continuation);
  await deps.retention.timers.set('fixity-pass-started', result.continuation ? passStartedAt : null);
  if (result.continuation && now.getTime() - Date.parse(passStartedAt) > deps.config.ARCHIVE_FIXITY_CYCLE_DAYS * 86_400_000) {
    deps.log.error(FIXITY_CYCLE_OVERRUN, { passStartedAt, cycleDays: deps.config.ARCHIVE_FIXITY_CYCLE_DAYS, maxItemsPerRun: deps.config.ARCHIVE_FIXITY_MAX_ITEMS });
  }
  await deps.retention.timers.set('fixity-last-run', { at: deps.clock.now().toISOString(), checked: result.checked, failures: result.failures.length });
  deps.log.info('fixity check', { checked: result.checked, failures: result.failures.length, unchecked: result.unchecked.length, more: result.continuation !== null });
  return result;
}

export async function runReconcileTimer(deps: Deps) {
  const continuation = await deps.retention.timers.get<string>('reconcile-continuation');
  const folderContinuation = await deps.retention.timers.get<string>('reconcile-folder-continuation');
  const orphanContinuation = await deps.retention.timers.get<string>('reconcile-orphan-continuation');
  const holdsContinuation = await deps.retention.timers.get<string>('reconcile-holds-continuation');
  const result = await reconcile({ now: deps.clock.now(), maxItems: deps.config.ARCHIVE_FIXITY_MAX_ITEMS, continuation, folderContinuation, orphanContinuation, holdsContinuation, orphanGraceMinutes: deps.config.ARCHIVE_ORPHAN_GRACE_MINUTES }, deps);
  await deps.retention.timers.set('reconcile-continuation', result.continuation);
  await deps.retention.timers.set('reconcile-folder-continuation', result.folderContinuation);
  await deps.retention.timers.set('reconcile-orphan-continuation', result.orphanContinuation);
  await deps.retention.timers.set('reconcile-holds-continuation', result.holdsContinuation);
  // Revocations a restore of Cosmos DB took back, applied again from storage (revocation-blobs.ts).
  const revocationsRestored = await restoreRevocations(deps.clock.now(), deps);
  // Decisions of proposals a restore gave back pending, written back from storage (decision-blobs.ts).
  const decisionsRestored = await restoreDecisions(deps.clock.now(), deps);
  // Rights sets, assignments and the SoD and retention policies a restore gave back wider (or older), caught up from storage (settings-blobs.ts).
  const settingsRestored = await restoreSettings(deps.clock.now(), deps);
  deps.log.info('reconciler', { revocationsRestored: revocationsRestored.length, decisionsRestored: decisionsRestored.length, settingsRestored: settingsRestored.length, indexed: result.indexed.length, holdsExtended: result.holdsExtended.length, endsAtMigrated: result.endsAtMigrated.length, keysSealed: result.keysSealed.length, keysUnsealed: result.keysUnsealed.length, keysAllSealed: result.keysAllSealed, sightingsSealed: result.sightingsSealed.length, sightingsAllSealed: result.sightingsAllSealed, sightingsKept: result.sightingsKept.length, sightingLocksExtended: result.sightingLocksExtended.length, orphaned: result.orphaned.length, orphansResolved: result.resolved.length, flagged: result.flagged.length, unchecked: result.unchecked.length, checked: result.checked, folders: result.foldersChecked, more: result.continuation !== null || result.folderContinuation !== null || result.orphanContinuation !== null });
  return result;
}

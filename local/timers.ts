/**
 * The Functions timers (functions/timers.ts, one table) on the local host, on the same NCRONTAB
 * schedules from the config loader. Azure evaluates them in UTC (no WEBSITE_TIME_ZONE), so
 * do we. A timer whose previous run is still going skips that tick, as the Functions host
 * does (singleton timer lock); stop() cancels the schedules and waits for runs in flight.
 */
import { Cron } from 'croner';
import type { Deps } from '../shared/deps';
import type { Logger } from '../shared/ports';
import { TIMER_FAILED, type TimerDef } from '../functions/timers';

export interface ScheduledTimer {
  name: string;
  schedule: string;
  nextRun: Date | null;
}

export interface LocalTimers {
  timers: ScheduledTimer[];
  /** Run one timer now unless it is already running (what each scheduled tick does). */
  fire(name: string): Promise<'ran' | 'failed' | 'skipped'>;
  stop(): Promise<void>;
}

export const TIMER_ZONE = 'Etc/UTC';

export function startLocalTimers(defs: TimerDef[], deps: Deps, log: Logger, opts: { schedule?: boolean } = {}): LocalTimers {
  const running = new Map<string, Promise<'ran' | 'failed'>>();
  let stopped = false;
  const byName = new Map(defs.map((d) => [d.name, d]));

  const fire = (name: string): Promise<'ran' | 'failed' | 'skipped'> => {
    const def = byName.get(name);
    if (!def) throw new Error(`no timer named ${name}`);
    if (stopped) return Promise.resolve('skipped');
    const inFlight = running.get(name);
    if (inFlight) {
      log.warn('timer still running, tick skipped', { timer: name });
      return Promise.resolve('skipped');
    }
    const run = (async (): Promise<'ran' | 'failed'> => {
      try {
        const result = await def.run(deps);
        log.info('timer ran', { timer: name, result: JSON.stringify(result ?? null).slice(0, 2000) });
        return 'ran';
      } catch (err) {
        log.error(TIMER_FAILED, { timer: name, error: err instanceof Error ? err.message : String(err) });
        return 'failed';
      } finally {
        running.delete(name);
      }
    })();
    running.set(name, run);
    return run;
  };

  // The schedule is parsed even when not scheduling, so a bad NCRONTAB fails at start.
  const jobs = defs.map((def) => {
    const pattern = def.schedule(deps.config);
    return new Cron(pattern, { timezone: TIMER_ZONE, paused: opts.schedule === false }, () => void fire(def.name));
  });

  return {
    timers: defs.map((def, i) => ({ name: def.name, schedule: def.schedule(deps.config), nextRun: jobs[i]!.nextRun() })),
    fire,
    stop: async () => {
      stopped = true;
      for (const job of jobs) job.stop();
      await Promise.all(running.values());
    },
  };
}

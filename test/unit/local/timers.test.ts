import type { TimerDef } from '../../../functions/timers';
import { TIMERS } from '../../../functions/timers';
import { startLocalTimers } from '../../../local/timers';
import { inMemoryDeps } from '../../support/in-memory';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const deps = inMemoryDeps();

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

it('schedules every timer of the one table on its configured NCRONTAB schedule, in UTC', async () => {
  const timers = startLocalTimers(TIMERS, deps, quiet, { schedule: false });
  expect(timers.timers.map((t) => [t.name, t.schedule])).toEqual(TIMERS.map((t) => [t.name, t.schedule(deps.config)]));
  const seal = timers.timers.find((t) => t.name === 'sealAuditLog')!;
  expect(deps.config.AUDIT_SEAL_SCHEDULE).toBe('0 */5 * * * *');
  expect(seal.nextRun!.getUTCMinutes() % 5).toBe(0);
  expect(seal.nextRun!.getUTCSeconds()).toBe(0);
  await timers.stop();
});

it('refuses a schedule it cannot parse at start, not at the first tick', () => {
  const bad: TimerDef = { name: 'bad', schedule: () => 'every now and then', run: async () => undefined };
  expect(() => startLocalTimers([bad], deps, quiet, { schedule: false })).toThrow();
});

it('never overlaps a timer with itself, survives a failing run, and stop() waits for the run in flight', async () => {
  const g = gate();
  let runs = 0;
  let finished = false;
  const slow: TimerDef = {
    name: 'slow',
    schedule: () => '0 0 * * * *',
    run: async () => {
      runs++;
      await g.opened;
      finished = true;
    },
  };
  const failing: TimerDef = { name: 'failing', schedule: () => '0 0 * * * *', run: () => Promise.reject(new Error('boom')) };
  const timers = startLocalTimers([slow, failing], deps, quiet, { schedule: false });
  const first = timers.fire('slow');
  expect(await timers.fire('slow')).toBe('skipped');
  expect(await timers.fire('failing')).toBe('failed');
  const stopping = timers.stop();
  expect(await timers.fire('slow')).toBe('skipped');
  g.open();
  await stopping;
  expect(finished).toBe(true);
  expect(await first).toBe('ran');
  expect(runs).toBe(1);
});

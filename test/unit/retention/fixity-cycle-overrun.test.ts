/**
 * "Every stored blob is re-read and re-hashed at least once per cycle" (ARCHIVE_FIXITY_CYCLE_DAYS): with
 * more documents than the runs of a cycle can check (ARCHIVE_FIXITY_MAX_ITEMS a run), a pass over the
 * archive outlasts the cycle. The fixity timer says so in an alerted error line instead of silently
 * leaving documents unchecked for longer than promised.
 */
import { loadConfig } from '../../../shared/config';
import { FIXITY_CYCLE_OVERRUN, runFixityTimer } from '../../../shared/retention/timers';
import { minimalLocalEnv } from '../../support/config-env';
import type { FakeClock } from '../../support/fake-clock';
import { inMemoryDeps, RecordingLogger } from '../../support/in-memory';
import { seedDocument } from '../../support/seed';

const T = 'acme';

async function archive(documents: number) {
  const log = new RecordingLogger();
  const deps = { ...inMemoryDeps(loadConfig({ ...minimalLocalEnv, ARCHIVE_FIXITY_CYCLE_DAYS: '2', ARCHIVE_FIXITY_MAX_ITEMS: '1' })), log };
  for (let i = 0; i < documents; i++) await seedDocument(deps, T, { metadata: {} });
  const clock = deps.clock as FakeClock;
  const day = async (at: string) => {
    clock.set(at);
    await runFixityTimer(deps);
    return log.lines.filter((l) => l.level === 'error' && l.message === FIXITY_CYCLE_OVERRUN);
  };
  return { day };
}

it('a pass still running a cycle after it started is reported, once a run', async () => {
  const { day } = await archive(4);
  expect(await day('2025-03-01T03:45:00Z')).toEqual([]);
  expect(await day('2025-03-02T03:45:00Z')).toEqual([]);
  const overrun = await day('2025-03-03T03:46:00Z');
  expect(overrun).toHaveLength(1);
  expect(overrun[0]!.fields).toMatchObject({ passStartedAt: '2025-03-01T03:45:00.000Z', cycleDays: 2 });
});

it('passes that finish within the cycle report nothing, and a new pass starts the count again', async () => {
  const { day } = await archive(2);
  for (const at of ['2025-03-01T03:45:00Z', '2025-03-02T03:45:00Z', '2025-03-03T03:45:00Z', '2025-03-04T03:45:00Z', '2025-03-05T03:45:00Z']) expect(await day(at)).toEqual([]);
});

/**
 * One export, one worker: the worker claims its job over the version it read (etag) and saves
 * progress only over the version it holds. A slow but live worker whose job maintenance restarted
 * (or expired) stops at its next save, without touching the export's result or its audit.
 */
import type { ExportJob } from '../../../shared/kernel/export';
import { EXPORT_STALLED, maintainExports } from '../../../shared/exports/maintain-exports';
import { restartExport, runExport } from '../../../shared/exports/run-export';
import { startExport } from '../../../shared/exports/start-export';
import { exportFile } from '../../../shared/exports/download-export';
import type { Principal } from '../../../shared/kernel/principal';
import type { Deps } from '../../../shared/deps';
import { FakeClock } from '../../support/fake-clock';
import { inMemoryDeps, ListingCatalog, type RecordingLogger, withExportWork } from '../../support/in-memory';
import { seedMany } from '../../support/seed';
import { createHash } from 'node:crypto';

const T = 'acme';


/** A gate a test opens by hand. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

async function setUp() {
  const clock = new FakeClock('2025-03-01T12:00:00Z');
  const deps = withExportWork({ ...inMemoryDeps(), catalog: new ListingCatalog(), clock });
  await seedMany(deps, T, [1, 2, 3].map((i) => ({ metadata: { documentDate: `2024-0${i}-01`, kind: 'invoice' as const, reference: `INV-${i}` } })));
  const principal = { tenantId: T, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;
  const { job } = await startExport(principal, { fiscalYear: 2024, includeOriginals: false }, 'req-1', deps);
  // The first worker reads document blobs only once the test lets it: a worker on a slow instance.
  const slow = gate();
  const slowDeps = {
    ...deps,
    blobs: new Proxy(deps.blobs, {
      get: (target, prop, receiver) => (prop === 'read' ? async (...args: Parameters<typeof target.read>) => (await slow.opened, target.read(...args)) : Reflect.get(target, prop, receiver)),
    }),
  };
  return { deps, job, slow, slowDeps };
}

const stored = async (deps: Pick<Deps, 'exportJobs'>, id: string) => (await deps.exportJobs.get(T, id))!;
const until = async (cond: () => Promise<boolean>) => {
  for (let i = 0; i < 100 && !(await cond()); i++) await new Promise((r) => setImmediate(r));
};

it('a slow worker whose job was restarted stops at its next save: one ZIP, one set of counts, one completion entry', async () => {
  const { deps, job, slow, slowDeps } = await setUp();
  const first = runExport(T, job.id, slowDeps);
  await until(async () => (await stored(deps, job.id)).attempts === 1);

  // Its heartbeat goes stale (the files are slow): maintenance queues its work, and the queue's worker claims the job and runs it again.
  deps.clock.advance((deps.config.ARCHIVE_EXPORT_STALE_SECONDS + 1) * 1000);
  const maintained = await maintainExports({ now: deps.clock.now(), deps });
  expect(maintained.restarted).toEqual([job.id]);
  await deps.exportWork.idle();
  const restarted = await stored(deps, job.id);
  expect(restarted).toMatchObject({ status: 'completed', attempts: 2, progress: { total: 3, documents: 3, files: 3 } });

  // The first worker comes back to life and finishes its ZIP: its result is refused and removed.
  slow.open();
  await first;
  expect(await stored(deps, job.id)).toEqual(restarted);
  const exportBlobs = deps.exportBlobs as unknown as { blobs: Map<string, Buffer> };
  expect([...exportBlobs.blobs.keys()]).toEqual([`${T}/${restarted.blobName}`]);
  expect(deps.audit.entries.filter((e) => e.action === 'export.completed')).toHaveLength(1);
  // The ZIP served is the one the job describes.
  const file = await exportFile({ tenantId: T, exportId: job.id }, deps);
  const chunks: Buffer[] = [];
  for await (const c of (await file.read()).stream) chunks.push(c as Buffer);
  expect(createHash('sha256').update(Buffer.concat(chunks)).digest('hex')).toBe(restarted.archive!.sha256);
});

it('an export expired while its worker ran stays expired: the late worker writes no ZIP and no completion', async () => {
  const { deps, job, slow, slowDeps } = await setUp();
  const first = runExport(T, job.id, slowDeps);
  await until(async () => (await stored(deps, job.id)).attempts === 1);
  deps.clock.set(new Date(Date.parse(job.expiresAt) + 1000));
  expect((await maintainExports({ now: deps.clock.now(), deps })).expired).toEqual([job.id]);

  slow.open();
  await first;
  expect((await stored(deps, job.id)).status).toBe('expired');
  expect((deps.exportBlobs as unknown as { blobs: Map<string, Buffer> }).blobs.size).toBe(0);
  expect(deps.audit.entries.map((e) => e.action)).toEqual(['export.expired']);
});

it('maintenance does not restart a job whose worker gave a sign of life after the job was listed as stale', async () => {
  const { deps, job } = await setUp();
  deps.clock.advance((deps.config.ARCHIVE_EXPORT_STALE_SECONDS + 1) * 1000);
  const staleBefore = new Date(deps.clock.now().getTime() - deps.config.ARCHIVE_EXPORT_STALE_SECONDS * 1000);
  const [listed] = await deps.exportJobs.unsafeListDue(deps.clock.now(), staleBefore, 10);
  expect(listed!.item.id).toBe(job.id);
  // The live worker's heartbeat lands between the listing and the restart's claim.
  const live = (await deps.exportJobs.getVersioned(T, job.id))!;
  const beat: ExportJob = { ...live.item, heartbeatAt: deps.clock.now().toISOString() };
  expect(await deps.exportJobs.replace(beat, live.etag)).not.toBe('conflict');

  expect(await restartExport(listed!, deps)).toBe(false);
  expect(await stored(deps, job.id)).toEqual(beat);
  expect(deps.audit.entries).toEqual([]);
});

// Broke: an export its worker could not finish before the Functions timeout stopped it was restarted from its start by
// every maintenance run (inside that timer, which the same timeout stops) until it expired, days later, still "running".
it('a job whose worker stopped ARCHIVE_EXPORT_MAX_ATTEMPTS times is failed as stalled, audited and alerted, not restarted again', async () => {
  const { deps, job } = await setUp();
  const max = deps.config.ARCHIVE_EXPORT_MAX_ATTEMPTS;
  expect(max).toBe(3);
  const stopped = async (attempts: number) => {
    const live = (await deps.exportJobs.getVersioned(T, job.id))!;
    const died: ExportJob = { ...live.item, status: 'running', attempts, heartbeatAt: deps.clock.now().toISOString(), progress: { total: 3, documents: 2, files: 2, bytes: 10 } };
    expect(await deps.exportJobs.replace(died, live.etag)).not.toBe('conflict');
    deps.clock.advance((deps.config.ARCHIVE_EXPORT_STALE_SECONDS + 1) * 1000);
  };
  await stopped(max - 1);
  expect(await maintainExports({ now: deps.clock.now(), deps })).toMatchObject({ restarted: [job.id], stalled: [] });
  await deps.exportWork.idle(); // the queued restart runs (and finishes) before the next stop is staged

  await stopped(max);
  expect(await maintainExports({ now: deps.clock.now(), deps })).toMatchObject({ restarted: [], stalled: [job.id] });
  const failed = await stored(deps, job.id);
  expect(failed).toMatchObject({ status: 'failed', attempts: max });
  expect(failed.error).toMatch(/^export_stalled: .*stopped 3 times before finishing \(at 2 of 3 documents/);
  expect(deps.audit.entries.at(-1)).toMatchObject({ action: 'export.failed', outcome: 'failed', status: 500, target: job.id, detail: 'attempts=3', actor: { subject: 'system:export-maintenance', kind: 'system' } });
  expect((deps.log as RecordingLogger).lines.filter((l) => l.message === EXPORT_STALLED)).toHaveLength(1);
  // Nothing is due any more: a later run neither restarts nor fails it again.
  deps.clock.advance((deps.config.ARCHIVE_EXPORT_STALE_SECONDS + 1) * 1000);
  expect(await maintainExports({ now: deps.clock.now(), deps })).toMatchObject({ restarted: [], stalled: [] });
});

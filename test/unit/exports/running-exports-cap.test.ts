/**
 * A tenant has at most ARCHIVE_EXPORT_MAX_RUNNING exports running at once. Each is a worker copying
 * up to ARCHIVE_EXPORT_MAX_DOCUMENTS documents into a new ZIP; without a cap one account with
 * exports:create started as many as it sent requests (each a 202).
 */
import { startExport } from '../../../shared/exports/start-export';
import { ArchiveError } from '../../../shared/kernel/errors';
import type { Principal } from '../../../shared/kernel/principal';
import { ERROR_STATUS } from '../../../shared/http/problem';
import { loadConfig } from '../../../shared/config';
import { minimalLocalEnv } from '../../support/config-env';
import { inMemoryDeps, ListingCatalog } from '../../support/in-memory';
import { gate } from '../../support/interleave';

const principal = (tenantId: string) => ({ tenantId, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() }) as unknown as Principal;

it('refuses one more export while the tenant has as many running as it may (429 too_many_exports); other tenants and finished exports do not count', async () => {
  const deps = { ...inMemoryDeps(loadConfig({ ...minimalLocalEnv, ARCHIVE_EXPORT_MAX_RUNNING: '2' })), catalog: new ListingCatalog() };
  const request = { fiscalYear: 2024, includeOriginals: false };
  const first = await startExport(principal('acme'), request, 'req-1', deps);
  await startExport(principal('acme'), request, 'req-2', deps);
  await startExport(principal('other'), request, 'req-3', deps);

  const refused = await startExport(principal('acme'), request, 'req-4', deps).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(ArchiveError);
  expect(refused).toMatchObject({ code: 'too_many_exports', retryAfterSeconds: 60 });
  expect(ERROR_STATUS.too_many_exports).toBe(429);
  expect((await deps.exportJobs.list('acme', 10)).items).toHaveLength(2);

  // One finishes: the next may start.
  const found = (await deps.exportJobs.getVersioned('acme', first.job.id))!;
  await deps.exportJobs.replace({ ...found.item, status: 'completed' }, found.etag);
  await expect(startExport(principal('acme'), request, 'req-5', deps)).resolves.toMatchObject({ job: { status: 'running' } });
});

it('starts sent at once are counted one after another: with room for one, two judged on the same count start one export, the other gets 429', async () => {
  const deps = { ...inMemoryDeps(loadConfig({ ...minimalLocalEnv, ARCHIVE_EXPORT_MAX_RUNNING: '1' })), catalog: new ListingCatalog() };
  // Both requests count (0 running) before either writes its job.
  const counted = gate();
  let waiting = 2;
  const runningUnderGate = deps.exportJobs.runningUnderGate.bind(deps.exportJobs);
  deps.exportJobs.runningUnderGate = async (tenantId) => {
    const read = await runningUnderGate(tenantId);
    if (waiting > 0) {
      if (--waiting === 0) counted.open();
      await counted.wait;
    }
    return read;
  };
  const request = { fiscalYear: 2024, includeOriginals: false };
  const outcomes = await Promise.allSettled([startExport(principal('acme'), request, 'req-1', deps), startExport(principal('acme'), request, 'req-2', deps)]);
  expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
  expect((outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({ code: 'too_many_exports' });
  expect((await deps.exportJobs.list('acme', 10)).items).toHaveLength(1);
});

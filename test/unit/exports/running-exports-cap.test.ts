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

const principal = (tenantId: string) => ({ tenantId, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() }) as unknown as Principal;

it('refuses one more export while the tenant has as many running as it may (429 too_many_exports); other tenants and finished exports do not count', async () => {
  const deps = { ...inMemoryDeps(loadConfig({ ...minimalLocalEnv, ARCHIVE_EXPORT_MAX_RUNNING: '2' })), catalog: new ListingCatalog('acme') };
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

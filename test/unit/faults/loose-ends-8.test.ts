/**
 * Loose ends 8. A writer of Cosmos DB (not Key Vault) holding an ordinary account: deletes the sweep's mark on a running
 * export (its ZIP then held a disposed document's copy), and deletes the sign-in record of a person seen before kept
 * copies existed (four eyes then lost their claimed set).
 */
import type { Principal } from '../../../shared/kernel/principal';
import type { AuditLogPort } from '../../../shared/ports';
import { runExport } from '../../../shared/exports/run-export';
import { startExport } from '../../../shared/exports/start-export';
import { exportFile } from '../../../shared/exports/download-export';
import { withdrawExportsHolding } from '../../../shared/exports/withdraw-exports';
import { inMemoryDeps, ListingCatalog } from '../../support/in-memory';
import { seedMany } from '../../support/seed';
import { TENANT } from '../../support/in-process';
import type { FakeClock } from '../../support/fake-clock';

/**
 * The worker knew of a disposal while it ran only from the sweep's mark on its job, which nothing seals: the mark
 * deleted, it completed and handed out a copy of the disposed document. Now it also lists the tenant's keyed disposal
 * entries since its walk began (one walk per month), and withdraws for one it holds whatever the job says.
 */
describe("a running export whose sweep mark is deleted in Cosmos DB still withdraws for a disposed document it holds", () => {
  it.each([
    ['mark kept (control)', false, true],
    ['mark deleted', true, true],
    ['mark deleted, a disposal of a document it does not hold', true, false],
  ])('%s', async (_what, deleteMark, holds) => {
    const deps = { ...inMemoryDeps(), catalog: new ListingCatalog() };
    const docs = await seedMany(deps, TENANT, [0, 1].map((i) => ({ metadata: { documentDate: '2018-06-01', reference: `R-${i}` } })));
    docs.forEach((d) => deps.catalog.documents.set(`${TENANT}/${d.id}`, { ...d, retention: { ...d.retention, retainUntil: '2025-03-01T13:00:00.000Z' } }));
    const principal = { tenantId: TENANT, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;
    const { job } = await startExport(principal, { includeOriginals: false }, 'req-1', deps);
    // The worker reads every blob, then waits (a slow upload) while the sweep disposes of a document it copied.
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    let walkedAll!: () => void;
    const copied = new Promise<void>((resolve) => (walkedAll = resolve));
    const unchanged = deps.catalog.idsUnchangedSince.bind(deps.catalog);
    const slowDeps = { ...deps, catalog: Object.assign(Object.create(deps.catalog) as ListingCatalog, { idsUnchangedSince: async (...args: Parameters<typeof unchanged>) => (walkedAll(), await opened, unchanged(...args)) }) };
    const queries: string[] = [];
    const list = deps.audit.list.bind(deps.audit);
    deps.audit.list = (async (...args: Parameters<AuditLogPort['list']>) => (queries.push(`${args[1]} ${args[4]?.action ?? ''}`), list(...args))) as typeof deps.audit.list;
    const worker = runExport(TENANT, job.id, slowDeps);
    await copied;

    const disposed = holds ? docs[0]!.id : '0190a000-0000-7000-8000-000000000001';
    (deps.clock as FakeClock).advance(2 * 3_600_000);
    expect(await withdrawExportsHolding(TENANT, [disposed], deps.clock.now(), deps)).toEqual([]);
    // The sweep's disposal entry, keyed (appended with its tombstone).
    await deps.audit.append({ tenantId: TENANT, at: deps.clock.now().toISOString(), actor: { subject: 'system:retention-sweep', kind: 'system' }, action: 'document.dispose', target: disposed, outcome: 'success', status: 200, requestId: `sweep-1:${disposed}`, clientIp: null, userAgent: null, detail: 'retention-ended' });
    if (deleteMark) {
      const marked = (await deps.exportJobs.getVersioned(TENANT, job.id))!;
      const { disposedWhileRunning: _gone, ...unmarked } = marked.item;
      expect(await deps.exportJobs.replace(unmarked, marked.etag)).not.toBe('conflict');
    }
    queries.length = 0;
    open();
    const final = await worker;

    if (holds) {
      expect(final).toMatchObject({ status: 'expired', withdrawn: { documents: [disposed] } });
      await expect(exportFile({ tenantId: TENANT, exportId: job.id }, deps)).rejects.toMatchObject({ code: 'export_expired' });
    } else {
      expect(final.status).toBe('completed');
    }
    // One walk of the month's disposal entries per judging (the completion's save conflicts once on the deletion).
    expect(queries.filter((q) => q.endsWith('document.dispose')).length).toBeLessThanOrEqual(2);
  });
});

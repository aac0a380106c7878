/**
 * An export records which of its documents a disposal could reach before it expires (retention
 * ends first); export maintenance withdraws an export once one of them is gone from the catalog
 * (the sweep's own withdrawal missed it), and an export never holds more such documents
 * unrecorded: past the cap it expires before the first left out.
 */
import type { ArchivedDocument } from '../../../shared/kernel/document';
import { EXPORT_DISPOSABLE_MAX } from '../../../shared/kernel/export';
import { maintainExports } from '../../../shared/exports/maintain-exports';
import { runExport } from '../../../shared/exports/run-export';
import { startExport } from '../../../shared/exports/start-export';
import { exportFile } from '../../../shared/exports/download-export';
import { ArchiveError } from '../../../shared/kernel/errors';
import type { Page } from '../../../shared/ports';
import type { Principal } from '../../../shared/kernel/principal';
import { InMemoryCatalog, inMemoryDeps } from '../../support/in-memory';
import { seedMany } from '../../support/seed';

const T = 'acme';
const NOW = '2025-03-01T12:00:00.000Z';

class ListingCatalog extends InMemoryCatalog {
  override async list(): Promise<Page<ArchivedDocument>> {
    return { items: [...this.documents.values()].filter((d) => d.tenantId === T), continuationToken: null };
  }
  override async countMatching(): Promise<number> {
    return this.count(T);
  }
}

/** Documents whose retention ends at the given instants (seeded ones run to 2099). */
async function exportOf(retainUntil: string[]) {
  const deps = { ...inMemoryDeps(), catalog: new ListingCatalog() };
  const docs = await seedMany(deps, T, retainUntil.map((_, i) => ({ metadata: { documentDate: '2018-06-01', reference: `R-${i}` } })));
  docs.forEach((d, i) => deps.catalog.documents.set(`${T}/${d.id}`, { ...d, retention: { ...d.retention, retainUntil: retainUntil[i]! } }));
  const principal = { tenantId: T, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;
  const { job } = await startExport(principal, { includeOriginals: false }, 'req-1', deps);
  const done = await runExport(T, job.id, deps);
  expect(done.status).toBe('completed');
  return { deps, docs, job: done, requested: job };
}

it('maintenance withdraws an export once a document it holds is disposed of: ZIP deleted, 410 naming why, audited once', async () => {
  const soon = '2025-03-02T00:00:00.000Z'; // inside the export's 72 hours
  const { deps, docs, job } = await exportOf([soon, '2099-01-01T00:00:00.000Z']);
  expect(job).toMatchObject({ disposable: [docs[0]!.id], disposableFrom: soon });
  const blobs = (deps.exportBlobs as unknown as { blobs: Map<string, Buffer> }).blobs;
  expect(blobs.size).toBe(1);

  // Before its retention ends nothing is looked at; once the document is disposed of, the export goes.
  expect((await maintainExports({ now: new Date(NOW), deps })).withdrawn).toEqual([]);
  const later = new Date('2025-03-02T06:00:00.000Z');
  expect((await maintainExports({ now: later, deps })).withdrawn).toEqual([]);
  deps.catalog.documents.set(`${T}/${docs[0]!.id}`, { ...deps.catalog.documents.get(`${T}/${docs[0]!.id}`)!, status: 'disposed' });
  expect((await maintainExports({ now: later, deps })).withdrawn).toEqual([job.id]);
  expect((await maintainExports({ now: later, deps })).withdrawn).toEqual([]);

  expect(blobs.size).toBe(0);
  const refused = await exportFile({ tenantId: T, exportId: job.id }, deps).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(ArchiveError);
  expect(refused).toMatchObject({ code: 'export_expired', extensions: { reason: 'documents-disposed' } });
  expect(deps.audit.entries.filter((e) => e.action === 'export.withdrawn')).toEqual([expect.objectContaining({ target: job.id, detail: `documents-disposed=1;${docs[0]!.id}` })]);
});

it('an export of more disposable documents than it records expires before the first one left out', async () => {
  const at = (i: number) => new Date(Date.parse('2025-03-02T00:00:00.000Z') + i * 1000).toISOString();
  const n = EXPORT_DISPOSABLE_MAX + 3;
  // Seeded in reverse, so the earliest come last.
  const { docs, job, requested } = await exportOf(Array.from({ length: n }, (_, i) => at(n - 1 - i)));
  expect(job.disposable).toHaveLength(EXPORT_DISPOSABLE_MAX);
  expect(new Set(job.disposable)).toEqual(new Set(docs.slice(3).map((d) => d.id)));
  expect(job.disposableFrom).toBe(at(0));
  expect(job.expiresAt).toBe(at(EXPORT_DISPOSABLE_MAX));
  expect(Date.parse(job.expiresAt)).toBeLessThan(Date.parse(requested.expiresAt));
});

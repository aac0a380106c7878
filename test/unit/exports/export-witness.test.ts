/**
 * An export says it holds everything its search matches. Its walk pages through a sorted search, where the store's
 * paging has lost documents before (undated ones past the first page, when walked by document date), and the export
 * still said `completed`. A second query by another path (CatalogPort.idsUnchangedSince) names every matching document
 * unchanged all through the walk: one the walk did not meet fails the export loudly, as `export_incomplete` (500, alerted).
 * Documents written during the walk are not witnessed, so a busy tenant's export still completes.
 */
import { EXPORT_INCOMPLETE, runExport } from '../../../shared/exports/run-export';
import { startExport } from '../../../shared/exports/start-export';
import { ERROR_STATUS } from '../../../shared/http/problem';
import type { ArchivedDocument } from '../../../shared/kernel/document';
import type { Principal } from '../../../shared/kernel/principal';
import type { DocumentQuery, Page } from '../../../shared/ports';
import { InMemoryCatalog, inMemoryDeps, InMemoryExportBlobs, RecordingLogger } from '../../support/in-memory';
import { seedDocument } from '../../support/seed';

const T = 'acme';
const principal = { tenantId: T, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;

/** The tenant's search with write times (as the store's `_ts`), and a walk that can be made to lose documents or see new ones. */
class WalkedCatalog extends InMemoryCatalog {
  readonly writtenAt = new Map<string, number>();
  /** Left out of every page, as the store's paging left undated documents out. */
  readonly lost = new Set<string>();
  /** Runs once, when the walk asks for its first page. */
  duringWalk: (() => Promise<void>) | null = null;
  private of(tenantId: string): ArchivedDocument[] {
    return [...this.documents.values()].filter((d) => d.tenantId === tenantId);
  }
  override async create(doc: ArchivedDocument): Promise<'created' | 'exists' | 'duplicate'> {
    this.writtenAt.set(doc.id, Date.now());
    return super.create(doc);
  }
  override async list(tenantId: string, q: DocumentQuery): Promise<Page<ArchivedDocument>> {
    const during = this.duringWalk;
    this.duringWalk = null;
    await during?.();
    expect(q.sort).toBe('documentDate');
    return { items: this.of(tenantId).filter((d) => !this.lost.has(d.id)), continuationToken: null };
  }
  override async countMatching(tenantId: string): Promise<number> {
    return this.of(tenantId).length;
  }
  override async idsUnchangedSince(tenantId: string, _q: unknown, writtenBefore: Date): Promise<string[]> {
    return this.of(tenantId)
      .filter((d) => d.status === 'active' && (this.writtenAt.get(d.id) ?? Infinity) < writtenBefore.getTime())
      .map((d) => d.id);
  }
}

async function world() {
  const catalog = new WalkedCatalog();
  const deps = { ...inMemoryDeps(), catalog };
  const docs = [];
  for (const [i, documentDate] of ['2024-01-05', undefined, '2024-03-01', undefined].entries()) {
    docs.push(await seedDocument(deps, T, { metadata: { ...(documentDate ? { documentDate } : {}), reference: `R-${i}` }, fiscalYear: 2024 }));
  }
  // The seeds were written before the walk begins (the store's clock has moved on).
  for (const d of docs) catalog.writtenAt.set(d.id, Date.now() - 60_000);
  return { deps, catalog, docs };
}

it('a walk that loses an undated document fails the export as export_incomplete: no ZIP kept, the job and its audit entry say why, operators are alerted with ids only', async () => {
  const { deps, catalog, docs } = await world();
  catalog.lost.add(docs[3]!.id);
  const { job } = await startExport(principal, { fiscalYear: 2024, includeOriginals: false }, 'req-1', deps);

  const done = await runExport(T, job.id, deps);

  expect(done).toMatchObject({ status: 'failed', error: expect.stringMatching(/^export_incomplete: /) });
  expect(done.completedAt).toBeUndefined();
  expect((deps.exportBlobs as InMemoryExportBlobs).blobs.size).toBe(0);
  const failed = deps.audit.entries.filter((e) => e.action === 'export.failed');
  expect(failed.map((e) => [e.status, e.detail])).toEqual([[500, 'export_incomplete']]);
  expect(ERROR_STATUS.export_incomplete).toBe(500);
  const lines = (deps.log as RecordingLogger).lines.filter((l) => l.level === 'error');
  expect(lines).toEqual([{ level: 'error', message: EXPORT_INCOMPLETE, fields: { tenantId: T, exportId: job.id, missed: 1, documentIds: [docs[3]!.id] } }]);
  expect(JSON.stringify(lines)).not.toMatch(/R-3/);
});

it('a walk that meets every document completes, with each in the manifest', async () => {
  const { deps, docs } = await world();
  const { job } = await startExport(principal, { fiscalYear: 2024, includeOriginals: false }, 'req-1', deps);

  const done = await runExport(T, job.id, deps);

  expect(done).toMatchObject({ status: 'completed', progress: { documents: docs.length } });
});

it('documents written during the walk are not witnessed: one archived after the walk began, and one lost from the walk after being corrected, leave the export complete', async () => {
  const { deps, catalog, docs } = await world();
  catalog.lost.add(docs[1]!.id);
  let added: ArchivedDocument | null = null;
  catalog.duringWalk = async () => {
    added = await seedDocument(deps, T, { metadata: { reference: 'new' }, fiscalYear: 2024 });
    catalog.lost.add(added.id);
    catalog.writtenAt.set(docs[1]!.id, Date.now()); // corrected while the walk ran (the store's write time moves)
  };
  const { job } = await startExport(principal, { fiscalYear: 2024, includeOriginals: false }, 'req-1', deps);

  const done = await runExport(T, job.id, deps);

  expect(added).not.toBeNull();
  expect(done).toMatchObject({ status: 'completed', progress: { documents: docs.length - 1 } });
});

/**
 * A fiscal year's export as N grows, held by counts and sizes, never by time (`npm run bench:export` measures time):
 * the worker's catalog and blob calls per document stay the same as N doubles, and the job record, which grows with
 * the documents a disposal could reach (legal-hold documents past their retention: ids, then a Bloom filter), stays
 * far inside a Cosmos item (2 MB) at the most documents an export may hold.
 */
import { runExport } from '../../../shared/exports/run-export';
import { startExport } from '../../../shared/exports/start-export';
import type { Principal } from '../../../shared/kernel/principal';
import { inMemoryDeps, ListingCatalog } from '../../support/in-memory';
import { seedMany } from '../../support/seed';

const T = 'acme';
const COSMOS_ITEM_LIMIT = 2 * 1024 * 1024;

/** Counts every call of an object's methods. */
function counted<O extends object>(target: O, calls: { n: number }): O {
  return new Proxy(target, {
    get(t, key) {
      const v = Reflect.get(t, key, t) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        calls.n++;
        return (v as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
}

/** An export of N documents of one year, each kept past its retention by a legal hold (so each is on the job's record). */
async function exportOfYear(n: number) {
  const base = { ...inMemoryDeps(), catalog: new ListingCatalog() };
  const docs = await seedMany(base, T, Array.from({ length: n }, (_, i) => ({ metadata: { documentDate: `2024-${String(1 + (i % 12)).padStart(2, '0')}-15`, kind: 'receipt' as const, counterparty: `Shop ${i % 7}` } })));
  for (const d of docs) base.catalog.documents.set(`${T}/${d.id}`, { ...d, legalHold: true, retention: { ...d.retention, retainUntil: '2024-01-01T00:00:00.000Z' } });
  const catalogCalls = { n: 0 };
  const blobCalls = { n: 0 };
  const jobCalls = { n: 0 };
  const deps = { ...base, catalog: counted(base.catalog, catalogCalls), blobs: counted(base.blobs, blobCalls), exportJobs: counted(base.exportJobs, jobCalls) };
  const principal = { tenantId: T, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;
  const { job } = await startExport(principal, { fiscalYear: 2024, includeOriginals: false }, 'req-1', deps);
  catalogCalls.n = blobCalls.n = jobCalls.n = 0;
  const done = await runExport(T, job.id, deps);
  expect(done).toMatchObject({ status: 'completed', progress: { documents: n }, disposableCount: n });
  const stored = await base.exportJobs.get(T, job.id);
  return { perDocument: { catalog: catalogCalls.n / n, blobs: blobCalls.n / n }, jobCalls: jobCalls.n, jobBytes: Buffer.byteLength(JSON.stringify(stored)), maxDocuments: base.config.ARCHIVE_EXPORT_MAX_DOCUMENTS };
}

it('calls per document stay the same as N doubles, and the job record of the most documents an export holds fits a Cosmos item', async () => {
  const small = await exportOfYear(1200);
  const large = await exportOfYear(2400);
  // One catalog page a hundred documents and the witness query; a manifest and a rendition read a document.
  expect(large.perDocument.catalog).toBeLessThanOrEqual(small.perDocument.catalog);
  expect(large.perDocument.blobs).toBeLessThanOrEqual(small.perDocument.blobs);
  expect(large.perDocument.blobs).toBeLessThan(2.1);
  // The job is written at the claim, the completion and a heartbeat a second at most, never once a document.
  expect(large.jobCalls).toBeLessThan(2400 / 10);
  // The record grows by a fixed few bytes a document (the Bloom filter: 16 bits); at the most documents an export may hold it stays far below 2 MB.
  const perDocument = (large.jobBytes - small.jobBytes) / 1200;
  expect(perDocument).toBeGreaterThan(0);
  expect(perDocument).toBeLessThan(4);
  expect(large.maxDocuments).toBeGreaterThanOrEqual(100_000);
  expect(large.jobBytes + perDocument * (large.maxDocuments - 2400)).toBeLessThan(COSMOS_ITEM_LIMIT / 4);
});

/**
 * Round 17: attacks on the newest code (export maintenance's own walk of the export containers, the never-ending walk
 * keeping sign-in copies). Each case is an attack that broke, with the fix it got; see each block's comment.
 */
import { RestError, type BlobServiceClient } from '@azure/storage-blob';
import { ExportBlobs } from '../../../shared/adapters/azure/export-store';
import { maintainExports } from '../../../shared/exports/maintain-exports';
import { Readable } from 'node:stream';
import { inMemoryDeps, ListingCatalog, type InMemoryExportBlobs, type RecordingLogger } from '../../support/in-memory';
import type { Principal } from '../../../shared/kernel/principal';
import { runExport } from '../../../shared/exports/run-export';
import { startExport } from '../../../shared/exports/start-export';
import { EXPORT_BLOB_OUTLIVED, withdrawExportsHolding } from '../../../shared/exports/withdraw-exports';
import { seedMany } from '../../support/seed';
import { TENANT } from '../../support/in-process';
import { listContainersOf } from '../../support/container-listing';

const DAY = 86_400_000;

/**
 * Containers and their blobs as storage lists them: `byPage` pages of `maxPageSize`, the token the next blob's index
 * (one not a number refused with a 400, as storage refuses a token it did not hand out); `listings` counts blob pages.
 */
function listingService(containers: Record<string, string[]>) {
  const created = new Date('2025-03-01T12:00:00.000Z');
  const counted = { listings: 0 };
  const service = {
    listContainers: listContainersOf(() => Object.keys(containers), 7),
    getContainerClient: (name: string) => ({
      listBlobsFlat: () => ({
        byPage: ({ continuationToken, maxPageSize }: { continuationToken?: string; maxPageSize: number }) => {
          counted.listings++;
          const start = Number(continuationToken ?? 0);
          const names = containers[name]!;
          if (!Number.isInteger(start)) return { next: () => Promise.reject(new RestError('OutOfRangeInput', { statusCode: 400 })) };
          const end = Math.min(names.length, start + maxPageSize);
          const page = { segment: { blobItems: names.slice(start, end).map((n) => ({ name: n, properties: { createdOn: created } })) }, continuationToken: end < names.length ? String(end) : '' };
          return { next: async () => ({ done: false, value: page }) };
        },
      }),
    }),
  };
  return { counted, blobs: new ExportBlobs(service as unknown as BlobServiceClient) };
}

/**
 * Export maintenance's walk of the export containers keeps where it goes on in timer state (Cosmos DB), and lists
 * containers a storage role can create. A writer of Cosmos DB put a token storage refuses in the cursor: every run threw
 * before saving another, so no outlived export blob was deleted again, for good. A storage role created many empty
 * `exports-*` containers: each cost a listing and counted nothing, so a run never ended (nor saved its cursor).
 */
describe("export maintenance's walk of the export containers goes on whatever its cursor says or storage holds", () => {
  it.each([
    ['a token storage handed out (control)', JSON.stringify({ container: 'exports-a', marker: '1' }), ['2.zip']],
    ['a token forged in timer state', JSON.stringify({ container: 'exports-a', marker: 'forged' }), ['1.zip', '2.zip']],
  ])('%s: listed from there, or the container\'s first blob', async (_what, cursor, listed) => {
    const { blobs } = listingService({ 'exports-a': ['1.zip', '2.zip'] });
    const page = await blobs.unsafeListStored(cursor, 10);
    expect(page.items.map((b) => b.blobName)).toEqual(listed);
    expect(page.next).toBeNull();
  });

  it('many empty exports-* containers: at most `limit` listings a run, and the walk moves on past them', async () => {
    const planted = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`exports-${String(i).padStart(3, '0')}`, [] as string[]]));
    const { blobs, counted } = listingService({ ...planted, 'exports-zz': ['1.zip'] });
    const walked: string[] = [];
    let cursor: string | null = null;
    for (let run = 0; run < 20; run++) {
      counted.listings = 0;
      const page = await blobs.unsafeListStored(cursor, 5);
      expect(counted.listings).toBeLessThanOrEqual(5);
      walked.push(...page.items.map((b) => `${b.tenantId}/${b.blobName}`));
      cursor = page.next;
      if (cursor === null) break;
    }
    expect(walked).toEqual(['zz/1.zip']);
    expect(cursor).toBeNull();
  });
});

/**
 * Export maintenance deleted outlived export blobs one after another and saved its cursor after the page: a storage role
 * took a lease on one old blob (a delete without the lease id fails, every time), and every run threw there before
 * saving, so no blob after it was ever deleted. Now a blob that will not go is alerted and passed over.
 */
describe('an outlived export blob that cannot be deleted does not stop the walk', () => {
  it('a leased blob is alerted and passed; the ones after it are deleted, on this run and the next', async () => {
    const deps = inMemoryDeps();
    const put = async (tenantId: string, name: string) => (await deps.exportBlobs.ensureContainer(tenantId), deps.exportBlobs.upload(tenantId, name, Readable.from([Buffer.from('zip')])));
    for (const n of ['x1.zip', 'x2.zip', 'x3.zip']) await put('t-a', n);
    const store = deps.exportBlobs as InMemoryExportBlobs;
    const remove = store.delete.bind(store);
    store.delete = async (tenantId, blobName) => (blobName === 'x1.zip' ? Promise.reject(new Error('412 LeaseIdMissing')) : remove(tenantId, blobName));
    const later = new Date(deps.clock.now().getTime() + deps.config.ARCHIVE_EXPORT_TTL_HOURS * 3_600_000 + 2 * DAY);
    const outlived: string[] = [];
    for (let run = 0; run < 2; run++) outlived.push(...(await maintainExports({ now: later, deps, maxItems: 2 })).outlived);
    expect(outlived).toEqual(['t-a/x2.zip', 't-a/x3.zip']);
    expect((deps.log as RecordingLogger).lines.filter((l) => l.message === EXPORT_BLOB_OUTLIVED && l.fields?.notDeleted !== undefined).map((l) => l.fields?.blobName)).toEqual(['x1.zip']);
  });
});

/**
 * Deleting an export blob lists its versions under its name as a prefix: blobs a storage role planted under longer
 * names (`x.zip.0`, `x.zip.1`, …) were listed to the end on every delete of it. The listing is in name order, the
 * blob's own versions first, so it now stops at the first other name.
 */
it("deleting an export blob lists its own versions, not every blob planted under names starting with its name", async () => {
  const listed = [{ name: 'x.zip', versionId: 'v1' }, { name: 'x.zip', versionId: 'v2' }, ...Array.from({ length: 1000 }, (_, i) => ({ name: `x.zip.${i}`, versionId: 'v' }))];
  let read = 0;
  const deleted: string[] = [];
  const client = (name: string) => ({ deleteIfExists: async () => void deleted.push(name), withVersion: (v: string) => ({ deleteIfExists: async () => void deleted.push(`${name}@${v}`) }) });
  const container = {
    listBlobsFlat: async function* (opts: { prefix: string }) {
      for (const b of listed) if (b.name.startsWith(opts.prefix)) yield (read++, b);
    },
    getBlobClient: client,
  };
  await new ExportBlobs({ getContainerClient: () => container } as unknown as BlobServiceClient).delete('t-a', 'x.zip');
  expect(deleted).toEqual(['x.zip', 'x.zip@v1', 'x.zip@v2']);
  expect(read).toBeLessThanOrEqual(3);
});

/**
 * The same lease on an expired export's ZIP: expiring its job deleted the blobs first and threw, every run, at that job,
 * so no other export was expired, judged or withdrawn, and the walk of outlived blobs after them never ran. Now the job
 * is alerted and tried again next run, and the rest of the run goes on.
 */
it("an expired export whose ZIP will not be deleted does not stop export maintenance", async () => {
  const deps = { ...inMemoryDeps(), catalog: new ListingCatalog() };
  await seedMany(deps, TENANT, [{ metadata: { documentDate: '2018-06-01', reference: 'R-0' } }]);
  const principal = { tenantId: TENANT, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;
  const ids: string[] = [];
  for (const req of ['req-1', 'req-2']) {
    const { job } = await startExport(principal, { includeOriginals: false }, req, deps);
    expect((await runExport(TENANT, job.id, deps)).status).toBe('completed');
    ids.push(job.id);
  }
  const leased = `${ids[0]}.zip`;
  const store = deps.exportBlobs as InMemoryExportBlobs;
  const remove = store.delete.bind(store);
  store.delete = async (tenantId, blobName) => (blobName === leased ? Promise.reject(new Error('412 LeaseIdMissing')) : remove(tenantId, blobName));
  const r = await maintainExports({ now: new Date(deps.clock.now().getTime() + deps.config.ARCHIVE_EXPORT_TTL_HOURS * 3_600_000 + 1000), deps });
  expect(r.expired).toEqual([ids[1]]);
  expect((deps.log as RecordingLogger).lines.filter((l) => l.message === EXPORT_BLOB_OUTLIVED).map((l) => l.fields?.exportId)).toEqual([ids[0]]);
});

/**
 * Withdrawing an export (a document it held disposed of) deleted its blobs before saving the job withdrawn: a storage
 * role's lease on the ZIP made the delete throw every time, and the export, with the disposed document's copy, stayed
 * completed. Now it is withdrawn all the same; its blob is alerted and left to maintenance's walk of the containers.
 */
it.each([false, true])('an export holding a disposed document is withdrawn even when its ZIP will not be deleted (leased: %s)', async (leasedZip) => {
  const deps = { ...inMemoryDeps(), catalog: new ListingCatalog() };
  const [doc] = await seedMany(deps, TENANT, [{ metadata: { documentDate: '2018-06-01', reference: 'R-0' } }]);
  deps.catalog.documents.set(`${TENANT}/${doc!.id}`, { ...doc!, retention: { ...doc!.retention, retainUntil: '2025-03-02T00:00:00.000Z' } });
  const principal = { tenantId: TENANT, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;
  deps.clock.now = () => new Date('2025-03-01T12:00:00.000Z');
  const { job } = await startExport(principal, { includeOriginals: false }, 'req-1', deps);
  const done = await runExport(TENANT, job.id, deps);
  deps.clock.now = () => new Date('2025-03-02T06:00:00.000Z');
  const store = deps.exportBlobs as InMemoryExportBlobs;
  const remove = store.delete.bind(store);
  if (leasedZip) store.delete = async (tenantId, blobName) => (blobName === done.blobName ? Promise.reject(new Error('412 LeaseIdMissing')) : remove(tenantId, blobName));
  expect(await withdrawExportsHolding(TENANT, [doc!.id], deps.clock.now(), deps)).toEqual([job.id]);
  expect((await deps.exportJobs.get(TENANT, job.id))!.status).toBe('expired');
  expect((deps.log as RecordingLogger).lines.filter((l) => l.message === EXPORT_BLOB_OUTLIVED).map((l) => l.fields?.exportId)).toEqual(leasedZip ? [job.id] : []);
});

/**
 * Every file in an export ZIP has a path of its own. Base names were kept apart, but an original's
 * path adds a `-001` suffix to its document's base name when the document has several: a document
 * whose base name already ends in `-001` (a reference such as `INV-001`) then got the very path of
 * another document's first original, and unpacking the export kept only one of the two.
 */
import * as yauzl from 'yauzl';
import { runExport } from '../../../shared/exports/run-export';
import { startExport } from '../../../shared/exports/start-export';
import type { Principal } from '../../../shared/kernel/principal';
import { inMemoryDeps, InMemoryExportBlobs, ListingCatalog } from '../../support/in-memory';
import { keepManifest, seedDocument } from '../../support/seed';

const T = 'acme';

async function entryNames(buf: Buffer): Promise<string[]> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.fromBuffer(buf, { lazyEntries: true }, (e, z) => (e ? reject(e) : resolve(z))));
  const names: string[] = [];
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      names.push(entry.fileName);
      zip.readEntry();
    });
    zip.on('end', resolve);
    zip.on('error', reject);
    zip.readEntry();
  });
  return names;
}

it('gives an original of a multi-original document and the original of a document named like it different paths', async () => {
  const deps = { ...inMemoryDeps(), catalog: new ListingCatalog() };
  const metadata = { documentDate: '2024-02-01', kind: 'invoice' as const, counterparty: 'ACME', reference: 'INV' };
  await seedDocument(deps, T, { metadata: { ...metadata, reference: 'INV-001' }, original: Buffer.from('single original') });
  const many = await seedDocument(deps, T, { metadata, original: Buffer.from('first of two') });
  const second = await seedDocument(deps, T, { metadata: { ...metadata, reference: 'other' }, original: Buffer.from('second of two') });
  // `many` has two originals (upload order): its own and `second`'s bytes, as a two-scan upload stores them.
  // Kept in `many`'s own folder, as an upload keeps every original of its document (an export refuses a file elsewhere).
  const stored = deps.catalog.documents.get(`${T}/${many.id}`)!;
  const secondName = `${many.id}/original-002.${second.originals[0]!.blobName.split('.').pop()}`;
  deps.blobs.blobs.set(`${T}/${secondName}`, { ...deps.blobs.blobs.get(`${T}/${second.originals[0]!.blobName}`)! });
  const twoScans = { ...stored, originals: [stored.originals[0]!, { ...second.originals[0]!, blobName: secondName }] };
  deps.catalog.documents.set(`${T}/${many.id}`, twoScans);
  await keepManifest(deps, twoScans); // its manifest as that upload's ingest would have sealed it
  deps.catalog.documents.delete(`${T}/${second.id}`);
  const principal = { tenantId: T, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;
  const { job } = await startExport(principal, { fiscalYear: 2024, includeOriginals: true }, 'req-1', deps);

  const done = await runExport(T, job.id, deps);

  expect(done.status).toBe('completed');
  const names = await entryNames((deps.exportBlobs as InMemoryExportBlobs).blobs.get(`${T}/${done.blobName}`)!);
  expect(names.filter((n) => n.startsWith('originals/'))).toHaveLength(3);
  expect(new Set(names).size).toBe(names.length);
});

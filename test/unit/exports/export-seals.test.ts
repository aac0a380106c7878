/**
 * An export takes a document only if its manifest is the archive's, as the fixity check judges it (manifest.ts
 * manifestByArchive): sealed by it, or from before the seal with its ingest's keyed audit entry. Broke: the export asked
 * only whether the manifest described the catalog item, so whoever could create blobs and write Cosmos DB exported a
 * folder of their own (a fake invoice, a manifest naming its SHA-256) with manifest.csv, and `archive verify` said VERIFIED.
 */
import { runExport } from '../../../shared/exports/run-export';
import { startExport } from '../../../shared/exports/start-export';
import { MANIFEST_UNSEALED, sealedManifest } from '../../../shared/documents/manifest';
import { blobLayout } from '../../../shared/kernel/blob-layout';
import type { ArchivedDocument } from '../../../shared/kernel/document';
import type { Principal } from '../../../shared/kernel/principal';
import type { AuditFilter } from '../../../shared/ports';
import { checkDocument, FIXITY_MISMATCH } from '../../../shared/retention/fixity';
import { inMemoryDeps, type InMemoryExportBlobs, ListingCatalog, type RecordingLogger } from '../../support/in-memory';
import { seedDocument } from '../../support/seed';

const T = 'acme';
const WORM = { retainUntil: '2099-01-01T00:00:00.000Z', legalHold: false };
const principal = { tenantId: T, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;
const FAKE = { documentDate: '2024-06-30', kind: 'invoice' as const, reference: 'SHADY-9800', counterparty: 'Shady Supplies BV' };

/** A world whose audit queries for ingest entries and blob reads are counted; `manifest` writes each document's manifest. */
async function world(manifest: (doc: ArchivedDocument, deps: ReturnType<typeof inMemoryDeps>) => Promise<Buffer>, ingestEntry = false) {
  const deps = { ...inMemoryDeps(), catalog: new ListingCatalog() };
  // The folder and its catalog item written straight to storage and Cosmos DB, as whoever holds both can.
  const doc = await seedDocument(deps, T, { metadata: FAKE });
  await deps.blobs.putCreateOnly(T, blobLayout.manifest(doc.id), await manifest(doc, deps), 'application/json', WORM, {});
  if (ingestEntry) {
    await deps.audit.append({ tenantId: T, at: deps.clock.now().toISOString(), actor: { subject: 'anna', kind: 'user' }, action: 'document.ingest', target: doc.id, outcome: 'success', status: 201, requestId: 'r-ingest', clientIp: null, userAgent: null });
  }
  const counts = { ingestQueries: 0, manifestReads: 0 };
  const list = deps.audit.list.bind(deps.audit);
  deps.audit.list = async (tenantId: string, month: string, limit: number, token?: string, filter?: AuditFilter) => {
    if (filter?.action === 'document.ingest') counts.ingestQueries++;
    return list(tenantId, month, limit, token, filter);
  };
  const read = deps.blobs.readIfExists.bind(deps.blobs);
  deps.blobs.readIfExists = async (tenantId: string, name: string) => {
    if (name === blobLayout.manifest(doc.id)) counts.manifestReads++;
    return read(tenantId, name);
  };
  let n = 0;
  const exportOnce = async () => runExport(T, (await startExport(principal, { fiscalYear: 2024, includeOriginals: false }, `req-${++n}`, deps)).job.id, deps);
  return { deps, doc, counts, exportOnce };
}

/** The seal (mac, key version) of another, genuine document's manifest. */
async function sealOfAnother(deps: ReturnType<typeof inMemoryDeps>): Promise<{ mac: string; keyVersion?: string }> {
  const genuine = await seedDocument({ ...deps, catalog: new ListingCatalog() }, T, { metadata: { documentDate: '2024-01-02', kind: 'receipt' as const } });
  const { mac, keyVersion } = JSON.parse((await sealedManifest(genuine, deps)).toString('utf8')) as { mac: string; keyVersion?: string };
  return { mac, ...(keyVersion ? { keyVersion } : {}) };
}

it.each([
  ['unsealed, its ingest in no audit entry (the fake invoice)', async (doc: ArchivedDocument) => Buffer.from(JSON.stringify(doc))],
  ['with the seal of another folder copied in', async (doc: ArchivedDocument, deps: ReturnType<typeof inMemoryDeps>) => Buffer.from(JSON.stringify({ ...doc, ...(await sealOfAnother(deps)) }))],
])('a document whose manifest is %s fails the export as a fixity mismatch, alerted, naming the document only', async (_, manifest) => {
  const { deps, doc, exportOnce } = await world(manifest);

  const done = await exportOnce();

  expect(done).toMatchObject({ status: 'failed', error: `export_fixity_mismatch: Document ${doc.id}: its manifest in storage is not the archive's.` });
  const errors = (deps.log as RecordingLogger).lines.filter((l) => l.level === 'error');
  expect(errors.filter((l) => l.message === FIXITY_MISMATCH)).toEqual([{ level: 'error', message: FIXITY_MISMATCH, fields: { tenantId: T, documentId: doc.id, exportId: done.id, mismatched: [blobLayout.manifest(doc.id)], missing: [] } }]);
  expect(errors.map((l) => l.message).sort()).toEqual([FIXITY_MISMATCH, MANIFEST_UNSEALED].sort());
  expect(JSON.stringify([errors, done])).not.toMatch(/Shady|SHADY/);
  expect((deps.exportBlobs as InMemoryExportBlobs).blobs.size).toBe(0);
});

it('a genuine sealed document exports as before: its HMAC checked, no audit entry looked for, its manifest read once', async () => {
  const { counts, exportOnce } = await world((doc, deps) => sealedManifest(doc, deps));

  expect(await exportOnce()).toMatchObject({ status: 'completed', progress: { documents: 1 } });
  // Storage's creation time comes with the read the export already made: no round trip more per document.
  expect(counts).toEqual({ ingestQueries: 0, manifestReads: 1 });
});

it('a genuine manifest from before the seal, its ingest in the audit log, exports; a second export looks for no audit entry of it, one of another blob under its name does', async () => {
  const { deps, doc, counts, exportOnce } = await world(async (d) => Buffer.from(JSON.stringify(d)), true);

  expect(await exportOnce()).toMatchObject({ status: 'completed', progress: { documents: 1 } });
  expect(counts.ingestQueries).toBeGreaterThan(0);
  counts.ingestQueries = 0;
  expect(await exportOnce()).toMatchObject({ status: 'completed', progress: { documents: 1 } });
  expect(counts).toEqual({ ingestQueries: 0, manifestReads: 2 });
  // Another blob under its name (deleted and written again: another ETag) is judged afresh.
  const name = `${T}/${blobLayout.manifest(doc.id)}`;
  deps.blobs.blobs.set(name, { ...deps.blobs.blobs.get(name)! });
  expect(await exportOnce()).toMatchObject({ status: 'completed' });
  expect(counts.ingestQueries).toBeGreaterThan(0);
  expect((deps.log as RecordingLogger).lines.filter((l) => l.level === 'error')).toEqual([]);
});

it('the fixity check remembers a pre-seal manifest witnessed as the export does: its next cycle looks for no audit entry of it', async () => {
  // It looked the ingest entry up for each such manifest on every cycle, and again for every export of its year.
  const { deps, doc, counts, exportOnce } = await world(async (d) => Buffer.from(JSON.stringify(d)), true);
  expect(await checkDocument(doc, deps)).toEqual({ mismatched: [], missing: [] });
  expect(counts.ingestQueries).toBeGreaterThan(0);
  counts.ingestQueries = 0;
  expect(await checkDocument(doc, deps)).toEqual({ mismatched: [], missing: [] });
  expect(await exportOnce()).toMatchObject({ status: 'completed' });
  expect(counts.ingestQueries).toBe(0);
});

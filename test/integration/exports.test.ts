/** POST /exports: a fiscal year as one streamed ZIP with manifests; progress, download with ranges, expiry and restart. */
import * as yauzl from 'yauzl';
import { QueueServiceClient } from '@azure/storage-queue';
import { startExport } from '../../shared/exports/start-export';
import { uuidv7 } from '../../shared/ids';
import { ExportBlobs } from '../../shared/adapters/azure/export-store';
import { maintainExports } from '../../shared/exports/maintain-exports';
import type { ExportManifest } from '../../shared/kernel/export';
import { auditMonth } from '../../shared/kernel/audit';
import { call, multipart, sha256hex } from '../support/http';
import { corpusFile, newTenant, startTestArchive, TestArchive } from '../support/harness';
import { seedMany } from '../support/seed';
import { csvRecords } from '../support/csv';

let archive: TestArchive;
let tenant: string;
let token: string;

async function unzip(buf: Buffer): Promise<Map<string, Buffer>> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.fromBuffer(buf, { lazyEntries: true }, (e, z) => (e ? reject(e) : resolve(z))));
  const out = new Map<string, Buffer>();
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      zip.openReadStream(entry, (err, stream) => {
        if (err) return reject(err);
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          out.set(entry.fileName, Buffer.concat(chunks));
          zip.readEntry();
        });
      });
    });
    zip.on('end', resolve);
    zip.on('error', reject);
    zip.readEntry();
  });
  return out;
}

async function waitFor(id: string, tok = token): Promise<any> {
  for (let i = 0; i < 300; i++) {
    const r = await call(`${archive.url}/exports/${id}`, { token: tok });
    expect(r.status).toBe(200);
    if (r.json.status !== 'running') return r.json;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error('export did not finish');
}

beforeAll(async () => {
  archive = await startTestArchive();
  tenant = newTenant('export');
  token = await archive.token({ tenant, sub: 'accountant@export.example', rights: 'accountant' });
  const deps = archive.host.deps;
  await seedMany(deps, tenant, [
    ...Array.from({ length: 50 }, (_, i) => ({ metadata: { documentDate: `2024-${String(1 + (i % 12)).padStart(2, '0')}-10`, kind: 'invoice' as const, counterparty: `Supplier ${i % 7}`, reference: `INV-${i}`, amount: i, currency: 'EUR' } })),
    // Same readable name twice: the export must still give each its own file.
    { metadata: { documentDate: '2024-05-05', kind: 'receipt', counterparty: 'Café "Zürich"/../x', reference: 'R-1' } },
    { metadata: { documentDate: '2024-05-05', kind: 'receipt', counterparty: 'Café "Zürich"/../x', reference: 'R-1' } },
    ...Array.from({ length: 10 }, (_, i) => ({ metadata: { documentDate: `2023-0${1 + (i % 9)}-01`, kind: 'receipt' as const } })),
  ]);
  // And one through real ingest: two originals, a PDF/A rendition.
  const archivist = await archive.token({ tenant, sub: 'archivist@export.example', rights: 'archivist' });
  const up = await call(`${archive.url}/documents`, {
    method: 'POST',
    token: archivist,
    body: multipart([{ bytes: corpusFile('img2pdf/normal.png'), name: 'p1.png' }, { bytes: corpusFile('img2pdf/mono.tif'), name: 'p2.tif' }], { documentDate: '2024-12-31', kind: 'bank-statement' }),
  });
  expect(up.status).toBe(201);
});
afterAll(() => archive.stop());

describe('POST /exports', () => {
  let exportId: string;
  let zipBytes: Buffer;

  it('exports a fiscal year as a ZIP whose manifest matches the catalog and every file', async () => {
    const start = await call(`${archive.url}/exports`, { method: 'POST', token, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ fiscalYear: 2024, includeOriginals: true }) });
    expect(start.status).toBe(202);
    exportId = start.json.id;
    expect(start.headers.get('location')).toBe(`/api/exports/${exportId}`);
    expect(start.json.progress.total).toBe(53);
    const done = await waitFor(exportId);
    expect(done.status).toBe('completed');
    expect(done.progress).toMatchObject({ total: 53, documents: 53, files: 53 * 2 + 1 });

    const dl = await call(`${archive.url}/exports/${exportId}/download`, { token });
    expect(dl.status).toBe(200);
    expect(dl.headers.get('content-type')).toBe('application/zip');
    zipBytes = dl.bytes;
    expect(sha256hex(zipBytes)).toBe(done.archive.sha256);
    expect(dl.headers.get('repr-digest')).toBe(`sha-256=:${Buffer.from(done.archive.sha256, 'hex').toString('base64')}:`);

    const files = await unzip(zipBytes);
    const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8')) as ExportManifest;
    const catalog = (await archive.host.deps.catalog.list(tenant, { fiscalYear: 2024, limit: 200 })).items;
    expect(manifest.documents.map((d) => d.id).sort()).toEqual(catalog.map((d) => d.id).sort());
    expect(manifest.export).toMatchObject({ id: exportId, tenantId: tenant, requestId: start.headers.get('x-request-id'), filter: { fiscalYear: 2024 }, includeOriginals: true });
    const byId = new Map(catalog.map((d) => [d.id, d]));
    const paths = new Set<string>();
    for (const d of manifest.documents) {
      const doc = byId.get(d.id)!;
      expect(d.metadata).toEqual(doc.metadata);
      expect(d.files.map((f) => f.sha256)).toEqual([doc.rendition.sha256, ...doc.originals.map((o) => o.sha256)]);
      for (const f of d.files) {
        expect(paths.has(f.path.toLowerCase())).toBe(false);
        paths.add(f.path.toLowerCase());
        expect(f.path).not.toMatch(/\.\.|["\\]|\/.*\//);
        expect(sha256hex(files.get(f.path)!)).toBe(f.sha256);
      }
    }
    expect(files.size).toBe(paths.size + 2);
    // manifest.csv: one row per document (originals in columns), so the amounts add up.
    expect(manifest.export.csv).toEqual({ separator: ',', decimalMark: '.' });
    const csvBytes = files.get('manifest.csv')!;
    expect(csvBytes.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf]))).toBe(true);
    // manifest.json records the CSV's SHA-256 and size, so `archive verify` notices an edited list.
    expect(manifest.manifestCsv).toEqual({ sha256: sha256hex(csvBytes), size: csvBytes.length });
    const rows = csvRecords(csvBytes.toString('utf8'));
    expect(rows.map((r) => r.documentId).sort()).toEqual(catalog.map((d) => d.id).sort());
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(sum(rows.map((r) => Number(r.amount || 0)))).toBe(sum(catalog.map((d) => d.metadata.amount ?? 0)));
    const twoOriginals = rows.find((r) => r.originalCount === '2')!;
    expect(twoOriginals.originalPaths!.split(' | ')).toEqual(manifest.documents.find((d) => d.id === twoOriginals.documentId)!.files.filter((f) => f.role === 'original').map((f) => f.path));

    // The audit reference in the manifest is the POST's audit entry; completion is audited too.
    const month = new Date().toISOString().slice(0, 7);
    const log = (await archive.host.deps.audit.list(tenant, month, 200)).items;
    expect(log.find((e) => e.id === manifest.export.auditEntryId)).toMatchObject({ action: 'export.create', requestId: manifest.export.requestId, target: exportId });
    expect(log.find((e) => e.action === 'export.completed')).toMatchObject({ target: exportId, outcome: 'success' });
  });

  it('serves the archive with Range, If-Range and If-None-Match', async () => {
    const etag = `"${sha256hex(zipBytes)}"`;
    const part = await call(`${archive.url}/exports/${exportId}/download`, { token, headers: { Range: 'bytes=100-1099' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-1099/${zipBytes.length}`);
    expect(part.bytes.equals(zipBytes.subarray(100, 1100))).toBe(true);
    const stale = await call(`${archive.url}/exports/${exportId}/download`, { token, headers: { Range: 'bytes=100-1099', 'If-Range': '"other"' } });
    expect([stale.status, stale.bytes.length]).toEqual([200, zipBytes.length]);
    expect((await call(`${archive.url}/exports/${exportId}/download`, { token, headers: { 'If-None-Match': etag } })).status).toBe(304);
    expect((await call(`${archive.url}/exports/${exportId}/download`, { token, headers: { Range: `bytes=${zipBytes.length}-` } })).status).toBe(416);
  });

  it('refuses bad requests, other tenants and missing rights', async () => {
    const bad = await call(`${archive.url}/exports`, { method: 'POST', token, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ fiscalYear: 'all', tenantId: 'x' }) });
    expect([bad.status, bad.json.code]).toEqual([400, 'bad_request']);
    const other = await archive.token({ tenant: newTenant('export'), sub: 'x', rights: 'accountant' });
    expect((await call(`${archive.url}/exports/${exportId}`, { token: other })).json.code).toBe('export_not_found');
    expect((await call(`${archive.url}/exports/${exportId}/download`, { token: other })).status).toBe(404);
    const uploader = await archive.token({ tenant, sub: 'up', rights: 'uploader' });
    expect((await call(`${archive.url}/exports`, { method: 'POST', token: uploader, body: '{}' })).status).toBe(403);
  });

  it('csv option: the Dutch-spreadsheet choice (`;` and `,`) is recorded in manifest.json and parses back to the same amounts', async () => {
    const post = (body: unknown) => call(`${archive.url}/exports`, { method: 'POST', token, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const same = await post({ fiscalYear: 2024, csv: { separator: ';', decimalMark: ';' } });
    expect([same.status, same.json.code]).toEqual([400, 'bad_request']);
    expect((await post({ fiscalYear: 2024, csv: { separator: '\t' } })).status).toBe(400);
    const start = await post({ fiscalYear: 2024, kind: 'invoice', csv: { separator: ';', decimalMark: ',' } });
    expect(start.status).toBe(202);
    expect(start.json.csv).toEqual({ separator: ';', decimalMark: ',' });
    expect((await waitFor(start.json.id)).status).toBe('completed');
    const files = await unzip((await call(`${archive.url}/exports/${start.json.id}/download`, { token })).bytes);
    const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8')) as ExportManifest;
    expect(manifest.export.csv).toEqual({ separator: ';', decimalMark: ',' });
    const rows = csvRecords(files.get('manifest.csv')!.toString('utf8'), ';');
    expect(rows).toHaveLength(50);
    const amounts = rows.map((r) => Number(r.amount!.replace(',', '.')));
    expect(amounts.reduce((a, b) => a + b, 0)).toBe((49 * 50) / 2);
  });

  it('runs each export from the Azurite export-work queue: a job waits for its message, which runs it; a malformed one is dropped', async () => {
    const deps = archive.host.deps;
    const principal = { tenantId: tenant, subject: 'accountant@export.example', kind: 'user' as const, rightsSet: 'accountant', permissions: new Set<never>() };
    const queue = QueueServiceClient.fromConnectionString(archive.emulators.storageConnectionString).getQueueClient(deps.config.ARCHIVE_EXPORT_QUEUE);
    await queue.sendMessage(Buffer.from('{"tenantId":"no export id"}').toString('base64'));
    const { job } = await startExport(principal, { fiscalYear: 2023, includeOriginals: false }, 'req-queued', deps); // created, its work not queued
    await new Promise((r) => setTimeout(r, 4 * deps.config.ARCHIVE_EXPORT_QUEUE_POLL_MS));
    expect((await deps.exportJobs.get(tenant, job.id))!).toMatchObject({ status: 'running', attempts: 0 });
    await deps.exportWork.enqueue(tenant, job.id);
    expect(await waitFor(job.id)).toMatchObject({ status: 'completed', progress: { total: 10, documents: 10 } });
    // Both messages taken and completed: none waits, none was moved to the poison queue. The job is saved completed
    // before the loop completes its message (local/export-loop.ts), so the count is read until it settles, as waitFor.
    let waiting = (await queue.getProperties()).approximateMessagesCount;
    for (let i = 0; i < 50 && waiting !== 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      waiting = (await queue.getProperties()).approximateMessagesCount;
    }
    expect(waiting).toBe(0);
    expect(await deps.exportWork.peekPoison()).toEqual([]);
  });

  it('restarts an export whose worker died, and expires exports (blob deleted, 410)', async () => {
    const deps = archive.host.deps;
    const principal = { tenantId: tenant, subject: 'accountant@export.example', kind: 'user' as const, rightsSet: 'accountant', permissions: new Set<never>() };
    const { job } = await startExport(principal, { fiscalYear: 2023, includeOriginals: false }, 'req-orphan', deps); // never run: as if the instance died
    // Another tenant's orphan, equally due: a run kept to this tenant leaves it alone.
    const otherTenant = newTenant('export-other');
    const { job: otherJob } = await startExport({ ...principal, tenantId: otherTenant }, { fiscalYear: 2023, includeOriginals: false }, 'req-orphan-other', deps);
    const later = new Date(Date.now() + 20 * 60_000);
    // The listing carries each job's etag; a write over an older version is refused (If-Match), never an overwrite.
    const staleBefore = new Date(later.getTime() - deps.config.ARCHIVE_EXPORT_STALE_SECONDS * 1000);
    const listed = (await deps.exportJobs.unsafeListDue(later, staleBefore, 100, tenant)).find((l) => l.item.id === job.id)!;
    expect(listed.etag).toEqual((await deps.exportJobs.getVersioned(tenant, job.id))!.etag);
    const beat = await deps.exportJobs.replace({ ...listed.item, heartbeatAt: listed.item.heartbeatAt }, listed.etag);
    expect(beat).toEqual({ etag: expect.any(String) });
    expect(await deps.exportJobs.replace(listed.item, listed.etag)).toBe('conflict');
    expect(await deps.exportJobs.replace({ ...listed.item, id: 'no-such-export' }, listed.etag)).toBe('conflict');
    // With an audit outbox item (one batch): refused the same way, and the item not stored either.
    const refusedItem = { id: `audit-outbox:${job.requestId}:refused`, tenantId: tenant, type: 'audit-outbox' as const, at: later.toISOString(), entries: [] };
    expect(await deps.exportJobs.replace(listed.item, listed.etag, refusedItem)).toBe('conflict');
    expect((await deps.auditOutboxItems.unsafeWrittenBefore(new Date(later.getTime() + 86_400_000).toISOString(), 1000)).map((i) => i.item.id)).not.toContain(refusedItem.id);
    const first = await maintainExports({ now: later, deps, tenantId: tenant });
    expect(first.restarted).toContain(job.id);
    expect(first.restarted).not.toContain(otherJob.id);
    const restarted = await waitFor(job.id);
    expect(restarted).toMatchObject({ status: 'completed', progress: { total: 10, documents: 10, files: 10 } });

    const afterExpiry = new Date(Date.parse(restarted.expiresAt) + 1000);
    const second = await maintainExports({ now: afterExpiry, deps, tenantId: tenant });
    expect(second.expired).toEqual(expect.arrayContaining([job.id, exportId]));
    expect(second.expired).not.toContain(otherJob.id);
    expect((await maintainExports({ now: afterExpiry, deps, tenantId: tenant })).expired).toEqual([]);
    // The expiry's entry was stored with the job's save and appended: in the chain once, no outbox item left behind.
    const expiredEntries = await deps.audit.list(tenant, auditMonth(afterExpiry), 10, undefined, { action: 'export.expired', target: job.id });
    expect(expiredEntries.items).toEqual([expect.objectContaining({ requestId: 'req-orphan', actor: { subject: 'system:export-maintenance', kind: 'system' } })]);
    const left = await deps.auditOutboxItems.unsafeWrittenBefore(new Date(afterExpiry.getTime() + 86_400_000).toISOString(), 1000);
    expect(left.map((i) => i.item).filter((i) => i.tenantId === tenant && i.entries.some((e) => e.action === 'export.expired'))).toEqual([]);
    expect((await call(`${archive.url}/exports/${job.id}`, { token })).json.status).toBe('expired');
    const gone = await call(`${archive.url}/exports/${job.id}/download`, { token });
    expect([gone.status, gone.json.code]).toEqual([410, 'export_expired']);
    const blobs = (deps.exportBlobs as unknown as { service: import('@azure/storage-blob').BlobServiceClient }).service.getContainerClient(ExportBlobs.containerName(tenant));
    expect(await blobs.getBlobClient(`${job.id}.zip`).exists()).toBe(false);
  });
});

it('the export store stages blocks, commits them, lists the committed ones and commits a list going on from them (a resumed export), each write conditional as asked', async () => {
  const store = archive.host.deps.exportBlobs;
  const name = `${uuidv7()}.zip`;
  const id = (n: number) => Buffer.from(`01-${String(n).padStart(8, '0')}`).toString('base64');
  await store.ensureContainer(tenant); // POST /exports's, the worker's role creates none
  expect(await store.committedBlocks(tenant, name)).toEqual([]);
  await store.stageBlock(tenant, name, id(0), Buffer.from('first '));
  await store.stageBlock(tenant, name, id(1), Buffer.from('second '));
  await store.commitBlocks(tenant, name, [id(0), id(1)]);
  expect(await store.committedBlocks(tenant, name)).toEqual([{ id: id(0), size: 6 }, { id: id(1), size: 7 }]);
  await store.stageBlock(tenant, name, id(2), Buffer.from('third'));
  const first = await store.commitBlocks(tenant, name, [id(0), id(1)]);
  expect(first).not.toBe('conflict');
  // Over the version the attempt last wrote only: one written since by another is refused (BlockSink).
  const { etag } = first as { etag: string };
  expect(await store.commitBlocks(tenant, name, [id(0), id(1)], { ifMatch: etag })).not.toBe('conflict');
  expect(await store.commitBlocks(tenant, name, [id(0), id(1), id(2)], { ifMatch: etag })).toBe('conflict');
  await store.stageBlock(tenant, name, id(2), Buffer.from('third'));
  await store.commitBlocks(tenant, name, [id(0), id(1), id(2)]);
  const read = await store.read(tenant, name);
  const chunks: Buffer[] = [];
  for await (const c of read.stream) chunks.push(c as Buffer);
  expect(Buffer.concat(chunks).toString()).toBe('first second third');
  // An attempt's first commit only where there is no blob (BlockSink).
  expect(await store.commitBlocks(tenant, name, [id(0)], { ifNoneMatch: '*' })).toBe('conflict');
  await store.delete(tenant, name);
  expect(await store.committedBlocks(tenant, name)).toEqual([]);
  // A checkpoint written only where none is, then only over the version written (saveCheckpoint).
  const checkpoint = `${uuidv7()}.checkpoint.json`;
  const made = await store.putIf(tenant, checkpoint, Buffer.from('{"a":1}'), 'application/json', { ifNoneMatch: '*' });
  expect(made).not.toBe('conflict');
  expect(await store.putIf(tenant, checkpoint, Buffer.from('{"b":1}'), 'application/json', { ifNoneMatch: '*' })).toBe('conflict');
  const next = await store.putIf(tenant, checkpoint, Buffer.from('{"c":1}'), 'application/json', { ifMatch: (made as { etag: string }).etag });
  expect(next).not.toBe('conflict');
  expect(await store.putIf(tenant, checkpoint, Buffer.from('{"d":1}'), 'application/json', { ifMatch: (made as { etag: string }).etag })).toBe('conflict');
  // Deleted only while the version held (an attempt that lost its job, its own checkpoint): 412 and 404 are conflicts.
  expect(await store.deleteIf(tenant, checkpoint, { ifMatch: (made as { etag: string }).etag })).toBe('conflict');
  expect(await store.readIfExists(tenant, checkpoint)).not.toBeNull();
  const held = await store.putIf(tenant, checkpoint, Buffer.from('{"c":1}'), 'application/json', { ifMatch: (next as { etag: string }).etag });
  expect(await store.deleteIf(tenant, checkpoint, { ifMatch: (held as { etag: string }).etag })).toBe('deleted');
  expect(await store.deleteIf(tenant, checkpoint, { ifMatch: (held as { etag: string }).etag })).toBe('conflict');
  const again = await store.putIf(tenant, checkpoint, Buffer.from('{"c":1}'), 'application/json', { ifNoneMatch: '*' });
  await store.delete(tenant, checkpoint);
  expect(await store.putIf(tenant, checkpoint, Buffer.from('{"e":1}'), 'application/json', { ifMatch: (again as { etag: string }).etag })).toBe('conflict');
  expect(await store.readIfExists(tenant, checkpoint)).toBeNull();
});

describe('an export of a fiscal year with disposed documents', () => {
  it('counts what it holds: a tombstone of that year is neither in the ZIP nor in its total; a document without a date is in both', async () => {
    const { runExport } = await import('../../shared/exports/run-export');
    const { tombstoneOf } = await import('../../shared/retention/dispose');
    const t = newTenant('export-tomb');
    const deps = archive.host.deps;
    const [dated, disposed, undated] = await seedMany(deps, t, [
      { metadata: { documentDate: '2030-03-01' }, fiscalYear: 2030 },
      { metadata: { documentDate: '2030-04-01' }, fiscalYear: 2030 },
      { metadata: { kind: 'receipt' }, fiscalYear: 2030 },
    ]);
    const stored = (await deps.retention.catalog.getVersioned(t, disposed!.id))!;
    await deps.retention.catalog.replace(tombstoneOf(stored.item, { at: '2038-01-01T00:00:00.000Z', by: { subject: 'system:retention-sweep', kind: 'system' }, reason: 'retention ended', runId: 'run-1', audited: true }), stored.etag);
    const principal = { tenantId: t, subject: 'acc', kind: 'user' as const, rightsSet: 'accountant', permissions: new Set(['exports:create' as const]) };
    const { job } = await startExport(principal, { fiscalYear: 2030, includeOriginals: false }, 'req-tomb', deps);
    expect(job.progress.total).toBe(2);
    const done = await runExport(t, job.id, deps);
    expect(done).toMatchObject({ status: 'completed', progress: { total: 2, documents: 2, files: 2 } });
    const zip = await unzip((await call(`${archive.url}/exports/${job.id}/download`, { token: await archive.token({ tenant: t, sub: 'acc', rights: 'accountant' }) })).bytes);
    const manifest = JSON.parse(zip.get('manifest.json')!.toString()) as ExportManifest;
    expect(manifest.documents.map((d) => d.id).sort()).toEqual([dated!.id, undated!.id].sort());
  });

  it('Idempotency-Key: a retry, also one sent at the same time, answers the export started and starts no second one; another request with the key is 422', async () => {
    const t = newTenant('export-key');
    const tok = await archive.token({ tenant: t, sub: 'accountant@export-key.example', rights: 'accountant' });
    const start = (body: unknown) => call(`${archive.url}/exports`, { method: 'POST', token: tok, headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'year-end-2024' }, body: JSON.stringify(body) });
    const body = { fiscalYear: 2024, includeOriginals: false };
    const [a, b] = await Promise.all([start(body), start(body)]);
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(a.json.id).toBe(b.json.id);
    expect([a.headers.get('idempotent-replayed'), b.headers.get('idempotent-replayed')].sort()).toEqual(['true', null].sort());
    // The same request, the default CSV format spelt out in another order: still a retry of it.
    const later = await start({ ...body, csv: { decimalMark: '.', separator: ',' } });
    expect(later).toMatchObject({ status: 202, json: { id: a.json.id } });
    expect(later.headers.get('idempotent-replayed')).toBe('true');
    const other = await start({ ...body, includeOriginals: true });
    expect(other).toMatchObject({ status: 422, json: { code: 'idempotency_key_reused', exportId: a.json.id, differences: ['includeOriginals'] } });
    const listed = await call(`${archive.url}/exports`, { token: tok });
    expect(listed.json.items.map((e: { id: string }) => e.id)).toEqual([a.json.id]);
    await waitFor(a.json.id, tok);
  });

  it('two starts judged on the same count of running exports: only the first is written, in Cosmos (the start gate)', async () => {
    const t = newTenant('export-gate');
    const jobs = archive.host.deps.exportJobs;
    const principal = { tenantId: t, subject: 'acc', kind: 'user' as const, rightsSet: 'accountant', permissions: new Set(['exports:create' as const]) };
    const { job } = await startExport(principal, { fiscalYear: 2031, includeOriginals: false }, 'req-gate-1', archive.host.deps);
    const seen = await jobs.runningUnderGate(t);
    expect(seen).toEqual({ running: 1, gate: expect.any(String) });
    const next = (n: number) => ({ ...job, id: uuidv7(Date.now() + n), requestId: `req-gate-${n}` });
    // Both judged on `seen`: the first passes and moves the gate, the second finds it moved and writes nothing.
    expect(await jobs.createGated(next(2), seen.gate)).toBe('created');
    expect(await jobs.createGated(next(3), seen.gate)).toBe('conflict');
    expect(await jobs.getVersioned(t, next(3).id)).toBeNull();
    // A tenant's first start creates the gate: a second first start finds it there.
    const u = newTenant('export-gate');
    expect(await jobs.runningUnderGate(u)).toEqual({ running: 0, gate: null });
    expect(await jobs.createGated({ ...next(4), tenantId: u }, null)).toBe('created');
    expect(await jobs.createGated({ ...next(5), tenantId: u }, null)).toBe('conflict');
    expect((await jobs.runningUnderGate(u)).running).toBe(1);
  });
});

// Broke: the worker's upload created exports-<tenant>, so the export app's role kept containers/write (no assignment
// condition binds it: a container of any name). Now only ensureContainer (POST /exports, the main app) creates it.
it('an export blob is written only into a container POST /exports created: the upload creates none', async () => {
  const t = newTenant('export-container');
  const exportBlobs = archive.host.deps.exportBlobs;
  const service = (exportBlobs as unknown as { service: import('@azure/storage-blob').BlobServiceClient }).service;
  const container = service.getContainerClient(ExportBlobs.containerName(t));
  const { Readable } = await import('node:stream');
  await expect(exportBlobs.upload(t, 'x.zip', Readable.from([Buffer.from('zip')]))).rejects.toThrow(`export container ${ExportBlobs.containerName(t)} does not exist`);
  expect(await container.exists()).toBe(false);
  const principal = { tenantId: t, subject: 'acc', kind: 'user' as const, rightsSet: 'accountant', permissions: new Set(['exports:create' as const]) };
  await startExport(principal, { fiscalYear: 2032, includeOriginals: false }, 'req-container-1', archive.host.deps);
  expect(await container.exists()).toBe(true);
  await exportBlobs.upload(t, 'x.zip', Readable.from([Buffer.from('zip')]));
  expect(await container.getBlobClient('x.zip').exists()).toBe(true);
});

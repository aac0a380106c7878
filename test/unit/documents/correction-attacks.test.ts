/**
 * Year-end metadata corrections attacked from a valid account (`documents:correct`, with or without `documents:read`),
 * and as the accountant they would hurt. What the correction oracle (test/unit/faults/correction-oracle.test.ts) does
 * not walk: what a caller that may not read documents learns from a correction's answers, a correction whose blob
 * locks take long while an export reads the document, a correction brought back after a restore with an export made in
 * between, and a correction of a document whose disposal is approved.
 * Tried and left out (held already: test/unit/faults/bad-input-sweep.test.ts, correction-oracle.test.ts): members that are
 * not metadata (`id`, `originals`, `retention`, `legalHold`, `status`, `metadataVersion`, `constructor`: 400; `__proto__`
 * is dropped before the patch is applied: a patch of nothing), an object where a string goes, a reason alone (200, no version), deep
 * nesting, application/json, `If-Match: *` (428), a weak tag (412), `null` kind or date (a later year at most: retention
 * only lengthens), class then date and date then year in steps (each judged from the year and class now: refused).
 */
import { describe, expect, it } from '@jest/globals';
import * as yauzl from 'yauzl';
import type { ArchivedDocument } from '../../../shared/kernel/document';
import { runReconcileTimer, runSweepTimer } from '../../../shared/retention/timers';
import type { InMemoryExportBlobs } from '../../support/in-memory';
import { approval, assign, dueDocs, exportCompleted, docOf, ok, putSet, send, settle, TENANT, world, type World } from '../../support/in-process';

jest.mock('node:timers/promises', () => ({ ...jest.requireActual<object>('node:timers/promises'), setTimeout: async () => new Promise((r) => setImmediate(r)) }));

const patch = (w: World, id: string, body: object, version = 1, as = 'alice') =>
  send(w, { method: 'PATCH', path: `documents/${id}/metadata`, raw: { bytes: Buffer.from(JSON.stringify({ reason: 'Year-end review', ...body })), type: 'application/merge-patch+json' }, headers: { 'If-Match': `"metadata-${version}"` }, as });
const item = (w: World, id: string) => w.deps.catalog.documents.get(`${TENANT}/${id}`)!;

describe('learning through a correction: documents:correct without documents:read', () => {
  /** A document whose every detail is recognisable in an answer, corrected once by alice; dave may correct, not read. */
  async function scene() {
    const w = world();
    const a = await docOf(w, { amount: 4321, currency: 'EUR', counterparty: 'Geheim Holding BV', kind: 'invoice', documentDate: '2024-05-17', reference: 'SECRET-77', tags: ['merger'] });
    await ok(w, { method: 'PATCH', path: `documents/${a}/metadata`, raw: { bytes: Buffer.from(JSON.stringify({ reason: 'Typo', reference: 'SECRET-78' })), type: 'application/merge-patch+json' }, headers: { 'If-Match': '"metadata-1"' }, as: 'alice' });
    await ok(w, putSet('fixer', ['documents:correct']));
    await ok(w, assign('dave', 'fixer'));
    const doc = item(w, a);
    // What dave may not learn: the document's details, files, who corrected it and its retention.
    const secrets = ['Geheim', '4321', '2024-05-17', 'SECRET-7', 'merger', doc.original.sha256, doc.rendition.sha256, '2032', 'alice', 'up'];
    const leaked = (body: unknown) => secrets.filter((s) => JSON.stringify(body).includes(s));
    return { w, a, leaked };
  }

  it('a patch that changes nothing, or a correction, is answered what was corrected and the version, not the document nor the values replaced', async () => {
    const { w, a, leaked } = await scene();
    const same = await patch(w, a, {}, 2, 'dave');
    expect([same.status, same.json, same.headers.ETag ?? same.headers.etag]).toEqual([200, { id: a, metadataVersion: 2 }, '"metadata-2"']);
    const fixed = await patch(w, a, { kind: 'receipt' }, 2, 'dave');
    expect(fixed.status).toBe(200);
    expect(fixed.json).toEqual({ id: a, metadataVersion: 3, correction: { version: 3, at: expect.any(String), by: expect.objectContaining({ subject: 'dave' }), reason: 'Year-end review', changes: [{ field: 'kind', to: 'receipt' }] } });
    expect(leaked([same.json, fixed.json])).toEqual([]);
    // The catalog keeps the whole correction, as from any other caller; a reader is answered the document.
    expect(item(w, a).metadataHistory!.at(-1)!.changes).toEqual([{ field: 'kind', from: 'invoice', to: 'receipt' }]);
    const byReader = await patch(w, a, { kind: 'invoice' }, 3, 'alice');
    expect([byReader.json.metadata.counterparty, byReader.json.correction.changes]).toEqual(['Geheim Holding BV', [{ field: 'kind', from: 'receipt', to: 'invoice' }]]);
  });

  it('its refusals name no value of the document: a stale If-Match, a stated fiscal year against the stored date, a shortening, a disposed document', async () => {
    const { w, a, leaked } = await scene();
    const stale = await patch(w, a, { kind: 'receipt' }, 1, 'dave');
    expect([stale.status, stale.json.code, stale.json.metadataVersion]).toEqual([412, 'precondition_failed', 2]);
    const year = await patch(w, a, { fiscalYear: 2001 }, 2, 'dave');
    expect([year.status, year.json.code, year.json.errors?.[0]?.path]).toEqual([400, 'invalid_metadata', 'fiscalYear']);
    const shorter = await patch(w, a, { documentDate: '2023-01-05' }, 2, 'dave');
    expect([shorter.status, shorter.json.code]).toEqual([422, 'retention_shortening_refused']);
    w.deps.catalog.documents.set(`${TENANT}/${a}`, { ...structuredClone(item(w, a)), status: 'disposed', disposal: { disposedAt: '2033-01-02T00:00:00.000Z', by: { subject: 'system:sweep', kind: 'system' }, approval: { approvalId: 'appr-1', approvedBy: { subject: 'alice', kind: 'user' }, approvedAt: '2032-12-01T00:00:00.000Z' } } } as unknown as ArchivedDocument);
    const gone = await patch(w, a, { kind: 'receipt' }, 2, 'dave');
    expect([gone.status, gone.json.code]).toEqual([410, 'document_disposed']);
    expect(leaked([stale.json, year.json, shorter.json, gone.json])).toEqual([]);
    // Nothing was changed by any of them; a reader is still told who, when and which dates.
    expect(item(w, a).metadataVersion).toBe(2);
    w.deps.catalog.documents.set(`${TENANT}/${a}`, { ...structuredClone(item(w, a)), status: 'active', disposal: undefined } as unknown as ArchivedDocument);
    expect((await patch(w, a, { kind: 'receipt' }, 1, 'alice')).json.updatedBy).toBe('alice');
    expect((await patch(w, a, { fiscalYear: 2001 }, 2, 'alice')).json.detail).toContain('2024-05-17');
  });
});

async function unzipManifest(zip: Buffer): Promise<{ documents: { id: string; metadata: Record<string, unknown> }[] }> {
  const z = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.fromBuffer(zip, { lazyEntries: true }, (e, f) => (e ? reject(e) : resolve(f))));
  return new Promise((resolve, reject) => {
    z.on('entry', (entry: yauzl.Entry) => {
      if (entry.fileName !== 'manifest.json') return z.readEntry();
      z.openReadStream(entry, (err, stream) => {
        if (err) return reject(err);
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
      });
    });
    z.on('end', () => reject(new Error('no manifest.json')));
    z.readEntry();
  });
}

describe('hiding a change from the accountant', () => {
  it('a correction whose blob locks take long while an export reads the document is found by what changed since that export', async () => {
    const w = world();
    const a = await docOf(w, { amount: 100, currency: 'EUR', counterparty: 'Acme BV', kind: 'invoice', fiscalYear: 2024 });
    // The move to 2025 lengthens retention: every blob of the document is locked longer before the catalog is written.
    let release!: () => void;
    const locked = new Promise<void>((r) => (release = r));
    const blobs = w.deps.blobs as unknown as { extendRetention: (...x: unknown[]) => Promise<void> };
    const extend = blobs.extendRetention.bind(blobs);
    let locking = false;
    blobs.extendRetention = async (...x: unknown[]) => {
      locking = true;
      await locked;
      return extend(...x);
    };
    const correcting = patch(w, a, { fiscalYear: 2025, amount: 120 });
    for (let i = 0; i < 1000 && !locking; i++) await new Promise((r) => setImmediate(r));
    expect(locking).toBe(true);
    // A minute later, the accountant exports; the export reads the document as it is (not corrected yet).
    w.clock.advance(60_000);
    const job = await exportCompleted(w, (await ok(w, { method: 'POST', path: 'exports', body: {}, as: 'alice' })).json.id);
    const manifest = await unzipManifest((w.deps.exportBlobs as InMemoryExportBlobs).blobs.get(`${TENANT}/${job.blobName}`)!);
    expect(manifest.documents.find((d) => d.id === a)?.metadata.amount).toBe(100);
    w.clock.advance(1000);
    release();
    expect((await correcting).status).toBe(200);
    await settle(w);
    // correctedSince = the export's createdAt must find it (the break: correctedAt was the minute before the export).
    const doc = item(w, a);
    expect([doc.metadata.amount, doc.correctedAt! >= job.createdAt, doc.metadataHistory!.at(-1)!.at >= job.createdAt]).toEqual([120, true, true]);
    expect(doc.correctedAt).toBe(doc.metadataHistory!.at(-1)!.at);
    // Its kept correction and its audit entry are the catalog's (the digest over the time written, not the one decided).
    const kept = JSON.parse(w.deps.blobs.blobs.get(`${TENANT}/${a}/correction-002.json`)!.bytes.toString('utf8'));
    expect(kept.correction).toEqual(doc.metadataHistory!.at(-1));
  });
  it('a correction the reconciler brings back after the catalog was restored behind it, and an export made in between, is found by what changed since that export', async () => {
    const w = world();
    const a = await docOf(w, { amount: 100, currency: 'EUR', counterparty: 'Acme BV', kind: 'invoice', fiscalYear: 2024 });
    const asIngested = structuredClone(item(w, a));
    expect((await patch(w, a, { amount: 120 })).status).toBe(200);
    // A Cosmos point-in-time restore to before the correction: the item is as ingested, the correction kept in its blob.
    w.clock.advance(3600_000);
    w.deps.catalog.documents.set(`${TENANT}/${a}`, asIngested);
    w.clock.advance(60_000);
    const job = await exportCompleted(w, (await ok(w, { method: 'POST', path: 'exports', body: {}, as: 'alice' })).json.id);
    const manifest = await unzipManifest((w.deps.exportBlobs as InMemoryExportBlobs).blobs.get(`${TENANT}/${job.blobName}`)!);
    expect(manifest.documents.find((d) => d.id === a)?.metadata.amount).toBe(100);
    w.clock.advance(60_000);
    await runReconcileTimer(w.deps);
    await settle(w);
    const doc = item(w, a);
    // The archive says 120 again, the export 100: correctedSince = the export's createdAt must find it (the break: its
    // correctedAt was the correction's own time, an hour before the export), and keeps finding it after the reconciler's
    // next run (which gives every item the search fields its corrections give).
    expect([doc.metadata.amount, doc.metadataVersion, doc.correctedAt! >= job.createdAt]).toEqual([120, 2, true]);
    w.clock.advance(3600_000);
    await runReconcileTimer(w.deps);
    expect(item(w, a).correctedAt! >= job.createdAt).toBe(true);
    // The correction itself is the one made (its time, its person), as kept in storage.
    expect(item(w, a).metadataHistory!.at(-1)!.at < job.createdAt).toBe(true);
  });
});

describe('escaping a disposal review by a correction', () => {
  it('a document whose disposal is approved, corrected into a later year that has ended too, is no longer approved: the sweep keeps it', async () => {
    const w = world();
    const policy = await ok(w, { method: 'GET', path: 'retention/policy', as: 'carol' });
    await ok(w, { method: 'PUT', path: 'retention/policy', body: { ...policy.json, requireDisposalApproval: true }, headers: { 'If-Match': policy.headers.ETag! }, as: 'carol' });
    const [a, b] = await dueDocs(w);
    await ok(w, approval(w));
    expect(item(w, a!).disposalApproval).toBeDefined();
    const moved = await patch(w, a!, { fiscalYear: 2019 }, 1, 'alice');
    expect(moved.status).toBe(200);
    await runSweepTimer(w.deps);
    await settle(w);
    // b, approved and untouched, goes; a was approved for another retain-until than it now has, and stays.
    expect([item(w, a!).status, item(w, b!).status]).toEqual(['active', 'disposed']);
  });
});

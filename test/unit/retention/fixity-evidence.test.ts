/**
 * The fixity check re-reads every blob of a document whose content the catalog vouches for: the
 * originals and the rendition, and also the veraPDF report (the evidence of the PDF/A claim, its
 * SHA-256 on the catalog item) and the manifest (what a catalog rebuild would index): a changed
 * one is found, named in the `document.fixity-failed` audit entry and on the item.
 */
import { createHash } from 'node:crypto';
import { blobLayout } from '../../../shared/kernel/blob-layout';
import type { ArchivedDocument } from '../../../shared/kernel/document';
import { checkFixity } from '../../../shared/retention/fixity';
import { sealedManifest } from '../../../shared/documents/manifest';
import { inMemoryDeps } from '../../support/in-memory';
import { seedDocument } from '../../support/seed';

const T = 'acme';
const now = new Date('2025-06-01T00:00:00Z');
const WORM = { retainUntil: '2099-01-01T00:00:00.000Z', legalHold: false };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A document as ingest and the validator leave it: originals, rendition, manifest, report. */
async function archived() {
  const deps = inMemoryDeps();
  const seeded = await seedDocument(deps, T, { metadata: {} });
  await deps.blobs.putCreateOnly(T, blobLayout.manifest(seeded.id), await sealedManifest(seeded, deps), 'application/json', WORM, {});
  const report = Buffer.from('{"report":"veraPDF says passed"}');
  const reportName = `${seeded.id}/validation.json`;
  await deps.blobs.putCreateOnly(T, reportName, report, 'application/json', WORM, {});
  const doc: ArchivedDocument = {
    ...seeded,
    validation: { status: 'passed', validator: { name: 'veraPDF', version: '1' }, profile: 'PDF/A-2B', passed: true, failedRules: [], validatedAt: now.toISOString(), renditionSha256: seeded.rendition.sha256, report: { blobName: reportName, sha256: sha(report), size: report.length } },
  };
  deps.catalog.documents.set(`${T}/${doc.id}`, doc);
  const check = () => checkFixity({ now, cycleDays: 30, maxItems: 100, continuation: null }, deps);
  const overwrite = (name: string, bytes: Buffer) => (deps.blobs.blobs.get(`${T}/${name}`)!.bytes = bytes);
  return { deps, doc, reportName, check, overwrite };
}

it('an untouched document passes', async () => {
  const { check } = await archived();
  expect((await check()).failures).toEqual([]);
});

it('a changed veraPDF report is a mismatch, audited', async () => {
  const { deps, doc, reportName, check, overwrite } = await archived();
  overwrite(reportName, Buffer.from('{"report":"forged"}'));
  expect((await check()).failures).toEqual([{ tenantId: T, documentId: doc.id, mismatched: [reportName], missing: [] }]);
  expect(deps.audit.entries.filter((e) => e.action === 'document.fixity-failed')).toMatchObject([{ target: doc.id, detail: 'mismatch:validation.json' }]);
  expect((await deps.catalog.get(T, doc.id))!.fixity).toMatchObject({ ok: false, mismatched: [reportName] });
});

it('a missing veraPDF report is missing, audited', async () => {
  const { deps, doc, reportName, check } = await archived();
  deps.blobs.blobs.delete(`${T}/${reportName}`);
  expect((await check()).failures).toEqual([{ tenantId: T, documentId: doc.id, mismatched: [], missing: [reportName] }]);
});

it('a manifest that no longer describes the document (another rendition, another tenant, not JSON) is a mismatch, audited', async () => {
  for (const forged of [
    (d: ArchivedDocument) => Buffer.from(JSON.stringify({ ...d, rendition: { ...d.rendition, sha256: 'f'.repeat(64) } })),
    (d: ArchivedDocument) => Buffer.from(JSON.stringify({ ...d, tenantId: 'other' })),
    (d: ArchivedDocument) => Buffer.from(JSON.stringify({ ...d, originals: [{ ...d.originals[0]!, sha256: '0'.repeat(64) }] })),
    () => Buffer.from('not json'),
  ]) {
    const { deps, doc, check, overwrite } = await archived();
    overwrite(blobLayout.manifest(doc.id), forged(doc));
    expect((await check()).failures).toEqual([{ tenantId: T, documentId: doc.id, mismatched: [blobLayout.manifest(doc.id)], missing: [] }]);
    expect(deps.audit.entries.filter((e) => e.action === 'document.fixity-failed')).toMatchObject([{ target: doc.id, detail: 'mismatch:manifest.json' }]);
  }
});

/**
 * Round 22: attacks on this session's other merges (kept settings listed at most KEPT_SETTINGS_LISTED, a download's and
 * the validation worker's manifest witness, the bounded audit verification, the export container made by POST /exports).
 * Each case is an attack that broke, with the fix it got; see each block's comment.
 */
import { createHash } from 'node:crypto';
import { inMemoryDeps, type RecordingLogger } from '../../support/in-memory';
import { TENANT } from '../../support/in-process';
import { seedMany } from '../../support/seed';
import { documentFile } from '../../../shared/documents/download';
import { FIXITY_MISMATCH } from '../../../shared/retention/fixity';
import { type RenditionValidator, validationMessageText, validationReportName } from '../../../shared/kernel/validation';
import { validateRenditions } from '../../../shared/validation/worker';
import { readVeraPdfReport } from '../../../shared/validation/verapdf';
import { RedeliveringQueue } from '../../support/redelivering-queue';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * The manifest a download now asks for names the originals and the rendition, not the validation report: a report the
 * catalog names anywhere in the document's folder went out as the archive's. Whoever holds the storage role put a report
 * of their own there (`<id>/validation-2.json`, "compliant"), whoever writes Cosmos DB named it on the item with its
 * SHA-256 and size: the download served it under an ETag and a Repr-Digest that agree. The archive writes a report under
 * one name only (validationReportName: create-only, locked); a report named otherwise is not sent.
 */
describe('a validation report planted beside a genuine document', () => {
  it.each([
    ['the report the archive stored (control)', false],
    ['a report planted under another name in the folder', true],
  ])('%s', async (_what, planted) => {
    const deps = inMemoryDeps();
    const [doc] = await seedMany(deps, TENANT, [{ metadata: { documentDate: '2024-06-01', kind: 'invoice', reference: 'R-1' } }]);
    const genuine = Buffer.from(JSON.stringify({ compliant: false }));
    const forged = Buffer.from(JSON.stringify({ compliant: true, forged: true }));
    const name = planted ? `${doc!.id}/validation-2.json` : validationReportName(doc!.id);
    await deps.blobs.putCreateOnly(TENANT, validationReportName(doc!.id), genuine, 'application/json', { retainUntil: null, legalHold: false }, {});
    if (planted) await deps.blobs.putCreateOnly(TENANT, name, forged, 'application/json', { retainUntil: null, legalHold: false }, {});
    const bytes = planted ? forged : genuine;
    const validation = { status: 'passed', validator: { name: 'veraPDF', version: '1.26.1' }, profile: 'PDF/A-2B', failedRules: [], validatedAt: '2024-06-02T00:00:00.000Z', report: { blobName: name, sha256: sha256(bytes), size: bytes.length } };
    deps.catalog.documents.set(`${TENANT}/${doc!.id}`, { ...doc!, validation } as never);
    const served = documentFile({ tenantId: TENANT, documentId: doc!.id, representation: 'validation', part: 1 }, deps);
    if (planted) await expect(served).rejects.toMatchObject({ code: 'file_damaged' });
    else await expect(served).resolves.toMatchObject({ blobName: name, sha256: sha256(genuine) });
    expect((deps.log as RecordingLogger).lines.filter((l) => l.message === FIXITY_MISMATCH)).toHaveLength(planted ? 1 : 0);
  });
});

/**
 * The validation worker takes a report already stored under the report's name for an earlier delivery's (it stopped
 * before recording it) and records what that report states. Whoever holds the storage role put one there first
 * ("compliant") while the document's validation was pending: veraPDF found the rendition not PDF/A, the archive recorded
 * it passed, and served the planted report as its own. Now a stored report is taken only where it states what veraPDF
 * found now; else nothing is recorded (retried, then poisoned) and it is alerted as damage.
 */
describe("a report planted under the report's name before the worker ran", () => {
  const veraReport = (compliant: boolean, version = '1.26.1') => Buffer.from(JSON.stringify({ report: { buildInformation: { releaseDetails: [{ id: 'core', version }] }, jobs: [{ itemDetails: { name: 'x', size: 1 }, validationResult: [{ compliant, profileName: 'PDF/A-2B', details: { ruleSummaries: compliant ? [] : [{ clause: '6.1.3', testNumber: 1, status: 'failed' }] } }] }] } }));
  const failsAll: RenditionValidator = {
    name: 'veraPDF',
    validate: async (renditions) => ({ validator: { name: 'veraPDF', version: '1.26.1' }, profile: 'PDF/A-2B', results: renditions.map(() => ({ passed: false, failedRules: ['6.1.3-1'], report: veraReport(false) })) }),
    readReport: readVeraPdfReport,
  };
  it.each([
    ['an earlier delivery\'s report, stating the same (control)', false, '1.26.1'],
    ['a planted report stating compliant', true, '1.26.1'],
    // Red team 23: the verdict veraPDF finds, with a release of its own, which the record names as the validator's.
    ['a planted report stating the same verdict under another release', false, '9.9.9'],
  ])('%s', async (_what, compliant, version) => {
    const deps = inMemoryDeps();
    const [doc] = await seedMany(deps, TENANT, [{ metadata: { documentDate: '2024-06-01', kind: 'invoice', reference: 'R-2' } }]);
    await deps.blobs.putCreateOnly(TENANT, validationReportName(doc!.id), veraReport(compliant, version), 'application/json', { retainUntil: null, legalHold: false }, {});
    const queue = new RedeliveringQueue();
    queue.waiting.push({ messageId: 'm1', popReceipt: 'p', dequeueCount: 0, text: validationMessageText([{ tenantId: TENANT, documentId: doc!.id, renditionSha256: doc!.rendition.sha256 }]) });
    await validateRenditions({ now: new Date('2025-03-01T12:00:00Z'), max: 16 }, { ...deps, validationQueue: queue, validator: failsAll });
    const planted = compliant || version !== '1.26.1';
    expect((await deps.catalog.get(TENANT, doc!.id))!.validation?.status).toBe(planted ? undefined : 'failed');
    expect((deps.log as RecordingLogger).lines.filter((l) => l.message === FIXITY_MISMATCH)).toHaveLength(planted ? 1 : 0);
  });
});

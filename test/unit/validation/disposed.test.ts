/**
 * A document disposed of between its validation request and the validation, or between the Java app's outcome and
 * its recording: the message is completed (logged at info, counted), never retried or poisoned, so the poison
 * alert does not fire for a disposal. Disposal here is the retention sweep's own (claim, blobs deleted, tombstone).
 */
import type { ArchivedDocument } from '../../../shared/kernel/document';
import type { RenditionValidator } from '../../../shared/kernel/validation';
import { validationMessageText, validationReportName } from '../../../shared/kernel/validation';
import { finishDisposals, prepareDisposal } from '../../../shared/retention/dispose';
import { sha256 } from '../../../shared/ids';
import { OUTCOME_DROPPED, recordStoredOutcome, validateRenditions, VALIDATION_DROPPED } from '../../../shared/validation/worker';
import { readVeraPdfReport } from '../../../shared/validation/verapdf';
import { outcomeKey, outcomeSignature, type OutcomeFields } from '../../../shared/kernel/outcome-signature';
import { InMemoryDeps, inMemoryDeps, RecordingLogger, staticSecrets } from '../../support/in-memory';
import { seedDocument } from '../../support/seed';
import { RedeliveringQueue } from '../../support/redelivering-queue';

const T = 'acme';
const now = new Date('2025-03-01T12:00:00Z');
/** After the seeded documents' retain-until: the sweep may dispose of them. */
const retentionEnded = new Date('2099-06-01T00:00:00Z');

const report = Buffer.from(JSON.stringify({ report: { buildInformation: { releaseDetails: [{ id: 'core', version: '1.28.2' }] }, jobs: [{ itemDetails: { name: 'x', size: 1 }, validationResult: [{ compliant: true, profileName: 'PDF/A-2B', details: { ruleSummaries: [] } }] }] } }));


/** The retention sweep's disposal of one document: claimed, every blob deleted, audited, tombstoned. */
async function dispose(deps: InMemoryDeps, doc: ArchivedDocument): Promise<void> {
  const prepared = await prepareDisposal(T, doc.id, { now: retentionEnded, runId: 'sweep-1', requireApproval: false }, deps);
  if (!('etag' in prepared)) throw new Error(`not disposed of: ${JSON.stringify(prepared)}`);
  expect(await finishDisposals([prepared], deps)).toEqual(['disposed']);
}

const lines = (deps: InMemoryDeps) => (deps.log as RecordingLogger).lines;

/** The Java app's outcome message, signed with the validator's key (outcome-signature.test.ts: unsigned ones are refused). */
const OUTCOME_KEY = 'cd'.repeat(32);
function withOutcomeKey(deps: InMemoryDeps): InMemoryDeps {
  deps.secrets = staticSecrets({ [deps.config.VALIDATOR_OUTCOME_KEY_SECRET_NAME]: OUTCOME_KEY });
  return deps;
}
const signedOutcome = (fields: OutcomeFields) => JSON.stringify({ ...fields, signature: outcomeSignature(fields, outcomeKey(OUTCOME_KEY)), validatedAt: now.toISOString() });

it('a validation request of a document disposed of before its delivery is completed and counted, never retried or poisoned', async () => {
  const deps = inMemoryDeps();
  const doc = await seedDocument(deps, T, { metadata: {} });
  const queue = new RedeliveringQueue();
  queue.waiting.push({ messageId: 'm1', popReceipt: 'p', dequeueCount: 0, text: validationMessageText([{ tenantId: T, documentId: doc.id, renditionSha256: doc.rendition.sha256 }]) });
  await dispose(deps, doc);
  const validator: RenditionValidator = {
    name: 'veraPDF',
    validate: () => Promise.reject(new Error('nothing of a disposed document is validated')),
    readReport: readVeraPdfReport,
  };

  const result = await validateRenditions({ now, max: 16 }, { ...deps, validationQueue: queue, validator });

  expect(result).toEqual({ received: 1, recorded: [], unchanged: 1, poisoned: 0, retried: 0 });
  expect(queue.waiting).toEqual([]);
  expect(queue.poisoned).toEqual([]);
  expect(await deps.blobs.documentBlobs(T, doc.id)).toEqual([]);
  expect(lines(deps).filter((l) => l.level !== 'info')).toEqual([]);
  expect(lines(deps)).toContainEqual({ level: 'info', message: VALIDATION_DROPPED, fields: { tenantId: T, documentId: doc.id, status: 'disposed' } });
});

it('an outcome the Java app posted for a document disposed of since is completed quietly: nothing recorded, audited or locked', async () => {
  const deps = withOutcomeKey(inMemoryDeps());
  const doc = await seedDocument(deps, T, { metadata: {} });
  await dispose(deps, doc);
  // The Java app stored its report after the sweep deleted the folder (it cannot see the catalog), then posted the outcome.
  const reportName = validationReportName(doc.id);
  const storedWorm = { retainUntil: '2025-03-08T12:00:00.000Z', legalHold: false };
  await deps.blobs.putCreateOnly(T, reportName, report, 'application/json', storedWorm, {});
  const tombstone = await deps.catalog.get(T, doc.id);
  const audited = deps.audit.entries.length;
  const outcome = signedOutcome({ tenantId: T, documentId: doc.id, renditionSha256: doc.rendition.sha256, reportBlobName: reportName, reportSha256: sha256(report) });

  // Resolves: the Functions queue trigger completes the message (a throw is a retry, the fifth the poison queue).
  await expect(recordStoredOutcome(outcome, now, deps)).resolves.toBe('unchanged');

  expect(await deps.catalog.get(T, doc.id)).toEqual(tombstone);
  expect(tombstone).toMatchObject({ status: 'disposed' });
  expect(deps.audit.entries).toHaveLength(audited);
  await deps.auditOutbox.flush();
  expect(deps.audit.entries.filter((e) => e.action === 'document.validate-rendition')).toEqual([]);
  // Not locked to anything the tombstone says: left for the reconciler, which lists it as orphaned blobs.
  expect(deps.blobs.blobs.get(`${T}/${reportName}`)!.worm).toEqual(storedWorm);
  expect(lines(deps).filter((l) => l.level !== 'info')).toEqual([]);
  expect(lines(deps)).toContainEqual({ level: 'info', message: OUTCOME_DROPPED, fields: { tenantId: T, documentId: doc.id, status: 'disposed' } });
});

it('an outcome of a document the catalog no longer has at all is completed quietly too', async () => {
  const deps = withOutcomeKey(inMemoryDeps());
  const id = '01953c2e-8a40-7000-8000-000000000001';
  const outcome = signedOutcome({ tenantId: T, documentId: id, renditionSha256: 'ab'.repeat(32), reportBlobName: validationReportName(id), reportSha256: sha256(report) });

  await expect(recordStoredOutcome(outcome, now, deps)).resolves.toBe('unchanged');
  expect(lines(deps)).toEqual([{ level: 'info', message: OUTCOME_DROPPED, fields: { tenantId: T, documentId: id, status: 'not in the catalog' } }]);
});

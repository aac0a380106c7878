/**
 * The validation worker against what can happen while veraPDF runs: a hold released, the audit log
 * down for a moment, the document disposed of. The verdict is audited once, and the report follows
 * the document's hold and never lands beside a tombstone.
 */
import type { ArchivedDocument } from '../../../shared/kernel/document';
import type { RenditionValidator, ValidatorBatch } from '../../../shared/kernel/validation';
import { validationMessageText, validationReportName } from '../../../shared/kernel/validation';
import { blobNamesOf } from '../../../shared/retention/update';
import { validateRenditions, ValidationDeps, VALIDATION_FAILED } from '../../../shared/validation/worker';
import { readVeraPdfReport } from '../../../shared/validation/verapdf';
import { InMemoryDeps, inMemoryDeps, RecordingLogger } from '../../support/in-memory';
import { seedDocument } from '../../support/seed';
import { RedeliveringQueue } from '../../support/redelivering-queue';

const T = 'acme';
const now = new Date('2025-03-01T12:00:00Z');

const report = Buffer.from(JSON.stringify({ report: { buildInformation: { releaseDetails: [{ id: 'core', version: '1.26.1' }] }, jobs: [{ itemDetails: { name: 'x', size: 1 }, validationResult: [{ compliant: true, profileName: 'PDF/A-2B', details: { ruleSummaries: [] } }] }] } }));

/** A validator that passes every rendition, running `meanwhile` while "veraPDF" runs. */
function validator(meanwhile: () => Promise<void> = async () => undefined): RenditionValidator {
  return {
    name: 'veraPDF',
    async validate(renditions): Promise<ValidatorBatch> {
      await meanwhile();
      return { validator: { name: 'veraPDF', version: '1.26.1' }, profile: 'PDF/A-2B', results: renditions.map(() => ({ passed: true, failedRules: [], report })) };
    },
    readReport: readVeraPdfReport,
  };
}


async function setUp(doc?: (d: ArchivedDocument) => ArchivedDocument) {
  const base = inMemoryDeps();
  const queue = new RedeliveringQueue();
  const seeded = await seedDocument(base, T, { metadata: {} });
  const item = doc ? doc(seeded) : seeded;
  base.catalog.documents.set(`${T}/${item.id}`, item);
  queue.waiting.push({ messageId: 'm1', popReceipt: 'p', dequeueCount: 0, text: validationMessageText([{ tenantId: T, documentId: item.id, renditionSha256: item.rendition.sha256 }]) });
  return { base, queue, doc: item };
}
const depsOf = (base: InMemoryDeps, queue: RedeliveringQueue, v: RenditionValidator): ValidationDeps => ({ ...base, validationQueue: queue, validator: v });

it('a hold released between storing the report and recording it does not stay on the report: the document can be disposed of later', async () => {
  const hold = { id: 'h1', reason: 'case', caseReference: 'C-1', placedAt: '2025-02-01T00:00:00.000Z', placedBy: { subject: 'alice', kind: 'user' } };
  const { base, queue, doc } = await setUp((d) => ({ ...d, legalHold: true, holds: [hold] }));
  for (const name of blobNamesOf(doc)) if (await base.blobs.exists(T, name)) await base.blobs.setLegalHold(T, name, true);
  const release = async () => {
    // What releaseHold does: the catalog first, then the flag of the document's blobs (the report is not recorded yet).
    const current = (await base.retention.catalog.getVersioned(T, doc.id))!;
    await base.retention.catalog.replace({ ...current.item, legalHold: false, holds: [{ ...hold, releasedAt: now.toISOString(), releasedBy: { subject: 'bob', kind: 'user' }, releaseReason: 'done' }] }, current.etag);
    for (const name of blobNamesOf(current.item)) if (await base.blobs.exists(T, name)) await base.blobs.setLegalHold(T, name, false);
  };
  const putCreateOnly = base.blobs.putCreateOnly.bind(base.blobs);
  base.blobs.putCreateOnly = async (...args) => {
    const stored = await putCreateOnly(...args);
    if (args[1] === validationReportName(doc.id)) await release();
    return stored;
  };
  const result = await validateRenditions({ now, max: 16 }, depsOf(base, queue, validator()));
  expect(result.recorded).toHaveLength(1);
  expect(base.blobs.blobs.get(`${T}/${validationReportName(doc.id)}`)!.worm.legalHold).toBe(false);
});

it('an audit log that refuses the verdict once: the verdict is still audited, once, when the log is back', async () => {
  const { base, queue, doc } = await setUp();
  const appendBatch = base.audit.appendBatch.bind(base.audit);
  let down = true;
  base.audit.appendBatch = async (inputs, opts) => {
    if (down) throw new Error('audit log unavailable');
    return appendBatch(inputs, opts);
  };
  await validateRenditions({ now, max: 16 }, depsOf(base, queue, validator()));
  down = false;
  // The message is delivered again (if it was left), and the sealing timer takes over what was stored meanwhile.
  await validateRenditions({ now, max: 16 }, depsOf(base, queue, validator()));
  await base.auditOutbox.flush();
  await base.auditOutbox.drain(new Date(Date.now() + 24 * 3600_000), 100);
  expect((await base.catalog.get(T, doc.id))!.validation).toMatchObject({ status: 'passed' });
  expect(base.audit.entries.filter((e) => e.action === 'document.validate-rendition' && e.target === doc.id)).toHaveLength(1);
});

it('two verdicts of one tenant in one batch are audited once each, also when the sealing timer appends them', async () => {
  const { base, queue, doc } = await setUp();
  const second = await seedDocument(base, T, { metadata: {} });
  queue.waiting.push({ messageId: 'm2', popReceipt: 'p', dequeueCount: 0, text: validationMessageText([{ tenantId: T, documentId: second.id, renditionSha256: second.rendition.sha256 }]) });
  const appendBatch = base.audit.appendBatch.bind(base.audit);
  base.audit.appendBatch = () => Promise.reject(new Error('audit log unavailable'));
  const result = await validateRenditions({ now, max: 16 }, depsOf(base, queue, validator()));
  expect(result.recorded).toHaveLength(2);
  base.audit.appendBatch = appendBatch;
  await base.auditOutbox.flush();
  await base.auditOutbox.drain(new Date(Date.now() + 24 * 3600_000), 100);
  expect(base.audit.entries.filter((e) => e.action === 'document.validate-rendition').map((e) => e.target).sort()).toEqual([doc.id, second.id].sort());
});

it('a document disposed of while veraPDF runs gets no report beside its tombstone', async () => {
  const { base, queue, doc } = await setUp();
  const dispose = async () => {
    const current = (await base.retention.catalog.getVersioned(T, doc.id))!;
    await base.retention.catalog.replace({ ...current.item, status: 'disposed' }, current.etag);
    for (const name of await base.blobs.documentBlobs(T, doc.id)) base.blobs.blobs.delete(`${T}/${name}`);
  };
  const result = await validateRenditions({ now, max: 16 }, depsOf(base, queue, validator(dispose)));
  expect(result.recorded).toEqual([]);
  expect(await base.blobs.documentBlobs(T, doc.id)).toEqual([]);
  expect(queue.waiting).toEqual([]);
});

it('storage refusing to extend the report once: the report still gets the retention extended while it was written, and a failed claim still alerts', async () => {
  const later = '2110-01-01T00:00:00.000Z';
  const { base, queue, doc } = await setUp((d) => ({ ...d, rendition: { ...d.rendition, conformance: 'PDF/A-2b' } }));
  const extend = async () => {
    const current = (await base.retention.catalog.getVersioned(T, doc.id))!;
    await base.retention.catalog.replace({ ...current.item, retention: { ...current.item.retention, retainUntil: later } }, current.etag);
  };
  const putCreateOnly = base.blobs.putCreateOnly.bind(base.blobs);
  base.blobs.putCreateOnly = async (...args) => {
    const stored = await putCreateOnly(...args);
    if (args[1] === validationReportName(doc.id)) await extend();
    return stored;
  };
  const extendRetention = base.blobs.extendRetention.bind(base.blobs);
  let refusals = 1;
  base.blobs.extendRetention = async (...args) => {
    if (refusals-- > 0) throw new Error('storage unavailable');
    return extendRetention(...args);
  };
  const failing: RenditionValidator = {
    ...validator(),
    validate: async (renditions) => ({ validator: { name: 'veraPDF', version: '1.26.1' }, profile: 'PDF/A-2B', results: renditions.map(() => ({ passed: false, failedRules: ['6.2.4.3-2'], report })) }),
  };
  await validateRenditions({ now, max: 16 }, depsOf(base, queue, failing));
  await validateRenditions({ now, max: 16 }, depsOf(base, queue, failing));
  expect((await base.catalog.get(T, doc.id))!.validation).toMatchObject({ status: 'failed' });
  expect(base.blobs.blobs.get(`${T}/${validationReportName(doc.id)}`)!.worm.retainUntil).toBe(later);
  expect((base.log as RecordingLogger).lines.filter((l) => l.message === VALIDATION_FAILED)).toHaveLength(1);
  expect(queue.waiting).toEqual([]);
});

it('a rendition that makes the validator fail fails only its own request: the pass goes on, the others of its batch are recorded', async () => {
  const { base, queue, doc: bad } = await setUp();
  const good = await seedDocument(base, T, { metadata: {} });
  queue.waiting.push({ messageId: 'm2', popReceipt: 'p', dequeueCount: 0, text: validationMessageText([{ tenantId: T, documentId: good.id, renditionSha256: good.rendition.sha256 }]) });
  const passing = validator();
  const choking: RenditionValidator = {
    ...passing,
    validate: async (renditions) => {
      if (renditions.some((r) => r.name === bad.rendition.blobName)) throw new Error('veraPDF: java exited 137');
      return passing.validate(renditions);
    },
  };
  const result = await validateRenditions({ now, max: 16 }, depsOf(base, queue, choking));
  expect(result.recorded.map((r) => r.documentId)).toEqual([good.id]);
  expect(result.retried).toBe(1);
  expect(queue.waiting.map((m) => m.messageId)).toEqual(['m1']);
  expect((await base.catalog.get(T, bad.id))!.validation).toBeUndefined();
});

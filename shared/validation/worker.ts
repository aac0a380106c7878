import type { Deps } from '../deps';
import { lockAhead, lockFor } from '../retention/update';
import { removeStrayBlob } from '../retention/dispose';
import type { ArchivedDocument } from '../kernel/document';
import { sha256 } from '../ids';
import { blobLayout } from '../kernel/blob-layout';
import type { Actor } from '../kernel/retention';
import { parseValidationMessage, RenditionValidator, ValidationRecord, ValidationRequest, ValidatorBatch, validationReportName } from '../kernel/validation';
import { MAX_DEQUEUE_COUNT, QueuedMessage } from '../ports';
import { auditOutboxItem } from '../kernel/audit';
import { readVeraPdfReport } from './verapdf';
import { FIXITY_MISMATCH, logManifestNotKept, manifestWitnessOrDisposed } from '../retention/fixity';
import { signedByValidator } from '../kernel/outcome-signature';
import { signedWithOutcomeKey } from './outcome-keys';

export const VALIDATION_ACTOR: Actor = { subject: 'system:rendition-validator', kind: 'system' };
/** Logged (error) for a rendition that claims PDF/A-2b and fails; the infra alert rule matches this exact phrase. */
export const VALIDATION_FAILED = 'rendition validation failed';
/** Logged (error) when the Node worker poisons a message; the poison alert matches it (and the Functions host's line naming the poison queue). */
export const VALIDATION_POISONED = 'rendition validation message moved to the poison queue';
/** Logged (info) for a request of a document disposed of meanwhile: completed, never retried or poisoned (as the Java app logs it). */
export const VALIDATION_DROPPED = 'validation request dropped: the document was disposed of';
/**
 * Logged (error) for an outcome message the Java validator did not sign (no signature, another key's, or one over other
 * fields): someone with the storage roles announcing a report of their own. Not recorded; retried, then poisoned.
 */
export const OUTCOME_FORGED = 'validation outcome refused: not signed by the validator';
/** Logged (info) for an outcome the Java app posted of a document disposed of meanwhile: completed, never retried or poisoned. */
export const OUTCOME_DROPPED = 'validation outcome dropped: the document was disposed of';

export type ValidationDeps = Pick<Deps, 'blobs' | 'catalog' | 'retention' | 'auditOutbox' | 'log' | 'validationQueue' | 'audit'> & { validator: RenditionValidator };

export interface ValidateInput {
  now: Date;
  /** At most this many messages per receive, and this many renditions per validator run (one JVM). */
  max: number;
  /** How long a received message stays invisible before it is delivered again. */
  visibilitySeconds?: number;
}

export interface ValidateResult {
  /** Messages received (each carries one or more requests). */
  received: number;
  recorded: { tenantId: string; documentId: string; passed: boolean; failedRules: string[] }[];
  /** Requests that changed nothing: a re-delivery, or a document no longer active (disposed of: logged, completed). */
  unchanged: number;
  /** Messages moved to the poison queue. */
  poisoned: number;
  /** Requests left for another delivery of their message (a transient failure). */
  retried: number;
}

/** A received message and how many of its requests are still open; it is completed once none is, unless one is retried. */
interface Delivery {
  message: QueuedMessage;
  open: number;
  retry: boolean;
}

/**
 * The validation worker: one batch from the `rendition-validation` queue. Each request of each
 * message: its rendition read (tenant-scoped, hash checked against the catalog), validated in one
 * validator run per `max` renditions, its report stored create-only beside it under the document's
 * retention and hold, the outcome recorded on the catalog item and audited. A message is completed
 * when all its requests are done; one transient failure leaves the whole message for another
 * delivery. Idempotent: a re-delivered request finds its outcome recorded.
 */
export async function validateRenditions(input: ValidateInput, deps: ValidationDeps): Promise<ValidateResult> {
  const result: ValidateResult = { received: 0, recorded: [], unchanged: 0, poisoned: 0, retried: 0 };
  const messages = await deps.validationQueue.receive(input.max, input.visibilitySeconds ?? 300);
  result.received = messages.length;
  const requests: { delivery: Delivery; request: ValidationRequest }[] = [];
  for (const message of messages) {
    const parsed = parseValidationMessage(message.text);
    if (!parsed || message.dequeueCount > MAX_DEQUEUE_COUNT) {
      deps.log.error(VALIDATION_POISONED, { messageId: message.messageId, dequeueCount: message.dequeueCount, reason: parsed ? 'too many deliveries' : 'malformed' });
      await deps.validationQueue.poison(message);
      result.poisoned++;
      continue;
    }
    const delivery: Delivery = { message, open: parsed.length, retry: false };
    for (const request of parsed) requests.push({ delivery, request });
  }
  const done = async (delivery: Delivery, outcome: 'done' | 'retry') => {
    if (outcome === 'retry') {
      delivery.retry = true;
      result.retried++;
    }
    if (--delivery.open === 0 && !delivery.retry) await deps.validationQueue.complete(delivery.message);
  };
  for (let i = 0; i < requests.length; i += input.max) {
    await validateChunk(requests.slice(i, i + input.max), input.now, deps, result, done);
  }
  return result;
}

async function validateChunk(
  chunk: { delivery: Delivery; request: ValidationRequest }[],
  now: Date,
  deps: ValidationDeps,
  result: ValidateResult,
  done: (delivery: Delivery, outcome: 'done' | 'retry') => Promise<void>,
): Promise<void> {
  const work: { delivery: Delivery; doc: ArchivedDocument; bytes: Buffer }[] = [];
  for (const { delivery, request } of chunk) {
    try {
      const doc = await deps.catalog.get(request.tenantId, request.documentId);
      if (!doc || doc.status !== 'active' || isRecorded(doc)) {
        // Disposed of since it was asked for: nothing to validate, and another delivery would find the same.
        if (!doc || doc.status !== 'active') deps.log.info(VALIDATION_DROPPED, { tenantId: request.tenantId, documentId: request.documentId, status: doc?.status ?? 'not in the catalog' });
        result.unchanged++;
        await done(delivery, 'done');
        continue;
      }
      // Only a folder whose manifest the archive kept (folderWitnessed).
      const witnessed = await folderWitnessed(doc, deps);
      if (witnessed !== 'kept') {
        if (witnessed === 'disposed') result.unchanged++;
        await done(delivery, witnessed === 'disposed' ? 'done' : 'retry');
        continue;
      }
      // A rendition outside the document's own folder is another document's (a catalog item rewritten behind the
      // archive's back, that rendition's sha256 copied too, and a requeued request naming it): its bytes would match and
      // their verdict be recorded as this document's. Refused as a checksum mismatch is, before it is read.
      const own = blobLayout.inFolder(doc.id, doc.rendition.blobName);
      const bytes = own ? await deps.blobs.readAll(doc.tenantId, doc.rendition.blobName) : null;
      // Only the rendition the catalog vouches for is validated; anything else is retried, then poisoned.
      if (bytes === null || request.renditionSha256 !== doc.rendition.sha256 || sha256(bytes) !== doc.rendition.sha256) {
        deps.log.error('rendition to validate does not match the catalog checksum', { tenantId: doc.tenantId, documentId: doc.id });
        await done(delivery, 'retry');
        continue;
      }
      work.push({ delivery, doc, bytes });
    } catch (err) {
      deps.log.warn('rendition validation deferred', { messageId: delivery.message.messageId, error: String(err) });
      await done(delivery, 'retry');
    }
  }
  await validateWork(work, now, deps, result, done);
}

/**
 * One validator run over renditions that match the catalog, then each outcome recorded. A run that
 * fails is tried again with each rendition alone, so a rendition the validator chokes on (the JVM
 * out of memory or killed) fails, is retried and is poisoned by itself, never the others of its batch.
 */
async function validateWork(
  work: { delivery: Delivery; doc: ArchivedDocument; bytes: Buffer }[],
  now: Date,
  deps: ValidationDeps,
  result: ValidateResult,
  done: (delivery: Delivery, outcome: 'done' | 'retry') => Promise<void>,
): Promise<void> {
  if (work.length === 0) return;
  let batch: ValidatorBatch;
  try {
    batch = await deps.validator.validate(work.map((w) => ({ name: w.doc.rendition.blobName, bytes: w.bytes })));
  } catch (err) {
    if (work.length > 1) {
      for (const w of work) await validateWork([w], now, deps, result, done);
      return;
    }
    const w = work[0]!;
    deps.log.warn('rendition not validated; retried on the next delivery', { tenantId: w.doc.tenantId, documentId: w.doc.id, error: String(err) });
    await done(w.delivery, 'retry');
    return;
  }
  for (const [i, w] of work.entries()) {
    try {
      const outcome = await record(w.doc, { validator: batch.validator, profile: batch.profile, ...batch.results[i]! }, now, deps);
      if (outcome) result.recorded.push({ tenantId: w.doc.tenantId, documentId: w.doc.id, passed: outcome.passed, failedRules: outcome.failedRules });
      else result.unchanged++;
      await done(w.delivery, 'done');
    } catch (err) {
      deps.log.warn('rendition validation not recorded; retried on the next delivery', { tenantId: w.doc.tenantId, documentId: w.doc.id, error: String(err) });
      await done(w.delivery, 'retry');
    }
  }
}

/**
 * Broke: a rendition was validated, and its verdict recorded on the item with a report locked in its folder, for any
 * catalog item: one written into Cosmos DB beside blobs a storage role planted (no manifest, or one of their own) was
 * vouched for as PDF/A by the archive. Only a folder whose manifest the archive kept, describing the item, is validated
 * (retried, then poisoned, alerted as damage; one whose manifest went with a disposal under way is dropped).
 */
async function folderWitnessed(doc: ArchivedDocument, deps: Pick<Deps, 'blobs' | 'catalog' | 'audit' | 'log'>): Promise<'kept' | 'disposed' | 'not-kept'> {
  const found = await manifestWitnessOrDisposed(doc, deps);
  if (found === null || found === 'disposed') return found ?? 'kept';
  logManifestNotKept(doc, found, 'validation', deps.log);
  return 'not-kept';
}

const isRecorded = (doc: ArchivedDocument) => doc.validation !== undefined && doc.validation.status !== 'pending';

/** Stores the report (create-only), records the outcome, audits it; null when already recorded. */
async function record(
  read: ArchivedDocument,
  found: { validator: { name: string; version: string }; profile: string; passed: boolean; failedRules: string[]; report: Buffer },
  now: Date,
  deps: ValidationDeps,
): Promise<Extract<ValidationRecord, { passed: boolean }> | null> {
  // Read again now, not as it was before veraPDF ran: a document disposed of meanwhile gets no report beside its
  // tombstone, and the report takes the retain-until and hold the document has now.
  const doc = await deps.catalog.get(read.tenantId, read.id);
  if (!doc || doc.status !== 'active' || isRecorded(doc) || doc.rendition.sha256 !== read.rendition.sha256) return null;
  const blobName = validationReportName(doc.id);
  let report = found.report;
  let outcome = { validator: found.validator, profile: found.profile, passed: found.passed, failedRules: found.failedRules };
  // A rendition validated after its document's retention ended (a late delivery, a requeue of a document awaiting
  // disposal): storage refuses a lock that expires in the past, so the report was never stored and the request
  // retried until poisoned. Written without a time lock, as its document's other blobs are by then.
  const lock = lockFor(doc.retention.retainUntil, now);
  const state = await deps.blobs.putCreateOnly(doc.tenantId, blobName, report, 'application/json', { retainUntil: lock, legalHold: doc.legalHold }, { sha256: sha256(report) });
  if (state === 'different') {
    // An earlier delivery stored a report and stopped before recording it: that report is the evidence.
    report = await deps.blobs.readAll(doc.tenantId, blobName);
    const stated = deps.validator.readReport(report);
    // Broke: whatever it stated was recorded. One planted under the report's name while the validation was pending (a
    // storage role creates blobs) had a rendition veraPDF failed recorded as PDF/A. Taken only where it states what
    // veraPDF found now; else retried, then poisoned, and alerted as damage.
    const rules = (o: { failedRules: string[] }) => JSON.stringify([...o.failedRules].sort());
    // The release too: it is recorded as the validator's version (red team 23: a planted report's own one stood).
    if (stated.passed !== found.passed || rules(stated) !== rules(found) || stated.validator.version !== found.validator.version) {
      deps.log.error(FIXITY_MISMATCH, { tenantId: doc.tenantId, documentId: doc.id, mismatched: [blobName], missing: [], found: 'validation: the report stored states another outcome than the rendition has' });
      throw new Error(`the validation report stored for document ${doc.id} states another outcome than veraPDF found`);
    }
    outcome = stated;
  }
  if (state !== 'created') {
    // Stored by an earlier delivery, with the retain-until and hold the document had then: brought up to now
    // (only what differs: a locked policy's expiry can only move later).
    const stored = (await deps.blobs.documentBlobWorm(doc.tenantId, doc.id)).find((b) => b.name === blobName);
    if (lock !== null && (!stored?.retainUntil || Date.parse(stored.retainUntil) < Date.parse(lock))) await deps.blobs.extendRetention(doc.tenantId, blobName, lock);
    if (stored?.legalHold !== doc.legalHold) await deps.blobs.setLegalHold(doc.tenantId, blobName, doc.legalHold);
  }
  const recorded = await recordOutcome(doc, outcome, { blobName, bytes: report }, now, deps);
  if (!recorded && state === 'created') await removeStrayBlob(doc.tenantId, doc.id, 'validation report', now, deps);
  return recorded;
}

/**
 * Records a stored report's outcome on the catalog item with its audit entry (in the same batch,
 * the audit outbox: a verdict recorded is a verdict audited, even when the log refuses the append
 * and the re-delivery finds the outcome recorded), alerts on a failed claim; null when already recorded.
 */
export async function recordOutcome(
  doc: ArchivedDocument,
  outcome: { validator: { name: string; version: string }; profile: string; passed: boolean; failedRules: string[] },
  stored: { blobName: string; bytes: Buffer },
  now: Date,
  deps: Pick<Deps, 'blobs' | 'retention' | 'auditOutbox' | 'log'>,
): Promise<Extract<ValidationRecord, { passed: boolean }> | null> {
  const { blobName, bytes: report } = stored;
  const validation: ValidationRecord = {
    status: outcome.passed ? 'passed' : 'failed',
    ...outcome,
    validatedAt: now.toISOString(),
    renditionSha256: doc.rendition.sha256,
    report: { blobName, sha256: sha256(report), size: report.length },
  };
  const claimed = doc.rendition.conformance === 'PDF/A-2b';
  const audit = auditOutboxItem([{
    tenantId: doc.tenantId,
    at: now.toISOString(),
    actor: VALIDATION_ACTOR,
    action: 'document.validate-rendition',
    target: doc.id,
    outcome: outcome.passed || !claimed ? 'success' : 'failed',
    status: 200,
    // One per verdict: the outbox item's id, and what the sealing timer's append-once compares.
    requestId: `${VALIDATION_ACTOR.subject}:${doc.id}:${now.toISOString()}`,
    clientIp: null,
    userAgent: null,
    detail: `${outcome.validator.name} ${outcome.validator.version} ${outcome.profile}: ${outcome.passed ? 'passed' : `failed ${outcome.failedRules.join(',')}`}`.slice(0, 300),
  }]);
  // The report was written with the retain-until and hold of `doc`; a change made since follows it here.
  let reportHeld = doc.legalHold;
  let reportUntil = doc.retention.retainUntil;
  let written: ArchivedDocument;
  for (let attempt = 0; ; attempt++) {
    const current = await deps.retention.catalog.getVersioned(doc.tenantId, doc.id);
    if (!current || current.item.status !== 'active' || isRecorded(current.item)) return null;
    // Fail closed: the report is as protected as the catalog says before the catalog names it (a failure here
    // leaves the verdict unrecorded, for another delivery; after the write nothing would set it again).
    if (Date.parse(current.item.retention.retainUntil) > Date.parse(reportUntil) && lockAhead(current.item.retention.retainUntil, now)) {
      await deps.blobs.extendRetention(doc.tenantId, blobName, current.item.retention.retainUntil);
      reportUntil = current.item.retention.retainUntil;
    }
    if (current.item.legalHold && !reportHeld) {
      await deps.blobs.setLegalHold(doc.tenantId, blobName, true);
      reportHeld = true;
    }
    if ((await deps.retention.catalog.replace({ ...current.item, validation }, current.etag, audit)) !== 'conflict') {
      deps.auditOutbox.release(audit);
      written = current.item;
      break;
    }
    if (attempt === 4) throw new Error('catalog item kept changing');
  }
  if (!outcome.passed) {
    const fields = { tenantId: doc.tenantId, documentId: doc.id, conformance: doc.rendition.conformance, validator: `${outcome.validator.name} ${outcome.validator.version}`, failedRules: outcome.failedRules };
    if (claimed) deps.log.error(VALIDATION_FAILED, fields);
    else deps.log.info('rendition without a PDF/A claim is not PDF/A, as stated', fields);
  }
  if (reportHeld && !written.legalHold) {
    // A hold released since the report was written (its release did not list the report yet): cleared after the
    // catalog says so; should this fail, the reconciler clears it (a release the catalog recorded).
    await deps.blobs.setLegalHold(doc.tenantId, blobName, false).catch((err: unknown) => {
      deps.log.warn('legal hold of a released document left on its validation report; the reconciler clears it', { tenantId: doc.tenantId, documentId: doc.id, error: String(err) });
    });
  }
  return validation;
}

/** What the Java Function App (validator/) posts to `<queue>-outcome` after storing a report. */
interface StoredOutcomeMessage {
  tenantId: string;
  documentId: string;
  renditionSha256: string;
  reportBlobName: string;
  reportSha256: string;
  /** The validator's HMAC over the fields above (outcome-signature.ts). */
  signature: string;
}

/**
 * Azure: records one outcome the Java validator app posted. Signed by the validator (outcome-signature.ts), else
 * refused (OUTCOME_FORGED); the stored report must be this document's validation.json, of this rendition, with the
 * SHA-256 the signed message announced.
 * An outcome of a document disposed of meanwhile (or already recorded) is 'unchanged': the message is
 * completed, never retried or poisoned. A report the Java app stored beside the tombstone is left alone
 * (not locked to the tombstone's retention); the reconciler lists it as orphaned blobs.
 */
export async function recordStoredOutcome(text: string, now: Date, deps: Pick<Deps, 'blobs' | 'catalog' | 'retention' | 'auditOutbox' | 'log' | 'audit' | 'secrets' | 'config'>): Promise<'recorded' | 'unchanged'> {
  const m = JSON.parse(text) as Partial<StoredOutcomeMessage>;
  if (typeof m.tenantId !== 'string' || typeof m.documentId !== 'string') throw new Error('malformed validation outcome');
  // Broke: an outcome was taken from whoever could send to the queue. A storage role planted a "compliant" report while
  // the document was pending and announced it with its SHA-256: a rendition veraPDF never passed was recorded PDF/A.
  // Only one the validator signed, with the key only it and this app read, is looked at; a key that cannot be read throws.
  // Any version the validator may sign with during a rotation (outcome-keys.ts), the newest first.
  if (!(await signedWithOutcomeKey(deps.secrets, deps.config.VALIDATOR_OUTCOME_KEY_SECRET_NAME, now, (key) => signedByValidator(m, m.signature, key)))) {
    deps.log.error(OUTCOME_FORGED, { tenantId: m.tenantId, documentId: m.documentId, signature: typeof m.signature === 'string' ? 'does not match' : 'missing' });
    throw new Error('validation outcome not signed by the validator');
  }
  const doc = await deps.catalog.get(m.tenantId, m.documentId);
  if (!doc || doc.status !== 'active') {
    deps.log.info(OUTCOME_DROPPED, { tenantId: m.tenantId, documentId: m.documentId, status: doc?.status ?? 'not in the catalog' });
    return 'unchanged';
  }
  if (isRecorded(doc)) return 'unchanged';
  const blobName = validationReportName(doc.id);
  if (m.reportBlobName !== blobName || m.renditionSha256 !== doc.rendition.sha256) throw new Error('validation outcome names another report or rendition');
  if ((await folderWitnessed(doc, deps)) !== 'kept') throw new Error("validation outcome of a folder the archive's manifest does not witness");
  // The Java identity cannot set immutability: the report gets the document's retain-until and hold here, then is checked.
  if (lockAhead(doc.retention.retainUntil, now)) await deps.blobs.extendRetention(doc.tenantId, blobName, doc.retention.retainUntil);
  if (doc.legalHold) await deps.blobs.setLegalHold(doc.tenantId, blobName, true);
  const bytes = await deps.blobs.readAll(doc.tenantId, blobName);
  if (sha256(bytes) !== m.reportSha256) throw new Error('validation report does not match the announced checksum');
  const recorded = await recordOutcome(doc, readVeraPdfReport(bytes), { blobName, bytes }, now, deps);
  return recorded ? 'recorded' : 'unchanged';
}

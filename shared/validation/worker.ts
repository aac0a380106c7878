import type { Deps } from '../deps';
import type { ArchivedDocument } from '../kernel/document';
import { sha256 } from '../ids';
import type { Actor } from '../kernel/retention';
import { RenditionValidator, ValidationRecord, ValidationRequest, validationReportName } from '../kernel/validation';
import { MAX_DEQUEUE_COUNT, QueuedMessage } from '../ports';
import { readVeraPdfReport } from './verapdf';

export const VALIDATION_ACTOR: Actor = { subject: 'system:rendition-validator', kind: 'system' };
/** Logged (error) for a rendition that claims PDF/A-2b and fails; the infra alert rule matches this exact phrase. */
export const VALIDATION_FAILED = 'rendition validation failed';
/** Logged (error) when the Node worker poisons a message; the poison alert matches it (and the Functions host's line naming the poison queue). */
export const VALIDATION_POISONED = 'rendition validation message moved to the poison queue';

export type ValidationDeps = Pick<Deps, 'blobs' | 'catalog' | 'retention' | 'audit' | 'log' | 'validationQueue'> & { validator: RenditionValidator };

export interface ValidateInput {
  now: Date;
  /** At most this many messages (renditions) per batch, i.e. per JVM. */
  max: number;
  /** How long a received message stays invisible before it is delivered again. */
  visibilitySeconds?: number;
}

export interface ValidateResult {
  received: number;
  recorded: { tenantId: string; documentId: string; passed: boolean; failedRules: string[] }[];
  /** Messages that changed nothing: a re-delivery, or a document no longer active. */
  unchanged: number;
  poisoned: number;
  /** Left on the queue for another delivery (a transient failure). */
  retried: number;
}

/**
 * The validation worker: one batch from the `rendition-validation` queue, each rendition read
 * (tenant-scoped, hash checked against the catalog), validated in one validator run, its report
 * stored create-only beside it under the document's retention and hold, the outcome recorded on
 * the catalog item and audited. Idempotent: a re-delivered message finds the outcome recorded.
 */
export async function validateRenditions(input: ValidateInput, deps: ValidationDeps): Promise<ValidateResult> {
  const result: ValidateResult = { received: 0, recorded: [], unchanged: 0, poisoned: 0, retried: 0 };
  const messages = await deps.validationQueue.receive(input.max, input.visibilitySeconds ?? 300);
  result.received = messages.length;
  const work: { message: QueuedMessage; doc: ArchivedDocument; bytes: Buffer }[] = [];
  for (const message of messages) {
    const request = parseRequest(message.text);
    if (!request || message.dequeueCount > MAX_DEQUEUE_COUNT) {
      deps.log.error(VALIDATION_POISONED, { messageId: message.messageId, dequeueCount: message.dequeueCount, reason: request ? 'too many deliveries' : 'malformed' });
      await deps.validationQueue.poison(message);
      result.poisoned++;
      continue;
    }
    try {
      const doc = await deps.catalog.get(request.tenantId, request.documentId);
      if (!doc || doc.status !== 'active' || isRecorded(doc)) {
        await deps.validationQueue.complete(message);
        result.unchanged++;
        continue;
      }
      const bytes = await deps.blobs.readAll(doc.tenantId, doc.rendition.blobName);
      // Only the rendition the catalog vouches for is validated; anything else is retried, then poisoned.
      if (request.renditionSha256 !== doc.rendition.sha256 || sha256(bytes) !== doc.rendition.sha256) {
        deps.log.error('rendition to validate does not match the catalog checksum', { tenantId: doc.tenantId, documentId: doc.id });
        result.retried++;
        continue;
      }
      work.push({ message, doc, bytes });
    } catch (err) {
      deps.log.warn('rendition validation deferred', { messageId: message.messageId, error: String(err) });
      result.retried++;
    }
  }
  if (work.length === 0) return result;

  const batch = await deps.validator.validate(work.map((w) => ({ name: w.doc.rendition.blobName, bytes: w.bytes })));
  for (const [i, w] of work.entries()) {
    try {
      const outcome = await record(w.doc, { validator: batch.validator, profile: batch.profile, ...batch.results[i]! }, input.now, deps);
      if (outcome) result.recorded.push({ tenantId: w.doc.tenantId, documentId: w.doc.id, passed: outcome.passed, failedRules: outcome.failedRules });
      else result.unchanged++;
      await deps.validationQueue.complete(w.message);
    } catch (err) {
      deps.log.warn('rendition validation not recorded; retried on the next delivery', { tenantId: w.doc.tenantId, documentId: w.doc.id, error: String(err) });
      result.retried++;
    }
  }
  return result;
}

const isRecorded = (doc: ArchivedDocument) => doc.validation !== undefined && doc.validation.status !== 'pending';

function parseRequest(text: string): ValidationRequest | null {
  try {
    const v = JSON.parse(text) as Partial<ValidationRequest>;
    const ok = typeof v.tenantId === 'string' && typeof v.documentId === 'string' && typeof v.renditionSha256 === 'string' && /^[0-9a-f]{64}$/.test(v.renditionSha256);
    return ok ? { tenantId: v.tenantId!, documentId: v.documentId!, renditionSha256: v.renditionSha256! } : null;
  } catch {
    return null;
  }
}

/** Stores the report (create-only), records the outcome, audits it; null when already recorded. */
async function record(
  doc: ArchivedDocument,
  found: { validator: { name: string; version: string }; profile: string; passed: boolean; failedRules: string[]; report: Buffer },
  now: Date,
  deps: ValidationDeps,
): Promise<Extract<ValidationRecord, { passed: boolean }> | null> {
  const blobName = validationReportName(doc.id);
  let report = found.report;
  let outcome = { validator: found.validator, profile: found.profile, passed: found.passed, failedRules: found.failedRules };
  const state = await deps.blobs.putCreateOnly(doc.tenantId, blobName, report, 'application/json', { retainUntil: doc.retention.retainUntil, legalHold: doc.legalHold }, { sha256: sha256(report) });
  if (state === 'different') {
    // An earlier delivery stored a report and stopped before recording it: that report is the evidence.
    report = await deps.blobs.readAll(doc.tenantId, blobName);
    outcome = deps.validator.readReport(report);
  }
  return recordOutcome(doc, outcome, { blobName, bytes: report }, now, deps);
}

/** Records a stored report's outcome on the catalog item, alerts on a failed claim, audits; null when already recorded. */
export async function recordOutcome(
  doc: ArchivedDocument,
  outcome: { validator: { name: string; version: string }; profile: string; passed: boolean; failedRules: string[] },
  stored: { blobName: string; bytes: Buffer },
  now: Date,
  deps: Pick<Deps, 'blobs' | 'retention' | 'audit' | 'log'>,
): Promise<Extract<ValidationRecord, { passed: boolean }> | null> {
  const { blobName, bytes: report } = stored;
  const validation: ValidationRecord = {
    status: outcome.passed ? 'passed' : 'failed',
    ...outcome,
    validatedAt: now.toISOString(),
    renditionSha256: doc.rendition.sha256,
    report: { blobName, sha256: sha256(report), size: report.length },
  };
  for (let attempt = 0; ; attempt++) {
    const current = await deps.retention.catalog.getVersioned(doc.tenantId, doc.id);
    if (!current || current.item.status !== 'active' || isRecorded(current.item)) return null;
    if ((await deps.retention.catalog.replace({ ...current.item, validation }, current.etag)) !== 'conflict') {
      // A retention extension or hold placed since the report was written did not list it yet: it follows now.
      if (current.item.retention.retainUntil !== doc.retention.retainUntil) await deps.blobs.extendRetention(doc.tenantId, blobName, current.item.retention.retainUntil);
      if (current.item.legalHold && !doc.legalHold) await deps.blobs.setLegalHold(doc.tenantId, blobName, true);
      break;
    }
    if (attempt === 4) throw new Error('catalog item kept changing');
  }
  const claimed = doc.rendition.conformance === 'PDF/A-2b';
  if (!outcome.passed) {
    const fields = { tenantId: doc.tenantId, documentId: doc.id, conformance: doc.rendition.conformance, validator: `${outcome.validator.name} ${outcome.validator.version}`, failedRules: outcome.failedRules };
    if (claimed) deps.log.error(VALIDATION_FAILED, fields);
    else deps.log.info('rendition without a PDF/A claim is not PDF/A, as stated', fields);
  }
  await deps.audit.append({
    tenantId: doc.tenantId,
    at: now.toISOString(),
    actor: VALIDATION_ACTOR,
    action: 'document.validate-rendition',
    target: doc.id,
    outcome: outcome.passed || !claimed ? 'success' : 'failed',
    status: 200,
    requestId: `${VALIDATION_ACTOR.subject}:${now.toISOString()}`,
    clientIp: null,
    userAgent: null,
    detail: `${outcome.validator.name} ${outcome.validator.version} ${outcome.profile}: ${outcome.passed ? 'passed' : `failed ${outcome.failedRules.join(',')}`}`.slice(0, 300),
  });
  return validation;
}

/** What the Java Function App (validator/) posts to `<queue>-outcome` after storing a report. */
interface StoredOutcomeMessage {
  tenantId: string;
  documentId: string;
  renditionSha256: string;
  reportBlobName: string;
  reportSha256: string;
}

/**
 * Azure: records one outcome the Java validator app posted. Trusts nothing but the stored report:
 * it must be this document's validation.json, of this rendition, with the SHA-256 announced.
 */
export async function recordStoredOutcome(text: string, now: Date, deps: Pick<Deps, 'blobs' | 'catalog' | 'retention' | 'audit' | 'log'>): Promise<'recorded' | 'unchanged'> {
  const m = JSON.parse(text) as Partial<StoredOutcomeMessage>;
  if (typeof m.tenantId !== 'string' || typeof m.documentId !== 'string') throw new Error('malformed validation outcome');
  const doc = await deps.catalog.get(m.tenantId, m.documentId);
  if (!doc || doc.status !== 'active' || isRecorded(doc)) return 'unchanged';
  const blobName = validationReportName(doc.id);
  if (m.reportBlobName !== blobName || m.renditionSha256 !== doc.rendition.sha256) throw new Error('validation outcome names another report or rendition');
  // The Java identity cannot set immutability: the report gets the document's retain-until and hold here, then is checked.
  await deps.blobs.extendRetention(doc.tenantId, blobName, doc.retention.retainUntil);
  if (doc.legalHold) await deps.blobs.setLegalHold(doc.tenantId, blobName, true);
  const bytes = await deps.blobs.readAll(doc.tenantId, blobName);
  if (sha256(bytes) !== m.reportSha256) throw new Error('validation report does not match the announced checksum');
  const recorded = await recordOutcome(doc, readVeraPdfReport(bytes), { blobName, bytes }, now, deps);
  return recorded ? 'recorded' : 'unchanged';
}

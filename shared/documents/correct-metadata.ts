import type { Deps } from '../deps';
import type { Principal } from '../kernel/principal';
import { ArchiveError } from '../kernel/errors';
import { checkStatedFiscalYear, resolveRetention, withDocumentClass } from '../retention/policy';
import { policyOf } from '../retention/tenant-policy';
import { actorOf, lockAhead, protection, updateDocument } from '../retention/update';
import type { AuditStaging } from '../kernel/audit';
import { ArchivedDocument, correctionSearchFields, MetadataCorrection, parseMetadata, TDocumentMetadata, tombstoneHistory, toPublicDocument } from '../kernel/document';
import { blobLayout } from '../kernel/blob-layout';
import { DOCUMENT_ID } from '../ids';
import { correctionDigest, correctionUpToDocument, CORRECTION_BLOB_DIFFERS, restoreCorrections, storeCorrection } from './correction-blobs';
import { CATALOG_REBUILD_ACTOR } from './rebuild-catalog';
import { reachOpenHoldsByQuery } from '../retention/holds/extend-holds-by-query';

export interface CorrectMetadataCommand {
  principal: Principal;
  documentId: string;
  /** RFC 7396 merge patch of the document's metadata (`null` removes a field). */
  patch: Record<string, unknown>;
  reason: string;
  /** The metadata version the caller corrects (If-Match); another version is a 412. */
  ifMatch: number;
  /** The request's success audit entry, stored with the correction (the audit outbox). */
  audit?: AuditStaging;
}

/**
 * Corrections one document keeps. Each is stored whole in the catalog item (metadata, changes, reason:
 * a few kB at most), and Cosmos refuses an item over 2 MB: past that every write of the document would
 * fail, a legal hold and a disposal included. Far more than any real document needs.
 */
export const MAX_CORRECTIONS = 100;

/** Version of a document's catalog metadata: 1 at ingest, +1 per correction. */
export const metadataVersionOf = (doc: ArchivedDocument): number => doc.metadataVersion ?? 1;
export const metadataETag = (doc: ArchivedDocument): string => `"metadata-${metadataVersionOf(doc)}"`;

/**
 * `If-Match: "metadata-N"` (or a bare N): the version a correction applies to; null when absent. Read strictly
 * (RFC 9110 §13.1.1): a weak tag never matches, nor does a list or a tag that names no version (412); `*` names
 * no version at all (428). They all read as absent before, and the 428 told a client that sent If-Match to send it.
 */
export function parseMetadataIfMatch(header: string | null): number | null {
  const value = (header ?? '').trim();
  if (value === '') return null;
  if (value === '*') throw new ArchiveError('precondition_required', { detail: 'If-Match: * names no version; send the ETag of the document (e.g. "metadata-1"), as read from GET /documents/{id}.' });
  const m = /^(?:"metadata-(\d{1,9})"|(\d{1,9}))$/.exec(value);
  if (!m) throw new ArchiveError('precondition_failed', { detail: 'If-Match must be the one strong ETag of the document\'s metadata (e.g. "metadata-1"); a weak tag, a list or another tag never matches.' });
  return Number(m[1] ?? m[2]);
}

/** RFC 7396 on a flat object whose values are replaced whole (arrays included): null removes. */
export function applyMergePatch(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else if (typeof value === 'object' && !Array.isArray(value) && typeof out[key] === 'object' && out[key] !== null && !Array.isArray(out[key])) {
      out[key] = applyMergePatch(out[key] as Record<string, unknown>, value as Record<string, unknown>);
    } else out[key] = value;
  }
  return out;
}

/** What changed, field by field (absent on one side: null). */
export function metadataDiff(before: TDocumentMetadata, after: TDocumentMetadata): MetadataCorrection['changes'] {
  const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const value = (m: TDocumentMetadata, f: string) => (m as Record<string, unknown>)[f] ?? null;
  return fields.filter((f) => JSON.stringify(value(before, f)) !== JSON.stringify(value(after, f))).map((field) => ({ field, from: value(before, field), to: value(after, field) }));
}

/** A correction's audit detail: its version, the fields it changed, and the digest that pins its content in the chain. */
export function correctionAuditDetail(c: MetadataCorrection): string {
  return `metadata-version=${c.version};fields=${c.changes.map((x) => x.field).join(',')};sha256=${correctionDigest(c)}`;
}

const laterOf = (a: string, b: string) => (Date.parse(b) > Date.parse(a) ? b : a);


/**
 * `PATCH /documents/{id}/metadata`: a new version of the catalog metadata. Originals, rendition,
 * their hashes and the immutable ingest manifest never change. Retention may only lengthen: a
 * correction whose metadata gives an earlier retain-until than the fiscal year and class the document
 * is in is refused (422); a later one extends the blobs' immutability before the catalog is written.
 */
export async function correctMetadata(cmd: CorrectMetadataCommand, deps: CorrectDeps): Promise<{ document: ArchivedDocument; correction: MetadataCorrection | null }> {
  try {
    return await correctMetadataAsRead(cmd, deps);
  } catch (err) {
    throw refusalTo(cmd.principal, err);
  }
}

type CorrectDeps = Pick<Deps, 'retention' | 'blobs' | 'clock' | 'auditOutbox' | 'log' | 'tenantRecords' | 'audit'>;

async function correctMetadataAsRead(cmd: CorrectMetadataCommand, deps: CorrectDeps): Promise<{ document: ArchivedDocument; correction: MetadataCorrection | null }> {
  const tenantId = cmd.principal.tenantId;
  // The version after the one corrected is stored already: the catalog is behind its blobs (restored to an earlier
  // point). Those corrections come back first, so this one is judged on them (a 412 names the version now) and never
  // becomes a second correction of a version that has one.
  if (Number.isSafeInteger(cmd.ifMatch) && DOCUMENT_ID.test(cmd.documentId) && (await deps.blobs.exists(tenantId, blobLayout.correction(cmd.documentId, cmd.ifMatch + 1)))) {
    await restoreCorrections(tenantId, cmd.documentId, null, CATALOG_REBUILD_ACTOR, deps);
  }
  // An open hold by query the document is in and has yet to reach holds it before the correction can take it out.
  // One it cannot carry (the document has carried as many holds as one keeps) refuses the correction: nothing changes.
  if (DOCUMENT_ID.test(cmd.documentId)) await reachOpenHoldsByQuery(tenantId, cmd.documentId, 'refuse', deps);
  // As stored, as at ingest: a retain-until it extends to is locked for good (another instance may have just lengthened a class).
  const { policy: stored } = await deps.retention.policies.getVersioned(tenantId, { fresh: true });
  const tenantRules = policyOf(stored);
  const corrected = await updateDocument<{ document: ArchivedDocument; correction: MetadataCorrection | null }>(tenantId, cmd.documentId, deps, (doc) => {
    const policy = withDocumentClass(tenantRules, doc.retention.class, stored?.safeguards);
    const version = metadataVersionOf(doc);
    if (cmd.ifMatch !== version) {
      // Who made the version stored now, and when: a client whose answer was lost tells its own correction from another's.
      const last = (doc.metadataHistory ?? []).find((c) => c.version === version);
      throw new ArchiveError('precondition_failed', {
        detail: `The document's metadata is at version ${version}${last ? ` (corrected by ${last.by.subject} at ${last.at})` : ''}, not ${cmd.ifMatch}; read it again and re-apply the correction.`,
        extensions: { metadataVersion: version, ...(last ? { updatedBy: last.by.subject, updatedAt: last.at } : {}) },
      });
    }
    const metadata = parseMetadata(applyMergePatch(doc.metadata, cmd.patch));
    const changes = metadataDiff(doc.metadata, metadata);
    if (changes.length === 0) return { next: null, result: { document: doc, correction: null } };
    if ((doc.metadataHistory ?? []).length >= MAX_CORRECTIONS) {
      throw new ArchiveError('too_many_corrections', { detail: `Document ${doc.id} has been corrected ${MAX_CORRECTIONS} times, as often as the archive keeps corrections of one document.`, extensions: { maxCorrections: MAX_CORRECTIONS } });
    }

    // Checked when the correction touches the year or the date (an older item may predate the check).
    const touchesYear = changes.some((c) => c.field === 'fiscalYear' || c.field === 'documentDate');
    if (touchesYear) checkStatedFiscalYear(metadata, policy.fiscalYearEndMonth);
    const archivedAt = new Date(doc.createdAt);
    // Judged from the fiscal year and class the document is in now, not re-derived from its metadata under
    // today's policy: after the tenant moved its fiscal-year end, that would put a document into another
    // year (out of that year's export and of a legal hold placed on it) through a correction of its counterparty.
    const previous = resolveRetention(policy, { fiscalYear: doc.fiscalYear, retentionClass: doc.retention.class }, archivedAt);
    const corrected = resolveRetention(policy, { ...metadata, fiscalYear: metadata.fiscalYear ?? (touchesYear ? undefined : doc.fiscalYear), retentionClass: metadata.retentionClass ?? doc.retention.class }, archivedAt);
    if (corrected.retention.retainUntil < previous.retention.retainUntil) {
      throw new ArchiveError('retention_shortening_refused', {
        detail: `This correction would end retention on ${corrected.retention.retainUntil} instead of ${previous.retention.retainUntil}; a correction can lengthen retention, never shorten it.`,
        extensions: { retainUntil: doc.retention.retainUntil, correctedRetainUntil: corrected.retention.retainUntil },
      });
    }
    // Never earlier than now (an earlier extension stays), later when the corrected metadata says so.
    const retainUntil = corrected.retention.retainUntil > doc.retention.retainUntil ? corrected.retention.retainUntil : doc.retention.retainUntil;
    // Storage is never less protective than the catalog says: blobs first.
    const locks = retainUntil !== doc.retention.retainUntil && lockAhead(retainUntil, deps.clock.now()) ? protection(deps, doc, (name) => deps.blobs.extendRetention(tenantId, name, retainUntil)) : null;
    /** The correction as made at `at`: the item to write, its answer, its audit detail and what follows the write. */
    const madeAt = (at: string) => {
      const correction: MetadataCorrection = {
        version: version + 1,
        at,
        by: actorOf(cmd.principal),
        reason: cmd.reason,
        changes,
        metadata,
        ...(retainUntil !== doc.retention.retainUntil ? { retention: { from: doc.retention.retainUntil, to: retainUntil } } : {}),
      };
      const next: ArchivedDocument = {
        ...doc,
        metadata,
        fiscalYear: corrected.fiscalYear,
        retention: { ...doc.retention, class: corrected.retention.class, retainUntil },
        metadataVersion: version + 1,
        metadataHistory: [...(doc.metadataHistory ?? []), correction],
        ...correctionSearchFields(doc, corrected.fiscalYear, correction.at),
      };
      return {
        next,
        result: { document: next, correction },
        auditDetail: correctionAuditDetail(correction),
        // Kept in storage once the catalog accepted it (correction-blobs.ts). The change is stored either way: a failed
        // write is the reconciler's to repeat, never this request's failure.
        after: async (written: { item: ArchivedDocument }) => {
          await locks?.after();
          const outcome = await storeCorrection(written.item, correction, deps).catch((err: unknown) => {
            deps.log.warn('correction not kept in storage yet; the reconciler writes it', { tenantId, documentId: doc.id, version: correction.version, error: String(err) });
            return null;
          });
          if (outcome === 'different') deps.log.error(CORRECTION_BLOB_DIFFERS, { tenantId, documentId: doc.id, version: correction.version });
          if (outcome === 'created') {
            await correctionUpToDocument(written.item, correction.version, deps).catch((err: unknown) => {
              deps.log.warn('correction blob not brought up to its document yet; the reconciler does', { tenantId, documentId: doc.id, version: correction.version, error: String(err) });
            });
          }
        },
      };
    };
    const decided = madeAt(deps.clock.now().toISOString());
    return {
      ...decided,
      adds: 'correction',
      before: locks?.before,
      // Its time is that of its write, taken once the blobs are locked: stamped before that (many blobs, each a call to
      // storage), a correction written after an export had read the document carried a time before the export's, so
      // "what changed since the export" (correctedSince) never found it while the export held the values it replaced.
      restamp: () => madeAt(laterOf(decided.result.correction.at, deps.clock.now().toISOString())),
    };
  }, cmd.audit);
  // Corrected into an open hold's query: held now, not at the reconciler's next run (the hold withdraws an approval the
  // document carries, which a release everywhere before that run would have left standing). Answered as it is then.
  // The correction is stored: a hold it cannot carry is left to the sweep, which keeps what an open hold's query matches.
  if (!corrected.correction || (await reachOpenHoldsByQuery(tenantId, cmd.documentId, 'leave', deps)).length === 0) return corrected;
  return { ...corrected, document: (await deps.retention.catalog.getVersioned(tenantId, cmd.documentId))?.item ?? corrected.document };
}

/**
 * A correction as answered to its sender. One that may not read documents (a rights set or key with documents:correct
 * and not documents:read) is told what it corrected, field by field, and the version now: not the document (its other
 * details, files, holds, approvals, retention) nor what the fields said before. It was answered the whole document, the
 * values it replaced and, for a patch that changed nothing, every detail of a document it may not read, as a hold placed
 * by a key with holds:place alone is told only what it placed (retention/holds/place-hold.ts answeredTo).
 */
export function correctionAnswer(principal: Principal, document: ArchivedDocument, correction: MetadataCorrection | null): CorrectionAnswer {
  if (principal.permissions.has('documents:read')) return { ...toPublicDocument(document), ...(correction ? { correction } : {}) };
  return {
    id: document.id,
    metadataVersion: metadataVersionOf(document),
    ...(correction ? { correction: { version: correction.version, at: correction.at, by: correction.by, reason: correction.reason, changes: correction.changes.map(({ field, to }) => ({ field, to })) } } : {}),
  };
}
export type CorrectionAnswer =
  | (ReturnType<typeof toPublicDocument> & { correction?: MetadataCorrection })
  | { id: string; metadataVersion: number; correction?: { version: number; at: string; by: MetadataCorrection['by']; reason: string; changes: { field: string; to: unknown }[] } };

/**
 * A refusal of a correction as told to one that may not read documents: the code and what it sent, never a value of the
 * document it could not read otherwise. A stated fiscal year was refused naming the stored document date, a shortening
 * both retain-until dates, a stale If-Match who corrected the document and when, a disposed document its disposal record.
 */
function refusalTo(principal: Principal, err: unknown): unknown {
  if (principal.permissions.has('documents:read') || !(err instanceof ArchiveError)) return err;
  switch (err.code) {
    case 'precondition_failed': {
      const version = err.extensions.metadataVersion;
      if (typeof version !== 'number') return err;
      return new ArchiveError('precondition_failed', { detail: `The document's metadata is at version ${version}; re-apply the correction to that version.`, extensions: { metadataVersion: version } });
    }
    case 'retention_shortening_refused':
      return new ArchiveError('retention_shortening_refused', { detail: 'This correction would end retention earlier than it ends now; a correction can lengthen retention, never shorten it.' });
    case 'document_disposed':
      return new ArchiveError('document_disposed', { detail: err.detail });
    case 'invalid_metadata': {
      // The merged metadata's problems name fields, never stored values, but for the stated fiscal year's check.
      const errors = Array.isArray(err.extensions.errors) ? (err.extensions.errors as { path: string; message: string }[]) : [];
      if (!errors.some((e) => e.path === 'fiscalYear' && e.message.includes('documentDate'))) return err;
      const message = 'is earlier than the fiscal year of the document\'s date allows (that year, or the one before it at the earliest)';
      return new ArchiveError('invalid_metadata', { detail: `fiscalYear ${message}.`, extensions: { errors: [{ path: 'fiscalYear', message }] } });
    }
    default:
      return err;
  }
}

/** Every version of a document's catalog metadata, oldest first: the ingest version, then each correction. */
export function metadataHistoryOf(doc: ArchivedDocument) {
  // A tombstone written before its history was stripped (or by anything else) still shows only what a tombstone keeps.
  const corrections = doc.status === 'disposed' ? tombstoneHistory(doc.metadataHistory ?? []) : (doc.metadataHistory ?? []);
  // The ingest metadata is the first correction's starting point (the catalog keeps only what changed).
  const original: Record<string, unknown> = { ...(corrections[0]?.metadata ?? doc.metadata) };
  for (const ch of corrections[0]?.changes ?? []) {
    if (ch.from === null) delete original[ch.field];
    else original[ch.field] = ch.from;
  }
  return {
    documentId: doc.id,
    metadataVersion: metadataVersionOf(doc),
    versions: [
      { version: 1, at: doc.createdAt, by: doc.createdBy, reason: null, changes: [], metadata: original },
      ...corrections,
    ],
  };
}

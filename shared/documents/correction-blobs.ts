/**
 * Metadata corrections kept in storage too. The manifest is the document as ingested; a correction lived only in the
 * catalog, so a catalog item lost or restored to an earlier point (a Cosmos point-in-time restore, the local host's
 * rebuild) lost every correction made after it. Each correction the catalog accepts is now also written beside the
 * manifest (`correction-NNN.json`, create-only, under the document's retention and hold), after the catalog write that
 * decided it: a blob is only ever a correction the catalog accepted, one per version. The reconciler writes one a
 * failed write left out, and applies to a catalog item the corrections its blobs hold beyond its version.
 *
 * Only a correction the archive wrote is applied: each blob carries the archive's seal (`mac`, an HMAC-SHA256 under the
 * audit chain's key, which whoever can write blobs does not hold). Unsealed, anyone able to create a blob in a
 * tenant's container (a storage role, no rights in the tenant) planted `correction-NNN.json` of the next version with
 * any counterparty, amount, fiscal year or retention class, and the reconciler (or the next correction request) wrote
 * it into the catalog as a restored correction, witnessed from then on by the blob itself. A blob from before the seal
 * is applied only where its request's audit entry names its digest; any other is logged CORRECTION_UNSEALED and stops
 * the catch-up there.
 */
import { createHash } from 'node:crypto';
import type { Deps } from '../deps';
import { type AuditOutboxItem, type AuditStaging, auditOutboxItem } from '../kernel/audit';
import { auditHolds } from '../audit/audit-pages';
import { judgedNotKept, readKeptBlob, rememberNotKept } from '../kept-blobs';
import { notKeptByArchive, sealWith } from '../kernel/archive-seal';
import { blobLayout } from '../kernel/blob-layout';
import { type ArchivedDocument, correctionSearchFields, type MetadataCorrection } from '../kernel/document';
import { ArchiveError } from '../kernel/errors';
import type { Actor } from '../kernel/retention';
import { isHeld } from '../kernel/retention-rules';
import { lockAhead, lockFor, updateDocument } from '../retention/update';
import { removeStrayBlob } from '../retention/dispose';

/** Operators are alerted on this exact phrase: a correction blob of that version holds another correction than the catalog. */
export const CORRECTION_BLOB_DIFFERS = 'correction blob differs from the catalog';

/** Operators are alerted on this exact phrase (infra/main.bicep, correctionUnsealedAlert): a correction blob the archive did not write. */
export const CORRECTION_UNSEALED = 'correction in storage not sealed by the archive';

/** What a correction blob holds: the correction, and where it left the document's fiscal year and retention. */
export interface StoredCorrection {
  tenantId: string;
  documentId: string;
  correction: MetadataCorrection;
  fiscalYear: ArchivedDocument['fiscalYear'];
  retention: { class: string; retainUntil: string };
  /** The archive's seal over the rest (kernel/archive-seal.ts); absent on a blob written before it. */
  mac?: string;
  keyVersion?: string;
}

/** A correction blob as read, with when storage created it (what tells one sealed under a superseded key). */
interface KeptCorrection {
  stored: StoredCorrection;
  createdOn: string | null;
}

/** Digest of a correction as kept in the catalog; the audit entry records it so the catalog's history can be checked against the log. */
export function correctionDigest(c: MetadataCorrection): string {
  return createHash('sha256').update(JSON.stringify(c)).digest('hex');
}

/** The purpose correction blobs are sealed under (kernel/archive-seal.ts). */
const CORRECTION_SEAL = 'correction';

/**
 * The audit log holds the request's entry of this correction (its digest), in the month of its time or the next.
 * `blobCreatedOn`: of the blob it witnesses, if any (auditHolds: no entry keyed with a version superseded before).
 */
export function correctionAudited(tenantId: string, documentId: string, correction: MetadataCorrection, deps: Pick<Deps, 'audit'>, blobCreatedOn?: string | null): Promise<boolean> {
  const digest = `sha256=${correctionDigest(correction)}`;
  return auditHolds(deps.audit, tenantId, { target: documentId, action: 'document.correct-metadata' }, [correction.at], (e) => e.outcome === 'success' && (e.detail ?? '').split(';').includes(digest), blobCreatedOn);
}

/**
 * Whether `stored` may be applied to a catalog item: sealed by the archive, or from before the seal with its request's
 * audit entry in the log. Any other is logged CORRECTION_UNSEALED.
 */
async function writtenByArchive(tenantId: string, name: string, kept: KeptCorrection, deps: Pick<Deps, 'audit' | 'log'>, etag?: string): Promise<boolean> {
  const { stored, createdOn } = kept;
  const audited = async () => Boolean(stored.documentId) && (await correctionAudited(tenantId, stored.documentId, stored.correction, deps, createdOn));
  const why = await notKeptByArchive(CORRECTION_SEAL, stored, createdOn, deps.audit.chainKeys, audited, 'no seal, and no audit entry of its request');
  if (why === null) return true;
  deps.log.error(CORRECTION_UNSEALED, { tenantId, blob: name, version: stored.correction.version, reason: why });
  if (etag !== undefined) rememberNotKept(tenantId, { name, etag }, why);
  return false;
}

export const storedCorrectionOf = (doc: ArchivedDocument, correction: MetadataCorrection): StoredCorrection => ({
  tenantId: doc.tenantId,
  documentId: doc.id,
  correction,
  fiscalYear: doc.fiscalYear,
  retention: { class: doc.retention.class, retainUntil: doc.retention.retainUntil },
});

/**
 * Writes the blob of the correction `doc` (as the catalog stored it) ends with, or of an earlier one it keeps.
 * 'different': another correction of that version is stored (a catalog restored behind its blobs, corrected anew).
 */
export async function storeCorrection(doc: ArchivedDocument, correction: MetadataCorrection, deps: Pick<Deps, 'blobs' | 'clock' | 'retention' | 'log' | 'audit'>): Promise<'created' | 'identical' | 'different'> {
  // The document's protection at the time it is written; the reconciler brings it in line with later holds and extensions.
  const stored: StoredCorrection = await sealWith(CORRECTION_SEAL, storedCorrectionOf(doc, correction), deps.audit.chainKeys);
  const name = blobLayout.correction(doc.id, correction.version);
  // A document past its retention (awaiting disposal) is still corrected, but storage refuses a lock that expires in the
  // past (400 InvalidExpiryTime): asked for one, the blob was never written, by the request or any reconciler run, so
  // the correction was kept in the catalog only. Its other blobs' locks have ended too: it is written without one.
  const outcome = await deps.blobs.putCreateOnly(doc.tenantId, name, Buffer.from(JSON.stringify(stored)), 'application/json', { retainUntil: lockFor(doc.retention.retainUntil, deps.clock.now()), legalHold: isHeld(doc, deps.clock.now()) }, {});
  // Both writers (the request, the reconciler) read the document active; the sweep may have emptied its folder since,
  // and this blob holds the whole metadata, which the tombstone promises gone.
  if (outcome === 'created') await removeStrayBlob(doc.tenantId, doc.id, 'correction', deps.clock.now(), deps);
  if (outcome !== 'different') return outcome;
  // Written meanwhile by another writer of the same correction (the reconciler, the request), from the document as it
  // was then (an extension since moves its retention): only another correction is a different one.
  const existing = await readStoredCorrection(doc.tenantId, name, deps);
  return existing && JSON.stringify(existing.stored.correction) === JSON.stringify(correction) ? 'identical' : 'different';
}

/**
 * After a request wrote its correction's blob from the document as it accepted the correction: the document as stored
 * now, if an extension or a hold came in between (its storage step found no such blob yet and went by it), gives the
 * blob its later lock and its hold flag, so storage is not less protective than the catalog until the reconciler's run.
 */
export async function correctionUpToDocument(written: ArchivedDocument, version: number, deps: Pick<Deps, 'blobs' | 'clock' | 'retention'>): Promise<void> {
  const now = (await deps.retention.catalog.getVersioned(written.tenantId, written.id))?.item;
  if (!now || now.status !== 'active') return;
  const name = blobLayout.correction(written.id, version);
  if (now.retention.retainUntil > written.retention.retainUntil && lockAhead(now.retention.retainUntil, deps.clock.now())) await deps.blobs.extendRetention(written.tenantId, name, now.retention.retainUntil);
  if (isHeld(now, deps.clock.now()) && !isHeld(written, deps.clock.now())) await deps.blobs.setLegalHold(written.tenantId, name, true);
}

/** The document with a stored correction applied, when it is the next version of this document; else null. */
export function withStoredCorrection(doc: ArchivedDocument, stored: StoredCorrection): ArchivedDocument | null {
  const version = doc.metadataVersion ?? 1;
  if (stored.tenantId !== doc.tenantId || stored.documentId !== doc.id || stored.correction.version !== version + 1) return null;
  // Retention only ever lengthens: a later date the document got since (an extension) stays.
  const retainUntil = stored.retention.retainUntil > doc.retention.retainUntil ? stored.retention.retainUntil : doc.retention.retainUntil;
  return {
    ...doc,
    metadata: stored.correction.metadata,
    fiscalYear: stored.fiscalYear,
    retention: { ...doc.retention, class: stored.retention.class, retainUntil },
    metadataVersion: stored.correction.version,
    metadataHistory: [...(doc.metadataHistory ?? []), stored.correction],
    ...correctionSearchFields(doc, stored.fiscalYear, stored.correction.at),
  };
}

/** The correction blobs among a folder's blob names, by version, oldest first. */
export function correctionBlobs(names: readonly string[]): { name: string; version: number }[] {
  return names.flatMap((name) => {
    const version = blobLayout.correctionVersion(name);
    return version === null ? [] : [{ name, version }];
  }).sort((a, b) => a.version - b.version);
}

/**
 * `doc` (the manifest's document, being indexed anew) with the corrections its folder keeps applied in order, stopping
 * at a gap or a blob that is not the next version; the versions applied.
 */
export async function withStoredCorrections(doc: ArchivedDocument, names: readonly string[], deps: Pick<Deps, 'blobs' | 'audit' | 'log'>): Promise<{ document: ArchivedDocument; versions: number[] }> {
  let document = doc;
  const versions: number[] = [];
  for (const { name } of correctionBlobs(names)) {
    const kept = await readStoredCorrection(doc.tenantId, name, deps);
    const next = kept ? withStoredCorrection(document, kept.stored) : null;
    if (!next || !(await writtenByArchive(doc.tenantId, name, kept!, deps))) break;
    document = next;
    versions.push(kept!.stored.correction.version);
  }
  return { document, versions };
}

/** Reads one correction blob (at most KEPT_BLOB_MAX_BYTES: a planted one is not read whole); null when it is not one (absent, not JSON, or not shaped as one). */
export async function readStoredCorrection(tenantId: string, name: string, deps: Pick<Deps, 'blobs'>): Promise<KeptCorrection | null> {
  try {
    const read = await readKeptBlob(deps.blobs, tenantId, name);
    const value = JSON.parse(read?.bytes.toString('utf8') ?? '') as StoredCorrection;
    return typeof value?.correction?.version === 'number' && typeof value.retention?.retainUntil === 'string' ? { stored: value, createdOn: read!.createdOn } : null;
  } catch (err) {
    if (err instanceof SyntaxError) return null;
    throw err;
  }
}

/**
 * Applies to the catalog item the corrections its blobs hold beyond its version, in order (a catalog restored to an
 * earlier point, or rebuilt from the manifest), each with a `document.reindex` entry naming it (`correction-restored=N`),
 * stored with the item (the audit outbox). `names`: the folder's blob names, when the caller listed them. Stops at a gap
 * or a blob that is not the next version of this document. The versions it applied. `etags`: the listed blobs' ETags
 * (the reconciler's walk): one judged not the archive's is remembered, and met again stops the restore unread.
 */
export async function restoreCorrections(tenantId: string, documentId: string, names: readonly string[] | null, actor: Actor, deps: Pick<Deps, 'blobs' | 'retention' | 'auditOutbox' | 'clock' | 'audit' | 'log'>, etags?: ReadonlyMap<string, string | undefined>): Promise<number[]> {
  const doc = await deps.retention.catalog.getVersioned(tenantId, documentId);
  if (!doc || doc.item.status !== 'active') return [];
  const beyond = correctionBlobs(names ?? (await deps.blobs.documentBlobs(tenantId, documentId))).filter((c) => c.version > (doc.item.metadataVersion ?? 1));
  const applied: number[] = [];
  for (const { name, version } of beyond) {
    // Broke: a correction of the next version planted in a document's folder was read (to 4 MiB), witnessed against the
    // audit log and logged again on every pass of the reconciler's walk; judged once per blob per instance now.
    const etag = etags?.get(name);
    if (etag !== undefined && judgedNotKept(tenantId, { name, etag })) break;
    const kept = await readStoredCorrection(tenantId, name, deps);
    if (!kept) {
      if (etag !== undefined) rememberNotKept(tenantId, { name, etag }, 'not a correction');
      break;
    }
    if (!(await writtenByArchive(tenantId, name, kept, deps, etag))) break;
    const stored = kept.stored;
    const at = deps.clock.now().toISOString();
    let outboxed: AuditOutboxItem | null = null;
    const staging: AuditStaging = {
      item: (target, detail) => auditOutboxItem([{ tenantId, at, actor, action: 'document.reindex', target: target ?? documentId, outcome: 'success', status: 200, requestId: `${actor.subject}:correction-restored:${documentId}:${version}`, clientIp: null, userAgent: null, ...(detail !== undefined ? { detail } : {}) }]),
      stored: (item) => {
        outboxed = item;
      },
    };
    const restored = await updateDocument(tenantId, documentId, deps, (d) => {
      const next = withStoredCorrection(d, stored);
      // Searched by the time it changed the item's details, not the time it was first made: an export made while the
      // item was behind its blobs held the values it replaces, and correctedSince = that export's time must find it.
      const changedAt = next && next.correctedAt !== undefined && next.correctedAt > at ? next.correctedAt : at;
      return next ? { next: { ...next, correctionsRestoredAt: at, correctedAt: changedAt }, result: true, auditDetail: `correction-restored=${version}` } : { next: null, result: false };
    }, staging).catch((err: unknown) => {
      // Disposed of or gone since it was read: nothing to restore into.
      if (err instanceof ArchiveError && (err.code === 'document_disposed' || err.code === 'document_not_found')) return false;
      throw err;
    });
    if (outboxed) await deps.auditOutbox.releaseNow(outboxed);
    if (!restored) break;
    applied.push(version);
  }
  return applied;
}

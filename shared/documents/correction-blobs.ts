/**
 * Metadata corrections kept in storage too. The manifest is the document as ingested; a correction lived only in the
 * catalog, so a catalog item lost or restored to an earlier point (a Cosmos point-in-time restore, the local host's
 * rebuild) lost every correction made after it. Each correction the catalog accepts is now also written beside the
 * manifest (`correction-NNN.json`, create-only, under the document's retention and hold), after the catalog write that
 * decided it: a blob is only ever a correction the catalog accepted, one per version. The reconciler writes one a
 * failed write left out, and applies to a catalog item the corrections its blobs hold beyond its version.
 */
import type { Deps } from '../deps';
import { type AuditOutboxItem, type AuditStaging, auditOutboxItem } from '../kernel/audit';
import { blobLayout } from '../kernel/blob-layout';
import { type ArchivedDocument, correctionSearchFields, type MetadataCorrection } from '../kernel/document';
import { ArchiveError } from '../kernel/errors';
import type { Actor } from '../kernel/retention';
import { isHeld } from '../kernel/retention-rules';
import { lockAhead, lockFor, updateDocument } from '../retention/update';
import { removeStrayBlob } from '../retention/dispose';

/** Operators are alerted on this exact phrase: a correction blob of that version holds another correction than the catalog. */
export const CORRECTION_BLOB_DIFFERS = 'correction blob differs from the catalog';

/** What a correction blob holds: the correction, and where it left the document's fiscal year and retention. */
export interface StoredCorrection {
  tenantId: string;
  documentId: string;
  correction: MetadataCorrection;
  fiscalYear: ArchivedDocument['fiscalYear'];
  retention: { class: string; retainUntil: string };
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
export async function storeCorrection(doc: ArchivedDocument, correction: MetadataCorrection, deps: Pick<Deps, 'blobs' | 'clock' | 'retention' | 'log'>): Promise<'created' | 'identical' | 'different'> {
  // The document's protection at the time it is written; the reconciler brings it in line with later holds and extensions.
  const stored = storedCorrectionOf(doc, correction);
  const name = blobLayout.correction(doc.id, correction.version);
  // A document past its retention (awaiting disposal) is still corrected, but storage refuses a lock that expires in the
  // past (400 InvalidExpiryTime): asked for one, the blob was never written, by the request or any reconciler run, so
  // the correction was kept in the catalog only. Its other blobs' locks have ended too: it is written without one.
  const outcome = await deps.blobs.putCreateOnly(doc.tenantId, name, Buffer.from(JSON.stringify(stored)), 'application/json', { retainUntil: lockFor(doc.retention.retainUntil, deps.clock.now()), legalHold: isHeld(doc) }, {});
  // Both writers (the request, the reconciler) read the document active; the sweep may have emptied its folder since,
  // and this blob holds the whole metadata, which the tombstone promises gone.
  if (outcome === 'created') await removeStrayBlob(doc.tenantId, doc.id, 'correction', deps.clock.now(), deps);
  if (outcome !== 'different') return outcome;
  // Written meanwhile by another writer of the same correction (the reconciler, the request), from the document as it
  // was then (an extension since moves its retention): only another correction is a different one.
  const existing = await readStoredCorrection(doc.tenantId, name, deps);
  return existing && JSON.stringify(existing.correction) === JSON.stringify(correction) ? 'identical' : 'different';
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
  if (isHeld(now) && !isHeld(written)) await deps.blobs.setLegalHold(written.tenantId, name, true);
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
export async function withStoredCorrections(doc: ArchivedDocument, names: readonly string[], deps: Pick<Deps, 'blobs'>): Promise<{ document: ArchivedDocument; versions: number[] }> {
  let document = doc;
  const versions: number[] = [];
  for (const { name } of correctionBlobs(names)) {
    const stored = await readStoredCorrection(doc.tenantId, name, deps);
    const next = stored ? withStoredCorrection(document, stored) : null;
    if (!next) break;
    document = next;
    versions.push(stored!.correction.version);
  }
  return { document, versions };
}

/** Reads one correction blob; null when it is not one (not JSON, or not shaped as one). */
export async function readStoredCorrection(tenantId: string, name: string, deps: Pick<Deps, 'blobs'>): Promise<StoredCorrection | null> {
  try {
    const value = JSON.parse((await deps.blobs.readAll(tenantId, name)).toString('utf8')) as StoredCorrection;
    return typeof value?.correction?.version === 'number' && typeof value.retention?.retainUntil === 'string' ? value : null;
  } catch (err) {
    if (err instanceof SyntaxError) return null;
    throw err;
  }
}

/**
 * Applies to the catalog item the corrections its blobs hold beyond its version, in order (a catalog restored to an
 * earlier point, or rebuilt from the manifest), each with a `document.reindex` entry naming it (`correction-restored=N`),
 * stored with the item (the audit outbox). `names`: the folder's blob names, when the caller listed them. Stops at a gap
 * or a blob that is not the next version of this document. The versions it applied.
 */
export async function restoreCorrections(tenantId: string, documentId: string, names: readonly string[] | null, actor: Actor, deps: Pick<Deps, 'blobs' | 'retention' | 'auditOutbox' | 'clock'>): Promise<number[]> {
  const doc = await deps.retention.catalog.getVersioned(tenantId, documentId);
  if (!doc || doc.item.status !== 'active') return [];
  const beyond = correctionBlobs(names ?? (await deps.blobs.documentBlobs(tenantId, documentId))).filter((c) => c.version > (doc.item.metadataVersion ?? 1));
  const applied: number[] = [];
  for (const { name, version } of beyond) {
    const stored = await readStoredCorrection(tenantId, name, deps);
    if (!stored) break;
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

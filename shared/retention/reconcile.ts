import type { Deps } from '../deps';
import { blobLayout } from '../kernel/blob-layout';
import { indexFromManifest } from '../documents/rebuild-catalog';
import { hasCurrentSearchKeys } from '../kernel/search-keys';
import { ArchiveError } from '../kernel/errors';
import { DOCUMENT_ID } from '../ids';
import { orphanRecordId, type AuditInput, type BlobWorm, type OrphanedBlobsRecord, type OrphanResolution } from '../ports';
import { judgedNotKept } from '../kept-blobs';
import { correctionAudited, correctionBlobs, CORRECTION_BLOB_DIFFERS, restoreCorrections, storeCorrection } from '../documents/correction-blobs';
import { AUDIT_OUTBOX_GRACE_MS, auditOutboxItem } from '../kernel/audit';
import { AUDIT_OUTBOX_DRAIN_MAX } from '../audit/seal';
import { isHeld } from '../kernel/retention-rules';
import { recordFixity, UNKEPT_CORRECTION_GRACE_MS } from './fixity';
import { unsafeTenantsFrom, unsafeWalkActiveDocuments, unsafeWalkTenantsById } from './sweep';
import { extendHoldsByQuery, type ExtendedHold } from './holds/extend-holds-by-query';
import type { Actor, LegalHold, RetentionExtension } from '../kernel/retention';
import type { ArchivedDocument } from '../kernel/document';
import { blobNamesOf, lockAhead, updateDocument } from './update';
import { flagsInLine, type HoldDeps } from './holds/legal-hold';
import { holdPlaced } from './holds/place-hold';
import { ownChangeStaging } from '../audit/outbox';
import { uuidv7 } from '../ids';
import { walkCursor } from './cursor';
import { type UncheckedDocument, UncheckedDocuments } from './unchecked';
import { ENDS_AT_SETTLE_MS, migrateEndsAt } from '../auth/ends-at';
import { resealSuperseded, sealLegacyKeys } from '../auth/api-keys/key-seal';
import { extendKeptSightingLocks, keepUnkeptSightings, sealLegacySightings } from '../auth/person-sightings';

export const RECONCILE_ACTOR: Actor = { subject: 'system:reconciler', kind: 'system' };

export interface ReconcileResult {
  /** Documents whose blobs and manifest existed but whose catalog item did not (crash between the writes). */
  indexed: string[];
  /** Document folders with blobs but neither catalog item nor manifest, newly listed for an operator (audited once). */
  orphaned: { tenantId: string; documentId: string; blobs: string[] }[];
  /** Listed folders found no longer orphaned: indexed since, or no blob left (resolved, audited once). */
  resolved: { tenantId: string; documentId: string; how: OrphanResolution }[];
  /** Corrections the catalog holds that storage did not, written now (`tenant/document/version`). */
  correctionsStored: string[];
  /** Corrections storage held beyond the catalog item's version, applied to it now (`tenant/document/version`). */
  correctionsRestored: string[];
  /** Catalog items whose blobs are missing (flagged, audited, reported on /health/ready). */
  flagged: { tenantId: string; documentId: string; missing: string[] }[];
  /** Documents whose blobs' legal-hold flag disagreed with the catalog and was set or cleared to match it (audited). */
  holdsResynced: { tenantId: string; documentId: string; legalHold: boolean; blobs: string[] }[];
  /**
   * Catalog items whose blobs carry a legal hold they had no record of (a catalog restored to a point before the hold, a
   * placement whose catalog write failed), seen so twice HOLD_WRITE_IN_FLIGHT_MS apart: given an open hold
   * (RESTORED_HOLD_CASE, by `system:reconciler`) as a rebuild from the manifest gives one, audited (`document.reindex`).
   */
  holdsRestored: { tenantId: string; documentId: string; holdId: string }[];
  /**
   * Catalog items whose blobs are locked later than their retain-until (a catalog restored behind an extension, or
   * edited shorter), given that later date as a rebuild from the manifest gives it (audited, `document.reindex`).
   */
  retentionRestored: { tenantId: string; documentId: string; from: string; to: string }[];
  /** Catalog items given the search keys of their metadata (documents from before the keys; idempotent). */
  keysMigrated: string[];
  /** Documents an open hold by query reached in this run (archived or corrected into its query since it was placed). */
  holdsExtended: ExtendedHold[];
  /** API keys and support grants given their `endsAt` (records from before it; shared/auth/ends-at.ts), `tenantId/id`. */
  endsAtMigrated: string[];
  /** API keys from before the seal, or sealed with a superseded chain key version, sealed on their audit entry (shared/auth/api-keys/key-seal.ts), `tenantId/keyId`. */
  keysSealed: string[];
  /** API keys in use left without a seal (the store is not marked while any is left), or with a superseded one: no audit entry of their minting (`tenantId/keyId`). */
  keysUnsealed: string[];
  /** The store is marked as every key and grant sealed (TenantRecordsPort.keysSealed). */
  keysAllSealed: boolean;
  /** Persons' sign-in records from before the seal sealed as they stood (shared/auth/person-sightings.ts), `tenantId/id`. */
  sightingsSealed: string[];
  /** The store is marked as every sign-in record sealed (TenantRecordsPort.sightingsSealed). */
  sightingsAllSealed: boolean;
  /** Sealed sign-in records given the kept copy in storage they lacked (from before kept copies), `tenantId/id`. */
  sightingsKept: string[];
  /** Sign-in records whose newest kept copy's lock, ending soon, was extended, `tenantId/id`. */
  sightingLocksExtended: string[];
  /** Folders and catalog items the reconciler could not check (a malformed item, say): logged for an operator, skipped. */
  unchecked: UncheckedDocument[];
  checked: number;
  continuation: string | null;
  /** Document folders looked at in the blob store, and where the next run's blob walk resumes (null: all done). */
  foldersChecked: number;
  folderContinuation: string | null;
  /** Where the next run's walk over the orphan records not resolved resumes (null: all done). */
  orphanContinuation: string | null;
  /** The tenant the next run's extension of holds by query starts with (null: the first). */
  holdsContinuation: string | null;
}

export interface ReconcileInput {
  now: Date;
  /** Bound of each walk (catalog items, blob folders) per run. */
  maxItems: number;
  continuation: string | null;
  folderContinuation?: string | null;
  orphanContinuation?: string | null;
  /** The tenant this run's extension of holds by query starts with (the previous run's `holdsContinuation`); the others follow in turn. */
  holdsContinuation?: string | null;
  /** A folder without catalog item and manifest written more recently than this may be an upload in flight. Default one hour. */
  orphanGraceMinutes?: number;
}

/** Operators are alerted on this exact phrase (infra/main.bicep, orphanedBlobsAlert). */
export const ORPHANED_BLOBS = 'orphaned blobs: a document folder has no catalog item and no manifest';

/**
 * Reconciler, two bounded walks with their own continuations. Blob store → catalog: every
 * document folder without a catalog item is indexed from its manifest (audited by the
 * rebuild), or, without a manifest or with one whose original another document holds, listed
 * for an operator as orphaned blobs (recorded and audited once). Catalog → blob store: flags catalog items without blobs, and brings the
 * blobs' legal-hold flags in line with the catalog (a hold release or placement that crashed
 * between its two writes). Then open holds by query reach the documents archived or corrected into their queries since.
 */
export async function reconcile(input: ReconcileInput, deps: Pick<Deps, 'blobs' | 'catalog' | 'retention' | 'audit' | 'auditOutbox' | 'log' | 'clock' | 'tenantRecords'>): Promise<ReconcileResult> {
  const unchecked = new UncheckedDocuments('reconciler', deps.log);
  const result: ReconcileResult = { indexed: [], orphaned: [], resolved: [], correctionsStored: [], correctionsRestored: [], retentionRestored: [], flagged: [], holdsResynced: [], holdsRestored: [], keysMigrated: [], holdsExtended: [], endsAtMigrated: [], keysSealed: [], keysUnsealed: [], keysAllSealed: false, sightingsSealed: [], sightingsAllSealed: false, sightingsKept: [], sightingLocksExtended: [], unchecked: unchecked.documents, checked: 0, continuation: null, foldersChecked: 0, folderContinuation: null, orphanContinuation: null, holdsContinuation: null };
  const graceMs = (input.orphanGraceMinutes ?? 60) * 60_000;
  const folders = await unsafeWalkDocumentFolders(deps, input.folderContinuation ?? null, input.maxItems, (tenantId, documentId) => unchecked.check(tenantId, documentId, () => checkFolder(tenantId, documentId), undefined));
  async function checkFolder(tenantId: string, documentId: string): Promise<void> {
    const item = await deps.catalog.get(tenantId, documentId);
    // A tombstone's folder is empty once its disposal finished: a blob stored there later (a validation report
    // that arrived while the document was being disposed of) is listed like any other orphan, never kept unseen.
    if (item && item.status !== 'disposed') return;
    // Listed, not only looked up: its ETag ties a verdict to the blob judged. Broke: a folder planted with a manifest the
    // archive did not write had it read (to 4 MiB), witnessed against the audit log and logged again on every pass of
    // the folder walk. Judged once per blob per instance.
    const manifest = item ? undefined : (await deps.blobs.listedBlobs(tenantId, blobLayout.manifest(documentId))).find((b) => b.name === blobLayout.manifest(documentId));
    if (manifest) {
      const indexed = judgedNotKept(tenantId, manifest) ? 'unsealed' : await indexFromManifest(tenantId, manifest.name, RECONCILE_ACTOR, deps, manifest);
      if (indexed === 'created') {
        deps.log.warn('reconciler indexed a document that had no catalog item', { tenantId, documentId });
        result.indexed.push(`${tenantId}/${documentId}`);
        // A duplicate listed while its original's document was active: no longer orphaned, told in this run.
        await resolveOrphan(tenantId, documentId, 'indexed');
      }
      // Its original is archived under another document (a retry without Idempotency-Key): listed for an operator as the
      // folders without a manifest are. Once that document is disposed of (its marker goes), a later run indexes this
      // folder after all, so the sweep disposes of these blobs too rather than keeping them past retention unseen. A
      // manifest the archive did not write (logged MANIFEST_UNSEALED) is never indexed: its folder is listed the same way.
      if (indexed !== 'duplicate' && indexed !== 'unsealed') return;
    }
    const blobs = await deps.blobs.documentBlobDetails(tenantId, documentId);
    if (blobs.length === 0 || blobs.some((b) => input.now.getTime() - Date.parse(b.lastModified) < graceMs)) return;
    if (await recordOrphanedBlobs(tenantId, documentId, blobs, input.now, graceMs, deps)) result.orphaned.push({ tenantId, documentId, blobs: blobs.map((b) => b.name) });
  }

  // After the folder walk, so a folder it indexed is resolved in this run; its own walk, since a folder whose blobs are
  // all gone is in no blob listing.
  const records = await unsafeWalkTenantsById(deps, input.orphanContinuation ?? null, input.maxItems, (tenantId, after) => deps.retention.orphans.unresolvedAfter(tenantId, after, 50), async (tenantId, r) => {
    await unchecked.check(tenantId, r.documentId, () => checkOrphanRecord(tenantId, r.documentId), undefined);
    return true;
  });
  async function checkOrphanRecord(tenantId: string, documentId: string): Promise<void> {
    const item = await deps.catalog.get(tenantId, documentId);
    if (item && item.status !== 'disposed') await resolveOrphan(tenantId, documentId, 'indexed');
    else if ((await deps.blobs.documentBlobDetails(tenantId, documentId)).length === 0) await resolveOrphan(tenantId, documentId, 'blobs-gone');
  }
  async function resolveOrphan(tenantId: string, documentId: string, how: OrphanResolution): Promise<void> {
    if (await resolveOrphanedBlobs(tenantId, documentId, how, input.now, deps)) result.resolved.push({ tenantId, documentId, how });
  }

  // A correction's entry is stored with it in the audit outbox: one whose release failed (an answer lost, an instance
  // stopped) is appended by the sealing timer. Done here first, once a run and only when a correction without its blob
  // has no entry in the log, as the sealing timer does it (claimed, once); a failure leaves it to that timer.
  let drained: Promise<boolean> | null = null;
  const drainedOutbox = () =>
    (drained ??= deps.auditOutbox.drain(new Date(input.now.getTime() - AUDIT_OUTBOX_GRACE_MS), AUDIT_OUTBOX_DRAIN_MAX).then(
      (n) => n > 0,
      (err: unknown) => {
        deps.log.warn('reconciler could not append audit outbox items; the sealing timer does', { error: String(err) });
        return false;
      },
    ));
  const walk = await unsafeWalkActiveDocuments(deps, input.continuation, input.maxItems, (tenantId, doc) => unchecked.check(tenantId, String(doc.id), () => checkCatalogItem(tenantId, doc), true));
  async function checkCatalogItem(tenantId: string, doc: ArchivedDocument): Promise<boolean> {
    // Migration, re-run safely on every pass: documents archived before content-key markers get one.
    await deps.catalog.ensureContentMarker(doc);
    if (!hasCurrentSearchKeys(doc)) {
      // The catalog's replace derives the keys (and a corrected item's correction search fields); a concurrent write
      // that already did so leaves nothing to do.
      const migrated = await updateDocument(tenantId, doc.id, deps, (d) => (hasCurrentSearchKeys(d) ? { next: null, result: false } : { next: d, result: true })).catch((err: unknown) => {
        // Disposed or gone since the walk read it: nothing to migrate.
        if (err instanceof ArchiveError && (err.code === 'document_disposed' || err.code === 'document_not_found')) return false;
        throw err;
      });
      if (migrated) result.keysMigrated.push(`${tenantId}/${doc.id}`);
    }
    const blobs = await deps.blobs.documentBlobWorm(tenantId, doc.id);
    await keepCorrectionsStored(tenantId, doc, blobs);
    const locked = latestLock(blobs);
    if (lockedLater(locked, doc.retention.retainUntil) || doc.retentionBehindSeenAt) {
      const restored = await retentionOfBlobs(tenantId, doc.id, locked, input.now, deps);
      if (restored) result.retentionRestored.push({ tenantId, documentId: doc.id, ...restored });
    }
    if (blobs.some((b) => b.legalHold !== null && b.legalHold !== isHeld(doc, input.now))) {
      const resynced = await resyncLegalHold(tenantId, doc.id, input.now, deps, (holdId) => result.holdsRestored.push({ tenantId, documentId: doc.id, holdId }));
      if (resynced) result.holdsResynced.push(resynced);
    }
    const stored = new Set(blobs.map((b) => b.name));
    const missing = blobNamesOf(doc).filter((n) => !stored.has(n));
    if (missing.length === 0) return true;
    if (doc.fixity && !doc.fixity.ok && (doc.fixity.missing ?? []).join() === missing.join()) return true; // already flagged
    result.flagged.push({ tenantId, documentId: doc.id, missing });
    await recordFixity(doc, { mismatched: [], missing }, input.now, 'document.blobs-missing', RECONCILE_ACTOR, deps);
    return true;
  }
  /**
   * The document's corrections as storage keeps them (shared/documents/correction-blobs.ts): one the catalog holds and
   * storage does not (its write after the catalog's failed) is written; one storage holds beyond the catalog's version
   * (a catalog restored to an earlier point) is applied to the item; one written before a later extension gets its
   * retain-until (hold flags follow with every blob's, below).
   */
  async function keepCorrectionsStored(tenantId: string, doc: ArchivedDocument, blobs: BlobWorm[]): Promise<void> {
    const listed = new Map(blobs.map((b) => [b.name, b]));
    const unkept = (doc.metadataHistory ?? []).filter((c) => !listed.has(blobLayout.correction(doc.id, c.version)));
    // Written from the item as stored now, and only while it is active: the walk's copy may be older, and a folder
    // being disposed of must not get a blob after the disposer emptied it.
    const current = unkept.length > 0 ? (await deps.retention.catalog.getVersioned(tenantId, doc.id))?.item : undefined;
    for (const correction of unkept) {
      if (current?.status !== 'active') break;
      // Only a correction a request made: its audit entry (in the keyed chain, which a catalog write cannot forge)
      // names its digest. One written into the catalog behind the archive's back was made WORM truth here, and from
      // then on every check (fixity, an export, a rebuild) found the forged details witnessed.
      // Its blob is created now: an entry keyed with a chain key version superseded before now witnesses nothing (the
      // old version, leaked, had a correction written into the catalog sealed with the current one).
      const createdOn = input.now.toISOString();
      if (!(await correctionAudited(tenantId, doc.id, correction, deps, createdOn)) && !(await drainedOutbox() && (await correctionAudited(tenantId, doc.id, correction, deps, createdOn)))) {
        // Its entry may still be in the audit outbox (the sealing timer appends what a release left): alerted past a day.
        if (input.now.getTime() - Date.parse(correction.at) >= UNKEPT_CORRECTION_GRACE_MS) deps.log.error(CORRECTION_UNAUDITED, { tenantId, documentId: doc.id, version: correction.version });
        break;
      }
      if ((await storeCorrection(current, correction, deps)) === 'different') deps.log.error(CORRECTION_BLOB_DIFFERS, { tenantId, documentId: doc.id, version: correction.version });
      else result.correctionsStored.push(`${tenantId}/${doc.id}/${correction.version}`);
    }
    const kept = correctionBlobs([...listed.keys()]);
    for (const c of kept) {
      const retainUntil = listed.get(c.name)!.retainUntil;
      if (retainUntil !== null && retainUntil < doc.retention.retainUntil && lockAhead(doc.retention.retainUntil, input.now)) await deps.blobs.extendRetention(tenantId, c.name, doc.retention.retainUntil);
    }
    // Read again (restoreCorrections) only when the folder keeps a version beyond the walk's copy: not once per document and run.
    const next = kept.find((c) => c.version > (doc.metadataVersion ?? 1));
    if (!next) return;
    // One judged not the archive's (kept-blobs.ts judgedNotKept) stops the restore where it would: not even the item read again.
    const nextEtag = listed.get(next.name)!.etag;
    if (nextEtag !== undefined && judgedNotKept(tenantId, { name: next.name, etag: nextEtag })) return;
    const restored = await restoreCorrections(tenantId, doc.id, [...listed.keys()], RECONCILE_ACTOR, deps, new Map(blobs.map((b) => [b.name, b.etag])));
    if (restored.length > 0) {
      deps.log.warn('reconciler restored corrections the catalog item had lost from their blobs', { tenantId, documentId: doc.id, versions: restored });
      result.correctionsRestored.push(...restored.map((v) => `${tenantId}/${doc.id}/${v}`));
    }
  }
  // Migration, bounded as each walk: keys and grants from before `endsAt` (or written by that code later) get it.
  result.endsAtMigrated = (await migrateEndsAt(deps, input.maxItems, input.now)).migrated;
  // Keys from before the seal sealed from their audit entry, bounded as well; the store marked once none is left in use.
  const sealing = await sealLegacyKeys(deps, input.now, ENDS_AT_SETTLE_MS);
  // And those sealed with a superseded chain key version sealed again with the current one, on their creation entry.
  const resealing = await resealSuperseded(deps, input.now);
  result.keysSealed = [...sealing.sealed, ...resealing.sealed];
  result.keysUnsealed = [...sealing.unwitnessed, ...resealing.unwitnessed];
  result.keysAllSealed = sealing.done;
  // Persons' sign-in records from before the seal sealed as they stand, bounded too; the store marked once none is left.
  const sightings = await sealLegacySightings(deps, input.now, ENDS_AT_SETTLE_MS);
  result.sightingsSealed = sightings.sealed;
  result.sightingsAllSealed = sightings.done;
  // And each sealed one without a kept copy (from before kept copies) kept, bounded too: its deletion in Cosmos DB hid its
  // set. Then kept copies whose lock ends soon extended, from storage's own listing (once ended, the copy could be deleted
  // and an older record replayed; walked through Cosmos DB's records, planted ones starved it).
  result.sightingsKept = (await keepUnkeptSightings(deps, input.now)).kept;
  result.sightingLocksExtended = (await extendKeptSightingLocks(deps, input.now)).extended;
  // Open holds by query reach the documents archived or corrected into their queries since the last run (bounded too;
  // the next run goes on with what is left, which the sweep does not dispose of meanwhile). The tenants take turns: a
  // run starts with the tenant after the one whose documents used up the last run's budget. Every run started with the
  // first tenant, so one archiving more into its open holds than a run reaches (a bulk import) used every run's budget,
  // and another tenant's documents were never reached (promised within ARCHIVE_RECONCILE_SCHEDULE).
  const tenants = await unsafeTenantsFrom(deps, null);
  const first = input.holdsContinuation ? tenants.findIndex((t) => t >= input.holdsContinuation!) : 0;
  const inTurn = first > 0 ? [...tenants.slice(first), ...tenants.slice(0, first)] : tenants;
  for (const [i, tenantId] of inTurn.entries()) {
    result.holdsExtended.push(...(await extendHoldsByQuery(tenantId, { now: input.now, max: input.maxItems - result.holdsExtended.length, actor: RECONCILE_ACTOR, unchecked }, deps)));
    if (result.holdsExtended.length >= input.maxItems) {
      result.holdsContinuation = inTurn[(i + 1) % inTurn.length] ?? null;
      break;
    }
  }
  return { ...result, checked: walk.visited, continuation: walk.continuation, foldersChecked: folders.visited, folderContinuation: folders.continuation, orphanContinuation: records.continuation };
}

/** Names one listing of a folder (its first sighting, and which listing it is after the first): every run names it alike. */
const listingName = (record: OrphanedBlobsRecord): string => `${record.documentId}:${record.firstSeen}${record.listing ? `:${record.listing}` : ''}`;

/** The record's entry, under a request id of its own (the listing's name): every run that appends it names it alike. */
function orphanEntry(record: OrphanedBlobsRecord): AuditInput {
  return {
    tenantId: record.tenantId,
    at: record.firstSeen,
    actor: RECONCILE_ACTOR,
    action: 'document.blobs-orphaned',
    target: record.documentId,
    outcome: 'failed',
    status: 500,
    requestId: `reconcile:orphaned-blobs:${listingName(record)}`,
    clientIp: null,
    userAgent: null,
    detail: `orphaned:${record.blobs.map((b) => b.name.split('/').pop()).join(',')}`.slice(0, 300),
  };
}

/** The entry of a listing's end, under a request id naming that listing: every run that stores it names it alike. */
function resolvedEntry(record: OrphanedBlobsRecord & { resolvedAt: string; resolvedHow: OrphanResolution }): AuditInput {
  return {
    tenantId: record.tenantId,
    at: record.resolvedAt,
    actor: RECONCILE_ACTOR,
    action: 'document.blobs-orphan-resolved',
    target: record.documentId,
    outcome: 'success',
    status: 200,
    requestId: `reconcile:orphan-resolved:${listingName(record)}`,
    clientIp: null,
    userAgent: null,
    detail: `${record.resolvedHow};listed=${record.firstSeen}`,
  };
}

/**
 * Lists an orphaned folder for operators: the record (tenant, folder, blob names and sizes, first
 * seen) created with its audit entry in the same batch (the audit outbox), then the alert's log line
 * and the entry appended. Create-only, so of two runs at once (or a run after a crash) one stores the
 * record and its entry, once: the entry was appended after the record, by every run that found it
 * unmarked, and a crash before the mark (or a second run) appended it again. A folder whose record was
 * resolved is orphaned again: the record is reopened as its next listing, over the etag of the resolved
 * version (of two runs one does), with that listing's entry in the same batch. True when this run reported it.
 */
async function recordOrphanedBlobs(tenantId: string, documentId: string, blobs: { name: string; size: number; lastModified: string }[], now: Date, graceMs: number, deps: Pick<Deps, 'retention' | 'audit' | 'auditOutbox' | 'log' | 'catalog' | 'blobs'>): Promise<boolean> {
  const record: OrphanedBlobsRecord = { id: orphanRecordId(documentId), tenantId, type: 'orphaned-blobs', documentId, folder: blobLayout.folder(documentId), blobs, firstSeen: now.toISOString(), audited: true };
  // Written when the record is first seen (now), as the entry says.
  const item = auditOutboxItem([orphanEntry(record)]);
  if ((await deps.retention.orphans.create(record, item)) === 'created') {
    deps.log.error(ORPHANED_BLOBS, { tenantId, documentId, blobs: blobs.map((b) => b.name) });
    await deps.auditOutbox.releaseNow(item);
    return true;
  }
  const current = await deps.retention.orphans.get(tenantId, documentId);
  if (!current) return false;
  if (current.value.resolvedAt) return reopenOrphanRecord(current.value, current.etag, now, graceMs, deps);
  // A record an earlier version created unaudited (its entry was appended after it): appended once under the record's own request id.
  if (current.value.audited) return false;
  await auditUnauditedRecord(current.value, current.etag, deps);
  return true;
}

/** A record an earlier version created unaudited: its listing's entry appended once (by its request id), then marked. */
async function auditUnauditedRecord(record: OrphanedBlobsRecord, etag: string, deps: Pick<Deps, 'retention' | 'audit' | 'log'>): Promise<void> {
  deps.log.error(ORPHANED_BLOBS, { tenantId: record.tenantId, documentId: record.documentId, blobs: record.blobs.map((b) => b.name) });
  await deps.audit.appendOnce([orphanEntry(record)]);
  await deps.retention.orphans.markAudited(record, etag);
}

/**
 * The folder of a resolved record is orphaned again. What this run saw of it may be older than the resolution (a
 * run that indexed the folder, or found it empty, resolved it meanwhile): looked at again after reading the resolved
 * record, so what resolved it is seen, and only a folder orphaned now is listed again.
 */
async function reopenOrphanRecord(resolved: OrphanedBlobsRecord, etag: string, now: Date, graceMs: number, deps: Pick<Deps, 'retention' | 'auditOutbox' | 'log' | 'catalog' | 'blobs'>): Promise<boolean> {
  const { tenantId, documentId } = resolved;
  const item = await deps.catalog.get(tenantId, documentId);
  if (item && item.status !== 'disposed') return false;
  const blobs = await deps.blobs.documentBlobDetails(tenantId, documentId);
  if (blobs.length === 0 || blobs.some((b) => now.getTime() - Date.parse(b.lastModified) < graceMs)) return false;
  const record: OrphanedBlobsRecord = { id: resolved.id, tenantId, type: 'orphaned-blobs', documentId, folder: resolved.folder, blobs, firstSeen: now.toISOString(), audited: true, listing: (resolved.listing ?? 1) + 1 };
  const outbox = auditOutboxItem([orphanEntry(record)]);
  if ((await deps.retention.orphans.replace(record, etag, outbox)) !== 'replaced') return false;
  deps.log.error(ORPHANED_BLOBS, { tenantId, documentId, blobs: blobs.map((b) => b.name) });
  await deps.auditOutbox.releaseNow(outbox);
  return true;
}

/**
 * Marks a listed folder no longer orphaned (`how`: a catalog item exists now, or no blob is left), over the etag of
 * the listing read, with its entry in the same batch (the audit outbox): of two runs at once, or a run after a crash
 * between the write and the entry's append, one stores it, once (the sealing timer appends what a crash left in the
 * outbox). A record an earlier version left unaudited gets its listing's entry first. True when this run resolved it.
 */
async function resolveOrphanedBlobs(tenantId: string, documentId: string, how: OrphanResolution, now: Date, deps: Pick<Deps, 'retention' | 'audit' | 'auditOutbox' | 'log'>): Promise<boolean> {
  let current = await deps.retention.orphans.get(tenantId, documentId);
  if (current && !current.value.resolvedAt && !current.value.audited) {
    await auditUnauditedRecord(current.value, current.etag, deps);
    current = await deps.retention.orphans.get(tenantId, documentId);
  }
  if (!current || current.value.resolvedAt || !current.value.audited) return false;
  const record = { ...current.value, resolvedAt: now.toISOString(), resolvedHow: how };
  const outbox = auditOutboxItem([resolvedEntry(record)]);
  if ((await deps.retention.orphans.replace(record, current.etag, outbox)) !== 'replaced') return false;
  deps.log.info('reconciler found a listed orphaned folder no longer orphaned', { tenantId, documentId, how });
  await deps.auditOutbox.releaseNow(outbox);
  return true;
}

interface FolderCursor {
  tenant: string;
  /** The blob listing's continuation within the tenant ('' for its start). */
  marker: string;
}

const folderCursor = walkCursor<FolderCursor>((c) => typeof c.marker === 'string');

/**
 * Visit the document folders of every tenant's container (seals and other non-document
 * prefixes skipped), resuming from a continuation, until `maxItems` folders were visited.
 */
export async function unsafeWalkDocumentFolders(
  deps: Pick<Deps, 'blobs'>,
  continuation: string | null,
  maxItems: number,
  visit: (tenantId: string, documentId: string) => Promise<void>,
): Promise<{ visited: number; continuation: string | null }> {
  const from = folderCursor.decode(continuation);
  const tenants: string[] = [];
  for await (const t of deps.blobs.unsafeListTenants()) if (!from || t >= from.tenant) tenants.push(t);
  let visited = 0;
  for (const tenantId of tenants.sort()) {
    let marker: string | null = from && tenantId === from.tenant ? from.marker || null : null;
    do {
      if (visited >= maxItems) return { visited, continuation: folderCursor.encode({ tenant: tenantId, marker: marker ?? '' }) };
      const page = await deps.blobs.documentFolders(tenantId, marker, Math.min(100, maxItems - visited));
      for (const documentId of page.documentIds) {
        if (!DOCUMENT_ID.test(documentId)) continue;
        await visit(tenantId, documentId);
        visited++;
      }
      marker = page.continuation;
    } while (marker);
  }
  return { visited, continuation: null };
}

/** For /health/ready: how many orphaned document folders are listed for operators and not resolved (no tenant data). */
export async function unsafeOrphanReport(deps: Pick<Deps, 'retention'>): Promise<{ status: 'ok' | 'found'; orphanedFolders: number }> {
  const orphanedFolders = await deps.retention.orphans.unsafeCount();
  return { status: orphanedFolders === 0 ? 'ok' : 'found', orphanedFolders };
}

/** Operators are alerted on this exact phrase (infra/main.bicep, correctionUnauditedAlert). */
export const CORRECTION_UNAUDITED = 'correction in the catalog without its audit entry: not kept in storage';

/** Storage locks a blob to the whole second: a lock later than the retain-until by less than a second is the same date. */
const lockedLater = (locked: string | null, retainUntil: string): boolean => locked !== null && Date.parse(locked) - Date.parse(retainUntil) >= 1000;

/** The latest time lock among a document's blobs (null: none locked). */
const latestLock = (blobs: readonly BlobWorm[]): string | null => blobs.reduce<string | null>((max, b) => (b.retainUntil && (!max || b.retainUntil > max) ? b.retainUntil : max), null);

/**
 * The blobs are locked later than the catalog's retain-until: the item was restored to a point before an extension (the
 * README promised extensions come back from the blobs' immutability, which only a rebuild from the manifest did), or
 * edited shorter behind the archive's back. Served as it was, the document showed the earlier date, stood in the
 * disposal review as due and was approved; only storage's refusal of the disposal, years on, told anyone. The later
 * date is taken over as a rebuild takes it, as an extension by the reconciler (its record names why) with a
 * `document.reindex` entry (`retain-until-restored=`), never shortening. An extension locks the blobs before its
 * catalog write: a run between the two would take its date over and the extension find nothing left to do (its person
 * and reason lost), so the first sighting is recorded on the item (over the version read: an extension in flight
 * fails its write, retries and records itself) and the date taken over only HOLD_WRITE_IN_FLIGHT_MS after it.
 */
async function retentionOfBlobs(tenantId: string, documentId: string, locked: string | null, now: Date, deps: Pick<Deps, 'retention' | 'auditOutbox' | 'log'>): Promise<{ from: string; to: string } | null> {
  const current = await deps.retention.catalog.getVersioned(tenantId, documentId);
  if (!current || current.item.status !== 'active') return null;
  const doc = current.item;
  const seen = doc.retentionBehindSeenAt;
  if (locked === null || !lockedLater(locked, doc.retention.retainUntil)) {
    // In line again (the extension that locked the blobs wrote its record): the sighting goes.
    if (seen) {
      const { retentionBehindSeenAt: _s, ...rest } = doc;
      await deps.retention.catalog.replace(rest, current.etag);
    }
    return null;
  }
  if (!seen || seen.retainUntil !== doc.retention.retainUntil) {
    await deps.retention.catalog.replace({ ...doc, retentionBehindSeenAt: { at: now.toISOString(), retainUntil: doc.retention.retainUntil } }, current.etag);
    return null;
  }
  if (now.getTime() - Date.parse(seen.at) < HOLD_WRITE_IN_FLIGHT_MS) return null;
  const from = doc.retention.retainUntil;
  const at = now.toISOString();
  const { retentionBehindSeenAt: _s, ...rest } = doc;
  const extension: RetentionExtension = { from, to: locked, at, by: RECONCILE_ACTOR, reason: 'The stored blobs are locked until a later date than the catalog item held (a catalog restored to an earlier point, or changed behind the archive): taken over from storage, as a rebuild from the manifest takes it.' };
  const next: ArchivedDocument = { ...rest, retention: { ...doc.retention, retainUntil: locked, extensions: [...(doc.retention.extensions ?? []), extension] } };
  const outbox = auditOutboxItem([{ tenantId, at, actor: RECONCILE_ACTOR, action: 'document.reindex', target: documentId, outcome: 'success', status: 200, requestId: `${RECONCILE_ACTOR.subject}:retention-restored:${documentId}:${locked}`, clientIp: null, userAgent: null, detail: `retain-until-restored=${locked};from=${from}` }]);
  if ((await deps.retention.catalog.replace(next, current.etag, outbox)) === 'conflict') return null;
  deps.log.warn('reconciler restored a retain-until the catalog item had lost from its blobs', { tenantId, documentId, from, to: locked });
  await deps.auditOutbox.releaseNow(outbox);
  return { from, to: locked };
}

/**
 * Blobs carry a legal hold the catalog has no record of: kept, and recorded as an open hold (RESTORED_HOLD_CASE) for an
 * operator to look into; logged once, when recorded (each run while it cannot be: a document carrying MAX_HOLDS holds).
 */
export const UNRECORDED_HOLD = 'legal hold on blobs without a record in the catalog: flags kept';

/** The case reference of a hold the reconciler records from the blobs' flags (a rebuild from the manifest's is `catalog-rebuild`). */
export const RESTORED_HOLD_CASE = 'restored-from-storage';

/**
 * How long a hold write may still be in flight: a placement between its flags and its catalog write, a release between
 * its catalog write and clearing the flags. The main app's functions' timeout (host.json functionTimeout), past which no
 * request that began it is still running. The export app's is longer (infra/main.bicep): it writes no hold.
 */
export const HOLD_WRITE_IN_FLIGHT_MS = 10 * 60_000;

/** When the item's latest release was written (0 without one). */
const latestRelease = (doc: ArchivedDocument): number => Math.max(0, ...(doc.holds ?? []).map((h) => (h.releasedAt ? Date.parse(h.releasedAt) : 0)));

/**
 * Sets or clears the legal-hold flag of every blob of a document whose flag disagrees with
 * the catalog (document has an open hold ⇔ every blob has the flag), audited first. Clears
 * only what a release left to clear (`holdFlagsToClear`); an unexplained flag is kept, and when still unexplained
 * HOLD_WRITE_IN_FLIGHT_MS after a run first recorded it on the item (`unrecordedHoldSeenAt`) recorded as an open hold
 * (recordRestoredHold, `onHoldRestored` told its id) and logged (UNRECORDED_HOLD) once. The
 * catalog item is read fresh and, before the blob writes, rewritten with the resync under way (`holdResync`) and its
 * entry, then after them rewritten without it over that write's etag: if a hold was placed or released meanwhile,
 * a write fails and the check starts over; if the last succeeds, a placement still in flight fails its own catalog
 * write, retries and sets the flags again. So a concurrent placement can never end with its flags cleared.
 * Idempotent: nothing is written when the flags agree.
 */
export async function resyncLegalHold(
  tenantId: string,
  documentId: string,
  now: Date,
  deps: HoldDeps & Pick<Deps, 'auditOutbox'>,
  onHoldRestored: (holdId: string) => void = () => undefined,
): Promise<ReconcileResult['holdsResynced'][number] | null> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await deps.retention.catalog.getVersioned(tenantId, documentId);
    if (!current || current.item.status !== 'active') return null;
    const held = isHeld(current.item, now);
    const drift = (await deps.blobs.documentBlobWorm(tenantId, documentId)).filter((b) => b.legalHold !== null && b.legalHold !== held).map((b) => b.name);
    if (drift.length === 0) {
      // A run that stopped after the flags and before its last write: that write, and nothing else, is left to do (or
      // an unexplained flag seen before is gone, or explained now).
      if (current.item.holdResync || current.item.unrecordedHoldSeenAt) await deps.retention.catalog.replace(flagsInLine(current.item), current.etag);
      return null;
    }
    // A flag is cleared only when the catalog says why: the release that left no hold open, which crashed before
    // clearing the flags (`holdFlagsToClear`). Any other flag (a placement whose catalog write failed, a hold lost
    // with a restored catalog) stays, even beside an earlier release the item records, and the sweep cannot dispose
    // of the document: storage is never made less protective than it was.
    // A placement sets its flags before its catalog write: a run between the two (or one that read the catalog before
    // the placement and the blobs after) found such a flag and alerted. Acted on now only when a grace window after
    // it was first seen, recorded on the item over the version read: a placement that wrote meanwhile makes that write
    // fail and this run look again; one still in flight fails its own write over this one, retries and records its hold.
    // Past the window, no placement that set these flags is still running: the flag is a hold the item lost (restored
    // to a point before it) or one whose catalog write failed. Kept on the blobs only, the accountant and the auditor
    // were shown no hold to see or release; it is recorded as an open hold, as a rebuild from the manifest records one,
    // and the loop goes on with the item held (any blob still without the flag gets it).
    if (!held && !current.item.holdFlagsToClear) {
      const seen = current.item.unrecordedHoldSeenAt;
      if (!seen) {
        if ((await deps.retention.catalog.replace({ ...current.item, unrecordedHoldSeenAt: now.toISOString() }, current.etag)) === 'conflict') continue;
        return null;
      }
      if (now.getTime() - Date.parse(seen) < HOLD_WRITE_IN_FLIGHT_MS) return null;
      const restored = await recordRestoredHold(tenantId, documentId, seen, now, deps);
      if (restored === 'changed') continue;
      if (restored === 'not-recorded') {
        deps.log.error(UNRECORDED_HOLD, { tenantId, documentId, blobs: drift, seenSince: seen });
        return null;
      }
      deps.log.error(UNRECORDED_HOLD, { tenantId, documentId, blobs: drift, seenSince: seen, holdId: restored.id, caseReference: RESTORED_HOLD_CASE });
      onHoldRestored(restored.id);
      continue;
    }
    // Audited before the flags change, never not at all: the entry is stored with the catalog write that records the
    // resync under way, over the version read, so it is stored once. A run that stopped before its last write (a
    // failed flag, a lost answer) left that record, and the next run (in whatever month: the once-only look in the
    // audit log used to search the month of the retry only) goes on with it without a second entry.
    // A release that left no hold open clears the flags itself right after its catalog write: cleared by this run
    // meanwhile, it got a `legal-hold.resync` entry (a repair) besides its own. Left to it while it may be in flight.
    if (!held && !current.item.holdResync && now.getTime() - latestRelease(current.item) < HOLD_WRITE_IN_FLIGHT_MS) return null;
    let etag = current.etag;
    if (current.item.holdResync?.held !== held) {
      const item = auditOutboxItem([{
        tenantId,
        at: now.toISOString(),
        actor: RECONCILE_ACTOR,
        action: 'legal-hold.resync',
        target: documentId,
        outcome: 'success',
        status: 200,
        requestId: `reconcile:resync:${documentId}:${current.etag}`,
        clientIp: null,
        userAgent: null,
        detail: `${held ? 'set' : 'cleared'}:${drift.map((n) => n.split('/').pop()).join(',')}`.slice(0, 300),
      }]);
      const written = await deps.retention.catalog.replace({ ...current.item, holdResync: { held, at: now.toISOString() } }, current.etag, item);
      if (written === 'conflict') continue;
      deps.log.warn('reconciler brings blob legal-hold flags in line with the catalog', { tenantId, documentId, legalHold: held, blobs: drift });
      await deps.auditOutbox.releaseNow(item);
      etag = written.etag;
    }
    for (const name of drift) await deps.blobs.setLegalHold(tenantId, name, held);
    if ((await deps.retention.catalog.replace(flagsInLine(current.item), etag)) !== 'conflict') return { tenantId, documentId, legalHold: held, blobs: drift };
  }
  deps.log.warn('reconciler could not bring legal-hold flags in line: the document kept changing', { tenantId, documentId });
  return null;
}

/**
 * The blobs' hold flag the item has had no record of since `seen` (its first sighting, HOLD_WRITE_IN_FLIGHT_MS or more
 * ago), recorded as an open hold by `system:reconciler` (case RESTORED_HOLD_CASE), placed as any hold is (holdPlaced: every
 * blob's flag set first, a disposal approval withdrawn and kept on the hold), with a `document.reindex` entry stored with
 * it (`legal-hold-restored=<id>;unrecorded-since=<seen>`), as a rebuild from the manifest's hold gets one. Read fresh
 * and decided on the item as written over: held meanwhile (a placement recorded its own hold), a release's clearing
 * left, or its sighting gone or renewed (a hold write removes it), and nothing is recorded ('changed': look again).
 * Released by four eyes like any other hold; the last release clears the flags.
 * 'not-recorded': the item cannot take another hold (MAX_HOLDS, its record full), a blob refused its flag or a store
 * failed; kept on the blobs and alerted as before (the next run tries again).
 */
async function recordRestoredHold(tenantId: string, documentId: string, seen: string, now: Date, deps: HoldDeps & Pick<Deps, 'auditOutbox'>): Promise<LegalHold | 'changed' | 'not-recorded'> {
  const at = now.toISOString();
  const hold: LegalHold = {
    id: uuidv7(now.getTime()),
    reason:
      'The stored blobs carry a legal hold the catalog item had no record of (a catalog restored to a point before the hold was placed, or a placement whose catalog write failed); recorded from storage, as a rebuild from the manifest records one. Release it once the original hold is known to be over.',
    caseReference: RESTORED_HOLD_CASE,
    placedAt: at,
    placedBy: RECONCILE_ACTOR,
  };
  const entry = ownChangeStaging(deps.auditOutbox, { tenantId, at, actor: RECONCILE_ACTOR, action: 'document.reindex', requestId: `${RECONCILE_ACTOR.subject}:legal-hold-restored:${documentId}:${seen}` });
  try {
    return await updateDocument<LegalHold | 'changed'>(tenantId, documentId, deps, (doc) => {
      if (isHeld(doc, now) || doc.holdFlagsToClear || doc.unrecordedHoldSeenAt !== seen) return { next: null, result: 'changed' };
      const step = holdPlaced(doc, hold, deps);
      const withdrawn = step.placed.withdrewDisposalApproval;
      const detail = [`legal-hold-restored=${hold.id}`, `unrecorded-since=${seen}`, ...(withdrawn ? [`approval-withdrawn=${withdrawn.approvalId}`] : [])].join(';');
      return { ...step, auditDetail: detail, result: step.placed };
    }, entry.staging);
  } catch (err) {
    // Claimed by the sweep or gone since the run read it: looked at again (an active item only is checked).
    if (err instanceof ArchiveError && (err.code === 'document_disposed' || err.code === 'document_not_found')) return 'changed';
    deps.log.warn('reconciler could not record a legal hold the blobs carry; kept on the blobs', { tenantId, documentId, error: String(err) });
    return 'not-recorded';
  } finally {
    await entry.appended();
  }
}

import { setTimeout as sleep } from 'node:timers/promises';
import type { Deps } from '../deps';
import type { ArchivedDocument } from '../kernel/document';
import { blobLayout } from '../kernel/blob-layout';
import { ArchiveError } from '../kernel/errors';
import { CHANGED, withFreshReads } from '../kernel/concurrency';
import { DOCUMENT_ID } from '../ids';
import type { Actor } from '../kernel/retention';
import { type Principal, personOf } from '../kernel/principal';
import type { AuditStaging } from '../kernel/audit';
import type { Versioned } from '../ports';
import { writeWithAuditEntry } from '../audit/outbox';

/** How long a write waits, at most, for a disposal claim it meets to be refused by storage or completed. */
const DISPOSING_POLL_MS = 200;
const DISPOSING_POLLS = 5;

/** The reason of the 503 a change gets when a disposal claimed the document after the change reached its blobs (which keep it). */
export const DOCUMENT_BEING_DISPOSED = 'document-being-disposed';

export const actorOf = (p: Principal): Actor => ({ subject: p.subject, kind: p.kind, person: personOf(p) });

/** The blobs of a document: every original, the rendition, the manifest, the validation report once stored. */
export function blobNamesOf(doc: ArchivedDocument): string[] {
  return [...doc.originals.map((o) => o.blobName), doc.rendition.blobName, blobLayout.manifest(doc.id), ...validationReportOf(doc).map((r) => r.blobName)];
}

/** Every blob storage protects as it protects the document (hold flag, retain-until): its files, and the corrections kept beside them. */
export function protectedBlobNamesOf(doc: ArchivedDocument): string[] {
  return [...blobNamesOf(doc), ...(doc.metadataHistory ?? []).map((c) => blobLayout.correction(doc.id, c.version))];
}

/**
 * Whether a lock until `retainUntil` still protects anything at `now`. Storage refuses a lock that expires in the past
 * (400 InvalidExpiryTime): a document past its retention, awaiting disposal, corrected into a later fiscal year that has
 * ended too, was answered 500. Its catalog date keeps it from the sweep all the same.
 */
export const lockAhead = (retainUntil: string, now: Date): boolean => Date.parse(retainUntil) > now.getTime();

/** The time lock a blob written now gets (WormSettings.retainUntil): the document's retain-until while ahead, else none. */
export const lockFor = (retainUntil: string, now: Date): string | null => (lockAhead(retainUntil, now) ? retainUntil : null);

/**
 * Gives each protected blob of the document a protection (`apply`: a hold flag, a later retain-until). A correction
 * blob not written yet (its request writes it after its catalog write, or that write failed) is passed over, and its
 * name returned: the reconciler writes a missing one from the catalog with the document's protection then. Any other
 * blob that cannot take it fails the change (fail closed).
 */
export async function protectEach(deps: Pick<Deps, 'blobs'>, doc: ArchivedDocument, apply: (name: string) => Promise<void>): Promise<string[]> {
  const passed: string[] = [];
  for (const name of protectedBlobNamesOf(doc)) {
    try {
      await apply(name);
    } catch (err) {
      if (blobLayout.correctionVersion(name) !== null && !(await deps.blobs.exists(doc.tenantId, name))) {
        passed.push(name);
        continue;
      }
      throw err;
    }
  }
  return passed;
}

/**
 * A protection as the two storage steps of `updateDocument`: `before` gives it to every protected blob (protectEach),
 * `after` (once the catalog holds the change) to the correction blobs `before` found not written yet and that are now.
 * A correcting request writes its blob after its catalog write, then reads the document again and brings the blob up
 * to it (correctionUpToDocument); a change whose catalog write came after that read, and whose storage step came
 * before the blob, went by it, so the blob kept the older retain-until or no hold flag until the reconciler's run.
 * That blob is written by the time this change's catalog write is done, in that order: looking again then closes it.
 */
export function protection(deps: Pick<Deps, 'blobs' | 'log'>, doc: ArchivedDocument, apply: (name: string) => Promise<void>): { before: () => Promise<void>; after: () => Promise<void> } {
  let passed: string[] = [];
  return {
    before: async () => {
      passed = await protectEach(deps, doc, apply);
    },
    // The change is stored by then: a storage fault here is the reconciler's to repair, never the request's failure.
    after: async () => {
      for (const name of passed) {
        try {
          if (await deps.blobs.exists(doc.tenantId, name)) await apply(name);
        } catch (err) {
          deps.log.warn('a correction blob not brought up to its document yet; the reconciler does', { tenantId: doc.tenantId, documentId: doc.id, blob: name, error: String(err) });
        }
      }
    },
  };
}

/** The veraPDF report the catalog names, with its SHA-256, once a verdict is recorded (none while pending). */
export function validationReportOf(doc: ArchivedDocument): { blobName: string; sha256: string }[] {
  return doc.validation && doc.validation.status !== 'pending' ? [doc.validation.report] : [];
}

/**
 * Bytes (UTF-8 JSON) a document's catalog item may reach by what people add to its history: corrections, legal holds,
 * extensions. Cosmos DB refuses an item over 2 MB, and past that the document took no write at all: no legal hold, no
 * release, no disposal (the sweep stopped at it, every run). The counts alone did not keep it under: 100 corrections of
 * the longest metadata in three-byte characters are ~1.4 MB. The rest is for what must always be written: releases of
 * the holds it carries (MAX_HOLDS), its disposal, the timers' repairs.
 */
export const DOCUMENT_RECORD_ROOM = 1_500_000;

function assertRoomFor(next: ArchivedDocument, adds: string): void {
  const bytes = Buffer.byteLength(JSON.stringify(next));
  if (bytes <= DOCUMENT_RECORD_ROOM) return;
  throw new ArchiveError('document_record_full', {
    detail: `Document ${next.id}'s catalog record would be ${bytes} bytes with this ${adds}, past the ${DOCUMENT_RECORD_ROOM} the archive fills one document's record to (the rest is kept for releasing its holds and disposing of it). Nothing was changed.`,
    extensions: { bytes, room: DOCUMENT_RECORD_ROOM },
  });
}

/**
 * Read-modify-write of a catalog item with optimistic concurrency. `decide` sees the
 * current item and returns the new one (or null: nothing to change); `before` runs the
 * storage-side effect for that decision before the catalog is written (fail closed:
 * storage is never less protective than the catalog says), `after` one that may only follow
 * it, given the item as written and its etag. Retries on a concurrent write.
 * With `audit`, the request's success entry (with the decision's `auditDetail`) is written
 * in the same batch as the item (the audit outbox).
 */
export async function updateDocument<R>(
  tenantId: string,
  id: string,
  deps: Pick<Deps, 'retention'>,
  decide: (doc: ArchivedDocument) => {
    next: ArchivedDocument | null;
    result: R;
    before?: () => Promise<void>;
    after?: (written: Versioned<ArchivedDocument>) => Promise<void>;
    auditDetail?: string;
    /** What the change adds to the document's history (a correction, a legal hold, an extension): refused past DOCUMENT_RECORD_ROOM. */
    adds?: string;
    /**
     * The change made again once the storage step is done, for one that records when it was made (a correction): its
     * time is then that of its write, not of before a storage step that may take long (every blob of the document).
     */
    restamp?: () => { next: ArchivedDocument; result: R; auditDetail?: string; after?: (written: Versioned<ArchivedDocument>) => Promise<void> };
  },
  audit?: AuditStaging,
): Promise<R> {
  let polls = DISPOSING_POLLS;
  // This request's storage step was done in an earlier attempt (a hold's flag, a later retain-until on the blobs).
  let reachedStorage = false;
  return withFreshReads('The document', async () => {
    let current = DOCUMENT_ID.test(id) ? await deps.retention.catalog.getVersioned(tenantId, id) : null;
    // A claim is not yet a disposal: storage refuses it when a hold or a later retain-until reached the blobs first
    // (this very request's, often), and the document is active again a moment later. Answered at once, a hold placed
    // then was told the document was gone (410) while it stayed, with flagged blobs and no hold in the catalog.
    while (current?.item.status === 'disposing' && polls-- > 0) {
      await sleep(DISPOSING_POLL_MS);
      current = await deps.retention.catalog.getVersioned(tenantId, id);
    }
    if (!current) throw new ArchiveError('document_not_found', { detail: `No document ${id.slice(0, 64)} in this archive.` });
    // Still claimed after the polls (a slow or stopped disposal), and this request's change is on the blobs already:
    // storage will refuse the disposal, so the document stays. Answered 410, the caller was told it was gone while it
    // stayed with their hold or retain-until on its blobs and not in the catalog; they are asked to try again instead.
    if (current.item.status === 'disposing' && reachedStorage) {
      throw new ArchiveError('dependency_unavailable', { detail: `Document ${id} is being disposed of while this change reached its blobs, which keeps it; try again shortly.`, retryAfterSeconds: 5, extensions: { reason: DOCUMENT_BEING_DISPOSED } });
    }
    if (current.item.status !== 'active') {
      // As GET /documents/{id} answers it (documentView). Broke: the whole record was answered, the claim's seal and its
      // approval's seal (never a client's to hold) with it.
      const d = current.item.disposal;
      throw new ArchiveError('document_disposed', { detail: `Document ${id} was disposed of (or is being disposed of) after its retention ended.`, extensions: { disposal: d ? { at: d.at, by: d.by, reason: d.reason } : null } });
    }
    const step = decide(current.item);
    if (!step.next) return step.result;
    if (step.adds) assertRoomFor(step.next, step.adds);
    try {
      await step.before?.();
      if (step.before) reachedStorage = true;
    } catch (err) {
      // The storage step was decided on the item as read; if the item changed since (a disposal claimed it and
      // deleted its blobs), decide again on what it is now (410 for a disposal) instead of answering storage's 404 as a 500.
      const now = await deps.retention.catalog.getVersioned(tenantId, id);
      if (now?.etag !== current.etag) return CHANGED;
      throw err;
    }
    // A change a person made (a hold, an extension: often the very cause of a refused disposal, racing the sweep) starts
    // the window of a refused disposal's alert again (dispose.ts DISPOSAL_REFUSED).
    const made = step.restamp?.() ?? step;
    const { disposalRefused: _refused, ...next } = made.next!;
    const written = await writeWithAuditEntry(audit, { target: id, ...(made.auditDetail !== undefined ? { detail: made.auditDetail } : {}) }, (outbox) => deps.retention.catalog.replace(next, current.etag, outbox), (r) => r !== 'conflict');
    if (written === 'conflict') return CHANGED;
    await made.after?.({ item: next, etag: written.etag });
    return made.result;
  }, 8);
}

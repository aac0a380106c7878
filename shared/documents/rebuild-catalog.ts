import type { Deps } from '../deps';
import { manifestByArchive, readKeptManifest } from './manifest';
import type { Actor, LegalHold } from '../kernel/retention';
import type { BlobWorm, ListedBlob } from '../ports';
import { isHeld } from '../kernel/retention-rules';
import { uuidv7 } from '../ids';
import type { ArchivedDocument } from '../kernel/document';
import { type UncheckedDocument, UncheckedDocuments } from '../retention/unchecked';
import { blobNamesOf } from '../retention/update';
import { blobLayout } from '../kernel/blob-layout';
import { auditOutboxItem } from '../kernel/audit';
import { withStoredCorrections } from './correction-blobs';

/** Who re-indexes at start-up (the reconciler passes its own actor). */
export const CATALOG_REBUILD_ACTOR: Actor = { subject: 'system:catalog-rebuild', kind: 'system' };

type RebuildDeps = Pick<Deps, 'blobs' | 'catalog' | 'audit' | 'auditOutbox' | 'clock' | 'log'>;

/**
 * Index one stored manifest whose catalog item is missing, with its `document.reindex` audit
 * entry: the one place a document enters the catalog other than by ingest, so whoever triggers
 * it, the entry is written. The entry is stored with the item in one batch (the audit outbox) and
 * appended after it: never an index without an entry, and never an entry of an index that was
 * not stored (appended first, a failed or lost create left one, and the next run added a second).
 *
 * The manifest is the document as ingested: holds and retention extensions came later and lived
 * in the lost catalog item. Storage still carries them (the blobs' legal-hold flag and immutability
 * expiry), so the item is never less protective than its blobs: a held blob gives the item an open
 * hold (the reconciler would otherwise clear the flags to match, and the sweep dispose of it), and
 * the latest expiry is its retain-until. A manifest whose original bytes another active document holds is not
 * indexed ('duplicate'): the archive keeps one document per original. Only a manifest the archive wrote is indexed
 * (manifest.ts manifestByArchive: sealed, or from before the seal with its ingest's audit entry); any other is logged
 * MANIFEST_UNSEALED and left ('unsealed'): a folder planted by whoever can write blobs never enters the catalog.
 */
export async function indexFromManifest(tenantId: string, manifestBlob: string, actor: Actor, deps: RebuildDeps, listed?: ListedBlob): Promise<'created' | 'exists' | 'skipped' | 'duplicate' | 'unsealed'> {
  // Gone since it was listed (its document disposed of meanwhile): nothing to index. Read as any other failure, it was
  // named for an operator as a document the walk could not check.
  const kept = await readKeptManifest(deps, tenantId, manifestBlob);
  if (!kept) return 'skipped';
  const manifest = kept.document;
  // A manifest only ever indexes into its own tenant, under its own folder, naming only blobs of that folder
  // (one naming another document's blobs would have the sweep dispose of them with it).
  if (manifest.tenantId !== tenantId || `${manifest.id}/` !== manifestBlob.slice(0, manifestBlob.lastIndexOf('/') + 1)) return 'skipped';
  if (![manifest.original.blobName, ...blobNamesOf(manifest)].every((n) => blobLayout.inFolder(manifest.id, n))) return 'skipped';
  if (await deps.catalog.get(tenantId, manifest.id)) return 'exists';
  if (!(await manifestByArchive(tenantId, manifestBlob, kept, deps, listed))) return 'unsealed';
  // The same original bytes archived since under another id (an upload without Idempotency-Key that failed after its
  // manifest, then sent again): indexing this one too archived the bytes twice. Left to the caller (the reconciler
  // lists the folder for operators).
  const holder = await deps.catalog.findByContentKey(tenantId, manifest.contentKey);
  if (holder && holder.id !== manifest.id) return 'duplicate';
  const at = deps.clock.now().toISOString();
  const worm = await deps.blobs.documentBlobWorm(tenantId, manifest.id);
  // The corrections made since ingest come back from their blobs (correction-blobs.ts), before what storage protects.
  const corrected = await withStoredCorrections(manifest, worm.map((b) => b.name), deps);
  const { document, restored } = withStorageProtection(corrected.document, worm, actor, at, deps);
  const versions = corrected.versions;
  const detail = ['indexed-from-manifest', ...(versions.length > 0 ? [`corrections-restored=${versions[0]}..${versions[versions.length - 1]}`] : []), ...restored].join(';');
  // A request id of its own per document (two indexed in one millisecond were one id, one outbox item, one entry appended).
  const item = auditOutboxItem([{ tenantId, at, actor, action: 'document.reindex', target: manifest.id, outcome: 'success', status: 201, requestId: `${actor.subject}:${at}:${manifest.id}`, clientIp: null, userAgent: null, detail }]);
  const created = await deps.catalog.create(document, item);
  if (created === 'created') await deps.auditOutbox.releaseNow(item);
  return created;
}

/** The manifest's document with the hold and retain-until its blobs still carry; `restored` names what was taken over. */
function withStorageProtection(manifest: ArchivedDocument, blobs: BlobWorm[], actor: Actor, at: string, deps: Pick<Deps, 'clock'>): { document: ArchivedDocument; restored: string[] } {
  const restored: string[] = [];
  let document = manifest;
  const latest = blobs.reduce<string | null>((max, b) => (b.retainUntil && (!max || b.retainUntil > max) ? b.retainUntil : max), null);
  if (latest && latest > document.retention.retainUntil) {
    document = { ...document, retention: { ...document.retention, retainUntil: latest } };
    restored.push(`retain-until=${latest}`);
  }
  if (blobs.some((b) => b.legalHold === true) && !isHeld(document, deps.clock.now())) {
    const hold: LegalHold = {
      id: uuidv7(deps.clock.now().getTime()),
      reason: 'The stored blobs carry a legal hold that the lost catalog item held; restored when the document was re-indexed from its manifest. Release it once the original hold is known to be over.',
      caseReference: 'catalog-rebuild',
      placedAt: at,
      placedBy: actor,
    };
    document = { ...document, legalHold: true, holds: [...(document.holds ?? []), hold] };
    restored.push(`legal-hold=${hold.id}`);
  }
  return { document, restored };
}

/**
 * Index every document whose manifest is stored but whose catalog item is missing
 * (a restart of the in-memory local Cosmos server, or a crash between blob and catalog write).
 * Cross-tenant by nature; used by the local host at start-up.
 */
export async function unsafeRebuildCatalogFromManifests(deps: RebuildDeps & Pick<Deps, 'log'>, actor: Actor = CATALOG_REBUILD_ACTOR): Promise<{ tenants: number; indexed: number; present: number; unchecked: UncheckedDocument[] }> {
  let tenants = 0;
  let indexed = 0;
  let present = 0;
  // A manifest that cannot be read as one is named for an operator; the host still starts.
  const unchecked = new UncheckedDocuments('catalog rebuild', deps.log);
  for await (const tenantId of deps.blobs.unsafeListTenants()) {
    tenants++;
    for await (const name of deps.blobs.manifests(tenantId)) {
      const outcome = await unchecked.check(tenantId, name.split('/')[0]!, () => indexFromManifest(tenantId, name, actor, deps), 'skipped');
      if (outcome === 'created') indexed++;
      else if (outcome === 'exists') present++;
    }
  }
  return { tenants, indexed, present, unchecked: unchecked.documents };
}

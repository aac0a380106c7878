import type { Deps } from '../app';
import { unsafeRebuildCatalogFromManifests } from '../documents/rebuild-catalog';
import type { ArchivedDocument } from '../documents/types';
import type { DocumentCatalog } from '../storage/catalog';
import { isHeld } from './dispose';
import { recordFixity } from './fixity';
import { unsafeWalkActiveDocuments } from './sweep';
import type { Actor } from './types';
import { blobNamesOf } from './update';

export const RECONCILE_ACTOR: Actor = { subject: 'system:reconciler', kind: 'system' };

export interface ReconcileResult {
  /** Documents whose blobs and manifest existed but whose catalog item did not (crash between the writes). */
  indexed: string[];
  /** Catalog items whose blobs are missing (flagged, audited, reported on /health/ready). */
  flagged: { tenantId: string; documentId: string; missing: string[] }[];
  /** Documents whose blobs' legal-hold flag disagreed with the catalog and was set or cleared to match it (audited). */
  holdsResynced: { tenantId: string; documentId: string; legalHold: boolean; blobs: string[] }[];
  checked: number;
  continuation: string | null;
}

/**
 * Reconciler: indexes documents stored without a catalog item (reusing the catalog
 * rebuild from manifests), flags catalog items without blobs, and brings the blobs'
 * legal-hold flags in line with the catalog (a hold release or placement that crashed
 * between its two writes). The blob check is bounded by `maxItems` with a continuation.
 */
export async function reconcile(input: { now: Date; maxItems: number; continuation: string | null }, deps: Pick<Deps, 'blobs' | 'catalog' | 'retention' | 'audit' | 'log'>): Promise<ReconcileResult> {
  const result: ReconcileResult = { indexed: [], flagged: [], holdsResynced: [], checked: 0, continuation: null };
  // Watch what the rebuild creates, to audit each re-indexed document.
  const catalog = Object.create(deps.catalog) as DocumentCatalog;
  catalog.create = async (doc: ArchivedDocument) => {
    const outcome = await deps.catalog.create(doc);
    if (outcome === 'created') result.indexed.push(`${doc.tenantId}/${doc.id}`);
    return outcome;
  };
  await unsafeRebuildCatalogFromManifests({ blobs: deps.blobs, catalog });
  for (const key of result.indexed) {
    const [tenantId, documentId] = key.split('/') as [string, string];
    deps.log.warn('reconciler indexed a document that had no catalog item', { tenantId, documentId });
    await deps.audit.append({ tenantId, at: input.now.toISOString(), actor: RECONCILE_ACTOR, action: 'document.reindex', target: documentId, outcome: 'success', status: 201, requestId: `reconcile:${input.now.toISOString()}`, clientIp: null, userAgent: null, detail: 'indexed-from-manifest' });
  }

  const walk = await unsafeWalkActiveDocuments(deps, input.continuation, input.maxItems, async (tenantId, doc) => {
    const blobs = await deps.blobs.documentBlobHolds(tenantId, doc.id);
    if (blobs.some((b) => b.legalHold !== null && b.legalHold !== isHeld(doc))) {
      const resynced = await resyncLegalHold(tenantId, doc.id, input.now, deps);
      if (resynced) result.holdsResynced.push(resynced);
    }
    const stored = new Set(blobs.map((b) => b.name));
    const missing = blobNamesOf(doc).filter((n) => !stored.has(n));
    if (missing.length === 0) return true;
    if (doc.fixity && !doc.fixity.ok && (doc.fixity.missing ?? []).join() === missing.join()) return true; // already flagged
    result.flagged.push({ tenantId, documentId: doc.id, missing });
    await recordFixity(doc, { mismatched: [], missing }, input.now, 'document.blobs-missing', RECONCILE_ACTOR, deps);
    return true;
  });
  return { ...result, checked: walk.visited, continuation: walk.continuation };
}

/**
 * Sets or clears the legal-hold flag of every blob of a document whose flag disagrees with
 * the catalog (document has an open hold ⇔ every blob has the flag), audited first. The
 * catalog item is read fresh and, after the blob writes, rewritten unchanged with IfMatch:
 * if a hold was placed or released meanwhile, that write fails and the check starts over;
 * if it succeeds, a placement still in flight fails its own catalog write, retries and sets
 * the flags again. So a concurrent placement can never end with its flags cleared.
 * Idempotent: nothing is written when the flags agree.
 */
export async function resyncLegalHold(tenantId: string, documentId: string, now: Date, deps: Pick<Deps, 'blobs' | 'retention' | 'audit' | 'log'>): Promise<ReconcileResult['holdsResynced'][number] | null> {
  let audited: boolean | null = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await deps.retention.catalog.getVersioned(tenantId, documentId);
    if (!current || current.item.status !== 'active') return null;
    const held = isHeld(current.item);
    const drift = (await deps.blobs.documentBlobHolds(tenantId, documentId)).filter((b) => b.legalHold !== null && b.legalHold !== held).map((b) => b.name);
    if (drift.length === 0) return null;
    // Logged before the flags change: a crash in between logs it again on the next run, never not at all.
    if (audited !== held) {
      deps.log.warn('reconciler brings blob legal-hold flags in line with the catalog', { tenantId, documentId, legalHold: held, blobs: drift });
      await deps.audit.append({
        tenantId,
        at: now.toISOString(),
        actor: RECONCILE_ACTOR,
        action: 'legal-hold.resync',
        target: documentId,
        outcome: 'success',
        status: 200,
        requestId: `reconcile:${now.toISOString()}`,
        clientIp: null,
        userAgent: null,
        detail: `${held ? 'set' : 'cleared'}:${drift.map((n) => n.split('/').pop()).join(',')}`.slice(0, 300),
      });
      audited = held;
    }
    for (const name of drift) await deps.blobs.setLegalHold(tenantId, name, held);
    if ((await deps.retention.catalog.replace(current.item, current.etag)) !== 'conflict') return { tenantId, documentId, legalHold: held, blobs: drift };
  }
  deps.log.warn('reconciler could not bring legal-hold flags in line: the document kept changing', { tenantId, documentId });
  return null;
}

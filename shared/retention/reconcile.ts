import type { Deps } from '../app';
import { unsafeRebuildCatalogFromManifests } from '../documents/rebuild-catalog';
import type { ArchivedDocument } from '../documents/types';
import type { DocumentCatalog } from '../storage/catalog';
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
  checked: number;
  continuation: string | null;
}

/**
 * Reconciler: indexes documents stored without a catalog item (reusing the catalog
 * rebuild from manifests), and flags catalog items without blobs. The blob check is
 * bounded by `maxItems` with a continuation.
 */
export async function reconcile(input: { now: Date; maxItems: number; continuation: string | null }, deps: Pick<Deps, 'blobs' | 'catalog' | 'retention' | 'audit' | 'log'>): Promise<ReconcileResult> {
  const result: ReconcileResult = { indexed: [], flagged: [], checked: 0, continuation: null };
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
    const stored = new Set(await deps.blobs.documentBlobs(tenantId, doc.id));
    const missing = blobNamesOf(doc).filter((n) => !stored.has(n));
    if (missing.length === 0) return true;
    if (doc.fixity && !doc.fixity.ok && (doc.fixity.missing ?? []).join() === missing.join()) return true; // already flagged
    result.flagged.push({ tenantId, documentId: doc.id, missing });
    await recordFixity(doc, { mismatched: [], missing }, input.now, 'document.blobs-missing', RECONCILE_ACTOR, deps);
    return true;
  });
  return { ...result, checked: walk.visited, continuation: walk.continuation };
}

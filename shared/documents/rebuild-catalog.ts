import type { Deps } from '../deps';
import type { Actor } from '../kernel/retention';
import type { ArchivedDocument } from '../kernel/document';
import { type UncheckedDocument, UncheckedDocuments } from '../retention/unchecked';

/** Who re-indexes at start-up (the reconciler passes its own actor). */
export const CATALOG_REBUILD_ACTOR: Actor = { subject: 'system:catalog-rebuild', kind: 'system' };

type RebuildDeps = Pick<Deps, 'blobs' | 'catalog' | 'audit' | 'clock'>;

/**
 * Index one stored manifest whose catalog item is missing, with its `document.reindex` audit
 * entry: the one place a document enters the catalog other than by ingest, so whoever triggers
 * it, the entry is written. The entry goes first: a crash in between leaves an entry for an
 * index that the next run completes (and audits once more), never an index without an entry.
 */
export async function indexFromManifest(tenantId: string, manifestBlob: string, actor: Actor, deps: RebuildDeps): Promise<'created' | 'exists' | 'skipped'> {
  const manifest = JSON.parse((await deps.blobs.readAll(tenantId, manifestBlob)).toString('utf8')) as ArchivedDocument;
  if (manifest.tenantId !== tenantId) return 'skipped'; // a manifest only ever indexes into its own tenant
  if (await deps.catalog.get(tenantId, manifest.id)) return 'exists';
  const at = deps.clock.now().toISOString();
  await deps.audit.append({ tenantId, at, actor, action: 'document.reindex', target: manifest.id, outcome: 'success', status: 201, requestId: `${actor.subject}:${at}`, clientIp: null, userAgent: null, detail: 'indexed-from-manifest' });
  return deps.catalog.create(manifest);
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

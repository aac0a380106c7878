import type { Deps } from '../app';
import type { ArchivedDocument } from './types';

/**
 * Index every document whose manifest is stored but whose catalog item is missing
 * (a restart of the in-memory local Cosmos server, or a crash between blob and catalog write).
 * Cross-tenant by nature; used by the local host and timers only.
 */
export async function unsafeRebuildCatalogFromManifests(deps: Pick<Deps, 'blobs' | 'catalog'>): Promise<{ tenants: number; indexed: number; present: number }> {
  let tenants = 0;
  let indexed = 0;
  let present = 0;
  for await (const tenantId of deps.blobs.unsafeListTenants()) {
    tenants++;
    for await (const name of deps.blobs.manifests(tenantId)) {
      const manifest = JSON.parse((await deps.blobs.readAll(tenantId, name)).toString('utf8')) as ArchivedDocument;
      if (manifest.tenantId !== tenantId) continue; // a manifest only ever indexes into its own tenant
      if ((await deps.catalog.create(manifest)) === 'created') indexed++;
      else present++;
    }
  }
  return { tenants, indexed, present };
}

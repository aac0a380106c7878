import type { BlobArchivePort, Logger } from '../ports';

/**
 * The reconciler's catch-up after a restore of Cosmos DB: every tenant whose container keeps blobs under `prefix`
 * (`revocations/`, `decisions/`, `settings/`), visited with their names. One failing tenant is logged as
 * `restoring <what> from storage failed` and does not stop the rest.
 */
export async function forEachTenantKeeping(prefix: string, what: string, deps: { blobs: Pick<BlobArchivePort, 'unsafeListTenants' | 'blobNames'>; log: Pick<Logger, 'error'> }, visit: (tenantId: string, names: string[]) => Promise<void>): Promise<void> {
  for await (const tenantId of deps.blobs.unsafeListTenants()) {
    try {
      const names = await deps.blobs.blobNames(tenantId, prefix);
      if (names.length > 0) await visit(tenantId, names);
    } catch (err) {
      deps.log.error(`restoring ${what} from storage failed`, { tenantId, error: err instanceof Error ? err.message : String(err) });
    }
  }
}

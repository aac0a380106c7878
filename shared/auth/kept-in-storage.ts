import type { BlobArchivePort, ListedBlob, Logger } from '../ports';
import { rememberNotKept } from '../kept-blobs';

/**
 * The reconciler's catch-up after a restore of Cosmos DB: every tenant whose container keeps blobs under `prefix`
 * (`revocations/`, `decisions/`, `settings/`; `evenNone`: every tenant), visited with its blobs (names and ETags, one listing). One failing tenant
 * is logged as `restoring <what> from storage failed` and does not stop the rest.
 */
export async function forEachTenantKeeping(prefix: string, what: string, deps: { blobs: Pick<BlobArchivePort, 'unsafeListTenants' | 'listedBlobs'>; log: Pick<Logger, 'error'> }, visit: (tenantId: string, blobs: ListedBlob[]) => Promise<void>, opts: { evenNone?: boolean } = {}): Promise<void> {
  for await (const tenantId of deps.blobs.unsafeListTenants()) {
    try {
      const blobs = await deps.blobs.listedBlobs(tenantId, prefix);
      if (blobs.length > 0 || opts.evenNone) await visit(tenantId, blobs);
    } catch (err) {
      deps.log.error(`restoring ${what} from storage failed`, { tenantId, error: err instanceof Error ? err.message : String(err) });
    }
  }
}

/** Blobs reported not the archive's by this instance: each is create-only, so one line per blob per instance says it. */
const reported = new Set<string>();
const REPORTED_MAX = 10_000;

/**
 * Logs `phrase` for a kept blob the archive did not write, once per blob per instance: a planted revocation is met on
 * every request presenting the credential (after each REVOCATION_CHECK_MAX_AGE_MS) and every reconciler run. `listed`:
 * the blob as the reconciler's listing named it, whose verdict is remembered too (kept-blobs.ts rememberNotKept).
 */
export function reportNotKept(log: Pick<Logger, 'error'>, phrase: string, tenantId: string, blob: string, reason: string, listed?: ListedBlob): void {
  if (listed) rememberNotKept(tenantId, listed, reason);
  const key = `${tenantId}/${blob}`;
  if (reported.has(key)) return;
  if (reported.size >= REPORTED_MAX) reported.clear();
  reported.add(key);
  log.error(phrase, { tenantId, blob, reason });
}

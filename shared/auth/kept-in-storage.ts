import type { BlobArchivePort, ListedBlob, Logger } from '../ports';

/**
 * The reconciler's catch-up after a restore of Cosmos DB: every tenant whose container keeps blobs under `prefix`
 * (`revocations/`, `decisions/`, `settings/`), visited with its blobs (names and ETags, one listing). One failing tenant
 * is logged as `restoring <what> from storage failed` and does not stop the rest.
 */
export async function forEachTenantKeeping(prefix: string, what: string, deps: { blobs: Pick<BlobArchivePort, 'unsafeListTenants' | 'listedBlobs'>; log: Pick<Logger, 'error'> }, visit: (tenantId: string, blobs: ListedBlob[]) => Promise<void>): Promise<void> {
  for await (const tenantId of deps.blobs.unsafeListTenants()) {
    try {
      const blobs = await deps.blobs.listedBlobs(tenantId, prefix);
      if (blobs.length > 0) await visit(tenantId, blobs);
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
 * every request presenting the credential (after each REVOCATION_CHECK_MAX_AGE_MS) and every reconciler run.
 */
export function reportNotKept(log: Pick<Logger, 'error'>, phrase: string, tenantId: string, blob: string, reason: string): void {
  const key = `${tenantId}/${blob}`;
  if (reported.has(key)) return;
  if (reported.size >= REPORTED_MAX) reported.clear();
  reported.add(key);
  log.error(phrase, { tenantId, blob, reason });
}

/**
 * Blobs the reconciler judged not the archive's on this instance, by tenant and name, with the ETag of the blob judged.
 * Broke: a storage role (no Cosmos DB, no Key Vault) planted blobs under the names the reconciler reads, and every run
 * read each again (a setting to 4 MiB) and ran the audit witness queries again for each unsealed revocation or
 * decision: what it planted once cost every run. The verdict on a blob stands (its bytes are create-only; the keys
 * and the audit log that judged it do not change under it), except where the key could not be read, which is not
 * remembered. Keyed by ETag too: a blob deleted (one planted unlocked can be) and created again under its name, the
 * operator's remedy for a revocation planted before the revoke, is another blob, judged afresh.
 */
const notKept = new Map<string, string>();
const NOT_KEPT_MAX = 10_000;

/** Whether this instance judged `blob` (as listed now) not the archive's: passed over unread. */
export function judgedNotKept(tenantId: string, blob: ListedBlob): boolean {
  return notKept.get(`${tenantId}/${blob.name}`) === blob.etag;
}

/** Remembers `blob` (as listed) judged not the archive's for `reason`; a key that could not be read judges nothing. */
export function rememberNotKept(tenantId: string, blob: ListedBlob, reason: string): void {
  if (reason === 'key unavailable') return;
  const key = `${tenantId}/${blob.name}`;
  notKept.delete(key);
  // The oldest verdict goes first: a pile larger than this is judged again in turn, each run reading a bounded part of it.
  if (notKept.size >= NOT_KEPT_MAX) notKept.delete(notKept.keys().next().value!);
  notKept.set(key, blob.etag);
}

/**
 * The archive's seal on an export job (kernel/archive-seal.ts, purpose `export-job`). Broke: nothing sealed the job, so
 * whoever could write Cosmos DB moved `expiresAt` later or dropped ids from `disposable` (a copy of a disposed document
 * stayed downloadable: the sweep did not withdraw it), named another requester (the worker's audit entries and
 * manifest.json said so), changed the search of a running job, or pointed a completed one at another export's ZIP.
 *
 * Two stages, as a disposal claim's: `seal` over what was requested, made once at the start and carried unchanged by
 * every later save (a claim, a heartbeat, a failure, an expiry: no HMAC); `completedSeal` over the request and what was
 * handed out (ZIP, manifest.json, the documents a disposal can reach), made once at completion. A job is only ever
 * sealed from one whose seal held: an edited one is never laundered into a sealed one.
 */
import type { Deps } from '../deps';
import { type Sealed, sealFieldUnsealedBecause, sealOver } from '../kernel/archive-seal';
import type { ExportJob } from '../kernel/export';

/** Operators are alerted on this exact phrase (infra/main.bicep, exportJobUnsealedAlert). */
export const EXPORT_UNSEALED = 'export job in the catalog not sealed by the archive';

const EXPORT_SEAL = 'export-job';

type Keys = Deps['audit']['chainKeys'];

/** What the seal covers; `handedOut` null in the request's stage (one stage's seal never passes for the other's). */
function exportSealed(job: ExportJob, completed: boolean): object {
  const { tenantId, id, createdBy, requestId, createdAt, filter, includeOriginals, expiresAt } = job;
  // `attempts` too: an expiry or a withdrawal deletes the blobs of every attempt up to it, and one lowered left the ZIP.
  const handedOut = completed
    ? {
        attempts: job.attempts,
        blobName: job.blobName,
        archive: job.archive ?? null,
        manifestJson: job.manifestJson ?? null,
        disposable: job.disposable ?? null,
        disposableCount: job.disposableCount ?? null,
        disposableFilter: job.disposableFilter ?? null,
        disposableFrom: job.disposableFrom ?? null,
        // Only when there (a job completed before it was sealed without it, and its seal still checks).
        ...(job.disposableListDigest !== undefined ? { disposableListDigest: job.disposableListDigest } : {}),
      }
    : null;
  return { tenantId, id, createdBy, requestId, createdAt, filter, includeOriginals, csv: job.csv ?? null, expiresAt, handedOut };
}

const sealOf = (job: ExportJob, completed: boolean, keys: Keys): Promise<Sealed> => sealOver(EXPORT_SEAL, exportSealed(job, completed), keys);

/** A new job with the request's seal. */
export async function sealExportRequest(job: ExportJob, keys: Keys): Promise<ExportJob> {
  return { ...job, seal: await sealOf(job, false, keys) };
}

/** A completing job (its seal held at the claim) with the completion's seal. */
export async function sealExportCompletion(job: ExportJob, keys: Keys): Promise<ExportJob> {
  return { ...job, completedSeal: await sealOf(job, true, keys) };
}

/**
 * Why the job is not as the archive sealed it (null: it is): a completed one by its completion's seal, any other by its
 * request's. Its creation time is not told: one sealed with a key version rotated since counts as unsealed (exports
 * are copies that live days: nothing of the tenant's is lost).
 */
export async function exportUnsealedBecause(job: ExportJob, keys: Keys): Promise<string | null> {
  // One carrying a completion seal handed out a ZIP, whatever its status (under no seal) says: judged by that seal.
  // Broke: set failed with its expiry moved on in Cosmos DB, maintenance judged it by its request's seal, which covers
  // that expiry too, but listed it nowhere (not completed), and its ZIP outlived its sealed expiry.
  const completed = job.status === 'completed' || job.completedSeal !== undefined;
  return sealFieldUnsealedBecause(EXPORT_SEAL, exportSealed(job, completed), completed ? job.completedSeal : job.seal, null, keys);
}

/** Whether the job's seal holds; when not, alerted (EXPORT_UNSEALED) with what judged it (`by`). */
export async function exportSealHolds(job: ExportJob, by: string, deps: { audit: { chainKeys: Keys }; log: Pick<Deps['log'], 'error'> }): Promise<boolean> {
  const why = await exportUnsealedBecause(job, deps.audit.chainKeys);
  if (why === null) return true;
  deps.log.error(EXPORT_UNSEALED, { tenantId: job.tenantId, exportId: job.id, status: job.status, why, by });
  return false;
}

import { readInstant } from '../kernel/instant';
import type { TenantRecord, TenantRecordsPort, TimerStatePort } from '../ports';

/**
 * When an API key or a support grant stops acting: the earlier of its expiry and its revocation. Stored on the record
 * as `endsAt`, so the store finds the keys in use and the grants in force with one range (`endsAt` after now): with
 * "not revoked and expiresAt after now" it could range over the expiry only, and read every key revoked before it
 * expired (a tenant admin minting and revoking keys in a loop made each mint's count read them all).
 */
export function endsAtOf(r: { expiresAt: string; revokedAt?: string | null }): string {
  return r.revokedAt && Date.parse(r.revokedAt) < Date.parse(r.expiresAt) ? r.revokedAt : r.expiresAt;
}

/**
 * Whether a key or grant is revoked: it holds any `revokedAt` but null or none, as the store's queries read it
 * (adapters/azure/tenant-records.ts UNREVOKED). Read as truthy, a record restored, half written or edited by hand with
 * `''`, `0` or `false` there acted, while the store listed it as revoked.
 */
export const isRevoked = (r: { revokedAt?: unknown }): boolean => r.revokedAt !== null && r.revokedAt !== undefined;

/**
 * Whether a revocation has a time the archive can read: one without (`isRevoked`, but no readable `revokedAt`) is
 * revoked again by a revoke, which writes its time, so lists and `endsAt` read it.
 */
export const revokedReadably = (r: { revokedAt?: unknown }): boolean => readInstant(r.revokedAt) !== null;

/** The record with its `endsAt` as its expiry and revocation say: what every writer of a key or grant stores. */
export const withEndsAt = <T extends { expiresAt: string; revokedAt?: string | null }>(r: T): T & { endsAt: string } => ({ ...r, endsAt: endsAtOf(r) });

export interface EndsAtMigrationResult {
  /** Keys and grants given their `endsAt` by this run (`tenantId/id`). */
  migrated: string[];
  /** Every key and grant carries `endsAt`, and the store says so: the queries range over it from now on. */
  done: boolean;
}

/** Timer state: when a run of the migration first ran (ISO), so the store is marked no sooner than ENDS_AT_SETTLE_MS after. */
export const ENDS_AT_MIGRATION_STARTED = 'ends-at-migration-started';

/**
 * How long after the migration's first run the store may be marked: an instance of the code from before (which writes
 * keys and grants without `endsAt`) may still serve for the minutes a deploy takes, and a record it writes after the mark
 * would never be given `endsAt`, so never be found in use (the mint cap, the rights-set deletion and SoD checks would
 * miss that key).
 */
export const ENDS_AT_SETTLE_MS = 60 * 60_000;

/**
 * Migration, run by the reconciler (shared/retention/reconcile.ts) on every run and safe to run again: gives
 * the keys and grants stored before `endsAt` theirs, at most `maxItems` a run. Resumable without a cursor: each run
 * asks the store for those still without it. A record changed between the read and the write (a revocation, say,
 * which writes `endsAt` itself) is left to the next run. A run that finds none left marks the store migrated
 * (TenantRecordsPort.endsAtMigrated), once ENDS_AT_SETTLE_MS have passed since the first run: until then the queries
 * keep conditions that need no `endsAt`. The first run used to mark a store with nothing to migrate at once, while an
 * instance of the code from before could still write a key that no query in use would then find. Every run after the
 * mark still gives `endsAt` to any record without it (one written by the code from before, run again): such a key is
 * missed by the queries in use for a reconciler period at most, not for good. One that revokes still reads right, as
 * the queries check `revokedAt`.
 */
/**
 * When a reconciler migration of the store first ran (its timer state `name`, set now on the first run): a store is
 * marked migrated no sooner than a settling time after, as an instance of the code from before may still write records
 * the old way for the minutes a deploy takes. Once marked, now (nothing is read).
 */
export async function migrationStarted(timers: TimerStatePort, name: string, marked: boolean, now: Date): Promise<string> {
  if (marked) return now.toISOString();
  const first = await timers.get<string>(name);
  if (first !== null) return first;
  await timers.set(name, now.toISOString());
  return now.toISOString();
}

export async function migrateEndsAt(deps: { tenantRecords: TenantRecordsPort; retention: { timers: TimerStatePort } }, maxItems: number, now: Date): Promise<EndsAtMigrationResult> {
  const marked = await deps.tenantRecords.endsAtMigrated();
  const started = await migrationStarted(deps.retention.timers, ENDS_AT_MIGRATION_STARTED, marked, now);
  // Looked for after the mark too: a record the code from before writes then (a deploy rolled back, then forward)
  // is found in use by no query until it has `endsAt`. One bounded query a run, answering none almost always.
  const lacking = await deps.tenantRecords.unsafeWithoutEndsAt(maxItems);
  const migrated: string[] = [];
  for (const { tenantId, id, type } of lacking) {
    const found = await deps.tenantRecords.get<TenantRecord & { expiresAt: string; revokedAt?: string | null; endsAt?: string }>(tenantId, id, type);
    if (!found || found.value.endsAt !== undefined) continue;
    if ((await deps.tenantRecords.replace(withEndsAt(found.value), found.etag)) === 'replaced') migrated.push(`${tenantId}/${id}`);
  }
  if (marked) return { migrated, done: true };
  if (lacking.length > 0 || now.getTime() - Date.parse(started) < ENDS_AT_SETTLE_MS) return { migrated, done: false };
  await deps.tenantRecords.unsafeMarkEndsAtMigrated();
  return { migrated, done: true };
}

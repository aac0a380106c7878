/**
 * The keys an outcome of the Java validator may be signed with (README *Rotate the validator's outcome key*).
 *
 * The validator reads its key as a versionless Key Vault reference, which the platform resolves again within 24 hours
 * of a new version (or at the app's restart). A rotation therefore leaves outcomes signed with the version before for up
 * to a day: before, the main app read its one value at start and refused every outcome of the other version until both
 * apps restarted, the same minute. Now it takes the newest version, and each older one until OUTCOME_KEY_OVERLAP_MS
 * after the next was created (Key Vault's `createdOn`, set by the vault), at most two, each while enabled: a disabled
 * newest version does not make the one before it count for longer. A version disabled in Key Vault (a leaked key)
 * signs nothing from the listing that sees it on (at most CURRENT_VERSION_TTL_MS, 5 minutes).
 *
 * Locally (no versions): the one value.
 */
import type { SecretSource } from '../ports';
import { outcomeKey } from '../kernel/outcome-signature';

/** How long the version before the newest still signs: the platform's 24-hour refresh of a Key Vault reference, twice. */
export const OUTCOME_KEY_OVERLAP_MS = 48 * 3_600_000;

/** Listings taken because no key matched (a version created since the last listing): at most one per this. */
const FRESH_LISTING_MIN_MS = 60_000;
const freshListedAt = new WeakMap<SecretSource, number>();

/** The keys to try, newest first. A version that cannot be read or is no key throws: nothing is recorded without it. */
export async function outcomeKeys(secrets: SecretSource, name: string, now: Date, opts: { fresh?: boolean } = {}): Promise<Buffer[]> {
  if (!secrets.versionsOf) return [outcomeKey(await secrets.get(name))];
  const listed = [...(await secrets.versionsOf(name, opts.fresh ? { fresh: true } : {}))].sort((a, b) => b.createdOn - a.createdOn);
  const signing = listed.filter((v, i) => v.enabled && (i === 0 || now.getTime() - listed[i - 1]!.createdOn < OUTCOME_KEY_OVERLAP_MS)).slice(0, 2);
  if (signing.length === 0) throw new Error(`Key Vault secret ${name} has no version that signs (enabled, and the newest or superseded less than 48 hours ago): no validation outcome can be recorded`);
  return Promise.all(signing.map(async (v) => outcomeKey((await secrets.versioned(name, v.version)).value)));
}

/**
 * Whether `matches` holds for one of the keys; where none does, the versions are listed again once (a version created
 * since the last listing, which the validator picked up first), at most once a minute per source: outcomes forged in
 * numbers cost Key Vault no more than that.
 */
export async function signedWithOutcomeKey(secrets: SecretSource, name: string, now: Date, matches: (key: Buffer) => boolean): Promise<boolean> {
  if ((await outcomeKeys(secrets, name, now)).some(matches)) return true;
  if (!secrets.versionsOf || now.getTime() - (freshListedAt.get(secrets) ?? -Infinity) < FRESH_LISTING_MIN_MS) return false;
  freshListedAt.set(secrets, now.getTime());
  return (await outcomeKeys(secrets, name, now, { fresh: true })).some(matches);
}

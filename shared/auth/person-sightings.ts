import { sha256 } from '../ids';
import { CHANGED, withFreshReads } from '../kernel/concurrency';
import { RIGHTS_SET_NAME } from '../kernel/principal';
import { readWrittenInstant } from '../kernel/instant';
import type { TenantRecord, TenantRecordsPort, VersionedRecord } from '../ports';
import { carriedGivings, type GivenBefore, isBuiltIn, type RightsSetRecord, rightsSetRecordId, setGiving } from './rights-sets/rights-records';

/**
 * When a person whose rights come from the identity provider's claim last signed in here, and
 * with which rights set: the archive sees that claim only in the person's token, so this is all
 * it knows of them between sign-ins. Their API keys act on it (authenticate.ts).
 */
export interface PersonSightingRecord extends TenantRecord, GivenBefore {
  type: 'person-sighting';
  person: string;
  /** The rights set the claim gave at that sign-in. */
  rightsSet: string;
  seenAt: string;
  /** When the token of that sign-in was issued (its iat), if it said: a token issued earlier never replaces the set. */
  issuedAt?: string;
}

/** The longest item id the store's point read looks up (shared/adapters/azure/cosmos.ts `isItemId`); a longer one reads as none. */
const MAX_PLAIN_ID = 255;

/**
 * The record id: the person as it is, or its SHA-256 when it holds a character a Cosmos id may not
 * (`/`, `\`, `?`, `#`: an identity provider's `sub` is free text, and such a person's sign-in failed with a 500),
 * or starts `sha256:` (else a person named like another's hashed id would share that person's record: their
 * sign-ins would keep the other's keys acting), or would make an id longer than the store reads (MAX_PLAIN_ID: a
 * token may name a subject of 256 characters; the store's point read answered "none" for the longer id it had
 * created, so the person's next sign-in with another claimed set found no record, failed to create it again, and was
 * a 503 on every request, and their API keys found no sign-in and rested). Ids already stored (other persons) stay as they were.
 */
export const personSightingRecordId = (person: string) => {
  const plain = `person-sighting:${person}`;
  return /[/\\?#]/.test(person) || person.startsWith('sha256:') || plain.length > MAX_PLAIN_ID ? `person-sighting:sha256:${sha256(person)}` : plain;
};

/**
 * `person`'s last sign-in here as stored (null: never seen, or the record is another person's): the set it claimed is
 * what they act with where rights come from the claim and the tenant assigns them none.
 */
export async function lastSighting(tenantId: string, person: string, deps: { tenantRecords: TenantRecordsPort }): Promise<PersonSightingRecord | null> {
  const seen = await deps.tenantRecords.get<PersonSightingRecord>(tenantId, personSightingRecordId(person), 'person-sighting', { fresh: true });
  return seen?.value.person === person ? seen.value : null;
}

/** A sighting is written again once it is this old (or at once if the claimed set changed). */
const REFRESH_MS = 24 * 3600_000;
/** Sign-ins of one person at once, each writing over the other's: past this many rounds something is wrong with the store. */
const SIGHTING_WRITE_ATTEMPTS = 5;
/** Bounds memory on an instance serving many people. */
const MAX_REMEMBERED = 10_000;

const newer = (a: string | null, b: string | null): string | null => (a === null ? b : b === null ? a : a > b ? a : b);

interface Seen {
  rightsSet: string;
  seenAt: number;
  issuedAt: string | null;
}

/**
 * A sign-in stored with no time this instance could have written (none readable, or far ahead: readWrittenInstant) is
 * never "within the day": read with Date.parse, one far ahead was, and the sighting was never written again, her keys
 * resting on it (authenticate.ts reads it as no sign-in) however often she signed in. Nor is a token time so stored
 * newer than any: compared as text, one far ahead made every later token older, and her keys kept the set it named
 * after the identity provider narrowed her claim.
 */
const seenOf = (stored: PersonSightingRecord, now: Date): Seen => ({
  rightsSet: stored.rightsSet,
  seenAt: readWrittenInstant(stored.seenAt, now.getTime()) ?? -Infinity,
  issuedAt: readWrittenInstant(stored.issuedAt, now.getTime()) !== null ? stored.issuedAt! : null,
});

export class PersonSightings {
  /** The issue time of the newest token this instance saw per (tenant, person): an older token never replaces the set. */
  private readonly newestTokens = new Map<string, string | null>();

  constructor(private readonly records: TenantRecordsPort) {}

  /**
   * A sign-in with claimed rights (`issuedAt`: its token's iat): recorded when the stored sighting is a day old or
   * names another set, unless its token was issued before the stored one's. A token stays valid for its lifetime after
   * the identity provider narrows the claim; used after a newer token, its broader set must not come back for the
   * person's API keys, which act on this record until the next sign-in.
   */
  async seen(tenantId: string, person: string, rightsSet: string, now: Date, issuedAt: string | null = null): Promise<void> {
    const key = `${tenantId}\n${person}`;
    // Judged on the sighting as stored (the settings cache's copy, at most its lifetime old), with the newest token this
    // instance saw of the person. Judged on what this instance remembered alone, it missed another instance's write
    // since: signed in here claiming a set, then on another instance claiming a wider one (recorded there), then
    // narrowed back by the identity provider and signed in here, she matched this instance's memory, nothing was
    // written, and her keys acted on the wider set for up to a day of her sign-ins (README: recorded at once when the
    // claimed set changes).
    const cached = await this.lastVersioned(tenantId, person, false);
    const known = cached ? seenOf(cached.value, now) : null;
    if (known && this.settled(key, { ...known, issuedAt: newer(known.issuedAt, this.newestTokens.get(key) ?? null) }, rightsSet, now, issuedAt)) return;
    // Written only over the version read: two sign-ins at once (other claims, other instances) once both wrote over the
    // same read, and the later write dropped the set the earlier one named from what the record carries of givings
    // (and an older token's set could replace a newer one's). The loser reads again and decides on what is stored now.
    // Sign-ins that keep writing over each other past the rounds are contention, answered 503 with Retry-After (never a 500).
    await withFreshReads(`The sign-in record of ${person}`, async () => {
      const stored = await this.lastVersioned(tenantId, person);
      if (stored && this.settled(key, seenOf(stored.value, now), rightsSet, now, issuedAt)) return undefined;
      const record: PersonSightingRecord = { id: personSightingRecordId(person), tenantId, type: 'person-sighting', person, rightsSet, seenAt: now.toISOString(), ...(issuedAt ? { issuedAt } : {}), ...(await this.carried(tenantId, rightsSet, stored?.value ?? null)) };
      const written = stored ? (await this.records.replace(record, stored.etag)) === 'replaced' : (await this.records.create(record)) === 'created';
      if (!written) return CHANGED;
      this.remember(key, issuedAt);
      return undefined;
    }, SIGHTING_WRITE_ATTEMPTS);
  }

  /**
   * Nothing to write: a token older than the stored one's, or the same set seen within the day by a token no newer than
   * the stored one's (its token time remembered). A newer token of the same set is written (once per token): the store
   * kept the older token's time, and a wider token issued between the two, used afterwards on another instance (whose
   * memory had not seen the newer one), was recorded over that newer sign-in, its set given back to her keys.
   */
  private settled(key: string, known: Seen, rightsSet: string, now: Date, issuedAt: string | null): boolean {
    if (issuedAt && known.issuedAt && issuedAt < known.issuedAt) {
      this.remember(key, known.issuedAt);
      return true;
    }
    if (known.rightsSet === rightsSet && now.getTime() - known.seenAt < REFRESH_MS && (issuedAt === null || (known.issuedAt !== null && issuedAt <= known.issuedAt))) {
      this.remember(key, known.issuedAt);
      return true;
    }
    return false;
  }

  async last(tenantId: string, person: string): Promise<PersonSightingRecord | null> {
    return (await this.lastVersioned(tenantId, person, false))?.value ?? null;
  }

  /** `fresh`: as stored now, for a write made over it (the instance's cache of tenant records is for reads). */
  private async lastVersioned(tenantId: string, person: string, fresh = true): Promise<VersionedRecord<PersonSightingRecord> | null> {
    const found = await this.records.get<PersonSightingRecord>(tenantId, personSightingRecordId(person), 'person-sighting', { fresh });
    // Only this person's own sighting (ids are unique per person, and the record says whose it is).
    return found?.value.person === person ? found : null;
  }

  /**
   * What a rewritten sighting keeps of who gave the person rights through the set their earlier sign-ins claimed
   * (rights-records.ts `carriedGivings`): four eyes follow a chain of givers through it (rights-given.ts), and a claim
   * that names another set now must not hide who widened the one it named when the person gave rights through it.
   */
  private async carried(tenantId: string, rightsSet: string, stored: PersonSightingRecord | null): Promise<GivenBefore> {
    if (!stored) return {};
    const named = stored.rightsSet !== rightsSet && RIGHTS_SET_NAME.test(stored.rightsSet) && !isBuiltIn(stored.rightsSet);
    const set = named ? await this.records.get<RightsSetRecord>(tenantId, rightsSetRecordId(stored.rightsSet), 'rights-set', { fresh: true }) : null;
    return carriedGivings([{ record: stored }, ...(set ? [{ giving: setGiving(set.value), record: set.value }] : [])]);
  }

  private remember(key: string, issuedAt: string | null): void {
    this.newestTokens.delete(key);
    if (this.newestTokens.size >= MAX_REMEMBERED) this.newestTokens.delete(this.newestTokens.keys().next().value!);
    this.newestTokens.set(key, issuedAt);
  }
}

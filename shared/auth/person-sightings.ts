import { sha256 } from '../ids';
import { RIGHTS_SET_NAME } from '../kernel/principal';
import type { TenantRecord, TenantRecordsPort } from '../ports';
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

/**
 * The record id: the person as it is, or its SHA-256 when it holds a character a Cosmos id may not
 * (`/`, `\`, `?`, `#`: an identity provider's `sub` is free text, and such a person's sign-in failed with a 500),
 * or starts `sha256:` (else a person named like another's hashed id would share that person's record: their
 * sign-ins would keep the other's keys acting). Ids already stored (other persons) stay as they were.
 */
export const personSightingRecordId = (person: string) => (/[/\\?#]/.test(person) || person.startsWith('sha256:') ? `person-sighting:sha256:${sha256(person)}` : `person-sighting:${person}`);

/** A sighting is written again once it is this old (or at once if the claimed set changed). */
const REFRESH_MS = 24 * 3600_000;
/** Bounds memory on an instance serving many people. */
const MAX_REMEMBERED = 10_000;

const newer = (a: string | null, b: string | null): string | null => (a === null ? b : b === null ? a : a > b ? a : b);

interface Seen {
  rightsSet: string;
  seenAt: number;
  issuedAt: string | null;
}

const seenOf = (stored: PersonSightingRecord): Seen => ({ rightsSet: stored.rightsSet, seenAt: Date.parse(stored.seenAt), issuedAt: stored.issuedAt ?? null });

export class PersonSightings {
  /** What this instance last wrote (or read) per (tenant, person): at most one write a day each. */
  private readonly remembered = new Map<string, Seen>();

  constructor(private readonly records: TenantRecordsPort) {}

  /**
   * A sign-in with claimed rights (`issuedAt`: its token's iat): recorded when the stored sighting is a day old or
   * names another set, unless its token was issued before the stored one's. A token stays valid for its lifetime after
   * the identity provider narrows the claim; used after a newer token, its broader set must not come back for the
   * person's API keys, which act on this record until the next sign-in.
   */
  async seen(tenantId: string, person: string, rightsSet: string, now: Date, issuedAt: string | null = null): Promise<void> {
    const key = `${tenantId}\n${person}`;
    const remembered = this.remembered.get(key);
    // Read once: what the sighting says, and (if it is rewritten) what it carries of earlier givings.
    const stored = remembered ? undefined : await this.last(tenantId, person);
    const known = remembered ?? (stored ? seenOf(stored) : null);
    if (known && issuedAt && known.issuedAt && issuedAt < known.issuedAt) return this.remember(key, known);
    // The same set, seen within the day: not written again (this instance still remembers the newer token).
    if (known && known.rightsSet === rightsSet && now.getTime() - known.seenAt < REFRESH_MS) return this.remember(key, { ...known, issuedAt: newer(known.issuedAt, issuedAt) });
    const record: PersonSightingRecord = { id: personSightingRecordId(person), tenantId, type: 'person-sighting', person, rightsSet, seenAt: now.toISOString(), ...(issuedAt ? { issuedAt } : {}), ...(await this.carried(tenantId, person, rightsSet, stored)) };
    await this.records.upsert(record);
    this.remember(key, { rightsSet, seenAt: now.getTime(), issuedAt });
  }

  async last(tenantId: string, person: string): Promise<PersonSightingRecord | null> {
    const found = (await this.records.get<PersonSightingRecord>(tenantId, personSightingRecordId(person), 'person-sighting'))?.value;
    // Only this person's own sighting (ids are unique per person, and the record says whose it is).
    return found?.person === person ? found : null;
  }

  /**
   * What a rewritten sighting keeps of who gave the person rights through the set their earlier sign-ins claimed
   * (rights-records.ts `carriedGivings`): four eyes follow a chain of givers through it (rights-given.ts), and a claim
   * that names another set now must not hide who widened the one it named when the person gave rights through it.
   */
  private async carried(tenantId: string, person: string, rightsSet: string, read?: PersonSightingRecord | null): Promise<GivenBefore> {
    // Read already unless this instance remembered the sighting (which keeps no record of its givings).
    const stored = read !== undefined ? read : await this.last(tenantId, person);
    if (!stored) return {};
    const named = stored.rightsSet !== rightsSet && RIGHTS_SET_NAME.test(stored.rightsSet) && !isBuiltIn(stored.rightsSet);
    const set = named ? await this.records.get<RightsSetRecord>(tenantId, rightsSetRecordId(stored.rightsSet), 'rights-set', { fresh: true }) : null;
    return carriedGivings([{ record: stored }, ...(set ? [{ giving: setGiving(set.value), record: set.value }] : [])]);
  }

  private remember(key: string, value: Seen): void {
    this.remembered.delete(key);
    if (this.remembered.size >= MAX_REMEMBERED) this.remembered.delete(this.remembered.keys().next().value!);
    this.remembered.set(key, value);
  }
}

import { sha256 } from '../ids';
import type { TenantRecord, TenantRecordsPort } from '../ports';
import { PersonSightings } from './person-sightings';

/**
 * The rights set a person's identity-provider claim names while a tenant assignment holds them to another set (rights
 * from the tenant, then the claim): what removing that assignment hands them. The archive sees a claim only in the
 * person's token, so it is recorded at sign-in; a removal is then judged by the rights ceiling as an assignment is
 * (unassign-rights-set.ts). Without it, a rights manager who may not assign tenant-admin could remove the assignment
 * that held back someone the identity provider names tenant-admin.
 */
export interface ClaimedRightsRecord extends TenantRecord {
  type: 'claimed-rights';
  person: string;
  /** The set the claim named ('' when the token carried none: the claim gives nothing). */
  rightsSet: string;
  seenAt: string;
}

/** Hashed: a person is an identity provider's free text, and some characters may not be in a record id. */
export const claimedRightsRecordId = (person: string) => `claimed-rights:${sha256(person)}`;

/** A claim is written again once this old (or at once if it names another set). */
const REFRESH_MS = 24 * 3600_000;
/** Bounds memory on an instance serving many people. */
const MAX_REMEMBERED = 10_000;

export class ClaimedRights {
  /** What this instance last wrote per (tenant, person): at most one write a day each. */
  private readonly remembered = new Map<string, { rightsSet: string; seenAt: number }>();

  constructor(private readonly records: TenantRecordsPort) {}

  /** A sign-in of an assigned person whose token claimed `rightsSet`. */
  async seen(tenantId: string, person: string, rightsSet: string, now: Date): Promise<void> {
    const key = `${tenantId}\n${person}`;
    const known = this.remembered.get(key);
    if (known && known.rightsSet === rightsSet && now.getTime() - known.seenAt < REFRESH_MS) return;
    await this.records.upsert<ClaimedRightsRecord>({ id: claimedRightsRecordId(person), tenantId, type: 'claimed-rights', person, rightsSet, seenAt: now.toISOString() });
    this.remembered.delete(key);
    if (this.remembered.size >= MAX_REMEMBERED) this.remembered.delete(this.remembered.keys().next().value!);
    this.remembered.set(key, { rightsSet, seenAt: now.getTime() });
  }
}

/**
 * The set the person's claim named at their latest sign-in the archive recorded, assigned (claimed-rights) or not (their
 * sighting); null when they never signed in with a claim it recorded.
 */
export async function lastClaimedRightsSet(tenantId: string, person: string, deps: { tenantRecords: TenantRecordsPort }): Promise<string | null> {
  const [claimed, sighting] = await Promise.all([
    deps.tenantRecords.get<ClaimedRightsRecord>(tenantId, claimedRightsRecordId(person), 'claimed-rights', { fresh: true }),
    new PersonSightings(deps.tenantRecords).last(tenantId, person),
  ]);
  const fromClaim = claimed?.value.person === person ? claimed.value : null;
  const latest = [fromClaim, sighting].filter((s) => s !== null).sort((a, b) => (a.seenAt < b.seenAt ? 1 : -1))[0];
  return latest ? latest.rightsSet : null;
}

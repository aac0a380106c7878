import { endedKeyAbove, keyReader, KEYS_UNDER_A_RECORD, withKeyPerson } from '../api-keys/verify-api-key';
import { samePerson } from '../sod';
import type { RevocationChecks } from '../revocation-blobs';
import { keyIdOf, type ApiKeyRecord } from '../api-keys/api-key';
import { isActiveGrant, type SupportGrantRecord, supportGrantRecordId } from './support-grant';
import { type KeySealDeps, sealedByArchive } from '../api-keys/key-seal';

/**
 * How many grants in force a support request looks at, expiring last first, for one that still stands: grants given
 * through a key that no longer acts are passed over (their keys read once each: the walks share their reads). A
 * tenant whose latest grants all stand on ended keys gives no support access until it revokes them (listed as No
 * access): a leaked key would have to give this many grants before its revocation to hide the tenant's own grant.
 */
export const SUPPORT_GRANT_CANDIDATES = 50;

/**
 * The grant a support principal (`staff`, its subject) acts under: the active one expiring last among those another
 * person gave. A grant is the tenant's consent for provider staff: the person who gave it (in their own name or
 * through a key of theirs) does not consent for themselves. A grant given through an API key stands on that key,
 * as a key minted by a key does: revoking a leaked key (or its expiry, or that of a key above it) also ends the
 * access it gave. `selfGranted`: no such grant, but one of the staff's own.
 * One query of at most SUPPORT_GRANT_CANDIDATES records, plus a point read per key a grant stands on: reading every
 * grant the tenant ever gave made each request of a support principal read all the revoked and expired ones a
 * tenant admin had piled up. `revocations` (the authenticator's): the grant and the keys it stands on
 * are looked up in storage too, where a revocation a restore of Cosmos DB lost is kept (revocation-blobs.ts).
 */
export async function findActiveSupportGrant(tenantId: string, staff: string, now: Date, deps: KeySealDeps, keyRests?: (key: ApiKeyRecord) => Promise<boolean>, revocations?: Pick<RevocationChecks, 'reader' | 'revokedInStorage'>): Promise<{ grant: SupportGrantRecord | null; selfGranted: boolean }> {
  const at = now.toISOString();
  const base = keyReader(tenantId, deps); // candidates given through the same keys read each once
  const read = revocations ? revocations.reader(base, now) : base;
  let ownFound = false;
  for (const grant of await deps.tenantRecords.supportGrantsInForce<SupportGrantRecord>(tenantId, at, { notBy: staff }, SUPPORT_GRANT_CANDIDATES)) {
    // The store compares `endsAt` as text: an end that is no instant ('soon', 'never': restored, half written, edited by
    // hand) sorts after every one, so such a grant was found in force, and gave access, for ever. Judged on the record too.
    if (!isActiveGrant(grant, now)) continue;
    // One the archive did not seal (a writer of Cosmos DB gave it, or widened it) gives no access.
    if (!(await sealedByArchive(grant, deps, { tenantId, id: supportGrantRecordId(grant.grantId) }))) continue;
    if (await endedKeyAbove(grant.createdBy, now, read, KEYS_UNDER_A_RECORD)) continue;
    // Nor through a key that rests because its person has not signed in for the idle days (`keyRests`, the
    // authenticator's judgement): the staff someone who left let in through their key kept reading for up to the
    // grant's 7 days after the key itself stopped acting. The keys above it act for the same person.
    const keyId = keyIdOf(grant.createdBy) ?? null;
    const key = keyId && keyRests ? await read(keyId) : undefined;
    if (key && keyRests && (await keyRests(key))) continue;
    // Revoked since, and the record restored from a backup taken before (revocation-blobs.ts): written back, passed over.
    if (revocations && (await revocations.revokedInStorage(grant, now))) continue;
    // Its giver read up the keys it was given through (withKeyPerson). Broke: the store's query tells the giver by the
    // subject and person the grant names, and one given through a key before persons were kept names only the key
    // (`apikey:<id>`): its person, provider staff too, acted as staff under their own grant.
    // A giver that cannot be read (a key above gone, a person stored as null) may be anyone: passed over, not told as theirs.
    const giver = await withKeyPerson(grant.createdBy, read);
    if (samePerson({ subject: staff }, giver)) {
      ownFound ||= giver.person === staff;
      continue;
    }
    return { grant, selfGranted: false };
  }
  // Asked only of a refusal: which one the staff member is told.
  return { grant: null, selfGranted: ownFound || (await deps.tenantRecords.supportGrantsInForce(tenantId, at, { by: staff }, 1)).length > 0 };
}

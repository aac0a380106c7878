/**
 * Round 18: attacks on the newest code (exports on the export-work queue, the download's look at the disposal entries,
 * the walks over export blobs and kept sign-in copies, the sign-in restore). Each case is an attack that broke, with the
 * fix it got; see each block's comment.
 */
import { PersonSightings, type PersonSightingRecord, personSightingRecordId } from '../../../shared/auth/person-sightings';
import { inMemoryDeps } from '../../support/in-memory';
import { TENANT } from '../../support/in-process';

const HOUR = 3_600_000;

/**
 * A sign-in whose token was issued before the stored sign-in's is not recorded (an older token's wider set must not come
 * back for her API keys after the identity provider narrowed her claim). That order was judged on the stored record
 * alone: one not sealed as it is, or none at all, skipped it. So whoever could write Cosmos DB (not Key Vault) touched
 * her record (any field) or deleted it, signed in with a token from before the narrowing (valid for its lifetime), and
 * its wider set was recorded, sealed and kept: her keys acted with it after that token had expired, until her next
 * sign-in. Now the newest copy kept in storage (sealed, genuine) gives the order when the stored one cannot.
 */
describe('an older token\'s wider set is not recorded over a narrowed claim whatever Cosmos DB holds', () => {
  it.each<[string, ((s: PersonSightingRecord) => PersonSightingRecord | null) | undefined]>([
    ['the record as stored (control)', undefined],
    ['the record touched (its seal no longer checks)', (s) => ({ ...s, issuedAt: '2020-01-01T00:00:00.000Z' })],
    ['the record deleted', () => null],
  ])('%s: the older token\'s set is not what her keys act with', async (_what, edit) => {
    const deps = inMemoryDeps();
    const sightings = new PersonSightings(deps.tenantRecords, deps);
    const t0 = deps.clock.now();
    const wideIssued = t0.toISOString();
    await sightings.seen(TENANT, 'dana', 'integration-admin', t0, wideIssued);
    // The identity provider narrows her claim; her next token says so.
    const t1 = new Date(t0.getTime() + HOUR);
    await sightings.seen(TENANT, 'dana', 'uploader', t1, t1.toISOString());
    const key = `${TENANT}/${personSightingRecordId('dana')}`;
    if (edit) {
      const stored = deps.tenantRecords.records.get(key)!;
      const edited = edit(stored.value as unknown as PersonSightingRecord);
      if (edited === null) deps.tenantRecords.records.delete(key);
      else deps.tenantRecords.records.set(key, { ...stored, value: edited as never, etag: stored.etag + 1000 });
    }
    // She signs in again, on another instance, with the wide token from before the narrowing.
    const t2 = new Date(t1.getTime() + HOUR);
    await new PersonSightings(deps.tenantRecords, deps).seen(TENANT, 'dana', 'integration-admin', t2, wideIssued);
    const later = new Date(t2.getTime() + HOUR);
    const judged = await new PersonSightings(deps.tenantRecords, deps).lastForKey(TENANT, 'dana', later);
    expect(judged === null || judged.unsealed !== null || judged.record.rightsSet === 'uploader').toBe(true);
  });
});

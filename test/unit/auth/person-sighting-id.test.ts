import { PersonSightings, personSightingRecordId } from '../../../shared/auth/person-sightings';
import { InMemoryAuditLog, InMemoryBlobArchive, InMemoryTenantRecords, RecordingLogger } from '../../support/in-memory';

const sealing = { audit: new InMemoryAuditLog(), log: new RecordingLogger(), blobs: new InMemoryBlobArchive() };

it('a person with a character Cosmos ids may not hold gets a hashed record id; others keep theirs', () => {
  expect(personSightingRecordId('alice@acme.example')).toBe('person-sighting:alice@acme.example');
  for (const person of ['tenant/alice', 'a\\b', 'who?', 'x#1']) {
    const id = personSightingRecordId(person);
    expect(id).toMatch(/^person-sighting:sha256:[0-9a-f]{64}$/);
    expect(id).not.toMatch(/[/\\?#]/);
  }
  expect(personSightingRecordId('tenant/alice')).not.toBe(personSightingRecordId('tenant/bob'));
});

it('a person named like another person\'s hashed id neither shares nor reads that person\'s sighting', async () => {
  const records = new InMemoryTenantRecords();
  const sightings = new PersonSightings(records, sealing);
  const victim = 'tenant/alice';
  const lookalike = personSightingRecordId(victim).slice('person-sighting:'.length);
  expect(personSightingRecordId(lookalike)).not.toBe(personSightingRecordId(victim));
  await sightings.seen('acme', lookalike, 'tenant-admin', new Date('2030-01-01T00:00:00Z'));
  expect(await sightings.lastForKey('acme', victim, new Date('2030-01-01T00:00:00Z'))).toBeNull();
});

it('sign-ins that keep writing over each other past the rounds are contention: 503 with Retry-After, not a 500', async () => {
  const records = new InMemoryTenantRecords();
  const sightings = new PersonSightings(records, sealing);
  await sightings.seen('acme', 'carla', 'accountant', new Date('2030-01-01T00:00:00Z'));
  // Another sign-in (another instance, another claim) writes between every read and write of this one.
  records.replace = async () => 'conflict';
  const fresh = new PersonSightings(records, sealing);
  await expect(fresh.seen('acme', 'carla', 'auditor', new Date('2030-01-01T00:01:00Z'))).rejects.toMatchObject({ code: 'dependency_unavailable', retryAfterSeconds: expect.any(Number) });
  expect((await sightings.lastForKey('acme', 'carla', new Date('2030-01-01T00:01:00Z')))?.record.rightsSet).toBe('accountant');
});

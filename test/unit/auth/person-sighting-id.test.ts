import { personSightingRecordId } from '../../../shared/auth/person-sightings';

it('a person with a character Cosmos ids may not hold gets a hashed record id; others keep theirs', () => {
  expect(personSightingRecordId('alice@acme.example')).toBe('person-sighting:alice@acme.example');
  for (const person of ['tenant/alice', 'a\\b', 'who?', 'x#1']) {
    const id = personSightingRecordId(person);
    expect(id).toMatch(/^person-sighting:sha256:[0-9a-f]{64}$/);
    expect(id).not.toMatch(/[/\\?#]/);
  }
  expect(personSightingRecordId('tenant/alice')).not.toBe(personSightingRecordId('tenant/bob'));
});

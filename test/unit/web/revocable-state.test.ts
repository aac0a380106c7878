/** One rule for what the API keys and support access lists show of a key or grant now. */
import { revocableState } from '../../../web/src/lib/revocable-state';

const now = Date.parse('2030-01-01T00:00:00Z');
const future = '2030-02-01T00:00:00Z';

it('revoked before expired, expired before standing on an ended key, else active', () => {
  expect(revocableState({ revokedAt: '2029-12-01T00:00:00Z', expiresAt: '2029-12-15T00:00:00Z', endedWithKey: 'k' }, now)).toBe('revoked');
  expect(revocableState({ revokedAt: null, expiresAt: '2030-01-01T00:00:00Z', endedWithKey: 'k' }, now)).toBe('expired');
  expect(revocableState({ revokedAt: null, expiresAt: future, endedWithKey: 'k' }, now)).toBe('keyEnded');
  expect(revocableState({ revokedAt: null, expiresAt: future }, now)).toBe('active');
  // Not sealed by the archive: no access, whatever else it says, unless revoked or expired (which say more).
  expect(revocableState({ revokedAt: null, expiresAt: future, notSealedByArchive: true }, now)).toBe('notSealed');
  expect(revocableState({ revokedAt: null, expiresAt: future, endedWithKey: 'k', notSealedByArchive: true }, now)).toBe('notSealed');
});

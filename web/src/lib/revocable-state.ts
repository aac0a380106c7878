/**
 * What a revocable credential of the organisation (an API key, a support grant) is now, as its list shows it: revoked,
 * expired, in force but standing on a key that no longer acts (`keyEnded`: the API says so with `endedWithKey`), or
 * in force on paper but not sealed by the archive (`notSealed`: written or changed in the database behind its back, it cannot
 * act; the API says so with `notSealedByArchive`), or active. One rule for both lists, which the API judges alike.
 */
export type RevocableState = 'active' | 'revoked' | 'expired' | 'keyEnded' | 'notSealed';

export function revocableState(item: { revoked?: boolean; revokedAt: string | null; expiresAt: string; endedWithKey?: string; notSealedByArchive?: boolean }, now = Date.now()): RevocableState {
  // `revoked`, not `revokedAt` alone: a revocation stored with no readable time is answered revoked, its time null.
  if (item.revoked || item.revokedAt) return 'revoked';
  if (new Date(item.expiresAt).getTime() <= now) return 'expired';
  // Shown "Active" beside its warning, a forged key read as in force to whoever skimmed the list.
  if (item.notSealedByArchive) return 'notSealed';
  return item.endedWithKey ? 'keyEnded' : 'active';
}

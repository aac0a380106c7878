import { ArchiveError } from '../kernel/errors';

/** What a tenant-wide count limit caps, and what frees room under it. */
const LIMITED = {
  'api-keys': { setting: 'ARCHIVE_MAX_API_KEYS', counted: 'API keys in use (neither revoked nor expired)', room: 'revoke keys it no longer needs' },
  'rights-sets': { setting: 'ARCHIVE_MAX_RIGHTS_SETS', counted: 'rights sets of its own (built-in templates not counted)', room: 'delete sets it no longer needs' },
  'rights-assignments': { setting: 'ARCHIVE_MAX_RIGHTS_ASSIGNMENTS', counted: 'rights assignments (people given a rights set)', room: 'remove assignments of people who no longer use the archive' },
  'holds-by-query': { setting: 'ARCHIVE_MAX_OPEN_HOLDS_BY_QUERY', counted: 'open legal holds by query (each searched for new documents by every reconciler run)', room: 'release everywhere the holds by query it no longer needs' },
} as const;

/**
 * Refuses one more of `what` when the tenant has `count` of them and may have `limit`: each is read by every SoD check
 * and listing of the tenant and stored in what tenants share. Callers count under the tenant's rights gate, so two
 * creates judged on one count cannot both be stored.
 */
export function assertWithinTenantLimit(what: keyof typeof LIMITED, count: number, limit: number): void {
  if (count < limit) return;
  const { setting, counted, room } = LIMITED[what];
  throw new ArchiveError('tenant_limit_reached', {
    detail: `The tenant has ${count} ${counted}, and may have at most ${limit} (${setting}); ${room} to make room.`,
    extensions: { limit, count, what },
  });
}

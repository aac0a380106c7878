import { type AuditEntry, auditMonth } from '../kernel/audit';
import { keyedByArchive } from '../kernel/audit-keyed';
import type { AuditFilter, AuditLogPort } from '../ports';

/** Where a walk of the audit log resumes: a month (of the query's), and the store's token within it (null: its start). */
export interface AuditPlace {
  month: string;
  storeToken: string | null;
}

/**
 * One page of a tenant's audit entries over `months` (newest first), from `at`. A page holds one month's entries and is
 * never empty while entries remain: months without a match are passed over (and so is a store page with none and more to
 * come), and `next` is given only when more remain, at the next older month that has a match. A filtered walk across
 * months answered an empty page with a token for every month without a match, and a token to an empty page after the
 * last month that had one. Costs up to one one-entry query per older month on a walk's last page.
 */
export async function auditPage(
  audit: Pick<AuditLogPort, 'list'>,
  tenantId: string,
  months: readonly string[],
  at: AuditPlace,
  limit: number,
  filter: AuditFilter,
): Promise<{ month: string; items: AuditEntry[]; next: AuditPlace | null }> {
  let i = months.indexOf(at.month);
  const read = (storeToken: string | null) => audit.list(tenantId, months[i]!, limit, storeToken ?? undefined, filter);
  let page = await read(at.storeToken);
  while (page.items.length === 0 && (page.continuationToken || i + 1 < months.length)) {
    if (!page.continuationToken) i++;
    page = await read(page.continuationToken);
  }
  const month = months[i]!;
  // The store's time of each entry is not the answer's (GET /audit lists entries as written).
  const items: AuditEntry[] = page.items.map(({ _ts: _s, ...entry }) => entry);
  if (page.continuationToken) return { month, items, next: { month, storeToken: page.continuationToken } };
  for (const older of months.slice(i + 1)) {
    for (let c: string | null | undefined; c !== null; ) {
      const peek = await audit.list(tenantId, older, 1, c, filter);
      if (peek.items.length > 0) return { month, items, next: { month: older, storeToken: null } };
      c = peek.continuationToken;
    }
  }
  return { month, items, next: null };
}

/**
 * Whether the tenant's audit log holds an entry of `action` on `target` that `matches`, in the month of one of `times` or
 * the next (a request's entry is appended after its write, which can be in the next month). Witnesses what storage keeps
 * from before the archive sealed it: an ingest's manifest, a correction's blob, a revocation, a decision.
 *
 * Only an entry keyed with the chain key counts (keyedByArchive). Taken as listed, an entry written into Cosmos DB by
 * whoever can write it (not Key Vault) vouched for a blob they planted without a seal: the key the witness stands for
 * was never checked.
 *
 * `blobCreatedOn`: when storage created the blob the entry witnesses (null: not told), where there is one. An entry
 * keyed with a version superseded before then (CHAIN_KEY_PICKUP_MS allowed) is none, as a seal so keyed is not
 * (archive-seal.ts "superseded key"). Broke: the old version, leaked, keyed an entry for a blob planted after the
 * rotation, and the blob was applied where a seal of that version was refused.
 */
export async function auditHolds(audit: Pick<AuditLogPort, 'list' | 'chainKeys'>, tenantId: string, filter: Pick<AuditFilter, 'target'> & Required<Pick<AuditFilter, 'action'>>, times: readonly (string | null | undefined)[], matches: (entry: AuditEntry) => boolean, blobCreatedOn?: string | null): Promise<boolean> {
  const months = new Set<string>();
  for (const time of times) {
    const at = new Date(typeof time === 'string' ? time : NaN);
    if (Number.isNaN(at.getTime())) continue;
    months.add(auditMonth(at));
    months.add(auditMonth(new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1))));
  }
  for (const month of months) {
    let token: string | undefined;
    do {
      const page = await audit.list(tenantId, month, 200, token, filter);
      for (const entry of page.items) if (entry.tenantId === tenantId && matches(entry) && (await keyedByArchive(entry, audit.chainKeys, blobCreatedOn))) return true;
      token = page.continuationToken ?? undefined;
    } while (token);
  }
  return false;
}

/**
 * The tenant's entries of one month that match `filter` and `matches` and are keyed by the archive (keyedByArchive):
 * for a reader that asks the same month about many targets, one walk of the month instead of one query per target.
 */
export async function keyedEntries(audit: Pick<AuditLogPort, 'list' | 'chainKeys'>, tenantId: string, month: string, filter: AuditFilter, matches: (entry: AuditEntry) => boolean): Promise<AuditEntry[]> {
  const found: AuditEntry[] = [];
  let token: string | undefined;
  do {
    const page = await audit.list(tenantId, month, 200, token, filter);
    for (const entry of page.items) if (entry.tenantId === tenantId && matches(entry) && (await keyedByArchive(entry, audit.chainKeys, undefined))) found.push(entry);
    token = page.continuationToken ?? undefined;
  } while (token);
  return found;
}

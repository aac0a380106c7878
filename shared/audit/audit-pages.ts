import type { AuditEntry } from '../kernel/audit';
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
  if (page.continuationToken) return { month, items: page.items, next: { month, storeToken: page.continuationToken } };
  for (const older of months.slice(i + 1)) {
    for (let c: string | null | undefined; c !== null; ) {
      const peek = await audit.list(tenantId, older, 1, c, filter);
      if (peek.items.length > 0) return { month, items: page.items, next: { month: older, storeToken: null } };
      c = peek.continuationToken;
    }
  }
  return { month, items: page.items, next: null };
}

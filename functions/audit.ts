import { z } from 'zod';
import { ZClientInstant } from '../shared/kernel/instant';
import { numberInUrl } from '../shared/kernel/url-number';
import { auditPage } from '../shared/audit/audit-pages';
import { verifyAuditMonth } from '../shared/audit/seal';
import { ZAuditAction } from '../shared/kernel/audit';
import { ArchiveError } from '../shared/kernel/errors';
import { invalidPageToken, isStoreToken, scopeDigest, ZContinuationToken } from '../shared/kernel/page-token';
import { operation, reply } from '../shared/http/operation';
import { ZAuditPage, ZChainReport } from '../shared/http/schemas';

const ZMonth = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be YYYY-MM');
const ZInstant = ZClientInstant.transform((s) => new Date(s).toISOString());
// A plain date (YYYY-MM-DD, UTC) means the whole day: `from` its start, `to` its end.
const ZFrom = ZInstant.or(z.iso.date().transform((d) => `${d}T00:00:00.000Z`));
const ZTo = ZInstant.or(z.iso.date().transform((d) => `${d}T23:59:59.999Z`));
const MAX_MONTHS = 24;

const ZAuditQuery = z.strictObject({
  /** One month; without it the months from `from` to `to` (default: this month), newest first. */
  month: ZMonth.optional(),
  from: ZFrom.optional().meta({ description: 'Entries at or after this instant; a plain date (YYYY-MM-DD) is its first millisecond in UTC. The months read run from its month to `to`\'s (at most 24); without it, `to`\'s month alone' }),
  to: ZTo.optional().meta({ description: 'Entries at or before this instant (inclusive); a plain date is its whole day in UTC, up to its last millisecond. Default: now' }),
  /** The actor's subject (a user's `sub`, `apikey:<id>`, or a support engineer's `sub`). */
  actor: z.string().min(1).max(256).optional(),
  action: ZAuditAction.optional(),
  target: z.string().min(1).max(300).optional(),
  limit: numberInUrl((n) => n.int().min(1).max(500).default(100)),
  continuationToken: ZContinuationToken.optional(),
});

function monthsBetween(from: string, to: string): string[] {
  const months: string[] = [];
  let [y, m] = to.split('-').map(Number) as [number, number];
  for (let month = to; month >= from; month = `${y}-${String(m).padStart(2, '0')}`) {
    months.push(month);
    // Only `from` reaches this far back: the refusal names it (it said "At most 24 months per query.", naming no parameter).
    if (months.length > MAX_MONTHS) throw new ArchiveError('invalid_query', { detail: `from: at most ${MAX_MONTHS} months before to (or now) per query`, extensions: { errors: [{ path: 'from', message: `at most ${MAX_MONTHS} months before to (or now) per query` }] } });
    m -= 1;
    if (m === 0) [y, m] = [y - 1, 12];
  }
  return months;
}

/** A page token: the month to read next, the store's token within it, and the digest of the query it was issued for (kernel/page-token.ts). */
const ZToken = z.strictObject({ m: ZMonth, c: z.string().refine(isStoreToken).nullable(), s: z.string() });

export const listAudit = operation({
  name: 'listAudit', method: 'GET', route: 'audit', tags: ['audit'], summary: 'The tenant\'s audit entries',
  auth: 'tenant', permission: 'audit:read', action: 'audit.read',
  query: ZAuditQuery,
  responses: { 200: { description: 'A page, newest month first', json: ZAuditPage } },
  errors: [],
  handler: async ({ query: q, principal, audit }, deps) => {
  // Without `to` the months run from `from`'s to now: a `from` in a later month named none, and the answer had no month.
  const until = q.to ?? (q.month ? undefined : deps.clock.now().toISOString());
  if (q.from && until && q.from > until) throw new ArchiveError('invalid_query', { detail: q.to ? 'from must not be after to.' : 'from must not be after now (to, when not given).' });
  const to = q.month ?? (q.to ?? deps.clock.now().toISOString()).slice(0, 7);
  const months = q.month ? [q.month] : monthsBetween(q.from ? q.from.slice(0, 7) : to, to);
  let month = months[0]!;
  let cosmosToken: string | undefined;
  // Another filter resumed silently in the wrong place (or its store token in another month's query).
  const scope = scopeDigest({ list: 'audit', tenantId: principal.tenantId, month: q.month, from: q.from, to: q.to, actor: q.actor, action: q.action, target: q.target });
  if (q.continuationToken) {
    let token: z.infer<typeof ZToken>;
    try {
      token = ZToken.parse(JSON.parse(Buffer.from(q.continuationToken, 'base64url').toString('utf8')));
    } catch {
      throw invalidPageToken();
    }
    if (token.s !== scope || !months.includes(token.m)) throw invalidPageToken('issued for another query; start again from the first page');
    month = token.m;
    cosmosToken = token.c ?? undefined;
  }
  // Who read which month of the trail is part of it, as a verification names its month: the month asked for, then the
  // one the page holds (months without a match are passed over).
  audit.target = `audit:${month}`;
  const filter = { from: q.from, to: q.to, actor: q.actor, action: q.action, target: q.target };
  const page = await auditPage(deps.audit, principal.tenantId, months, { month, storeToken: cosmosToken ?? null }, q.limit, filter);
  audit.target = `audit:${page.month}`;
  const next: z.infer<typeof ZToken> | null = page.next ? { m: page.next.month, c: page.next.storeToken, s: scope } : null;
  return reply(200, { month: page.month, items: page.items, continuationToken: next ? Buffer.from(JSON.stringify(next)).toString('base64url') : null });
}
});

const ZVerifyQuery = z.strictObject({ month: ZMonth.optional() });

export const verifyAudit = operation({
  name: 'verifyAudit', method: 'GET', route: 'audit/verify', tags: ['audit'], summary: 'Verify the audit hash chain',
  auth: 'tenant', permission: 'audit:read', action: 'audit.verify',
  query: ZVerifyQuery,
  responses: { 200: { description: 'Verification report', json: ZChainReport } },
  errors: ['too_many_verifications'],
  handler: async ({ query, principal, audit }, deps) => {
    const month = query.month ?? deps.clock.now().toISOString().slice(0, 7);
    audit.target = `audit:${month}`;
    return reply(200, await verifyAuditMonth(principal.tenantId, month, deps, deps.config.AUDIT_CHAIN_KEYED_SINCE));
  },
});

export const auditRoutes = [listAudit, verifyAudit];

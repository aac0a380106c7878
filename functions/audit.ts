import { z } from 'zod';
import { ZClientInstant } from '../shared/kernel/instant';
import { numberInUrl } from '../shared/kernel/url-number';
import { verifyAuditMonth } from '../shared/audit/seal';
import { ZAuditAction } from '../shared/kernel/audit';
import { ArchiveError } from '../shared/kernel/errors';
import { invalidPageToken, isStoreToken, scopeDigest } from '../shared/kernel/page-token';
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
  continuationToken: z.string().min(1).max(4000).optional(),
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
  // Who read which month of the trail is part of it, as a verification names its month.
  audit.target = `audit:${month}`;
  const filter = { from: q.from, to: q.to, actor: q.actor, action: q.action, target: q.target };
  let i = months.indexOf(month);
  const read = (continuationToken: string | undefined) => deps.audit.list(principal.tenantId, months[i]!, q.limit, continuationToken, filter);
  // A page holds one month's entries and is never empty while entries remain: months without a match are passed over
  // (and so is a store page with none and more to come). A filtered walk across months answered an empty page with a
  // token for every month without a match, and a token to an empty page after the last month that had one.
  let page = await read(cosmosToken);
  while (page.items.length === 0 && (page.continuationToken || i + 1 < months.length)) {
    if (!page.continuationToken) i++;
    page = await read(page.continuationToken ?? undefined);
  }
  month = months[i]!;
  audit.target = `audit:${month}`;
  let next: z.infer<typeof ZToken> | null = page.continuationToken ? { m: month, c: page.continuationToken, s: scope } : null;
  // A token only when more remain: the next older month with a match, if any.
  for (let j = i + 1; !next && j < months.length; j++) {
    const older = months[j]!;
    for (let c: string | null | undefined; !next && c !== null; ) {
      const peek = await deps.audit.list(principal.tenantId, older, 1, c, filter);
      if (peek.items.length > 0) next = { m: older, c: null, s: scope };
      c = peek.continuationToken;
    }
  }
  return reply(200, { month, items: page.items, continuationToken: next ? Buffer.from(JSON.stringify(next)).toString('base64url') : null });
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

import { z } from 'zod';
import type { Deps } from '../shared/deps';
import { verifyAuditMonth } from '../shared/audit/seal';
import { ZAuditAction } from '../shared/kernel/audit';
import { parseQuery } from '../shared/documents/list-documents';
import { ArchiveError } from '../shared/kernel/errors';
import { type RouteDef, type TenantContext, tenantRoute } from '../shared/http/pipeline';
import { json } from '../shared/http/respond';

const ZMonth = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be YYYY-MM');
const ZInstant = z.iso.datetime({ offset: true }).transform((s) => new Date(s).toISOString());
const MAX_MONTHS = 24;

const ZAuditQuery = z.strictObject({
  /** One month; without it the months from `from` to `to` (default: this month), newest first. */
  month: ZMonth.optional(),
  from: ZInstant.optional(),
  to: ZInstant.optional(),
  /** The actor's subject (a user's `sub`, `apikey:<id>`, or a support engineer's `sub`). */
  actor: z.string().min(1).max(256).optional(),
  action: ZAuditAction.optional(),
  target: z.string().min(1).max(300).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  continuationToken: z.string().min(1).max(4000).optional(),
});

function monthsBetween(from: string, to: string): string[] {
  const months: string[] = [];
  let [y, m] = to.split('-').map(Number) as [number, number];
  for (let month = to; month >= from; month = `${y}-${String(m).padStart(2, '0')}`) {
    months.push(month);
    if (months.length > MAX_MONTHS) throw new ArchiveError('invalid_query', { detail: `At most ${MAX_MONTHS} months per query.` });
    m -= 1;
    if (m === 0) [y, m] = [y - 1, 12];
  }
  return months;
}

const ZToken = z.strictObject({ m: ZMonth, c: z.string().nullable() });

async function listAudit({ req, principal }: TenantContext, deps: Deps) {
  const q = parseQuery(ZAuditQuery, req.url.searchParams);
  if (q.from && q.to && q.from > q.to) throw new ArchiveError('invalid_query', { detail: 'from must not be after to.' });
  const to = q.month ?? (q.to ?? deps.clock.now().toISOString()).slice(0, 7);
  const months = q.month ? [q.month] : monthsBetween(q.from ? q.from.slice(0, 7) : to, to);
  let month = months[0]!;
  let cosmosToken: string | undefined;
  if (q.continuationToken) {
    let token: z.infer<typeof ZToken>;
    try {
      token = ZToken.parse(JSON.parse(Buffer.from(q.continuationToken, 'base64url').toString('utf8')));
    } catch {
      throw new ArchiveError('invalid_query', { detail: 'The continuation token is not valid.' });
    }
    if (!months.includes(token.m)) throw new ArchiveError('invalid_query', { detail: 'The continuation token is not valid for this query.' });
    month = token.m;
    cosmosToken = token.c ?? undefined;
  }
  const filter = { from: q.from, to: q.to, actor: q.actor, action: q.action, target: q.target };
  const page = await deps.audit.list(principal.tenantId, month, q.limit, cosmosToken, filter);
  const older = months[months.indexOf(month) + 1];
  const next = page.continuationToken ? { m: month, c: page.continuationToken } : older ? { m: older, c: null } : null;
  return json(200, { month, items: page.items, continuationToken: next ? Buffer.from(JSON.stringify(next)).toString('base64url') : null });
}

const ZVerifyQuery = z.strictObject({ month: ZMonth.optional() });

async function verifyAudit({ req, principal, audit }: TenantContext, deps: Deps) {
  const q = parseQuery(ZVerifyQuery, req.url.searchParams);
  const month = q.month ?? deps.clock.now().toISOString().slice(0, 7);
  audit.target = `audit:${month}`;
  return json(200, await verifyAuditMonth(principal.tenantId, month, deps, deps.config.AUDIT_CHAIN_KEYED_SINCE));
}

export const auditRoutes: RouteDef[] = [
  tenantRoute({ name: 'listAudit', method: 'GET', route: 'audit', permission: 'audit:read', action: 'audit.read', handler: listAudit }),
  tenantRoute({ name: 'verifyAudit', method: 'GET', route: 'audit/verify', permission: 'audit:read', action: 'audit.verify', handler: verifyAudit }),
];

import { z } from 'zod';
import type { Deps } from '../shared/app';
import { parseQuery } from '../shared/documents/list-documents';
import type { RouteDef, TenantContext } from '../shared/http/pipeline';
import { json } from '../shared/http/respond';

const ZAuditQuery = z.strictObject({
  month: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be YYYY-MM').optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  continuationToken: z.string().min(1).max(4000).optional(),
});

async function listAudit({ req, principal }: TenantContext, deps: Deps) {
  const q = parseQuery(ZAuditQuery, req.url.searchParams);
  const month = q.month ?? deps.clock.now().toISOString().slice(0, 7);
  const token = q.continuationToken ? Buffer.from(q.continuationToken, 'base64url').toString('utf8') : undefined;
  const page = await deps.audit.list(principal.tenantId, month, q.limit, token);
  return json(200, { month, items: page.items, continuationToken: page.continuationToken ? Buffer.from(page.continuationToken).toString('base64url') : null });
}

export const auditRoutes: RouteDef[] = [
  { name: 'listAudit', method: 'GET', route: 'audit', auth: 'tenant', permission: 'audit:read', action: 'audit.read', handler: listAudit },
];

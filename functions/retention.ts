import { z } from 'zod';
import type { Deps } from '../shared/deps';
import { toPublicDocument } from '../shared/kernel/document';
import { parseQuery } from '../shared/documents/list-documents';
import { readJsonBody } from '../shared/http/json-body';
import { type RouteDef, type TenantContext, tenantRoute } from '../shared/http/pipeline';
import { json } from '../shared/http/respond';
import { approveDisposal, describePolicy, extendRetention, listDue, setPolicy } from '../shared/retention/review';
import { ZTenantRetentionPolicy } from '../shared/kernel/retention';

const instant = z.iso.datetime({ offset: true }).or(z.iso.date().transform((d) => `${d}T00:00:00Z`));
const reason = z.string().trim().min(1).max(500);
const ZExtend = z.strictObject({ retainUntil: instant, reason });
const ZDueQuery = z.strictObject({
  before: instant.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  continuationToken: z.string().min(1).max(4000).optional(),
});
const ZApprove = z.strictObject({ before: instant, reason, documentIds: z.array(z.string().min(1).max(64)).min(1).max(500).optional() });

const token = {
  encode: (t: string | null) => (t ? Buffer.from(t).toString('base64url') : null),
  decode: (t: string | undefined) => (t ? Buffer.from(t, 'base64url').toString('utf8') : undefined),
};

async function readPolicy({ principal }: TenantContext, deps: Deps) {
  return json(200, await describePolicy(principal.tenantId, deps));
}

async function putPolicy({ req, principal, audit }: TenantContext, deps: Deps) {
  audit.target = 'retention-policy';
  return json(200, await setPolicy(principal, await readJsonBody(req, ZTenantRetentionPolicy), deps));
}

async function extend({ req, principal }: TenantContext, deps: Deps) {
  const body = await readJsonBody(req, ZExtend);
  return json(200, toPublicDocument(await extendRetention({ principal, documentId: req.params.id!, ...body }, deps)));
}

async function due({ req, principal }: TenantContext, deps: Deps) {
  const q = parseQuery(ZDueQuery, req.url.searchParams);
  const before = q.before ?? deps.clock.now().toISOString();
  const page = await listDue(principal.tenantId, { before, limit: q.limit, continuationToken: token.decode(q.continuationToken) }, deps);
  return json(200, { before: new Date(before).toISOString(), requireDisposalApproval: page.requireDisposalApproval, items: page.items, continuationToken: token.encode(page.continuationToken) });
}

async function approve({ req, principal, audit }: TenantContext, deps: Deps) {
  const body = await readJsonBody(req, ZApprove);
  const result = await approveDisposal({ principal, ...body }, deps);
  audit.target = `approval:${result.approvalId}`;
  return json(201, result);
}

export const retentionRoutes: RouteDef[] = [
  tenantRoute({ name: 'getRetentionPolicy', method: 'GET', route: 'retention/policy', permission: 'documents:read', action: 'retention.policy-read', handler: readPolicy }),
  tenantRoute({ name: 'putRetentionPolicy', method: 'PUT', route: 'retention/policy', permission: 'retention:manage', action: 'retention.policy-set', handler: putPolicy }),
  tenantRoute({ name: 'extendRetention', method: 'POST', route: 'documents/{id}/retention', permission: 'retention:extend', action: 'retention.extend', handler: extend }),
  tenantRoute({ name: 'listRetentionDue', method: 'GET', route: 'retention/due', permission: 'retention:approve', action: 'retention.due-list', handler: due }),
  tenantRoute({ name: 'approveDisposal', method: 'POST', route: 'retention/approvals', permission: 'retention:approve', action: 'retention.approve', handler: approve }),
];

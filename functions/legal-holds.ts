import { z } from 'zod';
import type { Deps } from '../shared/deps';
import { ArchiveError } from '../shared/kernel/errors';
import { type RouteDef, type TenantContext, tenantRoute } from '../shared/http/pipeline';
import { created, json } from '../shared/http/respond';
import { placeHold, placeHoldsByQuery, releaseHold, releaseHoldEverywhere } from '../shared/retention/holds';
import { parseJsonBody } from '../shared/http/json-body';

const text = (max: number) => z.string().trim().min(1).max(max);
const ZPlaceHold = z.strictObject({ reason: text(500), caseReference: text(200) });
const ZPlaceHoldsByQuery = ZPlaceHold.extend({
  query: z
    .strictObject({ fiscalYear: z.number().int().min(1900).max(2200).optional(), counterparty: text(200).optional() })
    .refine((q) => q.fiscalYear !== undefined || q.counterparty !== undefined, 'name a fiscalYear and/or a counterparty'),
});
const ZReleaseHold = z.strictObject({ reason: text(500) });

async function placeDocumentHold({ req, principal }: TenantContext, deps: Deps) {
  const body = await parseJsonBody(req, ZPlaceHold);
  const hold = await placeHold({ principal, documentId: req.params.id!, ...body }, deps);
  return created(`${deps.config.ARCHIVE_PUBLIC_BASE_PATH}/documents/${req.params.id}/legal-holds/${hold.id}`, hold);
}

async function placeQueryHold({ req, principal, audit }: TenantContext, deps: Deps) {
  const body = await parseJsonBody(req, ZPlaceHoldsByQuery);
  const result = await placeHoldsByQuery({ principal, ...body }, deps);
  audit.target = result.holdId;
  return json(201, { holdId: result.holdId, documents: result.documentIds.length, documentIds: result.documentIds });
}

async function releaseDocumentHold({ req, principal }: TenantContext, deps: Deps) {
  const body = await parseJsonBody(req, ZReleaseHold);
  if (!req.params.holdId) throw new ArchiveError('hold_not_found');
  return json(200, await releaseHold({ principal, documentId: req.params.id!, holdId: req.params.holdId, reason: body.reason }, deps));
}

async function releaseQueryHold({ req, principal, audit }: TenantContext, deps: Deps) {
  const body = await parseJsonBody(req, ZReleaseHold);
  audit.target = req.params.holdId ?? null;
  const result = await releaseHoldEverywhere({ principal, holdId: req.params.holdId!, reason: body.reason }, deps);
  return json(200, { holdId: result.holdId, documents: result.documentIds.length, documentIds: result.documentIds });
}

export const legalHoldRoutes: RouteDef[] = [
  tenantRoute({ name: 'placeLegalHold', method: 'POST', route: 'documents/{id}/legal-holds', permission: 'holds:place', action: 'legal-hold.place', handler: placeDocumentHold }),
  tenantRoute({ name: 'releaseLegalHold', method: 'DELETE', route: 'documents/{id}/legal-holds/{holdId}', permission: 'holds:release', action: 'legal-hold.release', handler: releaseDocumentHold }),
  tenantRoute({ name: 'releaseLegalHoldEverywhere', method: 'DELETE', route: 'legal-holds/{holdId}', permission: 'holds:release', action: 'legal-hold.release', handler: releaseQueryHold }),
  tenantRoute({ name: 'placeLegalHoldsByQuery', method: 'POST', route: 'legal-holds', permission: 'holds:place', action: 'legal-hold.place-by-query', handler: placeQueryHold }),
];

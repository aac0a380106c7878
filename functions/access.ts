/** Who may do what: API keys, rights sets and their assignment, the SoD policy, support-access grants. */
import { z } from 'zod';
import type { Deps } from '../shared/deps';
import { toPublicApiKey } from '../shared/auth/api-keys';
import { actor } from '../shared/auth/rights';
import { assertNoConflict, assertWithinCeiling } from '../shared/auth/sod';
import { SUPPORT_GRANT_MAX_MS, toPublicGrant } from '../shared/auth/support-grants';
import { PERMISSIONS, RIGHTS_SET_NAME, SUPPORT_SCOPES, SupportScope } from '../shared/kernel/principal';
import { ArchiveError } from '../shared/kernel/errors';
import { parseJsonBody } from '../shared/http/json-body';
import { type RouteDef, type TenantContext, tenantRoute } from '../shared/http/pipeline';
import { created, json } from '../shared/http/respond';

const DAY = 24 * 3600 * 1000;
const instant = z.iso.datetime({ offset: true });
const ZRightsSetName = z.string().regex(RIGHTS_SET_NAME, 'must match ^[a-z0-9][a-z0-9-]{1,40}$');
const ZPermission = z.enum(PERMISSIONS);

const ZCreateKey = z.strictObject({
  name: z.string().trim().min(1).max(100),
  rightsSet: ZRightsSetName,
  /** Default 90 days; at most API_KEY_MAX_DAYS. */
  expiresAt: instant.optional(),
});

async function createApiKey({ req, principal, audit }: TenantContext, deps: Deps) {
  const body = await parseJsonBody(req, ZCreateKey);
  const now = deps.clock.now();
  const expiresAt = body.expiresAt ? new Date(body.expiresAt) : new Date(now.getTime() + 90 * DAY);
  if (expiresAt.getTime() <= now.getTime() || expiresAt.getTime() > now.getTime() + deps.config.API_KEY_MAX_DAYS * DAY) {
    throw new ArchiveError('bad_request', { detail: `expiresAt must be in the future and at most ${deps.config.API_KEY_MAX_DAYS} days away.` });
  }
  const permissions = await deps.rights.permissionsOf(principal.tenantId, body.rightsSet);
  if (!permissions) throw new ArchiveError('rights_set_not_found', { detail: `The tenant has no rights set ${body.rightsSet}.` });
  assertNoConflict(permissions, await deps.rights.policy(principal.tenantId), { rightsSet: body.rightsSet });
  assertWithinCeiling(principal, permissions, { rightsSet: body.rightsSet });
  const { key, record } = await deps.apiKeys.create({
    tenantId: principal.tenantId,
    name: body.name,
    rightsSet: body.rightsSet,
    expiresAt,
    createdBy: actor(principal),
    // The key acts for its creator's person and never beyond the creator's permissions now.
    ceiling: [...principal.permissions],
    personPermissions: [...(principal.personPermissions ?? principal.permissions)],
    now,
  });
  audit.target = `api-key:${record.keyId}`;
  // The only time the secret is shown.
  return created(`${deps.config.ARCHIVE_PUBLIC_BASE_PATH}/api-keys/${record.keyId}`, { ...toPublicApiKey(record), key });
}

async function listApiKeys({ principal }: TenantContext, deps: Deps) {
  return json(200, { items: (await deps.apiKeys.list(principal.tenantId)).map(toPublicApiKey) });
}

async function revokeApiKey({ req, principal, audit }: TenantContext, deps: Deps) {
  audit.target = `api-key:${req.params.id}`;
  return json(200, toPublicApiKey(await deps.apiKeys.revoke(principal.tenantId, req.params.id!, actor(principal), deps.clock.now())));
}

function setName(req: TenantContext['req']): string {
  const name = req.params.name ?? '';
  if (!RIGHTS_SET_NAME.test(name)) throw new ArchiveError('rights_set_not_found', { detail: 'Rights set names match ^[a-z0-9][a-z0-9-]{1,40}$.' });
  return name;
}

async function listRightsSets({ principal }: TenantContext, deps: Deps) {
  return json(200, { items: await deps.rights.listSets(principal.tenantId) });
}

const ZRightsSet = z.strictObject({ permissions: z.array(ZPermission).max(PERMISSIONS.length) });

async function putRightsSet({ req, principal, audit }: TenantContext, deps: Deps) {
  const name = setName(req);
  audit.target = `rights-set:${name}`;
  const body = await parseJsonBody(req, ZRightsSet);
  const record = await deps.rights.putSet(principal, name, body.permissions, deps.clock.now());
  return json(200, { name: record.name, builtIn: false, permissions: record.permissions, updatedAt: record.updatedAt, updatedBy: record.updatedBy });
}

async function deleteRightsSet({ req, principal, audit }: TenantContext, deps: Deps) {
  const name = setName(req);
  audit.target = `rights-set:${name}`;
  await deps.rights.deleteSet(principal, name, async (t, n) => (await deps.apiKeys.rightsSetsInUse(t)).includes(n));
  return { status: 204 };
}

function subjectParam(req: TenantContext['req']): string {
  const subject = req.params.subject ?? '';
  if (subject.length < 1 || subject.length > 256) throw new ArchiveError('rights_assignment_not_found');
  return subject;
}

const publicAssignment = (a: { subject: string; rightsSet: string; assignedAt: string; assignedBy: unknown }) => ({ subject: a.subject, rightsSet: a.rightsSet, assignedAt: a.assignedAt, assignedBy: a.assignedBy });

async function listAssignments({ principal }: TenantContext, deps: Deps) {
  return json(200, { items: (await deps.rights.listAssignments(principal.tenantId)).map(publicAssignment) });
}

const ZAssignment = z.strictObject({ rightsSet: ZRightsSetName });

async function putAssignment({ req, principal, audit }: TenantContext, deps: Deps) {
  const subject = subjectParam(req);
  audit.target = `subject:${subject}`;
  const body = await parseJsonBody(req, ZAssignment);
  return json(200, publicAssignment(await deps.rights.assign(principal, subject, body.rightsSet, deps.clock.now())));
}

async function deleteAssignment({ req, principal, audit }: TenantContext, deps: Deps) {
  const subject = subjectParam(req);
  audit.target = `subject:${subject}`;
  await deps.rights.unassign(principal, subject);
  return { status: 204 };
}

const ZSodPolicy = z.strictObject({
  conflicts: z
    .array(z.tuple([ZPermission, ZPermission]).refine(([a, b]) => a !== b, 'a permission cannot conflict with itself'))
    .max(50),
  uploaderCannotApproveDisposal: z.boolean().default(true),
});

async function readSodPolicy({ principal }: TenantContext, deps: Deps) {
  return json(200, await deps.rights.policy(principal.tenantId));
}

async function putSodPolicy({ req, principal, audit }: TenantContext, deps: Deps) {
  audit.target = 'sod-policy';
  const policy = await parseJsonBody(req, ZSodPolicy);
  await deps.rights.putPolicy(principal, policy, await deps.apiKeys.rightsSetsInUse(principal.tenantId), deps.clock.now());
  return json(200, policy);
}

const ZGrant = z.strictObject({
  ticket: z.string().trim().min(1).max(100),
  scope: z.enum(Object.keys(SUPPORT_SCOPES) as [SupportScope, ...SupportScope[]]).default('read-only'),
  expiresAt: instant,
});

async function createSupportGrant({ req, principal, audit }: TenantContext, deps: Deps) {
  const body = await parseJsonBody(req, ZGrant);
  // Provider staff act with the scope's permissions: only what the granting principal holds.
  assertWithinCeiling(principal, SUPPORT_SCOPES[body.scope], { scope: body.scope });
  const grant = await deps.supportGrants.create({ tenantId: principal.tenantId, ticket: body.ticket, scope: body.scope, expiresAt: new Date(body.expiresAt), createdBy: actor(principal), now: deps.clock.now() });
  audit.target = `support-grant:${grant.grantId}`;
  return created(`${deps.config.ARCHIVE_PUBLIC_BASE_PATH}/support-grants/${grant.grantId}`, toPublicGrant(grant));
}

async function listSupportGrants({ principal }: TenantContext, deps: Deps) {
  return json(200, { items: (await deps.supportGrants.list(principal.tenantId)).map(toPublicGrant), maxDurationSeconds: SUPPORT_GRANT_MAX_MS / 1000 });
}

async function revokeSupportGrant({ req, principal, audit }: TenantContext, deps: Deps) {
  audit.target = `support-grant:${req.params.id}`;
  return json(200, toPublicGrant(await deps.supportGrants.revoke(principal.tenantId, req.params.id!, actor(principal), deps.clock.now())));
}

export const accessRoutes: RouteDef[] = [
  tenantRoute({ name: 'createApiKey', method: 'POST', route: 'api-keys', permission: 'keys:manage', action: 'api-key.create', handler: createApiKey }),
  tenantRoute({ name: 'listApiKeys', method: 'GET', route: 'api-keys', permission: 'keys:manage', action: 'api-key.list', handler: listApiKeys }),
  tenantRoute({ name: 'revokeApiKey', method: 'DELETE', route: 'api-keys/{id}', permission: 'keys:manage', action: 'api-key.revoke', handler: revokeApiKey }),
  tenantRoute({ name: 'listRightsSets', method: 'GET', route: 'rights-sets', permission: 'rights:manage', action: 'rights-set.list', handler: listRightsSets }),
  tenantRoute({ name: 'putRightsSet', method: 'PUT', route: 'rights-sets/{name}', permission: 'rights:manage', action: 'rights-set.put', handler: putRightsSet }),
  tenantRoute({ name: 'deleteRightsSet', method: 'DELETE', route: 'rights-sets/{name}', permission: 'rights:manage', action: 'rights-set.delete', handler: deleteRightsSet }),
  tenantRoute({ name: 'listRightsAssignments', method: 'GET', route: 'rights-assignments', permission: 'rights:manage', action: 'rights-assignment.list', handler: listAssignments }),
  tenantRoute({ name: 'putRightsAssignment', method: 'PUT', route: 'rights-assignments/{subject}', permission: 'rights:manage', action: 'rights-assignment.put', handler: putAssignment }),
  tenantRoute({ name: 'deleteRightsAssignment', method: 'DELETE', route: 'rights-assignments/{subject}', permission: 'rights:manage', action: 'rights-assignment.delete', handler: deleteAssignment }),
  tenantRoute({ name: 'readSodPolicy', method: 'GET', route: 'sod-policy', permission: 'rights:manage', action: 'sod-policy.read', handler: readSodPolicy }),
  tenantRoute({ name: 'putSodPolicy', method: 'PUT', route: 'sod-policy', permission: 'rights:manage', action: 'sod-policy.put', handler: putSodPolicy }),
  tenantRoute({ name: 'createSupportGrant', method: 'POST', route: 'support-grants', permission: 'support:grant', action: 'support-grant.create', handler: createSupportGrant }),
  tenantRoute({ name: 'listSupportGrants', method: 'GET', route: 'support-grants', permission: 'support:grant', action: 'support-grant.list', handler: listSupportGrants }),
  tenantRoute({ name: 'revokeSupportGrant', method: 'DELETE', route: 'support-grants/{id}', permission: 'support:grant', action: 'support-grant.revoke', handler: revokeSupportGrant }),
];

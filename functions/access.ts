/** Who may do what: API keys, rights sets and their assignment, the SoD policy, support-access grants. */
import { z } from 'zod';
import { ZClientInstant } from '../shared/kernel/instant';
import { toPublicApiKey } from '../shared/auth/api-keys/api-key';
import { createApiKey, judgeKeyRightsSet } from '../shared/auth/api-keys/create-api-key';
import { listApiKeys, ZListApiKeysQuery } from '../shared/auth/api-keys/list-api-keys';
import { revokeApiKey } from '../shared/auth/api-keys/revoke-api-key';
import { assignRightsSet, rightsAssignmentPrecondition } from '../shared/auth/rights-sets/assign-rights-set';
import { deleteRightsSet } from '../shared/auth/rights-sets/delete-rights-set';
import { listRightsAssignmentsToReview } from '../shared/auth/rights-sets/list-rights-assignments';
import { listRightsSets } from '../shared/auth/rights-sets/list-rights-sets';
import { putRightsSet, rightsSetPrecondition } from '../shared/auth/rights-sets/put-rights-set';
import { actor, rightsAssignmentETag, rightsSetETag } from '../shared/auth/rights-sets/rights-records';
import { unassignRightsSet } from '../shared/auth/rights-sets/unassign-rights-set';
import { assertWithinCeiling, SOD_PROPOSAL_LIFETIME_DAYS } from '../shared/auth/sod';
import { proposalTarget, toPublicProposal, ZListSodPolicyProposalsQuery } from '../shared/auth/sod-policy-proposals';
import { createSupportGrant } from '../shared/auth/support-grants/create-support-grant';
import { listSupportGrants, ZListSupportGrantsQuery } from '../shared/auth/support-grants/list-support-grants';
import { revokeSupportGrant } from '../shared/auth/support-grants/revoke-support-grant';
import { SUPPORT_GRANT_MAX_MS, toPublicGrant } from '../shared/auth/support-grants/support-grant';
import { PERMISSIONS, SUPPORT_SCOPES } from '../shared/kernel/principal';
import { ArchiveError } from '../shared/kernel/errors';
import { shownText } from '../shared/kernel/text';
import { operation, reply } from '../shared/http/operation';
import { parseVersionIfMatch, versionETag } from '../shared/http/version-etag';
import { proposalSchema, ZApiKey, ZApiKeyCreated, ZApproveProposal, ZItems, ZPermission, ZProposalParams, ZRightsAssignment, ZRightsSet, ZRightsSetName, ZSodPolicyOut, ZSupportGrant, ZSupportScope } from '../shared/http/schemas';

const DAY = 24 * 3600 * 1000;
const instant = ZClientInstant;
const ZKeyParams = z.strictObject({ id: z.string().min(1).max(128) });
const ZSetParams = z.strictObject({ name: ZRightsSetName });
/** A person's subject as the identity provider names it, exactly (no normalising); never blank or with spaces around it, which no provider's subject has: `PUT rights-assignments/%20%20%20` assigned rights to the subject "   ". */
const ZSubjectParams = z.strictObject({ subject: z.string().min(1).max(256).regex(/^\S(?:.*\S)?$/s, 'must not be blank or begin or end with a space') });

const ZCreateKey = z.strictObject({
  /** Picked from a list by people: the strictest text (no direction marks, spaces read as one). */
  name: shownText('name', 100),
  rightsSet: ZRightsSetName,
  /** Default 90 days; at most API_KEY_MAX_DAYS. */
  expiresAt: instant.optional(),
});

const ZRightsSetBody = z.strictObject({ permissions: z.array(ZPermission).max(PERMISSIONS.length) });

const ZAssignment = z.strictObject({ rightsSet: ZRightsSetName });

const ZSodPolicy = z.strictObject({
  conflicts: z
    .array(z.tuple([ZPermission, ZPermission]).refine(([a, b]) => a !== b, 'a permission cannot conflict with itself'))
    .max(50),
  uploaderCannotApproveDisposal: z.boolean().default(true),
});

const ZGrant = z.strictObject({
  ticket: shownText('line', 100),
  scope: ZSupportScope.default('read-only'),
  expiresAt: instant,
});

const publicAssignment = (a: { subject: string; rightsSet: string; assignedAt: string; assignedBy: { subject: string; kind: string; person?: string }; version?: string; endedWithKey?: string }) => ({ subject: a.subject, rightsSet: a.rightsSet, assignedAt: a.assignedAt, assignedBy: a.assignedBy, version: rightsAssignmentETag(a), ...(a.endedWithKey ? { endedWithKey: a.endedWithKey } : {}) });

export const createApiKeyOp = operation({
  name: 'createApiKey', method: 'POST', route: 'api-keys', tags: ['access'], summary: "Create an API key (shown once); it acts for its creator's person and never beyond the creator's permissions",
  auth: 'tenant', permission: 'keys:manage', action: 'api-key.create',
  body: { json: ZCreateKey, example: { name: 'scanner-1', rightsSet: 'uploader' } },
  responses: { 201: { description: 'Created; the secret is in `key`, shown this once', json: ZApiKeyCreated, headers: ['Location'] } },
  errors: ['rights_set_not_found', 'tenant_limit_reached'],
  handler: async ({ body, principal, audit }, deps) => {
    const now = deps.clock.now();
    const expiresAt = body.expiresAt ? new Date(body.expiresAt) : new Date(now.getTime() + 90 * DAY);
    if (expiresAt.getTime() <= now.getTime() || expiresAt.getTime() > now.getTime() + deps.config.API_KEY_MAX_DAYS * DAY) {
      throw new ArchiveError('bad_request', { detail: `expiresAt must be in the future and at most ${deps.config.API_KEY_MAX_DAYS} days away.` });
    }
    const { key, record } = await createApiKey({
      tenantId: principal.tenantId,
      name: body.name,
      rightsSet: body.rightsSet,
      // A key minted by a key is capped at that key's expiry there (createApiKey).
      expiresAt,
      createdBy: actor(principal),
      // The key acts for its creator's person and never beyond the creator's permissions now.
      ceiling: [...principal.permissions],
      personPermissions: [...(principal.personPermissions ?? principal.permissions)],
      personAssigned: principal.personAssigned === true,
      now,
      audit: audit.staging(201),
      judgeRightsSet: () => judgeKeyRightsSet(principal, body.rightsSet, deps),
    }, deps);
    audit.target = `api-key:${record.keyId}`;
    // The only time the secret is shown.
    // Whether the key rests when its person stops signing in (authenticate.ts, personRightsNow).
    const personIdleDays = record.personAssigned || deps.config.AUTH_RIGHTS_SOURCE === 'tenant' ? null : deps.config.ARCHIVE_KEY_PERSON_IDLE_DAYS;
    return reply(201, { ...toPublicApiKey(record), key, personIdleDays }, { Location: `${deps.config.ARCHIVE_PUBLIC_BASE_PATH}/api-keys/${record.keyId}` });
  },
});

export const listApiKeysOp = operation({
  name: 'listApiKeys', method: 'GET', route: 'api-keys', tags: ['access'], summary: 'List API keys (never the secrets): those in use by default, or revoked, expired or all; newest first, paged',
  auth: 'tenant', permission: 'keys:manage', action: 'api-key.list',
  query: ZListApiKeysQuery,
  responses: { 200: { description: 'A page of keys', json: z.strictObject({ items: z.array(ZApiKey), continuationToken: z.string().nullable() }) } },
  errors: [],
  handler: async ({ query, principal }, deps) => {
    const page = await listApiKeys(principal.tenantId, query, deps.clock.now(), deps);
    return reply(200, { items: page.items.map(toPublicApiKey), continuationToken: page.continuationToken });
  },
});

export const revokeApiKeyOp = operation({
  name: 'revokeApiKey', method: 'DELETE', route: 'api-keys/{id}', tags: ['access'], summary: 'Revoke an API key; answers the revoked key',
  auth: 'tenant', permission: 'keys:manage', action: 'api-key.revoke',
  params: ZKeyParams, paramsError: 'api_key_not_found',
  target: (p) => `api-key:${p.id}`,
  responses: { 200: { description: 'Revoked; the key as it is now', json: ZApiKey } },
  errors: ['api_key_not_found'],
  handler: async ({ params, principal, audit }, deps) => {
    return reply(200, toPublicApiKey(await revokeApiKey(principal.tenantId, params.id, actor(principal), deps.clock.now(), deps, audit.staging(200))));
  },
});

export const listRightsSetsOp = operation({
  name: 'listRightsSets', method: 'GET', route: 'rights-sets', tags: ['access'], summary: 'Rights sets',
  auth: 'tenant', permission: 'rights:manage', action: 'rights-set.list',
  responses: { 200: { description: 'Rights sets', json: ZItems(ZRightsSet) } },
  errors: [],
  handler: async ({ principal }, deps) => {
    return reply(200, { items: await listRightsSets(principal.tenantId, deps) });
  },
});

export const putRightsSetOp = operation({
  name: 'putRightsSet', method: 'PUT', route: 'rights-sets/{name}', tags: ['access'], summary: 'Create or replace a rights set (added permissions only those the caller holds)',
  description: 'If-Match with the set\'s `version` as `GET /rights-sets` lists it writes only over that version, and If-None-Match: * only a new set: a set changed or deleted since (or, for a new one, a set of that name made meanwhile) is 412 `precondition_failed` naming who changed it and when, and nothing changes, so a save from an older screen never puts back what another person removed. Without either, the set is written over whatever is stored.',
  auth: 'tenant', permission: 'rights:manage', action: 'rights-set.put',
  params: ZSetParams, paramsError: 'rights_set_not_found',
  target: (p) => `rights-set:${p.name}`,
  body: { json: ZRightsSetBody, example: { permissions: ['documents:read', 'documents:download'] } },
  responses: { 200: { description: 'Saved', json: ZRightsSet } },
  errors: ['rights_set_reserved', 'tenant_limit_reached', 'precondition_failed'],
  handler: async ({ req, params, body, principal, audit }, deps) => {
    const precondition = rightsSetPrecondition(req.headers.get('if-match'), req.headers.get('if-none-match'));
    const record = await putRightsSet(principal, params.name, body.permissions, deps.clock.now(), deps, audit.staging(200), precondition);
    return reply(200, { name: record.name, builtIn: false, permissions: record.permissions, updatedAt: record.updatedAt, updatedBy: record.updatedBy, version: rightsSetETag(record) });
  },
});

export const deleteRightsSetOp = operation({
  name: 'deleteRightsSet', method: 'DELETE', route: 'rights-sets/{name}', tags: ['access'], summary: 'Delete a rights set',
  auth: 'tenant', permission: 'rights:manage', action: 'rights-set.delete',
  params: ZSetParams, paramsError: 'rights_set_not_found',
  target: (p) => `rights-set:${p.name}`,
  responses: { 204: { description: 'Deleted' } },
  errors: ['rights_set_not_found', 'rights_set_in_use', 'rights_set_reserved'],
  handler: async ({ params, principal, audit }, deps) => {
    await deleteRightsSet(principal, params.name, deps, audit.staging(204));
    return reply(204);
  },
});

export const listRightsAssignmentsOp = operation({
  name: 'listRightsAssignments', method: 'GET', route: 'rights-assignments', tags: ['access'], summary: 'Who holds which rights set',
  auth: 'tenant', permission: 'rights:manage', action: 'rights-assignment.list',
  responses: { 200: { description: 'Assignments', json: ZItems(ZRightsAssignment) } },
  errors: [],
  handler: async ({ principal }, deps) => {
    return reply(200, { items: (await listRightsAssignmentsToReview(principal.tenantId, deps.clock.now(), deps)).map(publicAssignment) });
  },
});

export const putRightsAssignmentOp = operation({
  name: 'putRightsAssignment', method: 'PUT', route: 'rights-assignments/{subject}', tags: ['access'], summary: "Assign a rights set to a subject (never oneself; only a set within the caller's permissions)",
  description: 'An assignment replaces the one the subject holds. If-None-Match: * assigns only a subject without one, and If-Match with the assignment\'s `version` as `GET /rights-assignments` lists it replaces only that assignment: otherwise 412 `precondition_failed` naming the set the subject holds now, who assigned it and when, and nothing changes (the web app always sends one, so nobody replaces an assignment unawares). Without either, the assignment is written over whatever is stored.',
  auth: 'tenant', permission: 'rights:manage', action: 'rights-assignment.put',
  params: ZSubjectParams, paramsError: 'rights_assignment_not_found',
  target: (p) => `subject:${p.subject}`,
  body: { json: ZAssignment, example: { rightsSet: 'auditor' } },
  responses: { 200: { description: 'Saved', json: ZRightsAssignment } },
  errors: ['rights_set_not_found', 'tenant_limit_reached', 'precondition_failed'],
  handler: async ({ req, params, body, principal, audit }, deps) => {
    const precondition = rightsAssignmentPrecondition(req.headers.get('if-match'), req.headers.get('if-none-match'));
    return reply(200, publicAssignment(await assignRightsSet(principal, params.subject, body.rightsSet, deps.clock.now(), deps, audit.staging(200), precondition)));
  },
});

export const deleteRightsAssignmentOp = operation({
  name: 'deleteRightsAssignment', method: 'DELETE', route: 'rights-assignments/{subject}', tags: ['access'], summary: "Remove a subject's assignment",
  auth: 'tenant', permission: 'rights:manage', action: 'rights-assignment.delete',
  params: ZSubjectParams, paramsError: 'rights_assignment_not_found',
  target: (p) => `subject:${p.subject}`,
  responses: { 204: { description: 'Deleted' } },
  errors: ['rights_assignment_not_found'],
  handler: async ({ params, principal, audit }, deps) => {
    await unassignRightsSet(principal, params.subject, deps.clock.now(), deps, audit.staging(204));
    return reply(204);
  },
});

/** The ETag of GET /sod-policy names the stored version; a PUT names it back in If-Match. */
const SOD_POLICY_TAG = 'sod-policy';

export const readSodPolicyOp = operation({
  name: 'readSodPolicy', method: 'GET', route: 'sod-policy', tags: ['access'], summary: 'Segregation-of-duties policy in force, with who stored it and when (absent for the default)',
  auth: 'tenant', permission: 'rights:manage', action: 'sod-policy.read',
  responses: { 200: { description: 'Policy; ETag names its version (for If-Match on a PUT)', json: ZSodPolicyOut, headers: ['ETag'] } },
  errors: [],
  handler: async ({ principal }, deps) => {
    const { policy, etag } = await deps.rights.describedPolicy(principal.tenantId);
    return reply(200, policy, { ETag: versionETag(SOD_POLICY_TAG, etag) });
  },
});

const ZSodPolicyBody = z.strictObject({ conflicts: z.array(z.tuple([ZPermission, ZPermission])), uploaderCannotApproveDisposal: z.boolean() });
const ZSodPolicyProposal = proposalSchema({
  policy: ZSodPolicyBody,
  base: ZSodPolicyBody.meta({ description: 'The policy in force when it was proposed; approval applies the proposal only over exactly this' }),
  weakens: z.array(z.string()).meta({ description: '`conflict-removed:<a>×<b>` for each pair it removes, `uploader-rule-off`' }),
});
const proposalParamsTarget = (p: { id: string }) => proposalTarget(p.id);

export const putSodPolicyOp = operation({
  name: 'putSodPolicy', method: 'PUT', route: 'sod-policy', tags: ['access'], summary: 'Set the segregation-of-duties policy: a stronger one applies at once, a weaker one only once a second person approves it',
  description: `A change that only adds pairs or turns the uploader rule on applies at once (200). One that removes a pair or turns the uploader rule off is stored as a pending proposal (202, Location of the proposal) and changes nothing until a different person with rights:manage approves it (\`POST /sod-policy/proposals/{id}/approve\`) within ${SOD_PROPOSAL_LIFETIME_DAYS} days. A policy that existing rights sets, assignments or API keys would break is refused (409 \`conflicting_rights_held\`, naming them), and nothing changes. If-Match is required: the ETag of \`GET /sod-policy\` as read (428 \`precondition_required\` without it); the policy changed since is 412 \`precondition_failed\` naming who changed it and when, and nothing changes, so a save from an older screen never undoes a change made meanwhile.`,
  auth: 'tenant', permission: 'rights:manage', action: 'sod-policy.put',
  target: () => 'sod-policy',
  body: { json: ZSodPolicy, example: { conflicts: [['documents:write', 'retention:approve']], uploaderCannotApproveDisposal: true } },
  responses: {
    200: { description: 'Applied; the policy as stored now, ETag names its new version', json: ZSodPolicyOut, headers: ['ETag'] },
    202: { description: 'A weakening: proposed, not applied (the policy keeps its version); a second person approves it', json: ZSodPolicyProposal, headers: ['Location'] },
  },
  errors: ['conflicting_rights_held', 'sod_policy_changed', 'precondition_failed', 'precondition_required'],
  handler: async ({ req, body, principal, audit }, deps) => {
    const expected = parseVersionIfMatch(SOD_POLICY_TAG, req.headers.get('if-match'), 'the SoD policy (GET /sod-policy)');
    const now = deps.clock.now();
    const outcome = await deps.sodPolicy.change(principal, body, now, { applied: audit.staging(200), proposed: audit.staging(202) }, { etag: expected });
    if ('applied' in outcome) {
      const { policy, etag } = await deps.rights.describedPolicy(principal.tenantId);
      return reply(200, policy, { ETag: versionETag(SOD_POLICY_TAG, etag) });
    }
    audit.target = proposalTarget(outcome.proposed.proposalId);
    audit.detail = outcome.replayed ? 'proposed;replayed' : 'proposed';
    return reply(202, toPublicProposal(outcome.proposed, now), { Location: `${deps.config.ARCHIVE_PUBLIC_BASE_PATH}/sod-policy/proposals/${outcome.proposed.proposalId}` });
  },
});

export const listSodPolicyProposalsOp = operation({
  name: 'listSodPolicyProposals', method: 'GET', route: 'sod-policy/proposals', tags: ['access'], summary: 'Proposed weakenings of the segregation-of-duties policy: the pending ones by default, or approved, withdrawn, rejected, expired, decided or all; newest first, paged',
  auth: 'tenant', permission: 'rights:manage', action: 'sod-policy.proposal-list',
  query: ZListSodPolicyProposalsQuery,
  responses: { 200: { description: 'A page of proposals', json: z.strictObject({ items: z.array(ZSodPolicyProposal), continuationToken: z.string().nullable() }) } },
  errors: [],
  handler: async ({ query, principal }, deps) => {
    const now = deps.clock.now();
    const page = await deps.sodPolicy.list(principal.tenantId, query, now);
    return reply(200, { items: page.items.map((p) => toPublicProposal(p, now)), continuationToken: page.continuationToken });
  },
});

export const readSodPolicyProposalOp = operation({
  name: 'readSodPolicyProposal', method: 'GET', route: 'sod-policy/proposals/{id}', tags: ['access'], summary: 'One proposed weakening of the SoD policy, in whatever state (where the 202 of `PUT /sod-policy` points); as the list answers it',
  auth: 'tenant', permission: 'rights:manage', action: 'sod-policy.proposal-read',
  params: ZProposalParams, paramsError: 'sod_policy_proposal_not_found',
  target: proposalParamsTarget,
  responses: { 200: { description: 'The proposal as it is now', json: ZSodPolicyProposal } },
  errors: ['sod_policy_proposal_not_found'],
  handler: async ({ params, principal }, deps) => {
    const now = deps.clock.now();
    return reply(200, toPublicProposal(await deps.sodPolicy.read(principal.tenantId, params.id, now), now));
  },
});

export const approveSodPolicyProposalOp = operation({
  name: 'approveSodPolicyProposal', method: 'POST', route: 'sod-policy/proposals/{id}/approve', tags: ['access'], summary: 'Approve a proposed weakening of the SoD policy (never its proposer, through any credential); it applies at once',
  auth: 'tenant', permission: 'rights:manage', action: 'sod-policy.proposal-approve',
  params: ZProposalParams, paramsError: 'sod_policy_proposal_not_found',
  target: proposalParamsTarget,
  body: { json: ZApproveProposal, example: { reason: 'Clerks upload and approve in our two-person office; agreed with the auditor' } },
  responses: { 200: { description: 'Approved and applied; the proposal as it is now', json: ZSodPolicyProposal } },
  errors: ['sod_policy_proposal_not_found', 'sod_policy_proposal_closed', 'sod_policy_changed', 'conflicting_rights_held', 'proposer_rights_ended', 'proposal_not_sealed'],
  handler: async ({ params, body, principal, audit }, deps) => {
    const now = deps.clock.now();
    return reply(200, toPublicProposal(await deps.sodPolicy.approve(principal, params.id, body.reason, now, audit.staging(200)), now));
  },
});

export const withdrawSodPolicyProposalOp = operation({
  name: 'withdrawSodPolicyProposal', method: 'DELETE', route: 'sod-policy/proposals/{id}', tags: ['access'], summary: 'Withdraw (the proposer) or reject (anyone else) a pending proposal; answers it as it is now',
  auth: 'tenant', permission: 'rights:manage', action: 'sod-policy.proposal-withdraw',
  params: ZProposalParams, paramsError: 'sod_policy_proposal_not_found',
  target: proposalParamsTarget,
  responses: { 200: { description: 'Withdrawn or rejected', json: ZSodPolicyProposal } },
  errors: ['sod_policy_proposal_not_found', 'sod_policy_proposal_closed'],
  handler: async ({ params, principal, audit }, deps) => {
    const now = deps.clock.now();
    return reply(200, toPublicProposal(await deps.sodPolicy.withdraw(principal, params.id, now, audit.staging(200)), now));
  },
});

export const createSupportGrantOp = operation({
  name: 'createSupportGrant', method: 'POST', route: 'support-grants', tags: ['access'], summary: "Grant provider support access (a scope within the caller's permissions; never bulk exports)",
  description: '`Idempotency-Key` makes a retry safe: the grant\'s id is derived from it and the accountable person, so a retry answers the grant already given, as it is now (`Idempotent-Replayed: true`), instead of giving a second; the same key with another ticket, scope or expiry is a 422.',
  auth: 'tenant', permission: 'support:grant', action: 'support-grant.create', idempotencyKey: true,
  body: { json: ZGrant, example: { ticket: 'SUP-4711', scope: 'read-only', expiresAt: '2030-01-01T00:00:00Z' } },
  responses: { 201: { description: 'Granted', json: ZSupportGrant, headers: ['Location', 'Idempotent-Replayed'] } },
  errors: ['idempotency_key_reused'],
  handler: async ({ body, idempotencyKey, principal, audit }, deps) => {
    // Provider staff act with the scope's permissions: only what the granting principal holds.
    assertWithinCeiling(principal, SUPPORT_SCOPES[body.scope], { scope: body.scope });
    const { grant, replayed } = await createSupportGrant({ tenantId: principal.tenantId, ticket: body.ticket, scope: body.scope, expiresAt: new Date(body.expiresAt), createdBy: actor(principal), now: deps.clock.now(), audit: audit.staging(201), idempotencyKey }, deps);
    audit.target = `support-grant:${grant.grantId}`;
    if (replayed) audit.detail = 'replayed';
    return reply(201, toPublicGrant(grant), { Location: `${deps.config.ARCHIVE_PUBLIC_BASE_PATH}/support-grants/${grant.grantId}`, ...(replayed ? { 'Idempotent-Replayed': 'true' } : {}) });
  },
});

export const listSupportGrantsOp = operation({
  name: 'listSupportGrants', method: 'GET', route: 'support-grants', tags: ['access'], summary: 'Support-access grants: those in force by default, or revoked, expired or all; newest first, paged',
  auth: 'tenant', permission: 'support:grant', action: 'support-grant.list',
  query: ZListSupportGrantsQuery,
  responses: { 200: { description: 'A page of grants, and the longest a grant may last', json: z.strictObject({ items: z.array(ZSupportGrant), continuationToken: z.string().nullable(), maxDurationSeconds: z.number() }) } },
  errors: [],
  handler: async ({ query, principal }, deps) => {
    const page = await listSupportGrants(principal.tenantId, query, deps.clock.now(), deps);
    return reply(200, { items: page.items.map(toPublicGrant), continuationToken: page.continuationToken, maxDurationSeconds: SUPPORT_GRANT_MAX_MS / 1000 });
  },
});

export const revokeSupportGrantOp = operation({
  name: 'revokeSupportGrant', method: 'DELETE', route: 'support-grants/{id}', tags: ['access'], summary: 'Revoke a support-access grant; answers the revoked grant',
  auth: 'tenant', permission: 'support:grant', action: 'support-grant.revoke',
  params: ZKeyParams, paramsError: 'support_grant_not_found',
  target: (p) => `support-grant:${p.id}`,
  responses: { 200: { description: 'Revoked; the grant as it is now', json: ZSupportGrant } },
  errors: ['support_grant_not_found'],
  handler: async ({ params, principal, audit }, deps) => {
    return reply(200, toPublicGrant(await revokeSupportGrant(principal.tenantId, params.id, actor(principal), deps.clock.now(), deps, audit.staging(200))));
  },
});

export const accessRoutes = [createApiKeyOp, listApiKeysOp, revokeApiKeyOp, listRightsSetsOp, putRightsSetOp, deleteRightsSetOp, listRightsAssignmentsOp, putRightsAssignmentOp, deleteRightsAssignmentOp, readSodPolicyOp, putSodPolicyOp, listSodPolicyProposalsOp, approveSodPolicyProposalOp, withdrawSodPolicyProposalOp, readSodPolicyProposalOp, createSupportGrantOp, listSupportGrantsOp, revokeSupportGrantOp];

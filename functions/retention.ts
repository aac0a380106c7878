import { z } from 'zod';
import { ZClientInstant } from '../shared/kernel/instant';
import { numberInUrl } from '../shared/kernel/url-number';
import { shownText } from '../shared/kernel/text';
import { pageToken, ZContinuationToken } from '../shared/kernel/page-token';
import { changedDocumentAnswer } from '../shared/kernel/document';
import { operation, reply } from '../shared/http/operation';
import { parseVersionIfMatch, versionETag } from '../shared/http/version-etag';
import { proposalSchema, ZApproval, ZApproveProposal, ZDocument, ZDocumentChangeReceipt, ZDuePage, ZId, ZProposalParams, ZRetentionPolicyOut } from '../shared/http/schemas';
import { ZListProposalsQuery } from '../shared/auth/proposals';
import { SOD_PROPOSAL_LIFETIME_DAYS } from '../shared/auth/sod';
import { approveRetentionPolicyProposal, listRetentionPolicyProposals, readRetentionPolicyProposal, retentionProposalTarget, toPublicRetentionProposal, withdrawRetentionPolicyProposal } from '../shared/retention/policy-proposals';
import { approvalTarget, approveDisposal } from '../shared/retention/approve-disposal';
import { extendRetention } from '../shared/retention/extend-retention';
import { getRetentionPolicy } from '../shared/retention/get-retention-policy';
import { listDueDocuments } from '../shared/retention/list-due-documents';
import { setRetentionPolicy } from '../shared/retention/set-retention-policy';
import { ZTenantRetentionPolicy } from '../shared/kernel/retention';

const instant = ZClientInstant.or(z.iso.date().transform((d) => `${d}T00:00:00Z`));
const reason = shownText('prose', 500);
const ZExtend = z.strictObject({ retainUntil: instant, reason });
const ZDueQuery = z.strictObject({
  before: instant.optional(),
  limit: numberInUrl((n) => n.int().min(1).max(500).default(100)),
  continuationToken: ZContinuationToken.optional(),
});
const ZApprove = z.strictObject({ before: instant, reason, documentIds: z.array(z.string().min(1).max(64)).min(1).max(500).optional() });

/** What GET /retention/policy answers can be sent back: its read-only members are ignored. */
const ZPolicyBody = z.preprocess((raw) => {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, ...policy } = raw as Record<string, unknown>;
  return policy;
}, ZTenantRetentionPolicy);

const POLICY_ERRORS = ['invalid_retention_policy', 'retention_below_legal_floor'] as const;
/** The ETag of GET /retention/policy names the stored version; a PUT names it back in If-Match. */
const POLICY_TAG = 'retention-policy';

export const readPolicy = operation({
  name: 'getRetentionPolicy', method: 'GET', route: 'retention/policy', tags: ['retention'], summary: 'The tenant\'s retention policy',
  auth: 'tenant', permission: 'documents:read', action: 'retention.policy-read',
  responses: { 200: { description: 'The policy, with the legal floor and the effective classes; ETag names its version (for If-Match on a PUT)', json: ZRetentionPolicyOut, headers: ['ETag'] } },
  errors: [],
  handler: async ({ principal }, deps) => {
    const { policy, etag } = await getRetentionPolicy(principal.tenantId, deps);
    return reply(200, policy, { ETag: versionETag(POLICY_TAG, etag) });
  },
});

const ZRetentionProposal = proposalSchema({
  policy: ZTenantRetentionPolicy,
  base: ZTenantRetentionPolicy.meta({ description: 'The policy stored when it was proposed; approval applies the proposal only over exactly that version' }),
  lowers: z.array(z.string()).meta({ description: '`disposal-approval-off`, `class-shortened:<name>`, `default-class-shorter`, `fiscal-year-end-earlier`, `fiscal-year-end-later`' }),
});
const retentionProposalParamsTarget = (p: { id: string }) => retentionProposalTarget(p.id);

export const putPolicy = operation({
  name: 'putRetentionPolicy', method: 'PUT', route: 'retention/policy', tags: ['retention'],
  summary: 'Set the tenant\'s retention policy (never below the legal floor): a change that lowers a safeguard below the strongest that has applied is only proposed, and applies once a second person approves it',
  auth: 'tenant', permission: 'retention:manage', action: 'retention.policy-set',
  target: () => 'retention-policy',
  description: `A change that lowers no safeguard applies at once (200). One that lowers a safeguard below the strongest that has applied (turns required disposal approval off, shortens a class, defaults to a shorter class, moves the fiscal-year end) is stored as a pending proposal (202, Location of the proposal) and changes nothing until a second person with retention:manage, and without retention:approve, approves it (\`POST /retention/policy/proposals/{id}/approve\`) within ${SOD_PROPOSAL_LIFETIME_DAYS} days. A person holding retention:approve through any credential cannot propose it (403 \`segregation_of_duties\`, rule \`approver-lowers-safeguards\`). If-Match is required: the ETag of GET /retention/policy as read (428 \`precondition_required\` without it). The policy changed since is 412 \`precondition_failed\` naming who changed it and when, and nothing is stored: a save from an older screen never overwrites a change made meanwhile.`,
  body: { json: ZPolicyBody },
  responses: {
    200: { description: 'Set; ETag names the new version', json: ZRetentionPolicyOut, headers: ['ETag'] },
    202: { description: 'A lowering: proposed, not applied (the policy keeps its version); a second person approves it', json: ZRetentionProposal, headers: ['Location'] },
  },
  errors: [...POLICY_ERRORS, 'precondition_failed', 'precondition_required'],
  handler: async ({ req, body, principal, audit }, deps) => {
    const expected = parseVersionIfMatch(POLICY_TAG, req.headers.get('if-match'), 'the retention policy (GET /retention/policy)');
    const outcome = await setRetentionPolicy(principal, body, deps, { applied: audit.staging(200), proposed: audit.staging(202, 'retention.policy-propose') }, { etag: expected });
    if ('applied' in outcome) return reply(200, outcome.applied.policy, { ETag: versionETag(POLICY_TAG, outcome.applied.etag) });
    const id = outcome.proposed.proposalId;
    if (outcome.replayed) Object.assign(audit, { target: retentionProposalTarget(id), action: 'retention.policy-propose' as const, detail: 'replayed' });
    return reply(202, toPublicRetentionProposal(outcome.proposed, deps.clock.now()), { Location: `${deps.config.ARCHIVE_PUBLIC_BASE_PATH}/retention/policy/proposals/${id}` });
  },
});

export const listPolicyProposals = operation({
  name: 'listRetentionPolicyProposals', method: 'GET', route: 'retention/policy/proposals', tags: ['retention'], summary: 'Proposed lowerings of the retention safeguards: the pending ones by default, or approved, withdrawn, rejected, expired, decided or all; newest first, paged',
  auth: 'tenant', permission: 'retention:manage', action: 'retention.policy-proposal-list',
  query: ZListProposalsQuery,
  responses: { 200: { description: 'A page of proposals', json: z.strictObject({ items: z.array(ZRetentionProposal), continuationToken: z.string().nullable() }) } },
  errors: [],
  handler: async ({ query, principal }, deps) => {
    const page = await listRetentionPolicyProposals(principal.tenantId, query, deps);
    const now = deps.clock.now();
    return reply(200, { items: page.items.map((p) => toPublicRetentionProposal(p, now)), continuationToken: page.continuationToken });
  },
});

export const readPolicyProposal = operation({
  name: 'readRetentionPolicyProposal', method: 'GET', route: 'retention/policy/proposals/{id}', tags: ['retention'], summary: 'One proposed lowering of the retention safeguards, in whatever state (where the 202 of `PUT /retention/policy` points); as the list answers it',
  auth: 'tenant', permission: 'retention:manage', action: 'retention.policy-proposal-read',
  params: ZProposalParams, paramsError: 'retention_policy_proposal_not_found',
  target: retentionProposalParamsTarget,
  responses: { 200: { description: 'The proposal as it is now', json: ZRetentionProposal } },
  errors: ['retention_policy_proposal_not_found'],
  handler: async ({ params, principal }, deps) => reply(200, toPublicRetentionProposal(await readRetentionPolicyProposal(principal.tenantId, params.id, deps), deps.clock.now())),
});

export const approvePolicyProposal = operation({
  name: 'approveRetentionPolicyProposal', method: 'POST', route: 'retention/policy/proposals/{id}/approve', tags: ['retention'],
  summary: 'Approve a proposed lowering of the retention safeguards (a second person: never its proposer nor someone they or a disposal approver gave rights to since, through any credential; never a holder of retention:approve); it applies at once',
  auth: 'tenant', permission: 'retention:manage', action: 'retention.policy-proposal-approve',
  params: ZProposalParams, paramsError: 'retention_policy_proposal_not_found',
  target: retentionProposalParamsTarget,
  body: { json: ZApproveProposal, example: { reason: 'Approval is done by the external accountant now; agreed with the auditor' } },
  responses: { 200: { description: 'Approved and applied; the proposal as it is now', json: ZRetentionProposal } },
  errors: ['retention_policy_proposal_not_found', 'retention_policy_proposal_closed', 'retention_policy_changed', 'proposer_rights_ended', 'proposal_not_sealed', ...POLICY_ERRORS],
  handler: async ({ params, body, principal, audit }, deps) => reply(200, toPublicRetentionProposal(await approveRetentionPolicyProposal(principal, params.id, body.reason, deps, audit.staging(200)), deps.clock.now())),
});

export const withdrawPolicyProposal = operation({
  name: 'withdrawRetentionPolicyProposal', method: 'DELETE', route: 'retention/policy/proposals/{id}', tags: ['retention'], summary: 'Withdraw (the proposer) or reject (anyone else) a pending proposal; answers it as it is now',
  auth: 'tenant', permission: 'retention:manage', action: 'retention.policy-proposal-withdraw',
  params: ZProposalParams, paramsError: 'retention_policy_proposal_not_found',
  target: retentionProposalParamsTarget,
  responses: { 200: { description: 'Withdrawn or rejected', json: ZRetentionProposal } },
  errors: ['retention_policy_proposal_not_found', 'retention_policy_proposal_closed'],
  handler: async ({ params, principal, audit }, deps) => reply(200, toPublicRetentionProposal(await withdrawRetentionPolicyProposal(principal, params.id, deps, audit.staging(200)), deps.clock.now())),
});

export const extend = operation({
  name: 'extendRetention', method: 'POST', route: 'documents/{id}/retention', tags: ['retention'], summary: 'Extend a document\'s retention (never shorten)',
  auth: 'tenant', permission: 'retention:extend', action: 'retention.extend',
  params: z.strictObject({ id: ZId }), paramsError: 'document_not_found',
  body: { json: ZExtend, example: { retainUntil: '2040-12-31', reason: 'Pending litigation' } },
  responses: { 200: { description: 'Extended; the document as it is now (to a principal without documents:read, only its id, status, metadata version and retention)', json: ZDocument.or(ZDocumentChangeReceipt) } },
  errors: ['document_not_found', 'document_disposed', 'retention_shortening_refused', 'document_record_full', 'worm_unavailable'],
  handler: async ({ params, body, principal, audit }, deps) => reply(200, changedDocumentAnswer(principal, await extendRetention({ principal, documentId: params.id, ...body, audit: audit.staging(200) }, deps))),
});

export const due = operation({
  name: 'listRetentionDue', method: 'GET', route: 'retention/due', tags: ['retention'], summary: 'Documents whose retention has ended',
  auth: 'tenant', permission: 'retention:approve', action: 'retention.due-list',
  query: ZDueQuery,
  responses: { 200: { description: 'A page', json: ZDuePage } },
  errors: [],
  handler: async ({ query, principal }, deps) => {
    const before = query.before ?? deps.clock.now().toISOString();
    // `before` as asked (absent: now, on every page).
    const scope = { list: 'retention-due', tenantId: principal.tenantId, before: query.before };
    const page = await listDueDocuments(principal.tenantId, { before, limit: query.limit, continuationToken: pageToken.decode(query.continuationToken, scope) }, deps);
    return reply(200, { before: new Date(before).toISOString(), requireDisposalApproval: page.requireDisposalApproval, items: page.items, continuationToken: pageToken.encode(page.continuationToken, scope) });
  },
});

/** An approval is a new record (its id goes into each document's disposalApproval): 201 Created. */
export const approve = operation({
  name: 'approveDisposal', method: 'POST', route: 'retention/approvals', tags: ['retention'], summary: 'Approve disposal of documents due',
  description: '`Idempotency-Key` makes a retry safe: the approval\'s id is derived from it and the accountable person, so a retry answers the first result (`Idempotent-Replayed: true`), the documents it approved then, and approves nothing again (a bulk approval too: what fell due since waits for a new approval); the same key with another `before`, reason or documents is a 422.',
  auth: 'tenant', permission: 'retention:approve', action: 'retention.approve', idempotencyKey: true,
  body: { json: ZApprove, example: { before: '2025-01-01', reason: 'Annual review' } },
  responses: { 201: { description: 'Approved: the new approval, the documents it covers and those skipped', json: ZApproval, headers: ['Idempotent-Replayed'] } },
  errors: ['document_not_found', 'idempotency_key_reused'],
  handler: async ({ body, idempotencyKey, principal, audit }, deps) => {
    const { replayed, ...result } = await approveDisposal({ principal, ...body, audit: audit.staging(201), idempotencyKey }, deps);
    audit.target = approvalTarget(result.approvalId);
    if (replayed) audit.detail = 'replayed';
    return reply(201, result, replayed ? { 'Idempotent-Replayed': 'true' } : undefined);
  },
});

export const retentionRoutes = [readPolicy, putPolicy, listPolicyProposals, approvePolicyProposal, withdrawPolicyProposal, readPolicyProposal, extend, due, approve];

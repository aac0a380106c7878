import type { Deps } from '../deps';
import { assertMayApproveDisposal, assertMayLowerSafeguards, samePerson } from '../auth/sod';
import { type Permission, type Principal, personOf } from '../kernel/principal';
import type { ArchivedDocument } from '../kernel/document';
import { ArchiveError } from '../kernel/errors';
import { uuidv7 } from '../ids';
import type { Page } from '../ports';
import { disposalBlocker } from '../kernel/retention-rules';
import { checkTenantPolicy, classesOf, DEFAULT_POLICY, LEGAL_FLOOR_YEARS, loweredSafeguards, nextSafeguards, safeguardsOf } from './policy';
import type { DisposalApproval, RetentionExtension, TTenantRetentionPolicy } from '../kernel/retention';
import { actorOf, blobNamesOf, updateDocument } from './update';

/** The tenant's policy, or the built-in default. */
export async function tenantPolicy(tenantId: string, deps: Pick<Deps, 'retention'>): Promise<TTenantRetentionPolicy> {
  const stored = await deps.retention.policies.get(tenantId);
  if (!stored) return DEFAULT_POLICY;
  const { updatedAt: _a, updatedBy: _b, safeguards: _s, ...policy } = stored;
  return policy;
}

export async function describePolicy(tenantId: string, deps: Pick<Deps, 'retention'>) {
  const stored = await deps.retention.policies.get(tenantId);
  const policy = await tenantPolicy(tenantId, deps);
  return {
    ...policy,
    legalFloorYears: LEGAL_FLOOR_YEARS,
    effectiveClasses: [...classesOf(policy)].map(([name, years]) => ({ name, years })),
    ...(stored?.updatedAt ? { updatedAt: stored.updatedAt, updatedBy: stored.updatedBy } : {}),
  };
}

/**
 * `PUT /retention/policy` (retention:manage). A change that lowers a safeguard below the strongest
 * that has applied is refused to a person who also holds retention:approve (segregation of duties,
 * `approver-lowers-safeguards`).
 */
export async function setPolicy(principal: Principal, policy: TTenantRetentionPolicy, deps: Pick<Deps, 'retention' | 'clock' | 'apiKeys' | 'rights'>) {
  checkTenantPolicy(policy);
  const stored = await deps.retention.policies.get(principal.tenantId);
  const mark = stored?.safeguards ?? safeguardsOf(await tenantPolicy(principal.tenantId, deps));
  const lowered = loweredSafeguards(mark, policy);
  // The person's API keys are theirs too: one they still hold with retention:approve counts.
  const viaKeys = lowered.length > 0 ? await deps.apiKeys.heldByPerson(principal.tenantId, personOf(principal), deps.clock.now(), (t, s) => deps.rights.permissionsOf(t, s)) : new Set<Permission>();
  assertMayLowerSafeguards(principal, lowered, viaKeys);
  await deps.retention.policies.put(principal.tenantId, policy, deps.clock.now().toISOString(), actorOf(principal), nextSafeguards(mark, policy, lowered));
  return describePolicy(principal.tenantId, deps);
}

/**
 * Moves retain-until later, on every blob (Set Immutability Policy) and then in the
 * catalog. Never shorter: 422. The same date again is a no-op.
 */
export async function extendRetention(cmd: { principal: Principal; documentId: string; retainUntil: string; reason: string }, deps: Pick<Deps, 'retention' | 'blobs' | 'clock'>): Promise<ArchivedDocument> {
  const tenantId = cmd.principal.tenantId;
  const to = new Date(cmd.retainUntil).toISOString();
  return updateDocument(tenantId, cmd.documentId, deps, (doc) => {
    const from = doc.retention.retainUntil;
    if (to < from) {
      throw new ArchiveError('retention_shortening_refused', { detail: `Retention of ${doc.id} runs until ${from}; it can be extended, never shortened.`, extensions: { retainUntil: from } });
    }
    if (to === from) return { next: null, result: doc };
    const extension: RetentionExtension = { from, to, at: deps.clock.now().toISOString(), by: actorOf(cmd.principal), reason: cmd.reason };
    const next: ArchivedDocument = { ...doc, retention: { ...doc.retention, retainUntil: to, extensions: [...(doc.retention.extensions ?? []), extension] } };
    return {
      next,
      result: next,
      before: async () => {
        for (const name of blobNamesOf(doc)) await deps.blobs.extendRetention(tenantId, name, to);
      },
    };
  });
}

export interface DueItem {
  id: string;
  retention: ArchivedDocument['retention'];
  fiscalYear: number;
  kind: string | null;
  legalHold: boolean;
  approved: boolean;
  /** What keeps it from the next sweep, or null if the sweep would dispose of it now. */
  blockedBy: string | null;
}

/** Disposal review: documents whose retention ends by `before`, with what the sweep would do. */
export async function listDue(tenantId: string, q: { before: string; limit: number; continuationToken?: string }, deps: Pick<Deps, 'retention' | 'clock'>): Promise<Page<DueItem> & { requireDisposalApproval: boolean }> {
  const policy = await tenantPolicy(tenantId, deps);
  const page = await deps.retention.catalog.due(tenantId, new Date(q.before).toISOString(), q.limit, q.continuationToken);
  const at = new Date(Math.max(new Date(q.before).getTime(), deps.clock.now().getTime()));
  return {
    requireDisposalApproval: policy.requireDisposalApproval,
    continuationToken: page.continuationToken,
    items: page.items.map((d) => ({
      id: d.id,
      retention: d.retention,
      fiscalYear: d.fiscalYear,
      kind: d.metadata.kind ?? null,
      legalHold: d.legalHold,
      approved: d.disposalApproval?.retainUntil === d.retention.retainUntil,
      blockedBy: disposalBlocker(d, at, policy.requireDisposalApproval),
    })),
  };
}

export const MAX_APPROVALS_PER_REQUEST = 500;

/**
 * Approves the disposal of documents due by `before` (all of them, or the listed ones),
 * pinned to their current retain-until: an extension afterwards voids the approval.
 * Held documents are skipped. At most MAX_APPROVALS_PER_REQUEST per call (`more` says so).
 */
export async function approveDisposal(cmd: { principal: Principal; before: string; reason: string; documentIds?: string[] }, deps: Pick<Deps, 'retention' | 'clock' | 'rights' | 'catalog'>): Promise<{ approvalId: string; approved: string[]; skipped: { id: string; reason: string }[]; more: boolean }> {
  const tenantId = cmd.principal.tenantId;
  // Segregation of duties (issue #5): the uploader of a document cannot approve its disposal. Named
  // documents are checked before anything is written (403 naming the rule); a bulk approval skips them.
  const sod = await deps.rights.policy(tenantId);
  for (const id of cmd.documentIds ?? []) {
    const named = await deps.catalog.get(tenantId, id);
    if (named) assertMayApproveDisposal(cmd.principal, named.createdBy, sod);
  }
  const approvalId = uuidv7(deps.clock.now().getTime());
  const before = new Date(cmd.before).toISOString();
  const wanted = cmd.documentIds ? new Set(cmd.documentIds) : null;
  const approved: string[] = [];
  const skipped: { id: string; reason: string }[] = [];
  let token: string | undefined;
  let more = false;
  outer: do {
    const page = await deps.retention.catalog.due(tenantId, before, 100, token);
    for (const doc of page.items) {
      if (wanted && !wanted.has(doc.id)) continue;
      if (doc.disposalApproval?.retainUntil === doc.retention.retainUntil) continue;
      if (approved.length >= MAX_APPROVALS_PER_REQUEST) {
        more = true;
        break outer;
      }
      if (doc.legalHold) {
        skipped.push({ id: doc.id, reason: 'legal-hold' });
        continue;
      }
      if (sod.uploaderCannotApproveDisposal && samePerson(cmd.principal, doc.createdBy)) {
        skipped.push({ id: doc.id, reason: 'segregation-of-duties:uploader-approves-disposal' });
        continue;
      }
      const approval: DisposalApproval = { approvalId, approvedAt: deps.clock.now().toISOString(), approvedBy: actorOf(cmd.principal), reason: cmd.reason, retainUntil: doc.retention.retainUntil };
      const ok = await updateDocument(tenantId, doc.id, deps, (d) =>
        d.legalHold || d.retention.retainUntil > before ? { next: null, result: false } : { next: { ...d, disposalApproval: { ...approval, retainUntil: d.retention.retainUntil } }, result: true },
      ).catch((err: unknown) => {
        if (err instanceof ArchiveError && err.code === 'document_disposed') return false;
        throw err;
      });
      if (ok) approved.push(doc.id);
      else skipped.push({ id: doc.id, reason: 'changed' });
    }
    token = page.continuationToken ?? undefined;
  } while (token);
  for (const id of wanted ?? []) if (!approved.includes(id) && !skipped.some((s) => s.id === id)) skipped.push({ id, reason: 'not-due' });
  return { approvalId, approved, skipped, more };
}

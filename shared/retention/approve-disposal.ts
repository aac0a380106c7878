import type { Deps } from '../deps';
import { assertMayApproveDisposal, madeSecondBy, samePerson } from '../auth/sod';
import { rightsGivenTo } from '../auth/rights-sets/rights-given';
import type { Principal } from '../kernel/principal';
import { ArchiveError } from '../kernel/errors';
import { uuidv7 } from '../ids';
import type { DisposalApproval } from '../kernel/retention';
import type { ArchivedDocument } from '../kernel/document';
import { actorOf, updateDocument } from './update';
import type { AuditStaging } from '../kernel/audit';
import { stagedWithFirstChange } from '../audit/outbox';
import { APPROVAL_LEAD_DAYS, approvedForDisposal, latestApprovable } from '../kernel/retention-rules';

export const MAX_APPROVALS_PER_REQUEST = 500;

/** What an approval's audit entry names. */
export const approvalTarget = (approvalId: string) => `approval:${approvalId}`;

/**
 * Approves the disposal of documents due by `before` (all of them, or the listed ones),
 * pinned to their current retain-until: an extension afterwards voids the approval.
 * `before` may lie at most APPROVAL_LEAD_DAYS ahead. Held documents are skipped. At most MAX_APPROVALS_PER_REQUEST per call (`more` says so).
 */
export async function approveDisposal(cmd: { principal: Principal; before: string; reason: string; documentIds?: string[]; audit?: AuditStaging }, deps: Pick<Deps, 'retention' | 'clock' | 'rights' | 'catalog' | 'tenantRecords'>): Promise<{ approvalId: string; approved: string[]; skipped: { id: string; reason: string }[]; more: boolean }> {
  const tenantId = cmd.principal.tenantId;
  const before = new Date(cmd.before).toISOString();
  const latest = latestApprovable(deps.clock.now());
  if (before > latest.toISOString()) {
    const message = `is ${before}; an approval covers documents falling due within ${APPROVAL_LEAD_DAYS} days, by ${latest.toISOString()} at the latest`;
    throw new ArchiveError('bad_request', { detail: `before ${message}. Approve later ones when they come closer.`, extensions: { errors: [{ path: 'before', message }] } });
  }
  // Segregation of duties (issue #5): the uploader of a document cannot approve its disposal. Named
  // documents are checked before anything is written (403 naming the rule); a bulk approval skips them.
  // Nor someone the uploader gave rights to after the upload (a second identity of theirs), as four eyes ask.
  const sod = await deps.rights.policy(tenantId, { fresh: true });
  const named: ArchivedDocument[] = [];
  for (const id of cmd.documentIds ?? []) {
    const doc = await deps.catalog.get(tenantId, id);
    if (doc) named.push(doc);
  }
  // Named documents are the only ones approved: givings before the earliest of their uploads cannot make the approver
  // an uploader's second identity, so the chain of givers is followed from there (rights-given.ts `since`). A bulk
  // approval does not know its documents in advance and follows it whole.
  const since = cmd.documentIds ? named.map((d) => d.createdAt).reduce((a, b) => (b < a ? b : a), '\uffff') : undefined;
  const given = sod.uploaderCannotApproveDisposal ? await rightsGivenTo(cmd.principal, deps, since) : [];
  const madeSecond = (doc: { createdBy: { subject: string; person?: string }; createdAt: string }) => madeSecondBy(given, doc.createdBy, doc.createdAt);
  for (const doc of named) assertMayApproveDisposal(cmd.principal, doc.createdBy, sod, madeSecond(doc));
  const approvalId = uuidv7(deps.clock.now().getTime());
  const entry = stagedWithFirstChange(cmd.audit, approvalTarget(approvalId));
  const wanted = cmd.documentIds ? new Set(cmd.documentIds) : null;
  const approved: string[] = [];
  const skipped: { id: string; reason: string }[] = [];
  let token: string | undefined;
  let more = false;
  outer: do {
    const page = await deps.retention.catalog.due(tenantId, before, 100, token);
    for (const doc of page.items) {
      if (wanted && !wanted.has(doc.id)) continue;
      if (approvedForDisposal(doc)) continue;
      if (approved.length >= MAX_APPROVALS_PER_REQUEST) {
        more = true;
        break outer;
      }
      if (doc.legalHold) {
        skipped.push({ id: doc.id, reason: 'legal-hold' });
        continue;
      }
      if (sod.uploaderCannotApproveDisposal && (samePerson(cmd.principal, doc.createdBy) || madeSecond(doc))) {
        skipped.push({ id: doc.id, reason: 'segregation-of-duties:uploader-approves-disposal' });
        continue;
      }
      const approval: DisposalApproval = { approvalId, approvedAt: deps.clock.now().toISOString(), approvedBy: actorOf(cmd.principal), reason: cmd.reason, retainUntil: doc.retention.retainUntil };
      // Decided again on the item as stored: an approval another request wrote since the page was read stays
      // (as one seen on the page does), instead of being overwritten while both requests report the document approved.
      const outcome = await updateDocument<'approved' | 'already' | 'changed'>(tenantId, doc.id, deps, (d) => {
        if (approvedForDisposal(d)) return { next: null, result: 'already' };
        if (d.legalHold || d.retention.retainUntil > before) return { next: null, result: 'changed' };
        return { next: { ...d, disposalApproval: { ...approval, retainUntil: d.retention.retainUntil } }, result: 'approved' };
      }, entry.staging).catch((err: unknown) => {
        if (err instanceof ArchiveError && err.code === 'document_disposed') return 'changed' as const;
        throw err;
      });
      if (outcome === 'approved') approved.push(doc.id);
      else if (outcome === 'changed') skipped.push({ id: doc.id, reason: 'changed' });
    }
    token = page.continuationToken ?? undefined;
  } while (token);
  for (const id of wanted ?? []) if (!approved.includes(id) && !skipped.some((s) => s.id === id)) skipped.push({ id, reason: 'not-due' });
  return { approvalId, approved, skipped, more };
}

import type { Deps } from '../deps';
import { listPersonKeyPermissions } from '../auth/api-keys/list-person-key-permissions';
import { assertMayLowerSafeguards } from '../auth/sod';
import { type Permission, type Principal, personOf } from '../kernel/principal';
import type { TTenantRetentionPolicy } from '../kernel/retention';
import { checkTenantPolicy, classesOf, loweredSafeguards, nextSafeguards, safeguardsOf } from './policy';
import { getRetentionPolicy } from './get-retention-policy';
import { policyOf } from './tenant-policy';
import { CHANGED, withFreshReads } from '../kernel/concurrency';
import { actorOf } from './update';
import type { AuditStaging } from '../kernel/audit';
import { writeWithAuditEntry } from '../audit/outbox';
import { ArchiveError } from '../kernel/errors';
import type { StoredRetentionPolicy } from '../ports';

/**
 * `PUT /retention/policy` (retention:manage). A change that lowers a safeguard below the strongest
 * that has applied is refused to a person who also holds retention:approve (segregation of duties,
 * `approver-lowers-safeguards`). Decided on the stored policy and written only over that version:
 * a decision on an older one (a stale cached read on another instance, a change in between) is
 * taken again on the newer policy, so a just-raised safeguard and its mark are never overwritten
 * by a lowering that the newer policy would refuse.
 *
 * `expected`: the version the person's change was made on (If-Match; etag null: none stored). Any other version
 * stored now is 412 `precondition_failed` naming who stored it and when, and nothing is written: a save from a
 * stale screen never silently replaces a change made since. The stored version is then the one written over, so
 * the check and the write are one conditional write; a change in between makes the write find another version,
 * and the next round refuses on a fresh read.
 */
export async function setRetentionPolicy(principal: Principal, policy: TTenantRetentionPolicy, deps: Pick<Deps, 'retention' | 'clock' | 'tenantRecords'>, audit?: AuditStaging, expected?: { etag: string | null }) {
  checkTenantPolicy(policy);
  return withFreshReads('The retention policy', async () => {
    const { policy: stored, etag } = await deps.retention.policies.getVersioned(principal.tenantId, { fresh: expected !== undefined });
    if (expected && etag !== expected.etag) throw policyChanged(stored);
    const mark = stored?.safeguards ?? safeguardsOf(policyOf(stored));
    const lowered = loweredSafeguards(mark, policy);
    // The person's API keys are theirs too: one they still hold with retention:approve counts.
    const viaKeys = lowered.length > 0 ? await listPersonKeyPermissions(principal.tenantId, personOf(principal), deps.clock.now(), deps) : new Set<Permission>();
    assertMayLowerSafeguards(principal, lowered, viaKeys);
    const at = deps.clock.now().toISOString();
    const written = await writeWithAuditEntry(audit, { detail: policyAuditDetail(policy, lowered) }, (outbox) => deps.retention.policies.put(principal.tenantId, policy, at, actorOf(principal), nextSafeguards(mark, policy, lowered), outbox, { etag }), (r) => r === 'written');
    return written === 'written' ? getRetentionPolicy(principal.tenantId, deps) : CHANGED;
  });
}

/** 412: the policy stored now is not the version the change was made on. */
function policyChanged(stored: StoredRetentionPolicy | null): ArchiveError {
  const by = stored?.updatedBy ? ` by ${stored.updatedBy.subject}` : '';
  const at = stored?.updatedAt ? ` at ${stored.updatedAt}` : '';
  return new ArchiveError('precondition_failed', {
    detail: `The retention policy was changed${by}${at}, after the version this change was made on; nothing was stored. Read it again (GET /retention/policy) and make the change on it.`,
    extensions: { ...(stored?.updatedAt ? { updatedAt: stored.updatedAt } : {}), ...(stored?.updatedBy ? { updatedBy: stored.updatedBy.subject } : {}) },
  });
}

/**
 * What the policy set now is, and what it lowered, in its audit entry: the stored policy keeps no
 * history, so without this the log could not show that disposal approval was off, or a class
 * shorter, for a while (and which disposals that let through).
 */
export function policyAuditDetail(policy: TTenantRetentionPolicy, lowered: string[]): string {
  const classes = [...classesOf(policy)].map(([name, years]) => `${name}:${years}`).join(',');
  return `approval=${policy.requireDisposalApproval ? 'required' : 'off'};fiscal-year-end=${policy.fiscalYearEndMonth};default=${policy.defaultClass};classes=${classes};lowered=${lowered.join(',') || 'none'}`;
}

import type { Deps } from '../deps';
import type { Principal } from '../kernel/principal';
import type { TTenantRetentionPolicy } from '../kernel/retention';
import { checkTenantPolicy, loweredSafeguards, nextSafeguards, policyAuditDetail } from './policy';
import { getRetentionPolicy } from './get-retention-policy';
import { assertMayLowerThrough, proposeRetentionPolicy, type RetentionPolicyProposalRecord } from './policy-proposals';
import { markOf, policyOf } from './tenant-policy';
import { CHANGED, withFreshReads } from '../kernel/concurrency';
import { actorOf } from './update';
import type { AuditStaging } from '../kernel/audit';
import { writeWithAuditEntry } from '../audit/outbox';
import { ArchiveError } from '../kernel/errors';
import type { StoredRetentionPolicy } from '../ports';
import { keepSetting, keptRevisionDetail, nextRevision, retentionPolicySetting, type StoredSetting } from '../auth/rights-sets/settings-blobs';

/**
 * `PUT /retention/policy` (retention:manage). A change that lowers a safeguard below the strongest that has applied
 * (the mark) is not applied: it is stored as a proposal (`proposed`) that a second person approves
 * (policy-proposals.ts); a person who holds retention:approve through any credential may not even propose it
 * (segregation of duties, `approver-lowers-safeguards`). Otherwise one person could give a guest account of theirs
 * retention:manage, lower through it alone, and act under the lowered policy. A change that lowers nothing applies at
 * once (`applied`). Decided on the stored policy and written only over that version: a decision on an older one (a
 * stale cached read on another instance, a change in between) is taken again on the newer policy, so a just-raised
 * safeguard and its mark are never overwritten by a change that the newer policy would judge a lowering.
 *
 * `expected`: the version the person's change was made on (If-Match; etag null: none stored). Any other version
 * stored now is 412 `precondition_failed` naming who stored it and when, and nothing is written: a save from a
 * stale screen never silently replaces a change made since. The stored version is then the one written over, so
 * the check and the write are one conditional write; a change in between makes the write find another version,
 * and the next round refuses on a fresh read. A proposal keeps that version as its base: it applies only over it. The
 * same lowering sent again while its proposal is pending is answered that proposal (`replayed`), and stores nothing.
 */
export async function setRetentionPolicy(
  principal: Principal,
  policy: TTenantRetentionPolicy,
  deps: Pick<Deps, 'retention' | 'clock' | 'tenantRecords' | 'blobs' | 'audit' | 'log'>,
  audit?: { applied?: AuditStaging; proposed?: AuditStaging },
  expected?: { etag: string | null },
): Promise<{ applied: Awaited<ReturnType<typeof getRetentionPolicy>> } | { proposed: RetentionPolicyProposalRecord; replayed: boolean }> {
  checkTenantPolicy(policy);
  let kept: Omit<StoredSetting, 'mac'> | undefined;
  const outcome = await withFreshReads('The retention policy', async () => {
    const { policy: stored, etag } = await deps.retention.policies.getVersioned(principal.tenantId, { fresh: expected !== undefined });
    if (expected && etag !== expected.etag) throw policyChanged(stored);
    const mark = markOf(stored);
    const lowered = loweredSafeguards(mark, policy);
    if (lowered.length > 0) {
      await assertMayLowerThrough(principal, lowered, deps);
      const made = await proposeRetentionPolicy(principal, policy, { policy: policyOf(stored), etag }, lowered, deps, audit?.proposed);
      return made === CHANGED ? CHANGED : { proposed: made.proposal, replayed: made.replayed };
    }
    const now = deps.clock.now();
    const [at, by, safeguards] = [now.toISOString(), actorOf(principal), nextSafeguards(mark, policy, lowered)];
    // A new revision each write, kept in storage after it: a restore of Cosmos DB to before it is caught up by the reconciler (settings-blobs.ts).
    const revision = nextRevision(stored?.revision, now);
    const setting = retentionPolicySetting(principal.tenantId, policy, at, by, safeguards, revision);
    const written = await writeWithAuditEntry(audit?.applied, { detail: `${policyAuditDetail(policy, lowered)};${keptRevisionDetail(revision, setting.record!)}` }, (outbox) => deps.retention.policies.put(principal.tenantId, policy, at, by, safeguards, revision, outbox, { etag }), (r) => r === 'written');
    if (written !== 'written') return CHANGED;
    kept = setting;
    return { applied: await getRetentionPolicy(principal.tenantId, deps) };
  });
  if (kept) await keepSetting(kept, deps);
  return outcome;
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

/**
 * Four eyes over lowering the retention safeguards, as over weakening the SoD policy (auth/sod-policy-proposals.ts).
 * A change of the retention policy that lowers a safeguard below the mark (turns required disposal approval off,
 * shortens a class, defaults to a shorter class, moves the fiscal-year end) is stored as a proposal; a second person
 * with retention:manage, and without retention:approve, approves it, and only then does it apply. Refusing the
 * lowering to holders of retention:approve was not enough: a tenant-admin could define a set with just
 * retention:manage, give it to a guest account of her own, and lower through it alone.
 */
import type { Deps } from '../deps';
import type { AuditStaging } from '../kernel/audit';
import { CHANGED } from '../kernel/concurrency';
import { canonicalJson } from '../kernel/audit-chain';
import { ArchiveError } from '../kernel/errors';
import { type Permission, personOf, type Principal } from '../kernel/principal';
import type { TTenantRetentionPolicy } from '../kernel/retention';
import type { Page } from '../ports';
import { writeWithAuditEntry } from '../audit/outbox';
import { listPersonKeyPermissions } from '../auth/api-keys/list-person-key-permissions';
import { assertProposerStillMay, assertSecondPerson, newProposal, type ProposalRecord, proposalRecordId, ProposalStore, publicProposalFields, type TListProposalsQuery } from '../auth/proposals';
import { gateMoved, underRightsGate } from '../auth/rights-gate';
import { actor } from '../auth/rights-sets/rights-records';
import { keepSetting, keptRevisionDetail, nextRevision, retentionPolicySetting, type StoredSetting } from '../auth/rights-sets/settings-blobs';
import { personHoldsNow } from '../auth/rights-sets/rights-given';
import { assertMayLowerSafeguards, sodRefusal } from '../auth/sod';
import { checkTenantPolicy, loweredSafeguards, nextSafeguards, policyAuditDetail } from './policy';
import { markOf } from './tenant-policy';
import { actorOf } from './update';

type ProposalDeps = Pick<Deps, 'retention' | 'clock' | 'tenantRecords'>;
/** A decision is kept in storage too (decision-blobs.ts). */
type DecisionDeps = ProposalDeps & Pick<Deps, 'blobs' | 'log' | 'audit'>;

export interface RetentionPolicyProposalRecord extends ProposalRecord {
  type: 'retention-policy-proposal';
  /** The policy as it would be once approved. */
  policy: TTenantRetentionPolicy;
  /** The policy stored when it was proposed (the default: none stored). */
  base: TTenantRetentionPolicy;
  /** The version of that stored policy (null: none stored): approval applies the proposal only over exactly it. */
  baseVersion: string | null;
  /** What it lowers (`loweredSafeguards` against the mark then). */
  lowers: string[];
}

/** What a retention proposal proposes, which its seal covers (proposals.ts). */
export const retentionProposalChange = ({ policy, base, baseVersion, lowers }: RetentionPolicyProposalRecord): object => ({ policy, base, baseVersion, lowers });

export function toPublicRetentionProposal(p: RetentionPolicyProposalRecord, now: Date) {
  const { id, state, proposedAt, proposedBy, expiresAt, ...decision } = publicProposalFields(p, now);
  return { id, state, policy: p.policy, base: p.base, lowers: p.lowers, proposedAt, proposedBy, expiresAt, ...decision };
}

/** What a proposal's audit entries name. */
export const retentionProposalTarget = (id: string): string => proposalRecordId('retention-policy-proposal', id);

/** The store, with where its decisions are kept when it decides (`deps` with blobs, the audit log (its key seals them) and log). */
const storeOf = (deps: Pick<Deps, 'tenantRecords'> & Partial<Pick<Deps, 'blobs' | 'log' | 'audit'>>) =>
  new ProposalStore<RetentionPolicyProposalRecord>(deps.tenantRecords, 'retention-policy-proposal', { notFound: 'retention_policy_proposal_not_found', closed: 'retention_policy_proposal_closed' }, deps.blobs && deps.log && deps.audit ? { blobs: deps.blobs, log: deps.log, audit: deps.audit } : null, retentionProposalChange);

/** `approver-lowers-safeguards` for the person behind `principal`: their API keys are theirs too, one with retention:approve counts. */
export async function assertMayLowerThrough(principal: Principal, lowered: string[], deps: Pick<Deps, 'clock' | 'tenantRecords' | 'audit' | 'log'>): Promise<void> {
  const viaKeys = lowered.length > 0 ? await listPersonKeyPermissions(principal.tenantId, personOf(principal), deps.clock.now(), deps) : new Set<Permission>();
  assertMayLowerSafeguards(principal, lowered, viaKeys);
}

/** Stores the lowering `policy` as a pending proposal over `base` (set-retention-policy.ts decided it lowers `lowers`); nothing else changes. */
export function proposeRetentionPolicy(principal: Principal, policy: TTenantRetentionPolicy, base: { policy: TTenantRetentionPolicy; etag: string | null }, lowers: string[], deps: ProposalDeps & Pick<Deps, 'audit'>, audit?: AuditStaging): Promise<{ proposal: RetentionPolicyProposalRecord; replayed: boolean } | typeof CHANGED> {
  // The same lowering of the same version by the same person, still pending (sent again after its answer was lost, or
  // twice at once), is answered that proposal, not stored a second time.
  const now = deps.clock.now();
  const change = `${base.etag ?? 'none'}\n${canonicalJson(policy)}`;
  const make = (): RetentionPolicyProposalRecord => ({ ...newProposal('retention-policy-proposal', principal, now), policy, base: base.policy, baseVersion: base.etag, lowers });
  return storeOf(deps).propose(principal, now, change, make, deps.audit.chainKeys, audit, (p) => ({ target: p.id, detail: policyAuditDetail(policy, lowers) }));
}

/** `GET /retention/policy/proposals`: one page, newest first, in the asked state, a pending one the archive did not seal marked (proposals.ts). */
export function listRetentionPolicyProposals(tenantId: string, q: TListProposalsQuery, deps: ProposalDeps & Partial<Pick<Deps, 'blobs' | 'log' | 'audit'>>): Promise<Page<RetentionPolicyProposalRecord & { notSealedByArchive?: true }>> {
  return storeOf(deps).list(tenantId, q, deps.clock.now());
}

/** `GET /retention/policy/proposals/{id}`: the proposal as the list answers it, whatever its state; 404 when the tenant has none. */
export function readRetentionPolicyProposal(tenantId: string, id: string, deps: ProposalDeps & Partial<Pick<Deps, 'blobs' | 'log' | 'audit'>>): Promise<RetentionPolicyProposalRecord & { notSealedByArchive?: true }> {
  return storeOf(deps).read(tenantId, id, deps.clock.now());
}

/**
 * A second person approves, and the lowering applies. The approver must be (each refusal 403 segregation_of_duties):
 * not the proposer through any credential, nor made a second identity by them since the proposal (rule
 * `four-eyes-retention-policy`); holding retention:approve through no credential, API keys included
 * (`approver-lowers-safeguards`); and given no rights since the proposal, anywhere up the chain of givers, by a person
 * who holds retention:approve now (`retention-approver-given-by-approver`): else that person makes a second guest after
 * the proposal and approves through it. Two identities one person made BEFORE the proposal still count as two; the
 * audit log shows who made them.
 *
 * It applies only over the stored version it was proposed on (409 `retention_policy_changed` otherwise: propose again),
 * judged again on the policy and mark stored then. The proposal is decided, the policy written and the tenant's rights
 * gate moved in one batch with the audit entry, over the versions of each read after the gate: of two approvals one
 * applies, the other finds the proposal decided; a rights change meanwhile has the approval judged again.
 */
export async function approveRetentionPolicyProposal(principal: Principal, id: string, reason: string, deps: DecisionDeps & Pick<Deps, 'config'>, audit?: AuditStaging): Promise<RetentionPolicyProposalRecord> {
  const tenantId = principal.tenantId;
  let looked = false;
  let kept: Omit<StoredSetting, 'mac'> | undefined;
  const decided = await underRightsGate('The retention policy', tenantId, deps, async (gate) => {
    const now = deps.clock.now();
    // Its decision in storage looked up once (a restore gave it back pending): a gate moved meanwhile reads the record again.
    const found = looked ? await storeOf(deps).pending(tenantId, id, now) : await storeOf(deps).decidable(tenantId, id, now);
    looked = true;
    const proposal = found.value;
    await storeOf(deps).assertSealed(proposal);
    const givenSince = await assertSecondPerson(principal, proposal, deps, 'four-eyes-retention-policy');
    await assertProposerStillMay(proposal, 'retention:manage', deps);
    await assertMayLowerThrough(principal, proposal.lowers, deps);
    for (const given of givenSince) {
      if (given.unresolved || !(await personHoldsNow(tenantId, personOf(given.by), 'retention:approve', now, deps))) continue;
      throw sodRefusal('retention-approver-given-by-approver', { proposedBy: personOf(proposal.proposedBy), approverRightsGivenBy: personOf(given.by), approverRightsGivenAt: given.at, approverRightsGivenThrough: given.through });
    }
    const { policy: stored, etag } = await deps.retention.policies.getVersioned(tenantId, { fresh: true });
    if (etag !== proposal.baseVersion) {
      // Changed by this very proposal, approved by someone else since it was read here: that answer, not "propose again".
      await storeOf(deps).pending(tenantId, id, now);
      const by = stored?.updatedBy ? ` by ${stored.updatedBy.subject}` : '';
      throw new ArchiveError('retention_policy_changed', { detail: `The retention policy was changed${by} after this proposal was made; it no longer applies as proposed. Propose the change again on the policy now.` });
    }
    checkTenantPolicy(proposal.policy);
    const mark = markOf(stored);
    const lowered = loweredSafeguards(mark, proposal.policy);
    const approved: RetentionPolicyProposalRecord = { ...proposal, state: 'approved', decidedAt: now.toISOString(), decidedBy: actor(principal), decisionReason: reason };
    const also = [gateMoved(gate, 'retention-policy'), { op: 'replace' as const, record: approved, ifMatch: found.etag }];
    const [at, by, safeguards, revision] = [now.toISOString(), actorOf(principal), nextSafeguards(mark, proposal.policy, lowered), nextRevision(stored?.revision, now)];
    const setting = retentionPolicySetting(tenantId, proposal.policy, at, by, safeguards, revision);
    const written = await writeWithAuditEntry(
      audit,
      { target: proposal.id, detail: `${policyAuditDetail(proposal.policy, lowered)};${keptRevisionDetail(revision, setting.record!)}` },
      (outbox) => deps.retention.policies.put(tenantId, proposal.policy, at, by, safeguards, revision, outbox, { etag }, also),
      (r) => r === 'written',
    );
    if (written !== 'written') return CHANGED;
    kept = setting;
    return approved;
  });
  await storeOf(deps).keepDecision(decided);
  // The policy as approved kept in storage too, after its write: a restore of Cosmos DB to before it is caught up (settings-blobs.ts).
  if (kept) await keepSetting(kept, deps);
  return decided;
}

/** The proposer withdraws it, or another person with retention:manage rejects it; either way it never applies. */
export function withdrawRetentionPolicyProposal(principal: Principal, id: string, deps: DecisionDeps, audit?: AuditStaging): Promise<RetentionPolicyProposalRecord> {
  return storeOf(deps).withdraw(principal, id, deps.clock.now(), audit, (p) => policyAuditDetail(p.policy, p.lowers));
}

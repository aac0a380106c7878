/**
 * Four eyes over the segregation-of-duties policy. A change that weakens it (removes a conflicting
 * pair, or lets the uploader approve disposal) is stored as a proposal; a second person with
 * rights:manage approves it, and only then does it apply. Otherwise one rights:manage account could
 * switch a rule off, grant itself (or a key) the pair, and act under it. A change that only
 * strengthens applies at once.
 */
import { z } from 'zod';
import { ArchiveError } from '../kernel/errors';
import { STATE_LIST_PAGING, walkByState } from './state-walk';
import { CHANGED } from '../kernel/concurrency';
import type { AuditStaging } from '../kernel/audit';
import { writeWithAuditEntry } from '../audit/outbox';
import { personOf, type Principal } from '../kernel/principal';
import { type Page, SOD_POLICY_PROPOSAL_STATES, type TenantRecord, type TenantRecordsPort } from '../ports';
import { uuidv7 } from '../ids';
import type { ApiKeyRecord } from './api-keys/api-key';
import { type SodPolicyRecord, type TenantRights } from './rights';
import { underRightsGate } from './rights-gate';
import { actor } from './rights-sets/rights-records';
import { rightsGivenTo } from './rights-sets/rights-given';
import { madeSecondBy, samePerson, samePolicy, SOD_PROPOSAL_LIFETIME_DAYS, type SodPolicy, sodPolicyOf, sodRefusal, weakenedBy } from './sod';

type Actor = { subject: string; kind: string; person: string };

export interface SodPolicyProposalRecord extends TenantRecord {
  type: 'sod-policy-proposal';
  proposalId: string;
  /** The policy as it would be once approved. */
  policy: SodPolicy;
  /** The policy in force when it was proposed: approval applies it only over exactly this. */
  base: SodPolicy;
  /** What it weakens (`weakenedBy`). */
  weakens: string[];
  proposedAt: string;
  proposedBy: Actor;
  expiresAt: string;
  /** Stored state; a pending proposal past `expiresAt` reads as `expired`. */
  state: 'pending' | 'approved' | 'withdrawn' | 'rejected';
  decidedAt?: string;
  decidedBy?: Actor;
  /** Why the approver agreed. */
  decisionReason?: string;
}

export type ProposalState = SodPolicyProposalRecord['state'] | 'expired';

export interface PublicSodPolicyProposal {
  id: string;
  state: ProposalState;
  policy: SodPolicy;
  base: SodPolicy;
  weakens: string[];
  proposedAt: string;
  proposedBy: Actor;
  expiresAt: string;
  decidedAt?: string;
  decidedBy?: Actor;
  decisionReason?: string;
}

const DAY = 24 * 3600 * 1000;
const proposalId = (id: string) => `sod-policy-proposal:${id}`;

const stateOf = (p: SodPolicyProposalRecord, now: Date): ProposalState => (p.state === 'pending' && Date.parse(p.expiresAt) <= now.getTime() ? 'expired' : p.state);

export function toPublicProposal(p: SodPolicyProposalRecord, now: Date): PublicSodPolicyProposal {
  return {
    id: p.proposalId,
    state: stateOf(p, now),
    policy: p.policy,
    base: p.base,
    weakens: p.weakens,
    proposedAt: p.proposedAt,
    proposedBy: p.proposedBy,
    expiresAt: p.expiresAt,
    ...(p.decidedAt ? { decidedAt: p.decidedAt, decidedBy: p.decidedBy } : {}),
    ...(p.decisionReason ? { decisionReason: p.decisionReason } : {}),
  };
}

/** 412: the SoD policy stored now is not the version the change was made on. */
function sodPolicyChangedSince(stored: SodPolicyRecord | null): ArchiveError {
  const by = stored ? ` by ${stored.updatedBy.subject} at ${stored.updatedAt}` : '';
  return new ArchiveError('precondition_failed', {
    detail: `The segregation-of-duties policy was changed${by}, after the version this change was made on; nothing changed. Read it again (GET /sod-policy) and make the change on it.`,
    extensions: stored ? { updatedAt: stored.updatedAt, updatedBy: stored.updatedBy.subject } : {},
  });
}

/**
 * `GET /sod-policy/proposals`: `state` picks the pending proposals (the default: those still to decide), the approved,
 * withdrawn, rejected or expired ones, the decided ones (any of those four), or all, as the API keys' list does; `limit` and `continuationToken` page them
 * like the archive's other lists.
 */
export const ZListSodPolicyProposalsQuery = z.strictObject({ state: z.enum(SOD_POLICY_PROPOSAL_STATES).default('pending'), ...STATE_LIST_PAGING });
export type TListSodPolicyProposalsQuery = z.infer<typeof ZListSodPolicyProposalsQuery>;

/** What a proposal's audit entries name. */
export const proposalTarget = (id: string): string => `sod-policy-proposal:${id}`;

export class SodPolicyProposals {
  constructor(
    private readonly records: TenantRecordsPort,
    private readonly rights: TenantRights,
  ) {}

  /**
   * Keys that still act (in use: neither revoked nor expired, as many as the tenant may have), by rights set: a stronger
   * policy must not be broken by them. An expired key never acts again; reading every unrevoked key read all the
   * expired ones a tenant had piled up.
   */
  private async keysOf(tenantId: string, now: Date): Promise<{ keyId: string; rightsSet: string }[]> {
    return (await this.records.apiKeysInUse<ApiKeyRecord>(tenantId, now.toISOString())).map((k) => ({ keyId: k.keyId, rightsSet: k.rightsSet }));
  }

  /**
   * `PUT /sod-policy`: a change that does not weaken applies at once (`applied`); a weakening is
   * stored as a pending proposal (`proposed`) and changes nothing yet. Either way, a policy that
   * existing holdings would break is refused (409 `conflicting_rights_held`), even as a proposal.
   * Decided after reading the tenant's rights gate and applied only over it (rights-gate.ts): a rights
   * set widened, assigned or given to a key meanwhile has it judged again, on those holdings. The policy
   * itself changed meanwhile is 409 `sod_policy_changed`: the change was asked of the policy read first.
   *
   * `expected`: the version the person's change was made on (If-Match; etag null: none stored). Any other version
   * stored now is 412 `precondition_failed` naming who stored it and when, and nothing changes: a stale screen
   * re-saving the stronger rules does not undo a weakening approved since. An applied change is written over exactly
   * that version, in the gate's batch (one conditional write); a proposal writes no policy, and applies only over
   * its `base`, the policy of that version.
   */
  async change(principal: Principal, wanted: SodPolicy, now: Date, audit?: { applied: AuditStaging; proposed: AuditStaging }, expected?: { etag: string | null }): Promise<{ applied: SodPolicyRecord } | { proposed: SodPolicyProposalRecord }> {
    const tenantId = principal.tenantId;
    const policy = sodPolicyOf(wanted);
    let decidedOn: string | null | undefined;
    return underRightsGate('The SoD policy', tenantId, { tenantRecords: this.records }, async (gate) => {
      const [{ policy: base, etag, stored }, keys] = await Promise.all([this.rights.versionedPolicy(tenantId, { fresh: true }), this.keysOf(tenantId, now)]);
      if (expected && etag !== expected.etag) throw sodPolicyChangedSince(stored);
      if (decidedOn !== undefined && etag !== decidedOn) throw new ArchiveError('sod_policy_changed', { detail: 'The policy was changed concurrently; read it and try again.' });
      decidedOn = etag;
      const weakens = weakenedBy(base, policy);
      if (weakens.length === 0) {
        const applied = await this.rights.putPolicy(principal, policy, keys, { gate, policy: etag }, now, audit?.applied);
        return applied === CHANGED ? CHANGED : { applied };
      }
      // A mixed change (a pair added, another removed) is checked against the holdings now, and again on approval
      // (under the gate): a proposal changes nothing anyone holds, and moves no gate.
      await this.rights.checkPolicy(principal, policy, keys);
      const id = uuidv7(now.getTime());
      const proposal: SodPolicyProposalRecord = {
        id: proposalId(id),
        tenantId,
        type: 'sod-policy-proposal',
        proposalId: id,
        policy,
        base,
        weakens,
        proposedAt: now.toISOString(),
        proposedBy: actor(principal),
        expiresAt: new Date(now.getTime() + SOD_PROPOSAL_LIFETIME_DAYS * DAY).toISOString(),
        state: 'pending',
      };
      await writeWithAuditEntry(audit?.proposed, { target: proposalTarget(id), detail: 'proposed' }, (outbox) => this.records.create(proposal, outbox), (r) => r === 'created');
      return { proposed: proposal };
    });
  }

  /**
   * One page of the tenant's proposals in `state`, newest first (decided and expired ones only when asked for). Every
   * page of a walk judges the state at the time of its first page: a proposal expiring meanwhile neither leaves nor
   * shifts the walk. Reading every proposal made a loop of propose+withdraw grow each list without bound.
   */
  list(tenantId: string, q: TListSodPolicyProposalsQuery, now: Date): Promise<Page<SodPolicyProposalRecord>> {
    return walkByState({ list: 'sod-policy-proposals', tenantId, state: q.state }, q, now, (at, limit, c) => this.records.sodPolicyProposalPage<SodPolicyProposalRecord>(tenantId, q.state, at, limit, c));
  }

  private async pending(principal: Principal, id: string, now: Date): Promise<{ value: SodPolicyProposalRecord; etag: string }> {
    const found = await this.records.get<SodPolicyProposalRecord>(principal.tenantId, proposalId(id), 'sod-policy-proposal');
    if (!found) throw new ArchiveError('sod_policy_proposal_not_found', { detail: `The tenant has no proposal ${id.slice(0, 64)}.` });
    const state = stateOf(found.value, now);
    if (state !== 'pending') {
      throw new ArchiveError('sod_policy_proposal_closed', { detail: `The proposal is ${state}; propose the change again if it is still wanted.`, extensions: { state } });
    }
    return found;
  }

  /**
   * A second person approves: not the proposer, through any credential (403, rule
   * `four-eyes-sod-policy`). It applies only over the policy it was proposed against (409
   * `sod_policy_changed` otherwise: propose again against the policy now) and only if no holding
   * conflicts with it. The proposal is decided, the policy written and the tenant's rights gate moved in
   * one batch, over the versions of each read after the gate: of two approvals one applies, the other
   * finds the proposal decided; a rights change meanwhile has the approval judged again.
   */
  async approve(principal: Principal, id: string, reason: string, now: Date, audit?: AuditStaging): Promise<SodPolicyProposalRecord> {
    return underRightsGate('The SoD policy', principal.tenantId, { tenantRecords: this.records }, async (gate) => {
      const found = await this.pending(principal, id, now);
      const proposal = found.value;
      if (samePerson(principal, proposal.proposedBy)) throw sodRefusal('four-eyes-sod-policy', { proposedBy: personOf(proposal.proposedBy) });
      // The second person must not be one the proposer made a second person since: an identity of their own (a guest
      // account) that they assigned rights to, or whose rights set they widened, after proposing would otherwise approve for them.
      const given = madeSecondBy(await rightsGivenTo(principal, { tenantRecords: this.records }, proposal.proposedAt), proposal.proposedBy, proposal.proposedAt);
      if (given) {
        throw sodRefusal('four-eyes-sod-policy', { proposedBy: personOf(proposal.proposedBy), approverRightsGivenBy: personOf(given.by), approverRightsGivenAt: given.at, approverRightsGivenThrough: given.through });
      }
      const [{ policy: current, etag }, keys] = await Promise.all([this.rights.versionedPolicy(principal.tenantId, { fresh: true }), this.keysOf(principal.tenantId, now)]);
      if (!samePolicy(current, proposal.base)) {
        // Changed by this very proposal, approved by someone else since it was read here: that answer, not "propose again".
        await this.pending(principal, id, now);
        throw new ArchiveError('sod_policy_changed', { detail: 'The policy changed after this proposal was made; it no longer applies as proposed. Propose the change again against the policy now.' });
      }
      const approved: SodPolicyProposalRecord = { ...proposal, state: 'approved', decidedAt: now.toISOString(), decidedBy: actor(principal), decisionReason: reason };
      const applied = await this.rights.putPolicy(principal, proposal.policy, keys, { gate, policy: etag }, now, audit, [{ op: 'replace', record: approved, ifMatch: found.etag }]);
      return applied === CHANGED ? CHANGED : approved;
    });
  }

  /** The proposer withdraws it, or another person with rights:manage rejects it; either way it never applies. */
  async withdraw(principal: Principal, id: string, now: Date, audit?: AuditStaging): Promise<SodPolicyProposalRecord> {
    const found = await this.pending(principal, id, now);
    const state = samePerson(principal, found.value.proposedBy) ? 'withdrawn' : 'rejected';
    const closed: SodPolicyProposalRecord = { ...found.value, state, decidedAt: now.toISOString(), decidedBy: actor(principal) };
    if ((await writeWithAuditEntry(audit, {}, (outbox) => this.records.replace(closed, found.etag, outbox), (r) => r === 'replaced')) === 'conflict') {
      throw new ArchiveError('sod_policy_proposal_closed', { detail: 'The proposal was decided concurrently.', extensions: { state: 'decided' } });
    }
    return closed;
  }
}

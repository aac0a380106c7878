/**
 * Four eyes over the segregation-of-duties policy. A change that weakens it (removes a conflicting
 * pair, or lets the uploader approve disposal) is stored as a proposal; a second person with
 * rights:manage approves it, and only then does it apply. Otherwise one rights:manage account could
 * switch a rule off, grant itself (or a key) the pair, and act under it. A change that only
 * strengthens applies at once.
 */
import { ArchiveError } from '../kernel/errors';
import { CHANGED } from '../kernel/concurrency';
import type { AuditStaging } from '../kernel/audit';
import type { Principal } from '../kernel/principal';
import type { BlobArchivePort, Page, TenantRecordsPort } from '../ports';
import type { ApiKeyRecord } from './api-keys/api-key';
import { type SodPolicyRecord, type TenantRights } from './rights';
import { underRightsGate } from './rights-gate';
import { actor } from './rights-sets/rights-records';
import type { Config } from '../config';
import { assertProposerStillMay, assertSecondPerson, type DecisionStorage, newProposal, type ProposalRecord, proposalRecordId, ProposalStore, publicProposalFields, type TListProposalsQuery, ZListProposalsQuery } from './proposals';
import { samePolicy, type SodPolicy, sodPolicyAuditDetail, sodPolicyOf, weakenedBy } from './sod';
import { keepSetting, type SettingsKeeping } from './rights-sets/settings-blobs';

export interface SodPolicyProposalRecord extends ProposalRecord {
  type: 'sod-policy-proposal';
  /** The policy as it would be once approved. */
  policy: SodPolicy;
  /** The policy in force when it was proposed: approval applies it only over exactly this. */
  base: SodPolicy;
  /** What it weakens (`weakenedBy`). */
  weakens: string[];
}

/** What a SoD proposal proposes, which its seal covers (proposals.ts). */
export const sodProposalChange = ({ policy, base, weakens }: SodPolicyProposalRecord): object => ({ policy, base, weakens });

export type PublicSodPolicyProposal = ReturnType<typeof toPublicProposal>;

export function toPublicProposal(p: SodPolicyProposalRecord, now: Date) {
  const { id, state, proposedAt, proposedBy, expiresAt, ...decision } = publicProposalFields(p, now);
  return { id, state, policy: p.policy, base: p.base, weakens: p.weakens, proposedAt, proposedBy, expiresAt, ...decision };
}

/** 412: the SoD policy stored now is not the version the change was made on. */
function sodPolicyChangedSince(stored: SodPolicyRecord | null): ArchiveError {
  const by = stored ? ` by ${stored.updatedBy.subject} at ${stored.updatedAt}` : '';
  return new ArchiveError('precondition_failed', {
    detail: `The segregation-of-duties policy was changed${by}, after the version this change was made on; nothing changed. Read it again (GET /sod-policy) and make the change on it.`,
    extensions: stored ? { updatedAt: stored.updatedAt, updatedBy: stored.updatedBy.subject } : {},
  });
}

/** `GET /sod-policy/proposals`: a state and paging (proposals.ts). */
export const ZListSodPolicyProposalsQuery = ZListProposalsQuery;
export type TListSodPolicyProposalsQuery = TListProposalsQuery;

/** What a proposal's audit entries name. */
export const proposalTarget = (id: string): string => proposalRecordId('sod-policy-proposal', id);

export class SodPolicyProposals {
  private readonly proposals: ProposalStore<SodPolicyProposalRecord>;

  constructor(
    private readonly records: TenantRecordsPort,
    private readonly rights: TenantRights,
    /** Where a person's rights come from (config AUTH_RIGHTS_SOURCE): whether the proposer still holds rights:manage. */
    private readonly rightsSource: Config['AUTH_RIGHTS_SOURCE'],
    /** Where decisions are kept too, so that a restore of Cosmos DB does not undo them (decision-blobs.ts). */
    private readonly storage: DecisionStorage & Pick<SettingsKeeping, 'audit'> & { blobs: Pick<BlobArchivePort, 'listedBlobs'> },
  ) {
    this.proposals = new ProposalStore(records, 'sod-policy-proposal', { notFound: 'sod_policy_proposal_not_found', closed: 'sod_policy_proposal_closed' }, storage, sodProposalChange);
  }

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
   * its `base`, the policy of that version. The same weakening sent again while its proposal is pending is answered
   * that proposal (`replayed`), and stores nothing.
   */
  async change(principal: Principal, wanted: SodPolicy, now: Date, audit?: { applied: AuditStaging; proposed: AuditStaging }, expected?: { etag: string | null }): Promise<{ applied: SodPolicyRecord } | { proposed: SodPolicyProposalRecord; replayed: boolean }> {
    const tenantId = principal.tenantId;
    const policy = sodPolicyOf(wanted);
    let decidedOn: string | null | undefined;
    const outcome = await underRightsGate('The SoD policy', tenantId, { tenantRecords: this.records }, async (gate) => {
      const [{ policy: base, etag, stored }, keys] = await Promise.all([this.rights.versionedPolicy(tenantId, { fresh: true }), this.keysOf(tenantId, now)]);
      if (expected && etag !== expected.etag) throw sodPolicyChangedSince(stored);
      if (decidedOn !== undefined && etag !== decidedOn) throw new ArchiveError('sod_policy_changed', { detail: 'The policy was changed concurrently; read it and try again.' });
      decidedOn = etag;
      const weakens = weakenedBy(base, policy);
      if (weakens.length === 0) {
        const applied = await this.rights.putPolicy(principal, policy, keys, { gate, policy: etag, revision: stored?.revision }, now, audit?.applied);
        return applied === CHANGED ? CHANGED : { applied };
      }
      // A mixed change (a pair added, another removed) is checked against the holdings now, and again on approval
      // (under the gate): a proposal changes nothing anyone holds, and moves no gate.
      await this.rights.checkPolicy(principal, policy, keys);
      // The same weakening of the same policy by the same person, still pending (sent again after its answer was lost,
      // or twice at once), is answered that proposal, not stored a second time.
      const change = `${sodPolicyAuditDetail(base)}\n${sodPolicyAuditDetail(policy)}`;
      const made = await this.proposals.propose(principal, now, change, () => ({ ...newProposal('sod-policy-proposal', principal, now), policy, base, weakens }), this.storage.audit.chainKeys, audit?.proposed, (p) => ({ target: p.id, detail: 'proposed' }));
      return made === CHANGED ? CHANGED : { proposed: made.proposal, replayed: made.replayed };
    });
    // Kept in storage too, after the record's write: a restore of Cosmos DB to before it gives back the policy as it was (settings-blobs.ts).
    const applied = 'applied' in outcome ? outcome.applied : undefined;
    if (applied) await keepSetting({ tenantId, recordId: applied.id, type: 'sod-policy', revision: applied.revision!, at: applied.updatedAt, record: applied }, this.storage);
    return outcome;
  }

  /**
   * One page of the tenant's proposals in `state`, newest first (decided and expired ones only when asked for). Every
   * page of a walk judges the state at the time of its first page: a proposal expiring meanwhile neither leaves nor
   * shifts the walk. Reading every proposal made a loop of propose+withdraw grow each list without bound.
   */
  list(tenantId: string, q: TListSodPolicyProposalsQuery, now: Date): Promise<Page<SodPolicyProposalRecord>> {
    return this.proposals.list(tenantId, q, now);
  }

  /** `GET /sod-policy/proposals/{id}`: the proposal as the list answers it, whatever its state; 404 when the tenant has none. */
  read(tenantId: string, id: string, now: Date): Promise<SodPolicyProposalRecord> {
    return this.proposals.read(tenantId, id, now);
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
    let looked = false;
    let policy: SodPolicyRecord | undefined;
    const decided = await underRightsGate('The SoD policy', principal.tenantId, { tenantRecords: this.records }, async (gate) => {
      // Its decision in storage looked up once (a restore gave it back pending): a gate moved meanwhile reads the record again.
      const found = looked ? await this.proposals.pending(principal.tenantId, id, now) : await this.proposals.decidable(principal.tenantId, id, now);
      looked = true;
      const proposal = found.value;
      await this.proposals.assertSealed(proposal);
      const clock = { now: () => now };
      await assertSecondPerson(principal, proposal, { tenantRecords: this.records, blobs: this.storage.blobs, audit: this.storage.audit, log: this.storage.log, clock }, 'four-eyes-sod-policy');
      await assertProposerStillMay(proposal, 'rights:manage', { tenantRecords: this.records, blobs: this.storage.blobs, audit: this.storage.audit, log: this.storage.log, config: { AUTH_RIGHTS_SOURCE: this.rightsSource }, clock });
      const [{ policy: current, etag, stored }, keys] = await Promise.all([this.rights.versionedPolicy(principal.tenantId, { fresh: true }), this.keysOf(principal.tenantId, now)]);
      if (!samePolicy(current, proposal.base)) {
        // Changed by this very proposal, approved by someone else since it was read here: that answer, not "propose again".
        await this.proposals.pending(principal.tenantId, id, now);
        throw new ArchiveError('sod_policy_changed', { detail: 'The policy changed after this proposal was made; it no longer applies as proposed. Propose the change again against the policy now.' });
      }
      const approved: SodPolicyProposalRecord = { ...proposal, state: 'approved', decidedAt: now.toISOString(), decidedBy: actor(principal), decisionReason: reason };
      const applied = await this.rights.putPolicy(principal, proposal.policy, keys, { gate, policy: etag, revision: stored?.revision }, now, audit, [{ op: 'replace', record: approved, ifMatch: found.etag }], weakenedBy(current, proposal.policy));
      if (applied === CHANGED) return CHANGED;
      policy = applied;
      return approved;
    });
    await this.proposals.keepDecision(decided);
    if (policy) await keepSetting({ tenantId: principal.tenantId, recordId: policy.id, type: 'sod-policy', revision: policy.revision!, at: policy.updatedAt, record: policy }, this.storage);
    return decided;
  }

  /** The proposer withdraws it, or another person with rights:manage rejects it; either way it never applies. */
  withdraw(principal: Principal, id: string, now: Date, audit?: AuditStaging): Promise<SodPolicyProposalRecord> {
    return this.proposals.withdraw(principal, id, now, audit);
  }
}

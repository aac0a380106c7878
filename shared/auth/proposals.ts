/**
 * What the four-eyes proposals of the archive's policies share (the SoD policy, sod-policy-proposals.ts; the retention
 * policy, retention/policy-proposals.ts): a weakening is stored as a proposal that lapses unless a second person
 * approves it; the proposer withdraws it, anyone else who may manage the policy rejects it. One implementation of the
 * states, the lifetime, the list walk, the closing and the second-person check, so the two cannot drift apart.
 */
import { z } from 'zod';
import type { AuditStaging } from '../kernel/audit';
import { ArchiveError, type ErrorCode } from '../kernel/errors';
import { personOf, type Principal } from '../kernel/principal';
import { writeWithAuditEntry } from '../audit/outbox';
import { type Page, PROPOSAL_STATES, type ProposalType, type TenantRecord, type TenantRecordsPort, type VersionedRecord } from '../ports';
import { uuidv7 } from '../ids';
import { actor } from './rights-sets/rights-records';
import { rightsGivenTo } from './rights-sets/rights-given';
import { madeSecondBy, type RightsGiven, samePerson, SOD_PROPOSAL_LIFETIME_DAYS, sodRefusal, type SodRule } from './sod';
import { STATE_LIST_PAGING, walkByState } from './state-walk';

export type ProposalActor = { subject: string; kind: string; person: string };

/** The fields every proposal record carries, whatever it proposes. */
export interface ProposalRecord extends TenantRecord {
  type: ProposalType;
  proposalId: string;
  proposedAt: string;
  proposedBy: ProposalActor;
  expiresAt: string;
  /** Stored state; a pending proposal past `expiresAt` reads as `expired`. */
  state: 'pending' | 'approved' | 'withdrawn' | 'rejected';
  decidedAt?: string;
  decidedBy?: ProposalActor;
  /** Why the approver agreed. */
  decisionReason?: string;
}

export type ProposalState = ProposalRecord['state'] | 'expired';

const DAY = 24 * 3600 * 1000;
/** How many of the newest pending proposals a PUT looks through for the one it repeats (ProposalStore.pendingOf). */
export const PROPOSAL_RETRY_WINDOW = 50;

export const proposalStateOf = (p: ProposalRecord, now: Date): ProposalState => (p.state === 'pending' && Date.parse(p.expiresAt) <= now.getTime() ? 'expired' : p.state);

/** The record id of a proposal of `type`, and what its audit entries name. */
export const proposalRecordId = (type: ProposalType, id: string): string => `${type}:${id}`;

/** A new pending proposal's common fields: it lapses after the same lifetime whatever it proposes. */
export function newProposal<T extends ProposalType>(type: T, principal: Principal, now: Date): Pick<ProposalRecord, 'id' | 'tenantId' | 'proposalId' | 'proposedAt' | 'proposedBy' | 'expiresAt' | 'state'> & { type: T } {
  const id = uuidv7(now.getTime());
  return {
    id: proposalRecordId(type, id),
    tenantId: principal.tenantId,
    type,
    proposalId: id,
    proposedAt: now.toISOString(),
    proposedBy: actor(principal),
    expiresAt: new Date(now.getTime() + SOD_PROPOSAL_LIFETIME_DAYS * DAY).toISOString(),
    state: 'pending',
  };
}

/** The public form's common fields: its state at `now`, and the decision once there is one. */
export function publicProposalFields(p: ProposalRecord, now: Date) {
  return {
    id: p.proposalId,
    state: proposalStateOf(p, now),
    proposedAt: p.proposedAt,
    proposedBy: p.proposedBy,
    expiresAt: p.expiresAt,
    ...(p.decidedAt ? { decidedAt: p.decidedAt, decidedBy: p.decidedBy } : {}),
    ...(p.decisionReason ? { decisionReason: p.decisionReason } : {}),
  };
}

/**
 * A list of proposals: `state` picks the pending ones (the default: those still to decide), the approved, withdrawn,
 * rejected or expired ones, the decided ones (any of those four), or all, as the API keys' list does; `limit` and
 * `continuationToken` page them like the archive's other lists.
 */
export const ZListProposalsQuery = z.strictObject({ state: z.enum(PROPOSAL_STATES).default('pending'), ...STATE_LIST_PAGING });
export type TListProposalsQuery = z.infer<typeof ZListProposalsQuery>;

/** The error codes a kind of proposal answers with. */
export interface ProposalCodes {
  notFound: ErrorCode;
  closed: ErrorCode;
}

/** The proposals of one kind in one tenant's records. */
export class ProposalStore<T extends ProposalRecord> {
  constructor(
    private readonly records: TenantRecordsPort,
    private readonly type: T['type'],
    private readonly codes: ProposalCodes,
  ) {}

  /**
   * One page of the tenant's proposals in `state`, newest first (decided and expired ones only when asked for). Every
   * page of a walk judges the state at the time of its first page: a proposal expiring meanwhile neither leaves nor
   * shifts the walk. Reading every proposal made a loop of propose+withdraw grow each list without bound.
   */
  list(tenantId: string, q: TListProposalsQuery, now: Date): Promise<Page<T>> {
    return walkByState({ list: `${this.type}s`, tenantId, state: q.state }, q, now, (at, limit, c) => this.records.proposalPage<T>(tenantId, this.type, q.state, at, limit, c));
  }

  /** The proposal `id` with its version, if still pending: else 404 (none) or 409 (decided, withdrawn, lapsed). */
  async pending(tenantId: string, id: string, now: Date): Promise<VersionedRecord<T>> {
    const found = await this.records.get<T>(tenantId, proposalRecordId(this.type, id), this.type);
    if (!found) throw new ArchiveError(this.codes.notFound, { detail: `The tenant has no proposal ${id.slice(0, 64)}.` });
    const state = proposalStateOf(found.value, now);
    if (state !== 'pending') throw new ArchiveError(this.codes.closed, { detail: `The proposal is ${state}; propose the change again if it is still wanted.`, extensions: { state } });
    return found;
  }

  /**
   * The pending proposal `principal`'s person made that `same` recognises, among the tenant's newest pending ones: a
   * PUT sent again after its answer was lost (the policy unchanged, so its If-Match still holds) is answered the
   * proposal it made instead of storing a second one to approve. One page, not every pending proposal: a retry comes
   * soon after the request it repeats.
   */
  async pendingOf(principal: Principal, now: Date, same: (p: T) => boolean): Promise<T | null> {
    const page = await this.records.proposalPage<T>(principal.tenantId, this.type, 'pending', now.toISOString(), PROPOSAL_RETRY_WINDOW);
    return page.items.find((p) => samePerson(principal, p.proposedBy) && same(p)) ?? null;
  }

  /** The proposer withdraws it, or another person who may manage the policy rejects it; either way it never applies. */
  async withdraw(principal: Principal, id: string, now: Date, audit?: AuditStaging, detail?: (p: T) => string): Promise<T> {
    const found = await this.pending(principal.tenantId, id, now);
    const state = samePerson(principal, found.value.proposedBy) ? 'withdrawn' : 'rejected';
    const closed: T = { ...found.value, state, decidedAt: now.toISOString(), decidedBy: actor(principal) };
    if ((await writeWithAuditEntry(audit, detail ? { detail: detail(closed) } : {}, (outbox) => this.records.replace(closed, found.etag, outbox), (r) => r === 'replaced')) === 'conflict') {
      throw new ArchiveError(this.codes.closed, { detail: 'The proposal was decided concurrently.', extensions: { state: 'decided' } });
    }
    return closed;
  }
}

/**
 * The approver as a second person, for `rule`: not the proposer through any credential, nor a person the proposer
 * gave rights to since proposing (an identity of their own, a guest account given rights for the purpose) anywhere up
 * the chain (sod.ts `madeSecondBy`). Answers what the approver was given since the proposal, for further checks.
 */
export async function assertSecondPerson(principal: Principal, proposal: ProposalRecord, deps: { tenantRecords: TenantRecordsPort }, rule: SodRule): Promise<RightsGiven[]> {
  const proposedBy = personOf(proposal.proposedBy);
  if (samePerson(principal, proposal.proposedBy)) throw sodRefusal(rule, { proposedBy });
  const givings = await rightsGivenTo(principal, deps, proposal.proposedAt);
  const given = madeSecondBy(givings, proposal.proposedBy, proposal.proposedAt);
  if (given) throw sodRefusal(rule, { proposedBy, approverRightsGivenBy: personOf(given.by), approverRightsGivenAt: given.at, approverRightsGivenThrough: given.through });
  return givings.filter((g) => g.at >= proposal.proposedAt);
}

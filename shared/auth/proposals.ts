/**
 * What the four-eyes proposals of the archive's policies share (the SoD policy, sod-policy-proposals.ts; the retention
 * policy, retention/policy-proposals.ts): a weakening is stored as a proposal that lapses unless a second person
 * approves it; the proposer withdraws it, anyone else who may manage the policy rejects it. One implementation of the
 * states, the lifetime, the list walk, the closing and the second-person check, so the two cannot drift apart.
 */
import { z } from 'zod';
import type { AuditStaging } from '../kernel/audit';
import { ArchiveError, type ErrorCode } from '../kernel/errors';
import { type Permission, personOf, type Principal } from '../kernel/principal';
import { writeWithAuditEntry } from '../audit/outbox';
import { type Logger, type Page, PROPOSAL_STATES, type ProposalType, type TenantRecord, type TenantRecordsPort, type VersionedRecord } from '../ports';
import { decidedInStorage, type DecisionKeeping, storeDecision } from './decision-blobs';
import { sha256, uuidv7 } from '../ids';
import { CHANGED } from '../kernel/concurrency';
import { endReached } from '../kernel/instant';
import { actor } from './rights-sets/rights-records';
import { type GivingsDeps, rightsGivenTo } from './rights-sets/rights-given';
import { findRightsAssignment } from './rights-sets/find-rights-assignment';
import { heldPermissions } from './rights-sets/rights-floor';
import { keyReader, samePersonUpTheKeys, withKeyPerson } from './api-keys/verify-api-key';
import { madeSecondBy, type RightsGiven, samePerson, SOD_PROPOSAL_LIFETIME_DAYS, sodRefusal, type SodRule } from './sod';
import { STATE_LIST_PAGING, walkByState } from './state-walk';
import type { KeySealDeps } from './api-keys/key-seal';
import type { ChainKeyring } from '../kernel/audit-chain';
import { sealWith, unsealedBecause } from '../kernel/archive-seal';

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
  /** The archive's seal (proposalSealed), made when proposed; absent: one from before the seal, or not the archive's. */
  keyVersion?: string;
  mac?: string;
}

/**
 * Operators are alerted on this exact phrase (infra/main.bicep, proposalUnsealedAlert): a proposal the archive did not
 * seal (planted in Cosmos DB in another manager's name, or its change rewritten there) was asked to be approved; refused.
 */
export const PROPOSAL_UNSEALED = 'policy proposal in the catalog not sealed by the archive';

export type ProposalState = ProposalRecord['state'] | 'expired';

const DAY = 24 * 3600 * 1000;

/**
 * Names the pending proposal of one change (a policy over a base) by one person: `<type>-slot:<hash>`. Written in
 * the proposal's own batch (created, or moved over from a closed proposal), so of two identical PUTs at once one
 * stores a proposal and the other, finding the slot taken, is answered that proposal.
 */
export interface ProposalSlotRecord extends TenantRecord {
  type: 'proposal-slot';
  proposalId: string;
}

/** A pending proposal whose `expiresAt` holds no readable instant (every one was written with one) has expired: read with Date.parse it stayed open for ever. */
export const proposalStateOf = (p: ProposalRecord, now: Date): ProposalState => (p.state === 'pending' && endReached(p.expiresAt, now) ? 'expired' : p.state);

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
    ...((p as { notSealedByArchive?: true }).notSealedByArchive ? { notSealedByArchive: true as const } : {}),
  };
}

/**
 * A list of proposals: `state` picks the pending ones (the default: those still to decide), the approved, withdrawn,
 * rejected or expired ones, the decided ones (any of those four), or all, as the API keys' list does; `limit` and
 * `continuationToken` page them like the archive's other lists.
 */
export const ZListProposalsQuery = z.strictObject({ state: z.enum(PROPOSAL_STATES).default('pending'), ...STATE_LIST_PAGING });
export type TListProposalsQuery = z.infer<typeof ZListProposalsQuery>;

/**
 * What a proposal's seal covers (kernel/archive-seal.ts, purpose its type: one kind never passes for another, nor for a
 * key or grant): who proposed what, when, until when, where; not the state and decision, which change while it is open.
 * Broke: proposal records were not sealed, and whoever could write Cosmos DB and held the right to manage the policy
 * planted a pending proposal in another manager's name (or rewrote a genuine one's change) and approved it alone.
 */
function proposalSealed<T extends ProposalRecord>(p: T, changeOf: (p: T) => object): object {
  const { tenantId, id, type, proposalId, proposedAt, proposedBy, expiresAt } = p;
  return { tenantId, id, type, proposalId, proposedAt, proposedBy, expiresAt, change: changeOf(p) };
}

/** `p` with the archive's seal over what it covers (proposalSealed), `changeOf` its type's own fields. */
export async function sealProposal<T extends ProposalRecord>(p: T, changeOf: (p: T) => object, keys: ChainKeyring): Promise<T> {
  const { keyVersion: _v, mac: _m, ...rest } = p;
  const { keyVersion, mac } = await sealWith(p.type, proposalSealed(p, changeOf), keys);
  return { ...rest, ...(keyVersion !== undefined ? { keyVersion } : {}), mac } as T;
}

/** The error codes a kind of proposal answers with. */
export interface ProposalCodes {
  notFound: ErrorCode;
  closed: ErrorCode;
}

/** Where decisions are kept beside the records, so that a restore of Cosmos DB does not undo them (decision-blobs.ts). */
export interface DecisionStorage extends DecisionKeeping {
  log: Pick<Logger, 'warn' | 'error'>;
}

/** The proposals of one kind in one tenant's records. */
export class ProposalStore<T extends ProposalRecord> {
  constructor(
    private readonly records: TenantRecordsPort,
    private readonly type: T['type'],
    private readonly codes: ProposalCodes,
    /** null: a store that only proposes and lists (a decision needs it). */
    private readonly storage: DecisionStorage | null,
    /** What the proposal proposes, its type's own fields (the seal covers them). */
    private readonly changeOf: (p: T) => object,
  ) {}


  /**
   * The proposal may be approved only as the archive sealed it, with the chain key version current now: else 409
   * `proposal_not_sealed`, nothing applied. One without a seal (from before it: proposals lapse within days, propose it
   * again) or whose seal does not check (planted or rewritten in Cosmos DB) is logged PROPOSAL_UNSEALED. One sealed
   * with a version since superseded is only refused: a rotation while it was pending is no attack, but whoever held the
   * old version could have sealed it, and its own dates are no witness of when.
   */
  async assertSealed(p: T): Promise<void> {
    const { why, superseded } = await this.sealVerdict(p, this.kept().audit.chainKeys);
    if (why === null && !superseded) return;
    const extensions = { proposalId: p.proposalId, ...(superseded ? { superseded: true } : {}) };
    if (superseded) throw new ArchiveError('proposal_not_sealed', { detail: 'The proposal was sealed with an audit chain key version rotated since; it cannot be approved. Propose it again.', extensions });
    this.kept().log.error(PROPOSAL_UNSEALED, { tenantId: p.tenantId, type: p.type, proposalId: p.proposalId, proposedBy: p.proposedBy, reason: why });
    throw new ArchiveError('proposal_not_sealed', { detail: 'The archive did not seal this proposal (made before proposals were sealed, or changed in the catalog since); it cannot be approved. Propose it again.', extensions });
  }

  /** Why `p` is not as the archive sealed it (null: it is), and whether it was sealed with a version superseded since. */
  private async sealVerdict(p: T, keys: ChainKeyring): Promise<{ why: string | null; superseded: boolean }> {
    const current = await keys.current();
    const sealed = { ...proposalSealed(p, this.changeOf), ...(p.keyVersion !== undefined ? { keyVersion: p.keyVersion } : {}), mac: p.mac };
    const why = p.mac === undefined ? 'no seal' : await unsealedBecause(this.type, sealed, typeof p.proposedAt === 'string' ? p.proposedAt : null, keys);
    const named = typeof p.keyVersion === 'string' ? p.keyVersion : null;
    if (why === 'key unavailable' && named === current.version) throw new ArchiveError('dependency_unavailable', { detail: 'The audit chain key cannot be read now; try again later.' });
    // Checked with an older version, as of its own date before that version's rotation: refused, not reported. One
    // dated after it ('superseded key': the old version sealing what it no longer may) is reported with the rest.
    return { why, superseded: why === null && named !== current.version && (await keys.version(named)).rank < current.rank };
  }

  private kept(): DecisionStorage {
    if (!this.storage) throw new Error(`${this.type}: deciding needs where decisions are kept`);
    return this.storage;
  }

  /**
   * One page of the tenant's proposals in `state`, newest first (decided and expired ones only when asked for). Every
   * page of a walk judges the state at the time of its first page: a proposal expiring meanwhile neither leaves nor
   * shifts the walk. Reading every proposal made a loop of propose+withdraw grow each list without bound.
   */
  async list(tenantId: string, q: TListProposalsQuery, now: Date): Promise<Page<T & { notSealedByArchive?: true }>> {
    const page = await walkByState({ list: `${this.type}s`, tenantId, state: q.state }, q, now, (at, limit, c) => this.records.proposalPage<T>(tenantId, this.type, q.state, at, limit, c));
    // A pending one the archive did not seal (assertSealed) is marked, so a reviewer sees it is not one to approve; one
    // sealed with a superseded version is the archive's, not marked. A decided one is not judged (from before the seal).
    return { ...page, items: await Promise.all(page.items.map((p) => this.marked(p, now))) };
  }

  /**
   * The proposal `id` as the list answers it (marked when the archive did not seal it), whatever its state; else 404.
   * Broke: a 202 named the proposal at `…/proposals/{id}`, where only DELETE and approve were: a client following it
   * could not read what it was asked to approve.
   */
  async read(tenantId: string, id: string, now: Date): Promise<T & { notSealedByArchive?: true }> {
    const found = await this.found(tenantId, id);
    // Broke: a record a restore of Cosmos DB gave back pending read as pending, though storage keeps its decision and
    // approve or DELETE refuse it as decided (red team 27). One point read of its decision blob, as those make; one found
    // is written back onto the record (decision-blobs.ts). The list says it after the reconciler's next run.
    const decided = this.storage && proposalStateOf(found.value, now) === 'pending' ? await decidedInStorage(found, now, { ...this.storage, tenantRecords: this.records }) : null;
    return this.marked(decided ?? found.value, now);
  }

  private async found(tenantId: string, id: string): Promise<VersionedRecord<T>> {
    const found = await this.records.get<T>(tenantId, proposalRecordId(this.type, id), this.type);
    if (!found) throw new ArchiveError(this.codes.notFound, { detail: `The tenant has no proposal ${id.slice(0, 64)}.` });
    return found;
  }

  private async marked(p: T, now: Date): Promise<T & { notSealedByArchive?: true }> {
    const keys = this.storage?.audit.chainKeys;
    return keys && proposalStateOf(p, now) === 'pending' && (await this.sealVerdict(p, keys)).why !== null ? { ...p, notSealedByArchive: true as const } : p;
  }

  /** The proposal `id` with its version, if still pending: else 404 (none) or 409 (decided, withdrawn, lapsed). */
  async pending(tenantId: string, id: string, now: Date): Promise<VersionedRecord<T>> {
    const found = await this.found(tenantId, id);
    const state = proposalStateOf(found.value, now);
    if (state !== 'pending') {
      // A decision whose blob write failed after the record's (the request answered 500) is kept when it is next asked for.
      if (state !== 'expired' && this.storage) await storeDecision(found.value, this.storage);
      throw this.closed(state);
    }
    return found;
  }

  private closed(state: ProposalState): ArchiveError {
    return new ArchiveError(this.codes.closed, { detail: `The proposal is ${state}; propose the change again if it is still wanted.`, extensions: { state } });
  }

  /**
   * `pending`, and not decided in storage: a restore of Cosmos DB to before its decision gave the record back pending.
   * One read of its decision blob (approvals and withdrawals are rare); one found is written back onto the record, with
   * an audit entry and the SETTING_RESTORED line, and the proposal is refused as decided (decision-blobs.ts).
   */
  async decidable(tenantId: string, id: string, now: Date): Promise<VersionedRecord<T>> {
    const found = await this.pending(tenantId, id, now);
    const decided = await decidedInStorage(found, now, { ...this.kept(), tenantRecords: this.records });
    if (decided) throw this.closed(decided.state);
    return found;
  }

  /** Keeps the decision of `decided` in storage too, after the record's write that decided it (decision-blobs.ts). */
  keepDecision(decided: T): Promise<void> {
    return storeDecision(decided, this.kept());
  }

  /**
   * Stores the proposal `make` builds, unless the same person's same `change` (its base and what it proposes, as text)
   * is pending already: a PUT sent again after its answer was lost (a proposal moves no version, so its If-Match still
   * holds), or two sent at once. That one is answered it (`replayed`), and nothing is stored. One point read of the
   * change's slot, whatever the tenant's other proposals; CHANGED when another request took the slot meanwhile (the
   * caller reads again and is answered the proposal it stored).
   */
  async propose(principal: Principal, now: Date, change: string, make: () => T, keys: ChainKeyring, audit: AuditStaging | undefined, entry: (p: T) => { target?: string; detail?: string }): Promise<{ proposal: T; replayed: boolean } | typeof CHANGED> {
    const tenantId = principal.tenantId;
    const slotId = `${this.type}-slot:${sha256(`${personOf(principal)}\n${change}`)}`;
    const slot = await this.records.get<ProposalSlotRecord>(tenantId, slotId, 'proposal-slot', { fresh: true });
    if (slot) {
      const earlier = await this.records.get<T>(tenantId, proposalRecordId(this.type, slot.value.proposalId), this.type, { fresh: true });
      if (earlier && proposalStateOf(earlier.value, now) === 'pending') return { proposal: earlier.value, replayed: true };
    }
    const proposal = await sealProposal(make(), this.changeOf, keys);
    const taken: ProposalSlotRecord = { id: slotId, tenantId, type: 'proposal-slot', proposalId: proposal.proposalId };
    const written = await writeWithAuditEntry(
      audit,
      entry(proposal),
      (outbox) => this.records.batch(tenantId, [{ op: 'create', record: proposal }, slot ? { op: 'replace', record: taken, ifMatch: slot.etag } : { op: 'create', record: taken }], outbox),
      (r) => r === 'written',
    );
    return written === 'written' ? { proposal, replayed: false } : CHANGED;
  }

  /** The proposer withdraws it, or another person who may manage the policy rejects it; either way it never applies. */
  async withdraw(principal: Principal, id: string, now: Date, audit?: AuditStaging, detail?: (p: T) => string): Promise<T> {
    const found = await this.decidable(principal.tenantId, id, now);
    // Its proposer read up the keys (samePersonUpTheKeys). Broke: one proposed through a key from before persons were kept
    // names only the key (`apikey:<id>`): its own person's close of it was recorded as another person's rejection.
    const storage = this.kept();
    const own = await samePersonUpTheKeys(principal, found.value.proposedBy, keyReader(principal.tenantId, { tenantRecords: this.records, audit: storage.audit, log: storage.log }));
    const state = own ? 'withdrawn' : 'rejected';
    const closed: T = { ...found.value, state, decidedAt: now.toISOString(), decidedBy: actor(principal) };
    if ((await writeWithAuditEntry(audit, detail ? { detail: detail(closed) } : {}, (outbox) => this.records.replace(closed, found.etag, outbox), (r) => r === 'replaced')) === 'conflict') {
      throw new ArchiveError(this.codes.closed, { detail: 'The proposal was decided concurrently.', extensions: { state: 'decided' } });
    }
    await this.keepDecision(closed);
    return closed;
  }
}

/**
 * Who proposed it, with their person (withKeyPerson). Broke: one proposed through a key minted through a key before
 * persons were kept, while that key acted for the key above, stores that key (`apikey:<id>`) as its person: the key's
 * own person approved their own proposal, once the key's subject was given rights.
 */
const proposerOf = (proposal: ProposalRecord, deps: KeySealDeps) => withKeyPerson(proposal.proposedBy, keyReader(proposal.tenantId, deps));

/**
 * The proposer still holds `permission`, the one the change needs: a change two people decide needs both authorised when
 * it applies. A proposer whose rights were taken since (a manager let go, a key's person removed) left behind a change a
 * second person could still make take effect in their name. Else 409 `proposer_rights_ended`: propose it again.
 */
export async function assertProposerStillMay(proposal: ProposalRecord, permission: Permission, deps: Parameters<typeof heldPermissions>[3] & KeySealDeps): Promise<void> {
  const proposer = personOf(await proposerOf(proposal, deps));
  const assigned = await findRightsAssignment(proposal.tenantId, proposer, deps, { fresh: true });
  if ((await heldPermissions(proposal.tenantId, proposer, assigned, deps)).includes(permission)) return;
  throw new ArchiveError('proposer_rights_ended', { detail: `${proposer} proposed this change and no longer holds ${permission}; it cannot be approved. Someone who holds ${permission} may propose it again.`, extensions: { proposedBy: proposer, permission } });
}

/**
 * The approver as a second person, for `rule`: not the proposer through any credential, nor a person the proposer
 * gave rights to since proposing (an identity of their own, a guest account given rights for the purpose) anywhere up
 * the chain (sod.ts `madeSecondBy`). Answers what the approver was given since the proposal, for further checks.
 */
export async function assertSecondPerson(principal: Principal, proposal: ProposalRecord, deps: GivingsDeps, rule: SodRule): Promise<RightsGiven[]> {
  const proposer = await proposerOf(proposal, deps);
  const proposedBy = personOf(proposer);
  if (samePerson(principal, proposer)) throw sodRefusal(rule, { proposedBy });
  const givings = await rightsGivenTo(principal, deps, proposal.proposedAt);
  const given = madeSecondBy(givings, proposer, proposal.proposedAt);
  if (given) throw sodRefusal(rule, { proposedBy, approverRightsGivenBy: personOf(given.by), approverRightsGivenAt: given.at, approverRightsGivenThrough: given.through });
  return givings.filter((g) => g.at >= proposal.proposedAt);
}

/**
 * Decisions of four-eyes proposals kept in storage too, as revocations are (revocation-blobs.ts). A proposal decided
 * in Cosmos DB only (approved, withdrawn, rejected) came back pending from a point-in-time restore to before its
 * decision, and could be approved: a rejected lowering applied, an approved one applied a second time over the policy
 * the restore gave back. Each decision is now also written as a small create-only WORM blob in the tenant's container
 * (`decisions/<type>-<id>.json`, e.g. `decisions/sod-policy-proposal-<id>.json`, locked DECISION_RETENTION_YEARS, as
 * long as the audit seals), after the record's write that decided it. An approval or a withdrawal looks it up before
 * it acts (one read: they are rare), and a decision found is written back onto the record with an audit entry and
 * logged as SETTING_RESTORED; the reconciler does the same for every pending proposal that has one, so the lists say
 * the truth before anyone acts. A proposal that lapsed needs none: its `expiresAt` comes back with it.
 *
 * Only a decision the archive wrote is applied: each blob carries the archive's seal (kernel/archive-seal.ts, purpose
 * `decision`) and names its tenant, type and proposal. Unsealed, anyone able to create a blob in a tenant's container (a
 * storage role, a leaked SAS; no rights in the tenant) planted a decision and closed any pending proposal (withdrawn,
 * rejected) before its approver acted. A blob from before the seal is applied only where the tenant's audit log holds
 * the decision's own entry; any other is ignored (the proposal stays pending) and logged DECISION_UNSEALED once per
 * blob per instance.
 */
import { type AuditLogPort, type BlobArchivePort, type ListedBlob, type Logger, PROPOSAL_TYPES, type ProposalType, type TenantRecord, type TenantRecordsPort, type VersionedRecord } from '../ports';
import { type AuditAction, auditOutboxItem } from '../kernel/audit';
import { forEachTenantKeeping, reportNotKept } from './kept-in-storage';
import { judgedNotKept, readKeptBlob } from '../kept-blobs';
import { notKeptByArchive, type Sealed, sealWith } from '../kernel/archive-seal';
import { auditHolds } from '../audit/audit-pages';

type Decided = 'approved' | 'withdrawn' | 'rejected';
type ProposalActor = { subject: string; kind: string; person: string };

/** What a decision needs of a proposal record (proposals.ts ProposalRecord, which imports this file). */
interface ProposalRecord extends TenantRecord {
  type: ProposalType;
  proposalId: string;
  state: 'pending' | Decided;
  decidedAt?: string;
  decidedBy?: ProposalActor;
  decisionReason?: string;
}

/**
 * Operators are alerted on this exact phrase (infra/main.bicep, settingRestoredAlert): a tenant setting the Cosmos DB
 * record had lost (a restore) was applied again from storage: a proposal's decision, a rights set or an assignment.
 */
export const SETTING_RESTORED = 'setting restored from storage';

/** Operators are alerted on this exact phrase (infra/main.bicep, decisionUnsealedAlert): a decision blob the archive did not write, ignored. */
export const DECISION_UNSEALED = 'decision in storage not sealed by the archive';

/** Who applies a setting again from storage, in the audit entry it writes. */
export const SETTING_RESTORE_ACTOR = { subject: 'system:settings-restore', kind: 'system' } as const;

/** As long as the audit log's seals are kept (audit/seal.ts AUDIT_SEAL_RETENTION_YEARS, checked equal by restore-settings.test.ts): the decision is as much a record of the act. */
export const DECISION_RETENTION_YEARS = 10;

export const DECISIONS_PREFIX = 'decisions/';
export const decisionBlobName = (type: ProposalRecord['type'], proposalId: string): string => `${DECISIONS_PREFIX}${type}-${proposalId}.json`;

/** What a decision blob holds. */
export interface StoredDecision {
  tenantId: string;
  type: ProposalRecord['type'];
  proposalId: string;
  state: Decided;
  decidedAt: string;
  decidedBy: ProposalActor | null;
  decisionReason?: string;
}

export type DecisionBlobs = Pick<BlobArchivePort, 'prepareTenant' | 'putCreateOnly' | 'readIfExists'>;

/** Where decisions are kept, and the key that seals them (and the audit log that vouches for one from before the seal). */
export interface DecisionKeeping {
  blobs: DecisionBlobs;
  audit: Pick<AuditLogPort, 'chainKeys' | 'list'>;
}

/** The purpose decision blobs are sealed under (kernel/archive-seal.ts). */
const DECISION_SEAL = 'decision';

/** The most a decision blob is read of: well under a kilobyte as written, its reason included (a planted one of any size is not read whole). */
const DECISION_MAX_BYTES = 16 * 1024;

/** The audit action a decision of a proposal of `type` is recorded under (functions/access.ts, functions/retention.ts). */
const DECISION_ACTIONS: Record<ProposalRecord['type'], Record<'approve' | 'withdraw', AuditAction>> = {
  'sod-policy-proposal': { approve: 'sod-policy.proposal-approve', withdraw: 'sod-policy.proposal-withdraw' },
  'retention-policy-proposal': { approve: 'retention.policy-proposal-approve', withdraw: 'retention.policy-proposal-withdraw' },
};
const decisionAction = (type: ProposalRecord['type'], state: Decided): AuditAction => DECISION_ACTIONS[type][state === 'approved' ? 'approve' : 'withdraw'];

/** Writes the blob of a decided proposal (idempotent: a decision found again writes it then; a first one written stands). */
export async function storeDecision(p: ProposalRecord, deps: DecisionKeeping & { log: Pick<Logger, 'error'> }): Promise<void> {
  if (p.state === 'pending' || !p.decidedAt) return;
  const blobs = deps.blobs;
  const stored: StoredDecision & Sealed = await sealWith(DECISION_SEAL, { tenantId: p.tenantId, type: p.type, proposalId: p.proposalId, state: p.state, decidedAt: p.decidedAt, decidedBy: p.decidedBy ?? null, ...(p.decisionReason ? { decisionReason: p.decisionReason } : {}) } satisfies StoredDecision, deps.audit.chainKeys);
  const retainUntil = new Date(Date.parse(p.decidedAt));
  retainUntil.setUTCFullYear(retainUntil.getUTCFullYear() + DECISION_RETENTION_YEARS);
  await blobs.prepareTenant(p.tenantId);
  // 'different' is a decision written first (a concurrent decision, or this one's earlier write): it stands, if the
  // archive's. Broke: taken as one unread, a blob planted under the name before the decision kept the genuine one out of
  // storage, alerted only when the proposal was next looked up in storage (after a restore, too late). As a revocation
  // (revocation-blobs.ts storeRevocation), it is read now and one not the archive's reported (DECISION_UNSEALED).
  if ((await blobs.putCreateOnly(p.tenantId, decisionBlobName(p.type, p.proposalId), Buffer.from(JSON.stringify(stored)), 'application/json', { retainUntil: retainUntil.toISOString(), legalHold: false }, {})) === 'different') await storedDecisionOf(p, deps);
}

/** The blob's content if it is a decision of `p` (the seal covers what it names, not the blob's name: a copy from another proposal's name is not this one's). */
function decisionOf(text: string, p: ProposalRecord): (StoredDecision & Partial<Sealed>) | null {
  try {
    const v = JSON.parse(text) as Partial<StoredDecision> | null;
    const ok = v !== null && typeof v === 'object' && v.tenantId === p.tenantId && v.type === p.type && v.proposalId === p.proposalId && (v.state === 'approved' || v.state === 'withdrawn' || v.state === 'rejected') && typeof v.decidedAt === 'string';
    return ok ? (v as StoredDecision) : null;
  } catch {
    return null;
  }
}

/**
 * The decision storage keeps of `p` if the archive wrote it: sealed by it, or from before the seal with the decision's
 * own success entry in the tenant's audit log (one by SETTING_RESTORE_ACTOR is no witness: it applied a blob, and
 * before the seal it applied any). Broke: any blob under the name decided the proposal (one not even reading as a
 * decision closed it as rejected). Any other is reported once and answered null: the proposal stays pending.
 */
async function storedDecisionOf(p: ProposalRecord, deps: DecisionKeeping & { log: Pick<Logger, 'error'> }, listed?: ListedBlob): Promise<StoredDecision | null> {
  const name = decisionBlobName(p.type, p.proposalId);
  const read = await readKeptBlob(deps.blobs, p.tenantId, name, DECISION_MAX_BYTES);
  if (!read) return null;
  const stored = decisionOf(read.bytes.toString('utf8'), p);
  const decided = () => auditHolds(deps.audit, p.tenantId, { target: p.id, action: decisionAction(p.type, stored!.state) }, [stored?.decidedAt, read.createdOn], (e) => e.outcome === 'success' && e.actor.subject !== SETTING_RESTORE_ACTOR.subject, read.createdOn);
  const why = stored ? await notKeptByArchive(DECISION_SEAL, stored, read.createdOn, deps.audit.chainKeys, decided, 'no seal, and no audit entry of the decision') : `not a decision of ${p.id}`;
  if (why === null) return stored;
  reportNotKept(deps.log, DECISION_UNSEALED, p.tenantId, name, why, listed);
  return null;
}

/**
 * Whether the pending proposal `found` was decided in storage; if so the decision is written back onto the record (a
 * conflict leaves it to the next look), with an audit entry by SETTING_RESTORE_ACTOR, and logged. Answers the decided
 * record, or null when storage keeps no decision. `listed`: the blob as the reconciler's listing named it, remembered
 * when judged not the archive's.
 */
export async function decidedInStorage<T extends ProposalRecord>(found: VersionedRecord<T>, now: Date, deps: DecisionKeeping & { tenantRecords: TenantRecordsPort; log: Pick<Logger, 'warn' | 'error'> }, listed?: ListedBlob): Promise<T | null> {
  const p = found.value;
  if (p.state !== 'pending') return null;
  const stored = await storedDecisionOf(p, deps, listed);
  if (!stored) return null;
  const decided: T = { ...p, state: stored.state, decidedAt: stored.decidedAt, ...(stored.decidedBy ? { decidedBy: stored.decidedBy } : {}), ...(stored.decisionReason ? { decisionReason: stored.decisionReason } : {}) };
  const at = now.toISOString();
  // The tenant's audit trail lost the decision's entry with the restore: an entry says it was applied again, and when it was made.
  const entry = auditOutboxItem([{ tenantId: p.tenantId, at, actor: SETTING_RESTORE_ACTOR, action: decisionAction(p.type, stored.state), target: p.id, outcome: 'success', status: 200, requestId: `${SETTING_RESTORE_ACTOR.subject}:${p.id}:${at}`, clientIp: null, userAgent: null, detail: `decision-restored=${stored.state}@${stored.decidedAt}` }]);
  await deps.tenantRecords.replace(decided, found.etag, entry);
  deps.log.warn(SETTING_RESTORED, { tenantId: p.tenantId, kind: p.type, id: p.proposalId, state: stored.state, decidedAt: stored.decidedAt });
  return decided;
}

/** Pending proposals a reconciler run looks at per tenant and type, at most (a proposal lapses within days). */
const PENDING_MAX = 1000;

/**
 * Reconciler: every proposal a tenant's records show pending whose decision storage keeps (a restore of Cosmos DB gave
 * it back undecided) is decided again, so the lists say what was decided before anyone acts. Per tenant one listing of
 * its decision blobs; only then its pending proposals, and only those in both are read. One failing tenant does not
 * stop the rest.
 */
export async function restoreDecisions(now: Date, deps: { blobs: DecisionBlobs & Pick<BlobArchivePort, 'unsafeListTenants' | 'listedBlobs'>; audit: DecisionKeeping['audit']; tenantRecords: TenantRecordsPort; log: Pick<Logger, 'warn' | 'error'> }): Promise<string[]> {
  const restored: string[] = [];
  const at = now.toISOString();
  await forEachTenantKeeping(DECISIONS_PREFIX, 'proposal decisions', deps, async (tenantId, blobs) => {
    const kept = new Map(blobs.map((b) => [b.name, b]));
    for (const type of PROPOSAL_TYPES) {
      const pending = await deps.tenantRecords.proposalPage<ProposalRecord>(tenantId, type, 'pending', at, PENDING_MAX);
      for (const p of pending.items) {
        // One this instance judged not the archive's is passed over: no read, no audit query (kept-blobs.ts judgedNotKept).
        const listed = kept.get(decisionBlobName(type, p.proposalId));
        if (!listed || judgedNotKept(tenantId, listed)) continue;
        const found = await deps.tenantRecords.get<ProposalRecord>(tenantId, p.id, type, { fresh: true });
        if (found && (await decidedInStorage(found, now, deps, listed))) restored.push(`${tenantId}/${type}/${p.proposalId}`);
      }
    }
  });
  return restored;
}

import { z } from 'zod';

/** Closed list of what the audit log records. */
export const ZAuditAction = z.enum([
  'document.ingest',
  'document.correct-metadata',
  'document.metadata-history',
  'document.read',
  'document.list',
  'document.download-original',
  'document.download-rendition',
  'audit.read',
  'catalog.rebuild',
  'export.create',
  'export.read',
  'export.list',
  'export.download',
  'export.completed',
  'export.failed',
  'export.expired',
  /** An export taken out of reach early: documents it held were disposed of at the end of their retention. */
  'export.withdrawn',
  'audit.verify',
  'api-key.create',
  'api-key.list',
  'api-key.revoke',
  'rights-set.list',
  'rights-set.put',
  'rights-set.delete',
  'rights-assignment.list',
  'rights-assignment.put',
  'rights-assignment.delete',
  'sod-policy.read',
  'sod-policy.put',
  /** A weakening of the SoD policy waits for a second person: listed, read, approved (then applied), withdrawn or rejected. */
  'sod-policy.proposal-list',
  'sod-policy.proposal-read',
  'sod-policy.proposal-approve',
  'sod-policy.proposal-withdraw',
  'support-grant.create',
  'support-grant.list',
  'support-grant.revoke',
  'retention.policy-read',
  'retention.policy-set',
  /** A lowering of the retention safeguards waits for a second person: proposed, listed, read, approved (then applied), withdrawn or rejected. */
  'retention.policy-propose',
  'retention.policy-proposal-list',
  'retention.policy-proposal-read',
  'retention.policy-proposal-approve',
  'retention.policy-proposal-withdraw',
  'retention.extend',
  'retention.due-list',
  'retention.approve',
  'legal-hold.place',
  'legal-hold.place-by-query',
  'legal-hold.release',
  'legal-hold.list',
  'legal-hold.resync',
  'document.dispose',
  'document.fixity-failed',
  'document.reindex',
  'document.blobs-missing',
  'document.blobs-orphaned',
  /** A listed orphaned folder found no longer orphaned: a catalog item exists for it now, or its blobs are gone. */
  'document.blobs-orphan-resolved',
  /** One entry for the refused requests of a principal answered 429 without an entry each. */
  'access.refusals-suppressed',
  'document.validate-rendition',
  'document.download-validation',
  /** A person's sign-in record written back from the newer one kept in storage (a replay or a restore of Cosmos DB undone). */
  'person.sighting-restored',
]);
export type AuditAction = z.infer<typeof ZAuditAction>;

export type AuditOutcome = 'success' | 'refused' | 'failed';

export interface AuditEntry {
  /** The sequence number, zero-padded to 12 digits (see audit/chain.ts). */
  id: string;
  /** Position in the partition's hash chain, from 1, without gaps. */
  seq: number;
  /** `hash` of entry seq-1 (64 zeros for the first). */
  prevHash: string;
  /** HMAC-SHA256 (with `alg`) or, for entries written before keying, sha256 over prevHash and this entry's canonical JSON (audit/chain.ts). */
  hash: string;
  /** How `hash` is computed; absent on entries written before the chain was keyed (plain sha256). */
  alg?: 'hmac-sha256';
  /** The chain key version `hash` was keyed with (Key Vault's version id); absent: the first version (kernel/audit-chain.ts). */
  keyVersion?: string;
  /** `<tenantId>:<yyyy-mm>` */
  partition: string;
  tenantId: string;
  at: string;
  /** Personal data kept: the subject id (no name, no e-mail unless the IdP's `sub` is one), the API key or support grant id; `person` is the accountable person (for a key, its creator). */
  actor: { subject: string; kind: string; person?: string; keyId?: string; grantId?: string };
  action: AuditAction;
  target: string | null;
  outcome: AuditOutcome;
  status: number;
  requestId: string;
  clientIp: string | null;
  userAgent: string | null;
  /** Error code of a refusal, or a short machine detail; never document content. */
  detail?: string;
}

/** An audit partition is one tenant's month: `YYYY-MM` (UTC). */
export function auditMonth(at: Date): string {
  return at.toISOString().slice(0, 7);
}

/** The audit months from `before` months ahead of `from`'s to `now`'s, in order (none where `from` is no time). */
export function auditMonthsFrom(from: string, now: Date, before = 0): string[] {
  const start = new Date(from);
  if (Number.isNaN(start.getTime())) return [];
  const months: string[] = [];
  for (let at = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() - before, 1)); at.getTime() <= now.getTime(); at = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1))) months.push(auditMonth(at));
  return months;
}

export function auditPartition(tenantId: string, at: Date): string {
  return `${tenantId}:${auditMonth(at)}`;
}

/** What a writer supplies; the log adds the id, partition and the chain fields. */
export type AuditInput = Omit<AuditEntry, 'id' | 'partition' | 'seq' | 'prevHash' | 'hash' | 'alg'>;

/**
 * The audit outbox: a change's audit entries, written in the change's own transactional batch
 * (same container, same partition: the catalog's or the tenant records'; all or none), so a change
 * can never be stored without them. The request's instance
 * appends them to the chain after its answer and removes the item; the sealing timer appends the
 * items an instance left behind (shared/audit/outbox.ts).
 */
export interface AuditOutboxItem {
  id: string;
  tenantId: string;
  type: 'audit-outbox';
  /** When the change was written (its entries' `at`); the sealing timer takes items older than a grace period. */
  at: string;
  entries: AuditInput[];
  /** The sealing run that took the item over, and when (see AUDIT_OUTBOX_CLAIM_LEASE_MS); none until one does. */
  claim?: AuditTakeOverClaim;
  /**
   * The archive's seal over the item's id, tenant and entries (audit-outbox-seal.ts), made where the item is stored
   * (the adapters' batch): an item written into Cosmos DB by someone without Key Vault has none that checks.
   */
  seal?: { keyVersion?: string; mac: string };
}

/**
 * What marks an entry the sealing timer appended from an outbox item without the archive's seal (planted, edited, or
 * from before items were sealed): kept in the log (nothing is dropped), at the end of `detail`, which the chain's hash
 * covers, and never a witness (audit-keyed.ts keyedByArchive). Broke: such an item's entries were keyed by the drain like
 * any, and vouched for a legal hold's placement nobody made. A parked batch without the seal (AuditLogPort.savePending)
 * is marked the same: one mark, since every witness lookup goes through keyedByArchive; its alert tells which it was.
 */
export const OUTBOX_UNSEALED_DETAIL = 'outbox-unsealed';

/** `entry` marked as appended from an outbox item the archive did not seal. */
export function markedOutboxUnsealed(entry: AuditInput): AuditInput {
  return { ...entry, detail: entry.detail ? `${entry.detail};${OUTBOX_UNSEALED_DETAIL}` : OUTBOX_UNSEALED_DETAIL };
}

/** Whether `entry` was appended from an outbox item the archive did not seal (markedOutboxUnsealed). */
export function fromUnsealedOutbox(entry: Pick<AuditEntry, 'detail'>): boolean {
  return typeof entry.detail === 'string' && (entry.detail === OUTBOX_UNSEALED_DETAIL || entry.detail.endsWith(`;${OUTBOX_UNSEALED_DETAIL}`));
}

/** A sealing run's claim on entries it takes over (an outbox item, a parked batch): only that run appends them. */
export interface AuditTakeOverClaim {
  by: string;
  at: string;
}

/**
 * A request's success entry, offered by the request pipeline to a core that can store it in the
 * same transactional batch as its change (the audit outbox). The core asks for the item when it
 * writes, and says when the batch was stored; the pipeline then appends the entry after its answer.
 */
export interface AuditStaging {
  /** The entry about `target` (default: what the request's path names), with a short machine detail if any, as an outbox item. */
  item(target?: string, detail?: string): AuditOutboxItem;
  /** The change and `item` were stored, all or none. */
  stored(item: AuditOutboxItem): void;
  /**
   * Nothing was stored: the request repeats a change already made (a retry whose answer was lost), so its own success
   * entry says so with `detail`, and the log does not show the change twice.
   */
  unchanged?(detail: string): void;
}

/**
 * The audit outbox's timing, which keeps each stored change's entries in the chain once: the
 * instance that stored a change sends its entries within AUDIT_OUTBOX_SEND_WITHIN_MS of the change
 * (the item's `at`) or never, and gives up a create the store has not answered (retries included)
 * after AUDIT_CREATE_TIMEOUT_MS; the sealing timer takes over an item only once it is older than
 * AUDIT_OUTBOX_GRACE_MS, past both with minutes to spare (clock skew, a write the store was still
 * finishing). Before, a release that came late (a hold by query over many documents) or hung in
 * throttling for a minute could be appended by the timer as well: the same entry twice.
 */
export const AUDIT_OUTBOX_SEND_WITHIN_MS = 5 * 60_000;
export const AUDIT_CREATE_TIMEOUT_MS = 60_000;
export const AUDIT_OUTBOX_GRACE_MS = 10 * 60_000;
/**
 * How long a sealing run's claim on entries it takes over holds: two runs at once (a timer lease that
 * expired during a long run, a host and a tool running the same timer) both looked, missed the other's
 * append and appended the same change twice; now one claims each item over its etag and only it appends.
 * The claimant sends within AUDIT_OUTBOX_SEND_WITHIN_MS of its claim or not at all (a create it sent ends
 * within AUDIT_CREATE_TIMEOUT_MS), so a later run that takes over an older claim (the claimant stopped)
 * never appends beside it; it looks first (appendOnce), as the claimant may have appended before it stopped.
 */
export const AUDIT_OUTBOX_CLAIM_LEASE_MS = 10 * 60_000;

/** Whether a take-over claim still holds at `now` (ms since the epoch): then no other run appends those entries. */
export const claimHolds = (claim: AuditTakeOverClaim | undefined, now: number): boolean => claim !== undefined && Date.parse(claim.at) > now - AUDIT_OUTBOX_CLAIM_LEASE_MS;

/**
 * The sealing timer's take-over of stored entries no instance appended (audit outbox items, parked batches), one
 * loop for both: each item is claimed over its etag (AUDIT_OUTBOX_CLAIM_LEASE_MS) and only the claimant appends its
 * entries, sent within AUDIT_OUTBOX_SEND_WITHIN_MS of the claim or not at all, then removes it; an item another run's
 * claim still holds is left to that run. An item the log refuses stays (claimed, until the lease ends) without
 * holding back the items behind it; the take-over then fails naming it, so the sealing run is alerted.
 */
export async function takeOverEach<T>(
  what: string,
  items: readonly T[],
  run: string,
  steps: {
    claimOf: (item: T) => AuditTakeOverClaim | undefined;
    /** Records the claim if the item is still the version read: false when another run claimed or removed it first. */
    claim: (item: T, claim: AuditTakeOverClaim) => Promise<boolean>;
    /** The entries appended (none where they are in the chain already: the claimant before a crash). */
    append: (item: T, sendBy: number) => Promise<number>;
    remove: (item: T) => Promise<void>;
    nameOf: (item: T) => string;
    failed?: (item: T, err: unknown) => void;
  },
): Promise<number> {
  let appended = 0;
  const failed: string[] = [];
  for (const item of items) {
    const now = Date.now();
    if (claimHolds(steps.claimOf(item), now)) continue;
    try {
      if (!(await steps.claim(item, { by: run, at: new Date(now).toISOString() }))) continue;
      // A crash after the append leaves the item to a run after the lease, whose append finds the entries in the chain.
      appended += await steps.append(item, now + AUDIT_OUTBOX_SEND_WITHIN_MS);
      await steps.remove(item);
    } catch (err) {
      failed.push(steps.nameOf(item));
      steps.failed?.(item, err);
    }
  }
  if (failed.length > 0) throw new Error(`${what} not appended (${appended} entries appended): ${failed.slice(0, 10).join(', ')}${failed.length > 10 ? `, and ${failed.length - 10} more` : ''}`);
  return appended;
}

/**
 * One request's outbox item: named by its (server-made) request id, which its entries carry, and written when
 * they say. `name` replaces the request id in the item's id where that request has an item of its own already
 * (an export's later entries under the request that started it); `at` is when the item is written where that is
 * later than its entries (a disposal finished by a later run: the sealing timer's grace runs from the write).
 */
export function auditOutboxItem(entries: [AuditInput, ...AuditInput[]], opts: { name?: string; at?: string } = {}): AuditOutboxItem {
  const first = entries[0];
  return { id: `audit-outbox:${opts.name ?? first.requestId}`, tenantId: first.tenantId, type: 'audit-outbox', at: opts.at ?? first.at, entries };
}

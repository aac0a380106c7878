import type { Container } from '@azure/cosmos';
import { randomUUID } from 'node:crypto';
import { deleteItem, isCosmosStatus, withoutSystemProperties } from './cosmos';
import type { AuditInput, UnsealedParkedBatch } from '../../ports';
import { markedOutboxUnsealed, takeOverEach, type AuditTakeOverClaim } from '../../kernel/audit';
import type { ChainKeyring } from '../../kernel/audit-chain';
import { parkedBatchUnsealedBecause, sealedParkedBatch } from '../../kernel/audit-outbox-seal';

/** Entries of a completed change the log could not take at the time. */
interface PendingEntries {
  id: string;
  tenantId: string;
  type: 'audit-pending';
  entries: AuditInput[];
  /** The sealing run appending them (AUDIT_OUTBOX_CLAIM_LEASE_MS), as an outbox item's. */
  claim?: AuditTakeOverClaim;
  /** The archive's seal over id, tenant and entries (audit-outbox-seal.ts): one written by anyone else has none that checks. */
  seal?: { keyVersion?: string; mac: string };
}

/**
 * Parked audit entries, in the `tenants` container (not the audit container, which is
 * create-only). A parked entry keeps its time, so it lands in the month of its change.
 */
export class PendingAuditEntries {
  constructor(
    private readonly container: Container,
    /** The chain keyring each batch is sealed with where parked, and judged by when drained. */
    private readonly keys: ChainKeyring,
  ) {}

  async park(inputs: AuditInput[]): Promise<void> {
    if (inputs.length === 0) return;
    const pending: PendingEntries = { id: `audit-pending:${randomUUID()}`, tenantId: inputs[0]!.tenantId, type: 'audit-pending', entries: inputs };
    await this.container.items.create(await sealedParkedBatch(pending, this.keys));
  }

  /**
   * Cross-tenant: hands every parked batch to `append`, and drops it once appended. A batch the log refuses
   * stays for the next run without holding back the others; the drain then fails, naming it (alerted).
   * Each batch is claimed over its etag first, as the audit outbox's items are (AUDIT_OUTBOX_CLAIM_LEASE_MS):
   * two runs at once both appended it (each looked before the other's append); now only the claimant does,
   * sending within AUDIT_OUTBOX_SEND_WITHIN_MS of its claim or not at all.
   *
   * A batch without the archive's seal is appended marked and told to `unsealed` (the caller alerts). Broke: the drain
   * keyed whatever entries a batch held, so one planted in Cosmos DB (a `legal-hold.place` by someone who never placed
   * it) became a keyed witness. Not dropped: the log stays complete, and the mark is covered by the chain's hash.
   */
  async unsafeDrain(append: (inputs: AuditInput[], opts: { sendBy: number }) => Promise<boolean>, unsealed: (batch: UnsealedParkedBatch) => void): Promise<number> {
    const { resources } = await this.container.items
      .query<PendingEntries & { _etag: string; _ts?: number }>({ query: `SELECT * FROM c WHERE c.type = 'audit-pending'` })
      .fetchAll();
    return takeOverEach('parked audit entries', resources, randomUUID(), {
      claimOf: (p) => p.claim,
      claim: (p, claim) => this.claim(p, p._etag, claim),
      append: async (p, sendBy) => {
        // Judged by when Cosmos DB stored it as listed (`_ts`, before this run's claim), as the outbox's items are.
        const storedAt = typeof p._ts === 'number' && Number.isFinite(p._ts) ? new Date(p._ts * 1000).toISOString() : null;
        const why = await parkedBatchUnsealedBecause(p, storedAt, this.keys);
        if (why !== null) unsealed({ id: p.id, tenantId: p.tenantId, entries: p.entries.length, reason: why });
        const entries = why === null ? p.entries : p.entries.map(markedOutboxUnsealed);
        return (await append(entries, { sendBy })) ? entries.length : 0;
      },
      remove: async (p) => void (await deleteItem(this.container, p.tenantId, p.id)),
      nameOf: (p) => `${p.tenantId}/${p.id}`,
    });
  }

  /** Records `claim` if the batch is still the version read (If-Match): false when another run claimed or dropped it first. */
  private async claim(p: PendingEntries, etag: string, claim: AuditTakeOverClaim): Promise<boolean> {
    try {
      await this.container.item(p.id, p.tenantId).replace({ ...withoutSystemProperties(p), claim }, { accessCondition: { type: 'IfMatch', condition: etag } });
      return true;
    } catch (err) {
      if (isCosmosStatus(err, 412) || isCosmosStatus(err, 404)) return false;
      throw err;
    }
  }
}

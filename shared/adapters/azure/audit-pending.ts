import type { Container } from '@azure/cosmos';
import { randomUUID } from 'node:crypto';
import { deleteItem, isCosmosStatus, withoutSystemProperties } from './cosmos';
import type { AuditInput } from '../../ports';
import { takeOverEach, type AuditTakeOverClaim } from '../../kernel/audit';

/** Entries of a completed change the log could not take at the time. */
interface PendingEntries {
  id: string;
  tenantId: string;
  type: 'audit-pending';
  entries: AuditInput[];
  /** The sealing run appending them (AUDIT_OUTBOX_CLAIM_LEASE_MS), as an outbox item's. */
  claim?: AuditTakeOverClaim;
}

/**
 * Parked audit entries, in the `tenants` container (not the audit container, which is
 * create-only). A parked entry keeps its time, so it lands in the month of its change.
 */
export class PendingAuditEntries {
  constructor(private readonly container: Container) {}

  async park(inputs: AuditInput[]): Promise<void> {
    if (inputs.length === 0) return;
    const pending: PendingEntries = { id: `audit-pending:${randomUUID()}`, tenantId: inputs[0]!.tenantId, type: 'audit-pending', entries: inputs };
    await this.container.items.create(pending);
  }

  /**
   * Cross-tenant: hands every parked batch to `append`, and drops it once appended. A batch the log refuses
   * stays for the next run without holding back the others; the drain then fails, naming it (alerted).
   * Each batch is claimed over its etag first, as the audit outbox's items are (AUDIT_OUTBOX_CLAIM_LEASE_MS):
   * two runs at once both appended it (each looked before the other's append); now only the claimant does,
   * sending within AUDIT_OUTBOX_SEND_WITHIN_MS of its claim or not at all.
   */
  async unsafeDrain(append: (inputs: AuditInput[], opts: { sendBy: number }) => Promise<boolean>): Promise<number> {
    const { resources } = await this.container.items
      .query<PendingEntries & { _etag: string }>({ query: `SELECT * FROM c WHERE c.type = 'audit-pending'` })
      .fetchAll();
    return takeOverEach('parked audit entries', resources, randomUUID(), {
      claimOf: (p) => p.claim,
      claim: (p, claim) => this.claim(p, p._etag, claim),
      append: async (p, sendBy) => ((await append(p.entries, { sendBy })) ? p.entries.length : 0),
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

import type { Container } from '@azure/cosmos';
import { randomUUID } from 'node:crypto';
import { deleteItem } from './cosmos';
import type { AuditInput } from '../../ports';

/** Entries of a completed change the log could not take at the time. */
interface PendingEntries {
  id: string;
  tenantId: string;
  type: 'audit-pending';
  entries: AuditInput[];
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
   */
  async unsafeDrain(append: (inputs: AuditInput[]) => Promise<unknown>): Promise<number> {
    const { resources } = await this.container.items
      .query<PendingEntries>({ query: `SELECT * FROM c WHERE c.type = 'audit-pending'` })
      .fetchAll();
    let appended = 0;
    const failed: string[] = [];
    for (const p of resources) {
      try {
        await append(p.entries);
        // A crash here leaves the batch for the next run, whose append finds it in the chain (appendOnce).
        await deleteItem(this.container, p.tenantId, p.id);
        appended += p.entries.length;
      } catch {
        failed.push(`${p.tenantId}/${p.id}`);
      }
    }
    if (failed.length > 0) throw new Error(`parked audit entries not appended (${appended} appended): ${failed.slice(0, 10).join(', ')}${failed.length > 10 ? `, and ${failed.length - 10} more` : ''}`);
    return appended;
  }
}

/**
 * The archive's seal on entries that wait outside the chain for the sealing timer (archive-seal.ts), over their holder's
 * id, tenant and entries: an audit outbox item (purpose `audit-outbox`) and a parked batch (`audit-pending`, the entries
 * of a change the log refused, AuditLogPort.savePending). The sealing timer appends and keys whatever entries either
 * holds; whoever can write Cosmos DB (not Key Vault) could write one with a forged entry, which the run then made a keyed
 * witness. Made where the item is stored: its many makers (auditOutboxItem) are synchronous, its few writers (the
 * adapters' batches, the parking) are not.
 */
import type { AuditInput, AuditOutboxItem } from './audit';
import type { ChainKeyring } from './audit-chain';
import { sealFieldUnsealedBecause, sealOver, type UnsealedReason } from './archive-seal';

/** What holds entries for the sealing timer, and the seal it is stored with. */
interface HeldEntries {
  id: string;
  tenantId: string;
  entries: AuditInput[];
  seal?: { keyVersion?: string; mac: string };
}

type Holder = 'audit-outbox' | 'audit-pending';

const sealedContent = (item: HeldEntries) => ({ id: item.id, tenantId: item.tenantId, entries: item.entries });

const sealedAs = async <T extends HeldEntries>(purpose: Holder, item: T, keys: ChainKeyring): Promise<T> => ({ ...item, seal: await sealOver(purpose, sealedContent(item), keys) });

const unsealedAs = (purpose: Holder, item: HeldEntries, storedAt: string | null, keys: ChainKeyring): Promise<UnsealedReason | 'no seal' | null> =>
  sealFieldUnsealedBecause(purpose, sealedContent(item), item.seal, storedAt, keys);

/** `item` with the archive's seal under the current key version. */
export const sealedOutboxItem = (item: AuditOutboxItem, keys: ChainKeyring): Promise<AuditOutboxItem> => sealedAs('audit-outbox', item, keys);

/** Why a stored item is not sealed by the archive (null: it is). `storedAt`: when the store wrote it (null: not told). */
export const outboxItemUnsealedBecause = (item: AuditOutboxItem, storedAt: string | null, keys: ChainKeyring): Promise<UnsealedReason | 'no seal' | null> => unsealedAs('audit-outbox', item, storedAt, keys);

/** A parked batch with the archive's seal under the current key version (its own purpose: no outbox item's seal passes for one). */
export const sealedParkedBatch = <T extends HeldEntries>(batch: T, keys: ChainKeyring): Promise<T> => sealedAs('audit-pending', batch, keys);

/** Why a stored parked batch is not sealed by the archive (null: it is). `storedAt`: when the store wrote it (null: not told). */
export const parkedBatchUnsealedBecause = (batch: HeldEntries, storedAt: string | null, keys: ChainKeyring): Promise<UnsealedReason | 'no seal' | null> => unsealedAs('audit-pending', batch, storedAt, keys);

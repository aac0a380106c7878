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
import { sealWith, unsealedBecause, type UnsealedReason } from './archive-seal';

/** What holds entries for the sealing timer, and the seal it is stored with. */
interface HeldEntries {
  id: string;
  tenantId: string;
  entries: AuditInput[];
  seal?: { keyVersion?: string; mac: string };
}

type Holder = 'audit-outbox' | 'audit-pending';

const sealedContent = (item: HeldEntries) => ({ id: item.id, tenantId: item.tenantId, entries: item.entries });

async function sealedAs<T extends HeldEntries>(purpose: Holder, item: T, keys: ChainKeyring): Promise<T> {
  const { keyVersion, mac } = await sealWith(purpose, sealedContent(item), keys);
  return { ...item, seal: { ...(keyVersion !== undefined ? { keyVersion } : {}), mac } };
}

/** Only the seal's `keyVersion` and `mac` are read from it: anything else there could stand in for the item's own fields. */
async function unsealedAs(purpose: Holder, item: HeldEntries, storedAt: string | null, keys: ChainKeyring): Promise<UnsealedReason | 'no seal' | null> {
  const seal: unknown = item.seal;
  if (!seal || typeof seal !== 'object' || typeof (seal as { mac?: unknown }).mac !== 'string') return 'no seal';
  const { keyVersion, mac } = seal as { keyVersion?: unknown; mac: string };
  return unsealedBecause(purpose, { ...sealedContent(item), ...(typeof keyVersion === 'string' ? { keyVersion } : {}), mac }, storedAt, keys);
}

/** `item` with the archive's seal under the current key version. */
export const sealedOutboxItem = (item: AuditOutboxItem, keys: ChainKeyring): Promise<AuditOutboxItem> => sealedAs('audit-outbox', item, keys);

/** Why a stored item is not sealed by the archive (null: it is). `storedAt`: when the store wrote it (null: not told). */
export const outboxItemUnsealedBecause = (item: AuditOutboxItem, storedAt: string | null, keys: ChainKeyring): Promise<UnsealedReason | 'no seal' | null> => unsealedAs('audit-outbox', item, storedAt, keys);

/** A parked batch with the archive's seal under the current key version (its own purpose: no outbox item's seal passes for one). */
export const sealedParkedBatch = <T extends HeldEntries>(batch: T, keys: ChainKeyring): Promise<T> => sealedAs('audit-pending', batch, keys);

/** Why a stored parked batch is not sealed by the archive (null: it is). `storedAt`: when the store wrote it (null: not told). */
export const parkedBatchUnsealedBecause = (batch: HeldEntries, storedAt: string | null, keys: ChainKeyring): Promise<UnsealedReason | 'no seal' | null> => unsealedAs('audit-pending', batch, storedAt, keys);

/**
 * The archive's seal on an audit outbox item (archive-seal.ts, purpose `audit-outbox`), over its id, tenant and
 * entries. The sealing timer appends and keys whatever entries an item holds; whoever can write Cosmos DB (not Key
 * Vault) could write one with a forged entry, which the run then made a keyed witness. Made where the item is stored:
 * its many makers (auditOutboxItem) are synchronous, its few writers (the adapters' batches) are not.
 */
import type { AuditOutboxItem } from './audit';
import type { ChainKeyring } from './audit-chain';
import { sealWith, unsealedBecause, type UnsealedReason } from './archive-seal';

const PURPOSE = 'audit-outbox';

const sealedContent = (item: AuditOutboxItem) => ({ id: item.id, tenantId: item.tenantId, entries: item.entries });

/** `item` with the archive's seal under the current key version. */
export async function sealedOutboxItem(item: AuditOutboxItem, keys: ChainKeyring): Promise<AuditOutboxItem> {
  const { keyVersion, mac } = await sealWith(PURPOSE, sealedContent(item), keys);
  return { ...item, seal: { ...(keyVersion !== undefined ? { keyVersion } : {}), mac } };
}

/**
 * Why a stored item is not sealed by the archive (null: it is). `storedAt`: when the store wrote it (null: not told).
 * Only the seal's `keyVersion` and `mac` are read from it: anything else there could stand in for the item's own fields.
 */
export async function outboxItemUnsealedBecause(item: AuditOutboxItem, storedAt: string | null, keys: ChainKeyring): Promise<UnsealedReason | 'no seal' | null> {
  const seal: unknown = item.seal;
  if (!seal || typeof seal !== 'object' || typeof (seal as { mac?: unknown }).mac !== 'string') return 'no seal';
  const { keyVersion, mac } = seal as { keyVersion?: unknown; mac: string };
  return unsealedBecause(PURPOSE, { ...sealedContent(item), ...(typeof keyVersion === 'string' ? { keyVersion } : {}), mac }, storedAt, keys);
}

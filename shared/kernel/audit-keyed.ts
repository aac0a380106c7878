/**
 * Whether a stored audit entry is the archive's own (keyed with the chain key, not marked as from an unsealed outbox
 * item): what witnesses read (audit-pages.ts auditHolds) and what an "already in the log?" lookup counts (notYetLogged).
 */
import { timingSafeEqual } from 'node:crypto';
import { type AuditEntry, type AuditInput, fromUnsealedOutbox } from './audit';
import { CHAIN_ALG, type ChainKeyring, ChainKeyUnavailable, hashEntry, supersededBefore } from './audit-chain';

/**
 * Whether `entry`'s hash is the chain key's HMAC of it (the version it names; one that cannot be read keys nothing, nor
 * one superseded before the database stored the entry, its `_ts`, or where the store does not tell it, before
 * `blobCreatedOn`). An entry from before the chain was keyed (plain SHA-256) anyone can compute: it vouches for nothing.
 * By the entry's own time, not the blob's: a genuine correction whose blob write failed, the key rotated before the
 * reconciler wrote the blob (created now), counted as keyed after the rotation and was never kept (CORRECTION_UNAUDITED).
 * The old version, leaked, keys an entry the database stores after the rotation: none still. An entry appended from an
 * outbox item without the archive's seal (kernel/audit.ts fromUnsealedOutbox) is none either.
 */
export async function keyedByArchive(entry: AuditEntry & { _ts?: unknown }, keys: ChainKeyring, blobCreatedOn: string | null | undefined): Promise<boolean> {
  // Keyed by the sealing timer from an outbox item the archive never sealed (outbox.ts AUDIT_OUTBOX_UNSEALED): anyone
  // able to write Cosmos DB made it, and it was taken as a witness (a legal hold's placement, a kept setting's digest).
  return !fromUnsealedOutbox(entry) && (await keyedByChain(entry, keys, blobCreatedOn));
}

/** Whether the chain key keyed `entry` (keyedByArchive without the outbox mark's rule). */
async function keyedByChain(entry: AuditEntry & { _ts?: unknown }, keys: ChainKeyring, blobCreatedOn: string | null | undefined): Promise<boolean> {
  if (entry.alg !== CHAIN_ALG || typeof entry.hash !== 'string') return false;
  const stored = typeof entry._ts === 'number' ? new Date(entry._ts * 1000) : null;
  const storedAt = stored ? (Number.isNaN(stored.getTime()) ? null : stored.toISOString()) : blobCreatedOn;
  let key: Buffer;
  try {
    const version = await keys.version(typeof entry.keyVersion === 'string' ? entry.keyVersion : null);
    if (storedAt !== undefined && supersededBefore(version, storedAt)) return false;
    key = version.key;
  } catch (err) {
    if (err instanceof ChainKeyUnavailable) return false;
    throw err;
  }
  let expected: Buffer;
  try {
    expected = Buffer.from(hashEntry(entry, key), 'hex');
  } catch {
    return false; // content nested past what canonical JSON walks: no entry the archive wrote
  }
  const given = Buffer.from(entry.hash, 'hex');
  return key.length > 0 && given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The inputs of an "append once" (AuditLogPort.appendOnce) not in the log yet, judged by `stored`, the entries listed
 * under their requests: one counts by its request id, action and outcome only if the archive keyed it, and one marked
 * from an unsealed outbox item counts only for an input so marked too (a drain retried after a crash).
 * Broke: any entry so named counted, so one written straight into the audit container (unkeyed), or appended marked from
 * a planted outbox item, with a genuine change's request id (read from its outbox item) shadowed the genuine entry,
 * which was never appended: the log lost a hold's placement, a disposal. A genuine retry's earlier append is keyed.
 */
export async function notYetLogged(inputs: AuditInput[], stored: readonly (AuditEntry & { _ts?: unknown })[], keys: ChainKeyring): Promise<AuditInput[]> {
  const name = (e: Pick<AuditInput, 'requestId' | 'action' | 'outcome'>) => `${e.requestId} ${e.action} ${e.outcome}`;
  const genuine = new Set<string>();
  const marked = new Set<string>();
  for (const e of stored) {
    if (await keyedByChain(e, keys, undefined)) (fromUnsealedOutbox(e) ? marked : genuine).add(name(e));
  }
  return inputs.filter((i) => !genuine.has(name(i)) && !(fromUnsealedOutbox(i) && marked.has(name(i))));
}

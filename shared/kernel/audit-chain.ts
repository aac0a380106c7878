import { createHash, createHmac } from 'node:crypto';
import type { AuditEntry } from './audit';

/**
 * The hash chain of one audit partition (`<tenant>:<yyyy-mm>`). Entry n carries its sequence
 * number, the hash of entry n-1 and its own hash:
 *
 *   hash_n = HMAC-SHA256(key, prevHash_n || "\n" || canonicalJson(entry_n without `hash`))
 *
 * with the chain key (Key Vault; locally AUDIT_CHAIN_KEY), so whoever can write the store but
 * not read the key cannot re-chain after an edit. Entries say so (`alg: 'hmac-sha256'`); entries
 * without `alg` were written before keying, with plain sha256, and still verify, but never after
 * a keyed entry of the same partition (that would be a downgrade).
 *
 * Entry ids are the zero-padded sequence number, so two writers can never both create entry n
 * (Cosmos refuses the second create with 409): no forks, and since a number is only taken by
 * writing its entry, no gaps.
 */
export const GENESIS_HASH = '0'.repeat(64);
const SEQ_DIGITS = 12;

export const entryId = (seq: number): string => String(seq).padStart(SEQ_DIGITS, '0');
export const seqOfId = (id: string): number | null => (/^\d{12}$/.test(id) ? Number(id) : null);

/** JSON with object keys sorted at every level: the bytes the hash covers. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The hash an entry should carry, from its content (system properties such as `_etag` excluded) and the chain key. */
export function hashEntry(entry: Omit<AuditEntry, 'hash'> & { hash?: string }, key?: Buffer): string {
  const content: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entry)) if (k !== 'hash' && !k.startsWith('_')) content[k] = v;
  const bytes = `${entry.prevHash}\n${canonicalJson(content)}`;
  if (entry.alg === CHAIN_ALG) {
    if (!key) throw new Error('hashEntry: a keyed entry needs the chain key');
    return createHmac('sha256', key).update(bytes).digest('hex');
  }
  return createHash('sha256').update(bytes).digest('hex');
}

export const CHAIN_ALG = 'hmac-sha256' as const;

/** The chain key from its secret (hex, at least 32 bytes). */
export function parseChainKey(hex: string): Buffer {
  if (!/^(?:[0-9a-fA-F]{2}){32,}$/.test(hex.trim())) throw new Error('the audit chain key must be at least 32 bytes, hex-encoded');
  return Buffer.from(hex.trim(), 'hex');
}

/** A partition's chain head, written as an immutable blob by the sealing timer. */
export interface AuditSeal {
  partition: string;
  seq: number;
  hash: string;
  sealedAt: string;
}

export type ChainProblem =
  | { kind: 'changed'; seq: number; id: string; detail: 'content-does-not-match-hash' | 'hash-differs-from-seal' }
  | { kind: 'missing'; seq: number }
  | { kind: 'inserted'; id: string; detail: 'not-part-of-the-chain' }
  /** Entry `seq` does not link to entry seq-1 as stored: one of the two was rewritten (hash recomputed) or replaced. */
  | { kind: 'broken-link'; seq: number; id: string }
  /** An unkeyed (plain sha256) entry after a keyed one: re-chained by someone without the key. */
  | { kind: 'unkeyed'; seq: number; id: string; detail: 'after-a-keyed-entry' | 'month-must-be-keyed' }
  /**
   * The chain ends before a sequence number something else vouches for: the head, a seal, or this
   * instance's high-water mark. The tail was cut (and perhaps the head moved backwards).
   */
  /** A blob in the month's seal folder that is no seal: planted or overwritten in storage (seals are written once, WORM). */
  | { kind: 'unreadable-seal'; blob: string }
  | { kind: 'truncated'; chainEnd: number; expectedSeq: number; claimedBy: ('head' | 'seal' | 'high-water')[] };

export interface ChainReport {
  partition: string;
  ok: boolean;
  entries: number;
  /** Highest sequence number seen in entries, seals or the head. */
  lastSeq: number;
  /** Highest sequence number covered by a seal; entries after it are protected by the chain only. */
  sealedSeq: number;
  problems: ChainProblem[];
}

/** What vouches for the chain's end besides its entries. */
export interface ChainMarks {
  /** The head document's seq (a hint, but it only moves forward). */
  headSeq?: number;
  /** The highest seq this instance wrote or saw (AuditLog.highWater). */
  highWater?: number;
  /** Needed to check keyed entries; without it they are reported as changed. */
  key?: Buffer;
  /** The month was written after keying (from AUDIT_CHAIN_KEYED_SINCE on, or always when that is unset): no entry may be unkeyed. */
  requireKeyed?: boolean;
}

/**
 * Recompute a partition's chain against its seals. Reports every entry whose content no longer
 * matches its hash (changed), every sequence number without an entry inside the chain (missing:
 * deleted), a chain that ends before what the head, a seal or the high-water mark vouch for
 * (truncated), every entry that does not belong to the chain (inserted: a foreign id), every link
 * that does not follow its predecessor (broken-link: an entry rewritten with a recomputed hash, or
 * replaced), and unkeyed entries after keyed ones (a downgrade).
 */
export function verifyChain(partition: string, stored: AuditEntry[], seals: AuditSeal[], marksOrHeadSeq: ChainMarks | number = {}): ChainReport {
  const marks: ChainMarks = typeof marksOrHeadSeq === 'number' ? { headSeq: marksOrHeadSeq } : marksOrHeadSeq;
  const problems: ChainProblem[] = [];
  const bySeq = new Map<number, AuditEntry>();
  for (const e of stored) {
    const seq = seqOfId(e.id);
    if (seq === null || e.seq !== seq || e.partition !== partition) problems.push({ kind: 'inserted', id: e.id, detail: 'not-part-of-the-chain' });
    else bySeq.set(seq, e);
  }
  const sealedSeq = Math.max(0, ...seals.map((s) => s.seq));
  const chainEnd = Math.max(0, ...bySeq.keys());
  const claims = { head: marks.headSeq ?? 0, seal: sealedSeq, 'high-water': marks.highWater ?? 0 };
  const lastSeq = Math.max(chainEnd, ...Object.values(claims));
  const sealAt = new Map(seals.map((s) => [s.seq, s]));
  let prev: string | null = GENESIS_HASH;
  let keyed = false;
  for (let seq = 1; seq <= chainEnd; seq++) {
    const e = bySeq.get(seq);
    if (!e) {
      problems.push({ kind: 'missing', seq });
      prev = null; // the next link cannot be checked against a missing entry
      continue;
    }
    const matches = e.alg === CHAIN_ALG && !marks.key ? false : hashEntry(e, marks.key) === e.hash;
    if (!matches) problems.push({ kind: 'changed', seq, id: e.id, detail: 'content-does-not-match-hash' });
    else if (prev !== null && e.prevHash !== prev) problems.push({ kind: 'broken-link', seq, id: e.id });
    if (e.alg === CHAIN_ALG) keyed = true;
    else if (keyed || marks.requireKeyed) problems.push({ kind: 'unkeyed', seq, id: e.id, detail: keyed ? 'after-a-keyed-entry' : 'month-must-be-keyed' });
    const seal = sealAt.get(seq);
    if (seal && seal.hash !== e.hash) problems.push({ kind: 'changed', seq, id: e.id, detail: 'hash-differs-from-seal' });
    prev = e.hash;
  }
  if (lastSeq > chainEnd) {
    const claimedBy = (Object.keys(claims) as (keyof typeof claims)[]).filter((k) => claims[k] > chainEnd);
    problems.push({ kind: 'truncated', chainEnd, expectedSeq: lastSeq, claimedBy });
  }
  return { partition, ok: problems.length === 0, entries: stored.length, lastSeq, sealedSeq, problems };
}

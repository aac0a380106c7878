import { createHash } from 'node:crypto';
import type { AuditEntry } from './types';

/**
 * The hash chain of one audit partition (`<tenant>:<yyyy-mm>`). Entry n carries its sequence
 * number, the hash of entry n-1 and its own hash:
 *
 *   hash_n = sha256(prevHash_n || "\n" || canonicalJson(entry_n without `hash`))
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

/** The hash an entry should carry, from its content (system properties such as `_etag` excluded). */
export function hashEntry(entry: Omit<AuditEntry, 'hash'> & { hash?: string }): string {
  const content: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entry)) if (k !== 'hash' && !k.startsWith('_')) content[k] = v;
  return createHash('sha256').update(`${entry.prevHash}\n${canonicalJson(content)}`).digest('hex');
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
  | { kind: 'broken-link'; seq: number; id: string };

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

/**
 * Recompute a partition's chain against its seals. Reports every entry whose content no longer
 * matches its hash (changed), every sequence number without an entry (missing: deleted, including
 * at the tail, which the seals and the head reveal) and every entry that does not belong to the
 * chain (inserted: a foreign id), and every link that does not follow its predecessor (broken-link:
 * an entry rewritten with a recomputed hash, or replaced).
 */
export function verifyChain(partition: string, stored: AuditEntry[], seals: AuditSeal[], headSeq = 0): ChainReport {
  const problems: ChainProblem[] = [];
  const bySeq = new Map<number, AuditEntry>();
  for (const e of stored) {
    const seq = seqOfId(e.id);
    if (seq === null || e.seq !== seq || e.partition !== partition) problems.push({ kind: 'inserted', id: e.id, detail: 'not-part-of-the-chain' });
    else bySeq.set(seq, e);
  }
  const sealedSeq = Math.max(0, ...seals.map((s) => s.seq));
  const lastSeq = Math.max(0, headSeq, sealedSeq, ...bySeq.keys());
  const sealAt = new Map(seals.map((s) => [s.seq, s]));
  let prev: string | null = GENESIS_HASH;
  for (let seq = 1; seq <= lastSeq; seq++) {
    const e = bySeq.get(seq);
    if (!e) {
      problems.push({ kind: 'missing', seq });
      prev = null; // the next link cannot be checked against a missing entry
      continue;
    }
    if (hashEntry(e) !== e.hash) problems.push({ kind: 'changed', seq, id: e.id, detail: 'content-does-not-match-hash' });
    else if (prev !== null && e.prevHash !== prev) problems.push({ kind: 'broken-link', seq, id: e.id });
    const seal = sealAt.get(seq);
    if (seal && seal.hash !== e.hash) problems.push({ kind: 'changed', seq, id: e.id, detail: 'hash-differs-from-seal' });
    prev = e.hash;
  }
  return { partition, ok: problems.length === 0, entries: stored.length, lastSeq, sealedSeq, problems };
}

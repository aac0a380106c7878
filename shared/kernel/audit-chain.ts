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
 * The chain key is rotated (README *Rotate the audit chain key*): a keyed entry names the key version it was hashed
 * with (`keyVersion`, covered by its own hash), and is checked with that version; an entry that names none was keyed
 * with the first version. A month that crosses a rotation verifies end to end (the link from an old-key entry to a
 * new-key one is an ordinary link), but never an older version after a newer one, nor an entry stored (Cosmos DB's
 * `_ts`, set by the database) well after its version was superseded (Key Vault's `createdOn` of the next version, set
 * by the vault): that is the old key, leaked, re-chaining after the rotation.
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

/**
 * How long after a new chain key version is created an instance may still key with the one before: the current
 * version is looked up again every 5 minutes (as the pepper's, adapters/azure/secrets.ts CURRENT_VERSION_TTL_MS), plus
 * a minute for a round under way and the clocks of Key Vault and Cosmos DB / Blob storage.
 */
export const CHAIN_KEY_PICKUP_MS = 6 * 60_000;

/** One version of the chain key. */
export interface ChainKeyVersion {
  /** Key Vault's version id (locally `1`, `2`, … when AUDIT_CHAIN_KEY lists several); null: the one unnamed key. */
  version: string | null;
  key: Buffer;
  /** Orders versions, oldest first: Key Vault's `createdOn` (ms), locally the position in AUDIT_CHAIN_KEY. */
  rank: number;
  /** When the next version was created (Key Vault's `createdOn`, set by the vault): from then (plus CHAIN_KEY_PICKUP_MS) this one keys nothing new. Unknown locally. */
  supersededAt?: number;
}

/**
 * Whether `version` was already superseded when storage created a blob (`createdOn`, set by the storage service;
 * CHAIN_KEY_PICKUP_MS allowed): the old key, leaked, keying something after the rotation. Not told (null) or not a
 * time is taken as after. The seal check and the audit witness each wrote this; the seal's read a creation time that
 * does not parse as before the rotation.
 */
export function supersededBefore(version: ChainKeyVersion, createdOn: string | null): boolean {
  if (version.supersededAt === undefined) return false;
  return createdOn === null || !(Date.parse(createdOn) <= version.supersededAt + CHAIN_KEY_PICKUP_MS);
}

/** The chain key's versions, cached as the pepper's are: no round trip per request. */
export interface ChainKeyring {
  /** The version new entries, seals and kept settings are keyed with. */
  current(): Promise<ChainKeyVersion>;
  /**
   * A named version, or (null) the one entries naming none were keyed with: the first. Rejects with
   * ChainKeyUnavailable when the version cannot be read (disabled or deleted in Key Vault).
   */
  version(version: string | null): Promise<ChainKeyVersion>;
}

/** A key version that cannot be read: what it keyed is "key unavailable", never "changed" and never accepted. */
export class ChainKeyUnavailable extends Error {
  constructor(readonly keyVersion: string | null, reason: string) {
    super(`audit chain key version ${keyVersion ?? '(first)'} is unavailable: ${reason}`);
    this.name = 'ChainKeyUnavailable';
  }
}

/** A keyring of one unnamed key (tests, tools, an AuditLog built from a bare key). */
export function singleKeyring(key: () => Promise<Buffer>): ChainKeyring {
  const one = async (): Promise<ChainKeyVersion> => ({ version: null, key: await key(), rank: 0 });
  return {
    current: one,
    version: async (v) => {
      if (v !== null) throw new ChainKeyUnavailable(v, 'this keyring holds one unnamed key');
      return one();
    },
  };
}

/** A partition's chain head, written as an immutable blob by the sealing timer. */
export interface AuditSeal {
  partition: string;
  seq: number;
  hash: string;
  sealedAt: string;
  /**
   * The chain key version current when the seal was written (absent: before versions were named). A record, not a
   * check: a seal holds no MAC (it is WORM), and the entry it fixes is checked with the version that entry names.
   */
  keyVersion?: string;
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
   * Keyed with a version older than it may be: after an entry of a newer version, or stored (Cosmos `_ts`) more than
   * CHAIN_KEY_PICKUP_MS after the next version was created. The old key, after a rotation: re-chained by whoever holds it.
   */
  | { kind: 'older-key'; seq: number; id: string; keyVersion: string | null; detail: 'after-a-newer-key-version' | 'written-after-its-key-was-superseded' }
  /** Keyed with a version that cannot be read (disabled in Key Vault): neither accepted nor called changed. */
  | { kind: 'key-unavailable'; seq: number; id: string; keyVersion: string | null }
  /** A blob in the month's seal folder that is no seal: planted or overwritten in storage (seals are written once, WORM). */
  | { kind: 'unreadable-seal'; blob: string }
  /**
   * The seal folder holds more blobs than a verification judges (planted: seal.ts AUDIT_SEALS_LISTED): `unread` named
   * as seals and not read, `moreListed` more than were listed. The month's seals cannot be judged: never verified.
   */
  | { kind: 'unjudged-seals'; unread: number; moreListed: boolean }
  /**
   * The chain ends before a sequence number something else vouches for: the head, a seal, or this
   * instance's high-water mark. The tail was cut (and perhaps the head moved backwards).
   */
  | { kind: 'truncated'; chainEnd: number; expectedSeq: number; claimedBy: ('head' | 'seal' | 'high-water')[] };

export interface ChainReport {
  partition: string;
  ok: boolean;
  entries: number;
  /** Highest sequence number seen in entries, seals or the head. */
  lastSeq: number;
  /** Highest sequence number covered by a seal; entries after it are protected by the chain only. */
  sealedSeq: number;
  /** The first CHAIN_PROBLEMS_MAX problems. */
  problems: ChainProblem[];
  /** Every problem found, counted per kind (also those not listed). */
  problemCounts: Partial<Record<ChainProblem['kind'], number>>;
  /** More problems were found than are listed. */
  problemsTruncated: boolean;
}

/** What vouches for the chain's end besides its entries. */
export interface ChainMarks {
  /** The head document's seq (a hint, but it only moves forward). */
  headSeq?: number;
  /** The highest seq this instance wrote or saw (AuditLog.highWater). */
  highWater?: number;
  /** Needed to check keyed entries; without it (or `keys`) they are reported as changed. Only for entries naming no version. */
  key?: Buffer;
  /**
   * The versions the entries name, resolved beforehand (the verifier is synchronous): null for one that cannot be read,
   * undefined for one not resolved (reported unavailable). Takes the place of `key`.
   */
  keys?: (version: string | null) => ChainKeyVersion | null | undefined;
  /** The month was written after keying (from AUDIT_CHAIN_KEYED_SINCE on, or always when that is unset): no entry may be unkeyed. */
  requireKeyed?: boolean;
}

/** At most this many problems are listed in a report; `problemCounts` counts all of them. */
export const CHAIN_PROBLEMS_MAX = 1000;

export type ChainProblemKind = ChainProblem['kind'];

/**
 * Checks one partition's chain an entry at a time, as they are read in id order (ids are the zero-padded
 * seq, so the chain's entries come in seq order; entries with any other id anywhere between them). It keeps
 * the expected next seq, the previous hash, whether a keyed entry was seen, the seals, and at most
 * CHAIN_PROBLEMS_MAX problems: a month of a busy tenant (millions of entries) or a badly damaged one is
 * never held in memory at once.
 *
 * Reports every entry whose content no longer matches its hash (changed), every sequence number without
 * an entry inside the chain (missing: deleted), a chain that ends before what the head, a seal or the
 * high-water mark vouch for (truncated), every entry that does not belong to the chain (inserted: a
 * foreign id, or a second entry at a seq), every link that does not follow its predecessor (broken-link:
 * an entry rewritten with a recomputed hash, or replaced), and unkeyed entries after keyed ones (a downgrade).
 */
export class ChainVerifier {
  private readonly sealAt: Map<number, AuditSeal>;
  private readonly sealedSeq: number;
  /** Listed in the report before the chain's own problems, as before streaming: foreign entries first. */
  private readonly inserted: ChainProblem[] = [];
  private readonly inChain: ChainProblem[] = [];
  private readonly counts: Partial<Record<ChainProblemKind, number>> = {};
  private entries = 0;
  /** The seq the next chain entry should have. */
  private next = 1;
  private prev: string | null = GENESIS_HASH;
  private keyed = false;
  /** The newest key version seen so far in the partition. */
  private newestRank = -Infinity;

  constructor(
    private readonly partition: string,
    seals: AuditSeal[],
    private readonly marks: ChainMarks = {},
    private readonly problemsMax = CHAIN_PROBLEMS_MAX,
  ) {
    this.sealAt = new Map(seals.map((s) => [s.seq, s]));
    this.sealedSeq = seals.reduce((max, s) => Math.max(max, s.seq), 0);
  }

  private report(into: ChainProblem[], problem: ChainProblem, times = 1): void {
    this.counts[problem.kind] = (this.counts[problem.kind] ?? 0) + times;
    if (into.length < this.problemsMax) into.push(problem);
  }

  /** The next stored entry (with the store's `_ts`, seconds, where it has one); chain entries must come in ascending seq order. */
  add(e: AuditEntry): void {
    this.entries++;
    const seq = seqOfId(e.id);
    // `seq < next`: a second entry at a seq already checked (or one out of order): not the chain's.
    if (seq === null || e.seq !== seq || e.partition !== this.partition || seq < this.next) {
      this.report(this.inserted, { kind: 'inserted', id: e.id, detail: 'not-part-of-the-chain' });
      return;
    }
    if (seq > this.next) {
      // A gap: counted without a step per number (a planted id far ahead costs nothing), listed up to the cap.
      const gap = seq - this.next;
      const room = Math.min(gap, Math.max(0, this.problemsMax - this.inChain.length));
      for (let k = 0; k < room; k++) this.inChain.push({ kind: 'missing', seq: this.next + k });
      this.counts.missing = (this.counts.missing ?? 0) + gap;
      this.prev = null; // the next link cannot be checked against a missing entry
    }
    const { requireKeyed } = this.marks;
    const keyVersion = typeof e.keyVersion === 'string' ? e.keyVersion : null;
    const version = e.alg === CHAIN_ALG ? this.keyOf(keyVersion) : undefined;
    if (version === null) this.report(this.inChain, { kind: 'key-unavailable', seq, id: e.id, keyVersion });
    else {
      // A keyed entry with no key to check it (an empty one is no key) cannot match: changed, as before keyrings.
      const matches = e.alg === CHAIN_ALG ? !!version && version.key.length > 0 && hashEntry(e, version.key) === e.hash : hashEntry(e) === e.hash;
      if (!matches) this.report(this.inChain, { kind: 'changed', seq, id: e.id, detail: 'content-does-not-match-hash' });
      else if (this.prev !== null && e.prevHash !== this.prev) this.report(this.inChain, { kind: 'broken-link', seq, id: e.id });
      if (version) {
        const ts = (e as AuditEntry & { _ts?: unknown })._ts;
        const storedAtMs = typeof ts === 'number' ? ts * 1000 : undefined;
        if (version.rank < this.newestRank) this.report(this.inChain, { kind: 'older-key', seq, id: e.id, keyVersion, detail: 'after-a-newer-key-version' });
        else if (version.supersededAt !== undefined && storedAtMs !== undefined && storedAtMs > version.supersededAt + CHAIN_KEY_PICKUP_MS) {
          this.report(this.inChain, { kind: 'older-key', seq, id: e.id, keyVersion, detail: 'written-after-its-key-was-superseded' });
        }
        this.newestRank = Math.max(this.newestRank, version.rank);
      }
    }
    if (e.alg === CHAIN_ALG) this.keyed = true;
    else if (this.keyed || requireKeyed) this.report(this.inChain, { kind: 'unkeyed', seq, id: e.id, detail: this.keyed ? 'after-a-keyed-entry' : 'month-must-be-keyed' });
    const seal = this.sealAt.get(seq);
    if (seal && seal.hash !== e.hash) this.report(this.inChain, { kind: 'changed', seq, id: e.id, detail: 'hash-differs-from-seal' });
    this.prev = e.hash;
    this.next = seq + 1;
  }

  /** The version a keyed entry names; null: cannot be read (so neither changed nor accepted). */
  private keyOf(version: string | null): ChainKeyVersion | null {
    const { keys, key } = this.marks;
    if (keys) return keys(version) ?? null;
    // Without a keyring: the one key checks entries naming none; without a key, a keyed entry cannot match (changed, as before).
    if (version !== null) return null;
    return { version: null, key: key ?? Buffer.alloc(0), rank: 0 };
  }

  /**
   * The report, once every entry was added. `leading` problems (found elsewhere) are listed first; `highWater`,
   * if given, is the mark as it stands now (read after the entries), in place of the one given at the start.
   */
  finish(opts: { leading?: ChainProblem[]; highWater?: number } = {}): ChainReport {
    const leading = opts.leading ?? [];
    const chainEnd = this.next - 1;
    const claims = { head: this.marks.headSeq ?? 0, seal: this.sealedSeq, 'high-water': opts.highWater ?? this.marks.highWater ?? 0 };
    const lastSeq = Math.max(chainEnd, ...Object.values(claims));
    const tail: ChainProblem[] = [];
    if (lastSeq > chainEnd) {
      const claimedBy = (Object.keys(claims) as (keyof typeof claims)[]).filter((k) => claims[k] > chainEnd);
      this.report(tail, { kind: 'truncated', chainEnd, expectedSeq: lastSeq, claimedBy });
    }
    for (const p of leading) this.counts[p.kind] = (this.counts[p.kind] ?? 0) + 1;
    const total = Object.values(this.counts).reduce((a, b) => a + b, 0);
    const problems = [...leading, ...this.inserted, ...this.inChain, ...tail].slice(0, this.problemsMax);
    return { partition: this.partition, ok: total === 0, entries: this.entries, lastSeq, sealedSeq: this.sealedSeq, problems, problemCounts: { ...this.counts }, problemsTruncated: problems.length < total };
  }
}

/** The same verdicts for entries already in memory, in any order (tests, tools): sorted by id, then checked as a stream. */
export function verifyChain(partition: string, stored: AuditEntry[], seals: AuditSeal[], marksOrHeadSeq: ChainMarks | number = {}): ChainReport {
  const marks: ChainMarks = typeof marksOrHeadSeq === 'number' ? { headSeq: marksOrHeadSeq } : marksOrHeadSeq;
  const verifier = new ChainVerifier(partition, seals, marks);
  for (const e of [...stored].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) verifier.add(e);
  return verifier.finish();
}

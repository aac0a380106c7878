import { createHash } from 'node:crypto';

/**
 * A Bloom filter over an export's disposable document ids, kept on its job so the retention sweep
 * can rule an export out without reading its list blob. 16 bits and 11 probes per id: a false
 * "maybe" about 1 in 2,000 ids (a sweep batch of 100 reads the list of a large export about once
 * in 20 batches); 100,000 ids take 200 KB (267 KB base64), well inside a Cosmos item.
 */
const BITS_PER_ID = 16;
const PROBES = 11;

/** Bit positions of one id: double hashing over two 32-bit halves of its SHA-256. */
function probes(id: string, bits: number): number[] {
  const h = createHash('sha256').update(id).digest();
  const h1 = h.readUInt32BE(0);
  const h2 = (h.readUInt32BE(4) | 1) >>> 0; // odd, and unsigned (`|` yields a signed 32-bit number)
  return Array.from({ length: PROBES }, (_, i) => (h1 + i * h2) % bits);
}

export function disposableFilter(ids: Iterable<string>, count: number): string {
  const bytes = Buffer.alloc(Math.max(8, Math.ceil((count * BITS_PER_ID) / 8)));
  const bits = bytes.length * 8;
  for (const id of ids) for (const p of probes(id, bits)) bytes[p >> 3]! |= 1 << (p & 7);
  return bytes.toString('base64');
}

/** The ids the filter may hold (every one it does hold, and rarely one it does not). */
export function mayHold(filter: string, ids: readonly string[]): string[] {
  const bytes = Buffer.from(filter, 'base64');
  const bits = bytes.length * 8;
  if (bits === 0) return [];
  return ids.filter((id) => probes(id, bits).every((p) => (bytes[p >> 3]! & (1 << (p & 7))) !== 0));
}

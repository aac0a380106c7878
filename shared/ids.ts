import { createHash, randomBytes } from 'node:crypto';
import { ArchiveError } from './kernel/errors';

let lastMs = 0;
let sequence = 0;

/**
 * Time-ordered id (UUIDv7, RFC 9562): sorts by creation time, and within one process
 * strictly increases (a 12-bit counter in rand_a, RFC 9562 §6.2 method 1), so audit
 * entries of the same millisecond keep their order.
 */
export function uuidv7(now: number = Date.now()): string {
  if (now <= lastMs) {
    sequence++;
    if (sequence > 0xfff) {
      lastMs++;
      sequence = 0;
    }
    now = lastMs;
  } else {
    lastMs = now;
    sequence = 0;
  }
  const b = randomBytes(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = 0x70 | (sequence >> 8);
  b[7] = sequence & 0xff;
  b[8] = (b[8]! & 0x3f) | 0x80;
  return format(b);
}

/**
 * Id derived from (tenant, person, Idempotency-Key): a retry lands on the same id, so the
 * create-only blob writes and catalog create cannot make a second document. The accountable
 * person is part of it: a key is theirs (through any credential of theirs), so nobody else in the
 * tenant can replay it to be handed a document they did not upload, or learn from a refusal that
 * it was used. UUIDv8 (custom) since it is a hash, not a time.
 */
export function idFromIdempotencyKey(tenantId: string, person: string, key: string, purpose?: 'legal-hold' | 'legal-hold-by-query' | 'export' | 'support-grant' | 'disposal-approval', /** What the request is aimed at, where its path names it (the document a hold goes on). */ within?: string): string {
  // `purpose`: what the key creates besides documents (whose ids stay as they were): one key of a person per operation.
  const b = createHash('sha256').update(JSON.stringify(purpose ? [tenantId, person, key, purpose, ...(within !== undefined ? [within] : [])] : [tenantId, person, key])).digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  return format(b);
}

/** An `Idempotency-Key` header as the archive takes it (1–200 printable ASCII characters); null when absent, else a 400. */
export function idempotencyKeyOf(header: string | null): string | null {
  if (header === null) return null;
  if (!/^[\x21-\x7e]{1,200}$/.test(header)) throw new ArchiveError('bad_request', { detail: 'The Idempotency-Key must be 1–200 printable ASCII characters.' });
  return header;
}

function format(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const DOCUMENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[78][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function sha256(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The check a verified download makes once the bytes are in (web/src/lib/verified-download.ts fetches and
 * saves): the Blob is hashed in slices and handed to `save` only when its SHA-256 is the one the archive
 * holds and a Repr-Digest, when sent, agrees. No DOM or sign-in here, so the unit tests run it as it is.
 */
import { sha256OfBlob } from './sha256';

export type VerifyOutcome = { ok: true; fileName: string; sha256: string } | { ok: false; fileName: string; expected: string; actual: string };

export type Stage = { stage: 'fetching' } | { stage: 'hashing'; done: number; total: number };

/** `sha-256=:base64:` (RFC 9530 Repr-Digest) as hex; null when the header does not carry SHA-256. */
export function reprDigestHex(header: string | null): string | null {
  const m = header?.match(/sha-256=:([A-Za-z0-9+/=]+):/i);
  if (!m) return null;
  return Array.from(atob(m[1]!), (c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join('');
}

function fileNameOf(disposition: string | null, fallback: string): string {
  const star = disposition?.match(/filename\*=UTF-8''([^;]+)/i);
  if (star) return decodeURIComponent(star[1]!);
  const plain = disposition?.match(/filename="([^"]+)"/i);
  return plain ? plain[1]! : fallback;
}

/**
 * `expected`: the archive's record of the checksum (document or export record). The Repr-Digest header
 * must agree with it when present; either way the bytes must hash to it. `save` gets that same Blob, never a copy.
 */
export async function saveIfVerified(
  headers: Headers,
  body: Blob,
  expected: string,
  fallbackName: string,
  onStage: (stage: Stage) => void,
  save: (blob: Blob, fileName: string) => void,
  // The page passes the Web Worker's hashing (./sha256-off-thread.ts); the same sliced SHA-256 either way.
  hash: (blob: Blob, onProgress: (done: number, total: number) => void) => Promise<string> = sha256OfBlob,
): Promise<VerifyOutcome> {
  const fileName = fileNameOf(headers.get('content-disposition'), fallbackName);
  onStage({ stage: 'hashing', done: 0, total: body.size });
  const actual = await hash(body, (done, total) => onStage({ stage: 'hashing', done, total }));
  const header = reprDigestHex(headers.get('repr-digest'));
  const want = expected.toLowerCase();
  if (actual !== want || (header !== null && header !== want)) return { ok: false, fileName, expected: want, actual };
  save(body, fileName);
  return { ok: true, fileName, sha256: actual };
}

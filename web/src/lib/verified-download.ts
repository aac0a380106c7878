/**
 * Download through the API, check the bytes' SHA-256 (WebCrypto) against the checksum the archive
 * holds for them, and only then hand them to the reader as a file. A mismatch saves nothing.
 *
 * A file larger than the API streams in one answer (ARCHIVE_STREAMED_ANSWER_MAX_BYTES) comes another way:
 * the API answers 303 to a short-lived read-only storage link, which fetch follows (the storage account
 * allows this origin by CORS; the CSP's connect-src names it), and that answer carries no Repr-Digest, so the
 * record's SHA-256 alone decides. Support, who get no links, are refused with range_too_large and fetch the
 * file in Range pieces of the size the refusal names.
 */
import { apiFetch, ProblemError } from '../api';

export type VerifyOutcome = { ok: true; fileName: string; sha256: string } | { ok: false; fileName: string; expected: string; actual: string };

export async function sha256Hex(bytes: ArrayBuffer): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

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
 * must agree with it when present; either way the bytes must hash to it.
 */
export async function verifiedDownload(path: string, expected: string, fallbackName: string, onStage: (stage: 'fetching' | 'hashing') => void): Promise<VerifyOutcome> {
  onStage('fetching');
  const { response, body } = await fetchWhole(path);
  const fileName = fileNameOf(response.headers.get('content-disposition'), fallbackName);
  const bytes = await body.arrayBuffer();
  onStage('hashing');
  const actual = await sha256Hex(bytes);
  const header = reprDigestHex(response.headers.get('repr-digest'));
  const want = expected.toLowerCase();
  if (actual !== want || (header !== null && header !== want)) return { ok: false, fileName, expected: want, actual };
  save(new Blob([bytes], { type: response.headers.get('content-type') ?? 'application/octet-stream' }), fileName);
  return { ok: true, fileName, sha256: actual };
}

/** The whole file in one answer (the API's, or storage's after a 303), or in the Range pieces a range_too_large refusal asks for. */
export async function fetchWhole(path: string): Promise<{ response: Response; body: Blob }> {
  let piece: number;
  let size: number;
  try {
    const response = await apiFetch(path);
    return { response, body: await response.blob() };
  } catch (err) {
    if (!(err instanceof ProblemError) || err.problem.code !== 'range_too_large') throw err;
    piece = Number(err.problem.maxRangeBytes);
    size = Number(err.problem.size);
    if (!(piece > 0) || !(size > 0)) throw err;
  }
  const parts: Blob[] = [];
  let first: Response | null = null;
  for (let start = 0; start < size; start += piece) {
    const end = Math.min(size, start + piece) - 1;
    // If-Range: a piece of another representation would be answered whole (and refused), never spliced in.
    const etag = first?.headers.get('etag');
    const response = await apiFetch(path, { headers: { Range: `bytes=${start}-${end}`, ...(etag ? { 'If-Range': etag } : {}) } });
    if (response.status !== 206 || response.headers.get('content-range') !== `bytes ${start}-${end}/${size}`) {
      throw new ProblemError({ type: 'about:blank', title: response.statusText, status: response.status, code: 'range_not_satisfiable', requestId: response.headers.get('x-request-id') ?? '' });
    }
    first ??= response;
    parts.push(await response.blob());
  }
  return { response: first!, body: new Blob(parts) };
}

function save(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  // Give the browser time to start the save before the URL is revoked.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

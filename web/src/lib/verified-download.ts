/**
 * Download through the API, check the bytes' SHA-256 against the checksum the archive holds for them,
 * and only then hand them to the reader as a file. A mismatch saves nothing. The file stays one Blob (the
 * browser may keep a large one on disk), hashed in slices and then saved as it is (./verify.ts), so a
 * fiscal year's export of several GB is never held in JavaScript memory.
 *
 * A file larger than the API streams in one answer (ARCHIVE_STREAMED_ANSWER_MAX_BYTES) comes another way:
 * the API answers 303 to a short-lived read-only storage link, which fetch follows (the storage account
 * allows this origin by CORS; the CSP's connect-src names it), and that answer carries no Repr-Digest, so the
 * record's SHA-256 alone decides. Support, who get no links, are refused with range_too_large and fetch the
 * file in Range pieces of the size the refusal names.
 */
import { apiFetch, ProblemError } from '../api';
import { sha256OffThread } from './sha256-off-thread';
import { saveIfVerified, type Stage, type VerifyOutcome } from './verify';

/** Fetch, then check and save (./verify.ts). */
export async function verifiedDownload(path: string, expected: string, fallbackName: string, onStage: (stage: Stage) => void): Promise<VerifyOutcome> {
  onStage({ stage: 'fetching' });
  const { response, body } = await fetchWhole(path);
  return saveIfVerified(response.headers, body, expected, fallbackName, onStage, save, sha256OffThread);
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
  return { response: first!, body: new Blob(parts, { type: first!.headers.get('content-type') ?? '' }) };
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

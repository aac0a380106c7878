/**
 * SHA-256 of a Blob (a download, a picked file) read in slices, so a file of several GB is never one
 * ArrayBuffer in JavaScript: WebCrypto's digest takes only the whole buffer, and Chromium refuses buffers
 * that large. @noble/hashes's incremental SHA-256 (audited, no dependencies, plain JavaScript: the CSP
 * allows no WebAssembly) takes the slices one by one.
 */
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex } from '@noble/hashes/utils';

/** Small enough to hold beside the Blob, large enough that reading a slice costs little next to hashing it. */
export const SLICE_BYTES = 8 * 1024 * 1024;

/** Lower-case hex; `onProgress` after each slice with the bytes hashed so far and the Blob's size. */
export async function sha256OfBlob(blob: Blob, onProgress?: (done: number, total: number) => void): Promise<string> {
  const hash = sha256.create();
  for (let start = 0; start < blob.size; start += SLICE_BYTES) {
    const end = Math.min(blob.size, start + SLICE_BYTES);
    hash.update(new Uint8Array(await blob.slice(start, end).arrayBuffer()));
    onProgress?.(end, blob.size);
  }
  return bytesToHex(hash.digest());
}

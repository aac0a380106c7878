/**
 * The web app's SHA-256 of a download or a picked file, read in slices (web/src/lib/sha256.ts), against
 * node's own SHA-256 at the sizes where a slice boundary could go wrong.
 */
import { createHash } from 'node:crypto';
import { SLICE_BYTES, sha256OfBlob } from '../../../web/src/lib/sha256';

/** Bytes that differ from slice to slice, so slices hashed out of order or twice would show. */
function bytes(size: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = 2463534242;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const reference = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('sha256OfBlob', () => {
  const sizes = { empty: 0, 'one byte': 1, 'a slice less one': SLICE_BYTES - 1, 'one slice': SLICE_BYTES, 'a slice and one': SLICE_BYTES + 1, 'three slices and 7': 3 * SLICE_BYTES + 7 };

  it.each(Object.entries(sizes))('equals the reference SHA-256: %s', async (_name, size) => {
    const data = bytes(size);
    const seen: [number, number][] = [];
    expect(await sha256OfBlob(new Blob([data]), (done, total) => seen.push([done, total]))).toBe(reference(data));
    // One report per slice, the last at the whole size.
    expect(seen).toEqual(Array.from({ length: Math.ceil(size / SLICE_BYTES) }, (_, i) => [Math.min(size, (i + 1) * SLICE_BYTES), size]));
  });

  it('hashes a Blob made of pieces that do not line up with the slices (Range pieces) as one file', async () => {
    const data = bytes(2 * SLICE_BYTES + 3);
    const cuts = [0, 5, SLICE_BYTES - 2, SLICE_BYTES + 9, data.length];
    const blob = new Blob(cuts.slice(1).map((end, i) => data.subarray(cuts[i], end)));
    expect(await sha256OfBlob(blob)).toBe(reference(data));
  });
});

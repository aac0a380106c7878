import { ArchiveError } from '../kernel/errors';

export interface ByteRange {
  start: number;
  end: number;
}

/**
 * One `bytes=` range (RFC 9110 §14.2). Several ranges, or a unit we do not serve,
 * yield null: the whole representation is sent, which the RFC allows.
 */
export function parseRange(header: string | null, size: number): ByteRange | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return null;
  const [, a = '', b = ''] = m;
  let start: number;
  let end: number;
  if (a === '' && b === '') return null;
  if (a === '') {
    const suffix = Number(b);
    if (suffix === 0) throw unsatisfiable(size);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    // last < first is compared exactly: as Numbers, two positions above 2^53 (`bytes=9007199254740993-9007199254740992`)
    // rounded to the same one, so the invalid range was answered 416 instead of ignored (the whole file).
    if (b !== '' && BigInt(b) < BigInt(a)) return null;
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  }
  if (start >= size) throw unsatisfiable(size);
  return { start, end };
}

function unsatisfiable(size: number): ArchiveError {
  return new ArchiveError('range_not_satisfiable', { detail: `The document has ${size} bytes.`, extensions: { size } });
}

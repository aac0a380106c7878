import { corrupt } from './util';

/** One IFD entry: tag, field type, count and the absolute offset of its value bytes. */
export interface IfdEntry {
  tag: number;
  type: number;
  count: number;
  offset: number;
}

const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4 };
const MAX_ENTRIES = 4096;
const MAX_VALUES = 4_000_000;

/**
 * A small, bounds-checked TIFF structure reader (classic TIFF, both byte orders),
 * used for TIFF files and for the TIFF structure inside JPEG Exif. Nothing is
 * allocated in proportion to values a header merely declares.
 */
export class TiffReader {
  readonly little: boolean;
  readonly firstIfd: number;

  constructor(readonly buf: Buffer, readonly base = 0) {
    if (buf.length < base + 8) throw corrupt('The TIFF header is truncated.');
    const order = buf.toString('latin1', base, base + 2);
    if (order === 'II') this.little = true;
    else if (order === 'MM') this.little = false;
    else throw corrupt('The TIFF byte-order mark is invalid.');
    const magic = this.u16(base + 2);
    if (magic === 43) throw corrupt('BigTIFF files are not accepted.');
    if (magic !== 42) throw corrupt('The TIFF magic number is invalid.');
    this.firstIfd = this.u32(base + 4);
  }

  u16(at: number): number {
    this.need(at, 2);
    return this.little ? this.buf.readUInt16LE(at) : this.buf.readUInt16BE(at);
  }
  u32(at: number): number {
    this.need(at, 4);
    return this.little ? this.buf.readUInt32LE(at) : this.buf.readUInt32BE(at);
  }
  need(at: number, n: number): void {
    if (!Number.isSafeInteger(at) || at < 0 || n < 0 || at + n > this.buf.length) throw corrupt('The TIFF structure points outside the file.');
  }

  /** Read the IFD at a (base-relative) offset: its entries by tag and the next IFD offset. */
  /**
   * `repeated` lists tags the directory holds more than once; `entries` keeps the first of each, as
   * libtiff does (other readers take the last).
   */
  readIfd(rel: number): { entries: Map<number, IfdEntry>; next: number; repeated: number[] } {
    const at = this.base + rel;
    const n = this.u16(at);
    if (n === 0 || n > MAX_ENTRIES) throw corrupt(`A TIFF directory declares ${n} entries.`);
    this.need(at + 2, n * 12 + 4);
    const entries = new Map<number, IfdEntry>();
    const repeated: number[] = [];
    for (let i = 0; i < n; i++) {
      const e = at + 2 + i * 12;
      const tag = this.u16(e);
      const type = this.u16(e + 2);
      const count = this.u32(e + 4);
      const size = TYPE_SIZE[type];
      if (!size) continue; // unknown field types are skipped, as the spec asks
      const bytes = size * count;
      const offset = bytes <= 4 ? e + 8 : this.base + this.u32(e + 8);
      if (entries.has(tag)) repeated.push(tag);
      else entries.set(tag, { tag, type, count, offset });
    }
    return { entries, next: this.u32(at + 2 + n * 12), repeated };
  }

  /** Numeric values of an entry (rationals as numbers). */
  values(e: IfdEntry | undefined, max = MAX_VALUES): number[] {
    if (!e) return [];
    if (e.count > max) throw corrupt(`A TIFF field (tag ${e.tag}) has ${e.count} values.`);
    const size = TYPE_SIZE[e.type]!;
    this.need(e.offset, size * e.count);
    const out = new Array<number>(e.count);
    const b = this.buf;
    const L = this.little;
    for (let i = 0; i < e.count; i++) {
      const p = e.offset + i * size;
      switch (e.type) {
        case 1: case 2: case 7: out[i] = b[p]!; break;
        case 6: out[i] = b.readInt8(p); break;
        case 3: out[i] = L ? b.readUInt16LE(p) : b.readUInt16BE(p); break;
        case 8: out[i] = L ? b.readInt16LE(p) : b.readInt16BE(p); break;
        case 4: case 13: out[i] = L ? b.readUInt32LE(p) : b.readUInt32BE(p); break;
        case 9: out[i] = L ? b.readInt32LE(p) : b.readInt32BE(p); break;
        case 5: {
          const num = L ? b.readUInt32LE(p) : b.readUInt32BE(p);
          const den = L ? b.readUInt32LE(p + 4) : b.readUInt32BE(p + 4);
          out[i] = den === 0 ? NaN : num / den;
          break;
        }
        case 10: {
          const num = L ? b.readInt32LE(p) : b.readInt32BE(p);
          const den = L ? b.readInt32LE(p + 4) : b.readInt32BE(p + 4);
          out[i] = den === 0 ? NaN : num / den;
          break;
        }
        case 11: out[i] = L ? b.readFloatLE(p) : b.readFloatBE(p); break;
        case 12: out[i] = L ? b.readDoubleLE(p) : b.readDoubleBE(p); break;
        default: out[i] = NaN;
      }
    }
    return out;
  }

  value(e: IfdEntry | undefined): number | undefined {
    if (!e || e.count < 1) return undefined;
    return this.values({ ...e, count: 1 })[0];
  }

  /** Raw bytes of an entry (UNDEFINED / ASCII / BYTE payloads). */
  bytes(e: IfdEntry): Buffer {
    const size = TYPE_SIZE[e.type]!;
    this.need(e.offset, size * e.count);
    return this.buf.subarray(e.offset, e.offset + size * e.count);
  }

  /** Offsets of the IFD chain, stopping (and refusing) past `max` or on a loop. */
  chain(max: number, onTooMany: (seen: number) => never): number[] {
    const out: number[] = [];
    const seen = new Set<number>();
    let off = this.firstIfd;
    while (off !== 0) {
      if (seen.has(off)) throw corrupt('The TIFF directory chain loops.');
      seen.add(off);
      out.push(off);
      if (out.length > max) onTooMany(out.length);
      off = this.readIfd(off).next;
    }
    if (out.length === 0) throw corrupt('The TIFF file has no image directory.');
    return out;
  }
}

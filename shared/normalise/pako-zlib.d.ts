/**
 * Types for the low-level half of pako 1.x (`pako/lib/zlib`: zlib's z_stream API ported to
 * JavaScript), which ships none. png.ts drives inflate() with an output buffer of its own.
 */
declare module 'pako/lib/zlib/zstream' {
  /** zlib's z_stream: the caller sets the buffers and their positions before each inflate(). */
  class ZStream {
    input: Uint8Array | null;
    next_in: number;
    avail_in: number;
    output: Uint8Array | null;
    next_out: number;
    avail_out: number;
    msg: string;
  }
  export = ZStream;
}

declare module 'pako/lib/zlib/inflate' {
  import ZStream from 'pako/lib/zlib/zstream';
  /** zlib's inflateInit, inflate and inflateEnd: they return zlib's codes (Z_OK 0, Z_STREAM_END 1, Z_BUF_ERROR −5, …). */
  export function inflateInit(strm: ZStream): number;
  export function inflate(strm: ZStream, flush: number): number;
  export function inflateEnd(strm: ZStream): number;
}

import * as zlib from 'node:zlib';

/** One PNG chunk: length, type, data and the CRC over type and data, for hand-made (often hostile) PNGs. */
export function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(data, zlib.crc32(Buffer.from(type, 'latin1'))), 0);
  return Buffer.concat([head, data, crc]);
}

/** Bytes of Adam7 scanlines (filter byte + samples) of an 8-bit gray width×height image. */
function adam7Size(w: number, h: number): number {
  const passes = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]] as const;
  let n = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const pw = Math.ceil((w - x0) / dx);
    const ph = Math.ceil((h - y0) / dy);
    if (pw > 0 && ph > 0) n += ph * (1 + pw);
  }
  return n;
}

/**
 * A valid interlaced 8-bit gray PNG of side×side pixels, a few KiB on disk (one deflated run of
 * zeros): every pixel must be decoded, the worst case for the normaliser per byte uploaded.
 */
export function interlacedGrayPng(side: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 8;
  ihdr[12] = 1;
  const idat = zlib.deflateSync(Buffer.alloc(adam7Size(side, side)), { level: 9 });
  return Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0))]);
}

export const PNG_SIGNATURE = Buffer.from('\x89PNG\r\n\x1a\n', 'latin1');

/** The chunks of a PNG, in order (CRCs not checked): for tests that take a PNG apart and put it together again. */
export function pngChunks(png: Buffer): { type: string; data: Buffer }[] {
  const chunks: { type: string; data: Buffer }[] = [];
  for (let pos = 8; pos + 12 <= png.length; ) {
    const len = png.readUInt32BE(pos);
    chunks.push({ type: png.toString('latin1', pos + 4, pos + 8), data: png.subarray(pos + 8, pos + 8 + len) });
    pos += 12 + len;
  }
  return chunks;
}

/**
 * The same PNG with its image data cut into IDAT chunks of `idatSize` bytes and, with `padding`, a
 * private ancillary chunk (`prVt`) of that many bytes before them: large spooled PNGs whose chunks
 * fall across the reader's 1 MiB window edges wherever a test wants them.
 */
export function restructuredPng(png: Buffer, { idatSize, padding = 0 }: { idatSize: number; padding?: number }): Buffer {
  const chunks = pngChunks(png);
  const first = chunks.findIndex((c) => c.type === 'IDAT');
  const data = Buffer.concat(chunks.filter((c) => c.type === 'IDAT').map((c) => c.data));
  const idat: Buffer[] = [];
  for (let at = 0; at < data.length; at += idatSize) idat.push(pngChunk('IDAT', data.subarray(at, at + idatSize)));
  return Buffer.concat([
    PNG_SIGNATURE,
    ...chunks.slice(0, first).map((c) => pngChunk(c.type, c.data)),
    ...(padding ? [pngChunk('prVt', Buffer.alloc(padding, 0x2e))] : []),
    ...idat,
    ...chunks.slice(first).filter((c) => c.type !== 'IDAT').map((c) => pngChunk(c.type, c.data)),
  ]);
}

/** An 8-bit gray PNG from its scanlines as given (filter bytes included, right or wrong), deflated as they are. */
export function grayPngFromRows(width: number, height: number, rows: Buffer, idatSize = 8192): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  const png = Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', zlib.deflateSync(rows, { level: 1 })), pngChunk('IEND', Buffer.alloc(0))]);
  return restructuredPng(png, { idatSize });
}

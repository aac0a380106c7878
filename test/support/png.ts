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

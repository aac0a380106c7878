/**
 * Large JPEGs of any size from a small one: `padding` spaces in comment (COM) segments right after
 * SOI, after a tag that makes the bytes distinct (duplicates are refused). Still one clean JPEG,
 * passed through as is; used for the spooled-upload tests and the ingest bench.
 */
export function paddedJpeg(jpeg: Buffer, tag: string, padding = 0): Buffer {
  const segments: Buffer[] = [];
  for (let left = padding, first = true; first || left > 0; first = false) {
    const body = Buffer.concat([Buffer.from(first ? tag : ''), Buffer.alloc(Math.min(left, 60_000), 0x20)]);
    left -= Math.min(left, 60_000);
    const head = Buffer.alloc(4);
    head.writeUInt16BE(0xfffe, 0);
    head.writeUInt16BE(body.length + 2, 2);
    segments.push(head, body);
  }
  return Buffer.concat([jpeg.subarray(0, 2), ...segments, jpeg.subarray(2)]);
}

/**
 * Whether every byte of an export ZIP belongs to what `archive verify` checked. yauzl reads a ZIP by its central
 * directory; an unzip tool that streams local headers from the start of the file (Java's ZipInputStream, libarchive's
 * streaming mode, many "open archive" apps) reads it another way. Bytes of no listed entry (an entry hidden between two
 * files or before the central directory) or a local header naming another file than the central directory does are
 * seen by one reader and not by the other: such a ZIP verified, and was proven against the archive, while
 * it held a file the archive never handed out. The archive (yazl) writes none of them: entries back to back from the
 * first byte, each local header naming its entry, a data descriptor after streamed data, then the central directory and
 * its end records (zip64's when needed).
 */
import * as fs from 'node:fs';
import type { Entry } from 'yauzl';

const LOCAL = 0x04034b50;
const DESCRIPTOR = 0x08074b50;
const END = 0x06054b50;
const ZIP64_END = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;

/** What is wrong with the ZIP's layout, in words; null when every byte is an entry's, the central directory's or its end records'. */
export function zipLayoutFault(file: string, entries: readonly Entry[]): string | null {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const read = (at: number, length: number): Buffer => {
      if (at < 0 || at + length > size) return Buffer.alloc(0);
      const b = Buffer.alloc(length);
      fs.readSync(fd, b, 0, length, at);
      return b;
    };
    // The end record is found as yauzl finds it: the last one whose comment reaches exactly to the end of the file. A
    // comment is text unzip tools show as the ZIP's, never a file; the archive writes none, and nothing here excludes one.
    const tail = read(Math.max(0, size - 22 - 0xffff), Math.min(size, 22 + 0xffff));
    let endAt = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === END && tail.readUInt16LE(i + 20) === tail.length - i - 22) {
        endAt = size - tail.length + i;
        break;
      }
    }
    if (endAt < 0) return 'it has no end record';
    const end = read(endAt, 22);
    let cdSize = end.readUInt32LE(12);
    let cdOffset = end.readUInt32LE(16);
    let cdEnd = endAt;
    if (cdSize === 0xffffffff || cdOffset === 0xffffffff || end.readUInt16LE(10) === 0xffff) {
      const locator = read(endAt - 20, 20);
      if (locator.length < 20 || locator.readUInt32LE(0) !== ZIP64_LOCATOR) return 'its zip64 end records are not where they belong';
      const at = Number(locator.readBigUInt64LE(8));
      const record = read(at, 56);
      if (record.length < 56 || record.readUInt32LE(0) !== ZIP64_END || at + 12 + Number(record.readBigUInt64LE(4)) !== endAt - 20) return 'its zip64 end records are not where they belong';
      cdSize = Number(record.readBigUInt64LE(40));
      cdOffset = Number(record.readBigUInt64LE(48));
      cdEnd = at;
    }
    if (cdOffset + cdSize !== cdEnd) return 'bytes of no entry lie after its central directory';
    const sorted = [...entries].sort((a, b) => a.relativeOffsetOfLocalHeader - b.relativeOffsetOfLocalHeader);
    let cursor = 0;
    for (const [i, entry] of sorted.entries()) {
      if (entry.relativeOffsetOfLocalHeader !== cursor) return 'bytes of no entry lie between its entries';
      const head = read(cursor, 30);
      if (head.length < 30 || head.readUInt32LE(0) !== LOCAL) return 'an entry has no local header where the central directory says';
      const nameLength = head.readUInt16LE(26);
      if (!read(cursor + 30, nameLength).equals(entry.fileNameRaw)) return 'a local header names another file than the central directory does';
      const dataEnd = cursor + 30 + nameLength + head.readUInt16LE(28) + entry.compressedSize;
      const next = sorted[i + 1]?.relativeOffsetOfLocalHeader ?? cdOffset;
      // A data descriptor (bit 3): CRC-32 and sizes after the data, with its signature or without, 4- or 8-byte sizes.
      const gap = next - dataEnd;
      if (gap !== 0) {
        const descriptor = read(dataEnd, gap);
        const signed = descriptor.length >= 4 && descriptor.readUInt32LE(0) === DESCRIPTOR;
        const fits = (entry.generalPurposeBitFlag & 8) !== 0 && (signed ? gap === 16 || gap === 24 : gap === 12 || gap === 20) && descriptor.readUInt32LE(signed ? 4 : 0) >>> 0 === entry.crc32 >>> 0;
        if (!fits) return 'bytes of no entry lie between its entries';
      }
      cursor = next;
    }
    if (cursor !== cdOffset) return 'bytes of no entry lie before its central directory';
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

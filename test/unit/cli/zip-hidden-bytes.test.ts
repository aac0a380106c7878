/**
 * `archive verify <zip> --against-archive` vouches for a ZIP's every byte, not only for the entries its central
 * directory lists. yauzl reads a ZIP by its central directory; an unzip tool that streams local headers in order (Java's
 * ZipInputStream, libarchive's streaming mode, many "open archive" apps) reads the file from the start. An entry hidden
 * between the last file and the central directory, or a local header naming another file than the central directory,
 * is extracted by one and not seen by the other: such a ZIP verified, and was proven against the archive, while it held
 * a scan the archive never handed out.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { CliError, proveAgainstArchive, verifiedOffline, verifyExport } from '../../../cli/core';
import { archiveRecording as archiveRecordingOf, CSV, EVIL, GOOD, manifestFor, sha } from '../../support/export-copy';

let work: string;
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-zip-hidden-'));
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

const EXPORT_ID = '0190f2a4-0000-7000-8000-0000000000bb';
const MANIFEST = manifestFor(EXPORT_ID, GOOD);

/** The ZIP as the archive writes it: yazl, a stream per entry (so with data descriptors), as run-export adds them. */
async function exportZip(file: string, forceZip64Format = false): Promise<Buffer> {
  const { ZipFile } = await import('yazl');
  const { Readable } = await import('node:stream');
  const zip = new ZipFile();
  zip.addReadStream(Readable.from([GOOD]), 'documents/a.pdf', { compress: false, size: GOOD.length });
  zip.addReadStream(Readable.from([MANIFEST]), 'manifest.json');
  zip.addReadStream(Readable.from([CSV]), 'manifest.csv');
  zip.end({ comment: '', forceZip64Format });
  await new Promise<void>((resolve, reject) => zip.outputStream.pipe(fs.createWriteStream(file)).on('close', resolve).on('error', reject));
  return fs.readFileSync(file);
}

/** A stored local entry (header and data) of `name` holding `bytes`. */
function localEntry(name: string, bytes: Buffer): Buffer {
  const head = Buffer.alloc(30);
  head.writeUInt32LE(0x04034b50, 0);
  head.writeUInt16LE(20, 4);
  head.writeUInt32LE(crc32(bytes), 14);
  head.writeUInt32LE(bytes.length, 18);
  head.writeUInt32LE(bytes.length, 22);
  head.writeUInt16LE(Buffer.byteLength(name), 26);
  return Buffer.concat([head, Buffer.from(name), bytes]);
}

/** `zip` with `inserted` put just before its central directory (the end record's offset moved past it). */
function hideBeforeCentralDirectory(zip: Buffer, inserted: Buffer): Buffer {
  const eocd = zip.length - 22;
  expect(zip.readUInt32LE(eocd)).toBe(0x06054b50);
  const cd = zip.readUInt32LE(eocd + 16);
  const out = Buffer.concat([zip.subarray(0, cd), inserted, zip.subarray(cd)]);
  out.writeUInt32LE(cd + inserted.length, out.length - 22 + 16);
  return out;
}

const archiveRecording = (manifestJson: { sha256: string; size: number }) => archiveRecordingOf(EXPORT_ID, manifestJson);

it.each([false, true])('the ZIP as the archive writes it verifies and is proven against the archive (zip64: %s)', async (zip64) => {
  const file = path.join(work, 'export.zip');
  await exportZip(file, zip64);
  const r = await verifyExport(file);
  expect(verifiedOffline(r)).toBe(true);
  expect(r.copyOf).toEqual({ exportId: EXPORT_ID, manifestJson: { sha256: sha(MANIFEST), size: MANIFEST.length } });
  expect((await proveAgainstArchive(archiveRecording(r.copyOf!.manifestJson), r)).status).toBe('proven');
});

it('an entry hidden between the files and the central directory is not verified (a streaming unzip extracts it)', async () => {
  const file = path.join(work, 'export.zip');
  fs.writeFileSync(file, hideBeforeCentralDirectory(await exportZip(file), localEntry('documents/b.pdf', EVIL)));
  const r = verifyExport(file);
  await expect(r).rejects.toThrow(CliError);
  await expect(r).rejects.toMatchObject({ exitCode: 3, message: expect.stringMatching(/NOT VERIFIED/) });
});

it('bytes of no entry between two entries are not verified', async () => {
  const file = path.join(work, 'export.zip');
  const zip = await exportZip(file);
  // Shift every entry after the first by the inserted bytes: the central directory's offsets with them.
  const eocd = zip.length - 22;
  const cd = zip.readUInt32LE(eocd + 16);
  const second = zip.indexOf(Buffer.from([0x50, 0x4b, 0x03, 0x04]), 4);
  const hidden = localEntry('documents/b.pdf', EVIL);
  const out = Buffer.concat([zip.subarray(0, second), hidden, zip.subarray(second)]);
  for (let at = cd + hidden.length; out.readUInt32LE(at) === 0x02014b50; at += 46 + out.readUInt16LE(at + 28) + out.readUInt16LE(at + 30) + out.readUInt16LE(at + 32)) {
    const offset = out.readUInt32LE(at + 42);
    if (offset >= second) out.writeUInt32LE(offset + hidden.length, at + 42);
  }
  out.writeUInt32LE(cd + hidden.length, out.length - 22 + 16);
  fs.writeFileSync(file, out);
  await expect(verifyExport(file)).rejects.toMatchObject({ exitCode: 3, message: expect.stringMatching(/NOT VERIFIED/) });
});

it('a local header naming another file than the central directory does is not verified', async () => {
  const file = path.join(work, 'export.zip');
  const zip = await exportZip(file);
  // Same length, so every offset still holds: only the local header's name changes.
  const at = zip.indexOf(Buffer.from('documents/a.pdf'));
  expect(at).toBeLessThan(zip.readUInt32LE(zip.length - 22 + 16));
  Buffer.from('documents/x.pdf').copy(zip, at);
  fs.writeFileSync(file, zip);
  await expect(verifyExport(file)).rejects.toMatchObject({ exitCode: 3, message: expect.stringMatching(/NOT VERIFIED/) });
});

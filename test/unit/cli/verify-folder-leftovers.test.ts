/**
 * `archive verify <folder> [--against-archive]` excuses what the CLI itself leaves in an export folder: the export's
 * ZIP (`export-<id>.zip`, kept after unpacking) and `.archive-export.json`. Excused unread, a ZIP put there in its place
 * (other scans, under the export's name or another's) left the folder VERIFIED AGAINST THE ARCHIVE ("every file is what
 * the archive handed out") while it held bytes the archive never handed out, in the very file an auditor opens first.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { proveAgainstArchive, verifiedOffline, verifyExport } from '../../../cli/core';
import { archiveRecording as archiveRecordingOf, CSV, EVIL, GOOD, manifestFor, sha } from '../../support/export-copy';

let work: string;
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-folder-leftovers-'));
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

const EXPORT_ID = '0190f2a4-0000-7000-8000-0000000000cc';
const manifestOf = (scan: Buffer) => manifestFor(EXPORT_ID, scan);

async function zipOf(file: string, scan: Buffer): Promise<void> {
  const { ZipFile } = await import('yazl');
  const zip = new ZipFile();
  zip.addReadStream(Readable.from([scan]), 'documents/a.pdf', { compress: false, size: scan.length });
  zip.addReadStream(Readable.from([manifestOf(scan)]), 'manifest.json');
  zip.addReadStream(Readable.from([CSV]), 'manifest.csv');
  zip.end();
  await new Promise<void>((resolve, reject) => zip.outputStream.pipe(fs.createWriteStream(file)).on('close', resolve).on('error', reject));
}

/** The folder `archive export` leaves: the files unpacked, and the ZIP they came from. */
async function exportFolder(): Promise<string> {
  const dir = path.join(work, 'export');
  fs.mkdirSync(path.join(dir, 'documents'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'documents/a.pdf'), GOOD);
  fs.writeFileSync(path.join(dir, 'manifest.json'), manifestOf(GOOD));
  fs.writeFileSync(path.join(dir, 'manifest.csv'), CSV);
  await zipOf(path.join(dir, `export-${EXPORT_ID}.zip`), GOOD);
  return dir;
}

const archiveRecording = (manifestJson: { sha256: string; size: number }) => archiveRecordingOf(EXPORT_ID, manifestJson);
const recorded = { sha256: sha(manifestOf(GOOD)), size: manifestOf(GOOD).length };

it('the folder archive export leaves (files and their ZIP) verifies and is proven', async () => {
  const dir = await exportFolder();
  const r = await verifyExport(dir);
  expect(verifiedOffline(r)).toBe(true);
  expect((await proveAgainstArchive(archiveRecording(recorded), r)).status).toBe('proven');
});

it("the export's ZIP replaced by one holding another scan is a difference", async () => {
  const dir = await exportFolder();
  await zipOf(path.join(dir, `export-${EXPORT_ID}.zip`), EVIL);
  const r = await verifyExport(dir);
  expect(r.mismatched).toEqual([`export-${EXPORT_ID}.zip`]);
  expect(verifiedOffline(r)).toBe(false);
});

it("the export's ZIP replaced by bytes that are no ZIP is a difference", async () => {
  const dir = await exportFolder();
  fs.writeFileSync(path.join(dir, `export-${EXPORT_ID}.zip`), EVIL);
  const r = await verifyExport(dir);
  expect(r.mismatched).toEqual([`export-${EXPORT_ID}.zip`]);
});

it("a ZIP named after another export is not excused: it is not this export's", async () => {
  const dir = await exportFolder();
  await zipOf(path.join(dir, 'export-0190f2a4-0000-7000-8000-0000000000dd.zip'), EVIL);
  const r = await verifyExport(dir);
  expect(r.unexpected).toEqual(['export-0190f2a4-0000-7000-8000-0000000000dd.zip']);
  expect(verifiedOffline(r)).toBe(false);
});

it("a folder or a link in the place of the export's ZIP is a difference", async () => {
  const dir = await exportFolder();
  const zip = path.join(dir, `export-${EXPORT_ID}.zip`);
  fs.renameSync(zip, path.join(work, 'elsewhere.zip'));
  fs.symlinkSync(path.join(work, 'elsewhere.zip'), zip);
  expect((await verifyExport(dir)).mismatched).toEqual([`export-${EXPORT_ID}.zip`]);
  fs.rmSync(zip);
  fs.mkdirSync(zip);
  expect((await verifyExport(dir)).mismatched).toEqual([`export-${EXPORT_ID}.zip`]);
});

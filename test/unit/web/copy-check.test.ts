/**
 * "Check a copy" (web/src/lib/copy-check.ts): the files a person picks — the unpacked folder, with its own name in
 * front of every path, or the ZIP — judged as `archive verify --against-archive` judges them, by the same code.
 */
import { createHash } from 'node:crypto';
import { checkFolder, checkZip, entryPath, type CheckedExport } from '../../../web/src/lib/copy-check';

const EXPORT_ID = '0190f2a4-0000-7000-8000-0000000000aa';
const sha = (b: string | Uint8Array) => createHash('sha256').update(b).digest('hex');
const print = (b: string) => ({ sha256: sha(b), size: Buffer.byteLength(b) });

const SCAN = '%PDF-1.7 scan';
const CSV_TEXT = 'documentId\r\nd1\r\n';
function manifest(scan = SCAN, id: unknown = EXPORT_ID, csv: unknown = print(CSV_TEXT)): string {
  return JSON.stringify({ export: { id }, documents: [{ id: 'd1', files: [{ path: 'documents/2024-01-02 invoice a.pdf', ...print(scan) }] }], ...(csv ? { manifestCsv: csv } : {}) });
}

/** A file as `<input webkitdirectory>` hands it over: its path under the picked folder's own name. */
function picked(relative: string, text: string): File {
  const file = new File([text], relative.split('/').pop()!);
  Object.defineProperty(file, 'webkitRelativePath', { value: relative });
  return file;
}
const folder = (files: Record<string, string>, top = '2024') => Object.entries(files).map(([path, text]) => picked(`${top}/${path}`, text));
const genuine = (extra: Record<string, string> = {}) => ({ 'manifest.json': manifest(), 'manifest.csv': CSV_TEXT, 'documents/2024-01-02 invoice a.pdf': SCAN, ...extra });
const exportOf = (manifestText: string, extra: Partial<CheckedExport> = {}): CheckedExport => ({
  id: EXPORT_ID, status: 'completed', completedAt: '2025-01-02T03:05:00.000Z', createdBy: { subject: 'user:s1', kind: 'user', person: 'carla@acme.example' }, manifestJson: print(manifestText), ...extra,
});

it('names a picked file by its path inside the export, without the picked folder', () => {
  expect(entryPath(picked('2024/documents/a b.pdf', ''))).toBe('documents/a b.pdf');
  expect(entryPath(picked('2024/manifest.json', ''))).toBe('manifest.json');
  expect(entryPath(new File([''], 'export.zip'))).toBe('export.zip');
});

it("verifies the genuine folder against the archive (the CLI's state file excused, its ZIP checked against the record), with progress over all the bytes", async () => {
  const files = folder(genuine({ '.archive-export.json': '{}', [`export-${EXPORT_ID}.zip`]: 'zip' }));
  const seen: number[] = [];
  const verdict = await checkFolder(files, exportOf(manifest(), { archive: print('zip') }), undefined, (done) => seen.push(done));
  expect(verdict).toEqual({
    kind: 'folder', ok: true,
    result: { documents: 1, files: 1, bytes: SCAN.length, verified: 1, mismatched: [], missing: [], unexpected: [], csvCovered: true, copyOf: { exportId: EXPORT_ID, manifestJson: print(manifest()) } },
    proof: { status: 'proven', exportId: EXPORT_ID, completedAt: '2025-01-02T03:05:00.000Z', createdBy: 'carla@acme.example' },
  });
  expect(seen.at(-1)).toBe(files.reduce((sum, f) => sum + f.size, 0));
});

it("judges the ZIP the CLI keeps beside the files: this export's ZIP whole against its record, another export's as not in the manifest", async () => {
  const ownZip = `export-${EXPORT_ID}.zip`;
  const onRecord = exportOf(manifest(), { archive: print('zip') });
  // A ZIP with other scans put in its place: the folder's own files all match, and it is not verified.
  expect(await checkFolder(folder(genuine({ [ownZip]: 'zip with other scans' })), onRecord)).toMatchObject({ ok: false, result: { verified: 1, mismatched: [ownZip], unexpected: [] }, proof: { status: 'proven' } });
  expect(await checkFolder(folder(genuine({ 'export-another.zip': 'zip' })), onRecord)).toMatchObject({ ok: false, result: { mismatched: [], unexpected: ['export-another.zip'] } });
  // Once the ZIP's record has expired the browser cannot vouch for it, and says how to check the folder instead.
  const expired = await checkFolder(folder(genuine({ [ownZip]: 'zip' })), exportOf(manifest(), { status: 'expired' }));
  expect(expired).toMatchObject({ ok: false, result: { mismatched: [ownZip] }, zipUnchecked: ownZip });
  // A ZIP deeper in the folder is a file the manifest does not list.
  expect(await checkFolder(folder(genuine({ [`documents/${ownZip}`]: 'zip' })), onRecord)).toMatchObject({ ok: false, result: { unexpected: [`documents/${ownZip}`] } });
});

it('a scan edited with its SHA-256 and size edited in manifest.json too verifies offline, and is not the copy handed out', async () => {
  const edited = manifest('%PDF-1.7 edited scan');
  const verdict = await checkFolder(folder({ ...genuine(), 'manifest.json': edited, 'documents/2024-01-02 invoice a.pdf': '%PDF-1.7 edited scan' }), exportOf(manifest()));
  expect(verdict).toMatchObject({ kind: 'folder', ok: false, result: { verified: 1, mismatched: [], missing: [], unexpected: [] }, proof: { status: 'differs', recorded: print(manifest()) } });
});

it('lists every difference: a changed scan and CSV, a missing file, a file not in the manifest', async () => {
  const changed = await checkFolder(folder({ ...genuine({ 'notes.txt': 'x' }), 'documents/2024-01-02 invoice a.pdf': '%PDF-1.7 scan!', 'manifest.csv': 'edited' }), exportOf(manifest()));
  expect(changed).toMatchObject({ kind: 'folder', ok: false, result: { verified: 0, mismatched: ['documents/2024-01-02 invoice a.pdf', 'manifest.csv'], missing: [], unexpected: ['notes.txt'] }, proof: { status: 'proven' } });
  const { 'documents/2024-01-02 invoice a.pdf': _, ...without } = genuine();
  expect(await checkFolder(folder(without), exportOf(manifest()))).toMatchObject({ ok: false, result: { missing: ['documents/2024-01-02 invoice a.pdf'] } });
});

it('without an export chosen, looks up the one manifest.json names: proven, not one of this tenant, or none named', async () => {
  const asked: string[] = [];
  const lookUp = (found: CheckedExport | null) => async (id: string) => {
    asked.push(id);
    return found;
  };
  expect(await checkFolder(folder(genuine()), lookUp(exportOf(manifest())))).toMatchObject({ ok: true, proof: { status: 'proven', exportId: EXPORT_ID } });
  expect(asked).toEqual([EXPORT_ID]);
  // Another tenant's copy, or an edited id: the archive has no such export for this tenant.
  expect(await checkFolder(folder(genuine()), lookUp(null))).toMatchObject({ ok: false, result: { verified: 1 }, proof: { status: 'unknown-export', exportId: EXPORT_ID } });
  // A manifest.json naming no export is not looked up.
  asked.length = 0;
  const unnamed = manifest(SCAN, 42);
  expect(await checkFolder(folder({ ...genuine(), 'manifest.json': unnamed }), lookUp(exportOf(unnamed)))).toMatchObject({ ok: false, proof: { status: 'no-export-id' } });
  expect(asked).toEqual([]);
});

it('a copy of another export, or a manifest.json naming none, is not a copy of this one', async () => {
  const other = manifest(SCAN, 'another-export');
  expect(await checkFolder(folder({ ...genuine(), 'manifest.json': other }), exportOf(other))).toMatchObject({ ok: false, proof: { status: 'other-export', exportId: 'another-export' } });
  const unnamed = manifest(SCAN, 42);
  expect(await checkFolder(folder({ ...genuine(), 'manifest.json': unnamed }), exportOf(unnamed))).toMatchObject({ ok: false, proof: { status: 'no-export-id' } });
});

it('an export made before the CSV was recorded verifies its files, noting the CSV was not covered', async () => {
  const old = manifest(SCAN, EXPORT_ID, null);
  expect(await checkFolder(folder({ ...genuine(), 'manifest.json': old }), exportOf(old))).toMatchObject({ ok: true, result: { csvCovered: false } });
});

it('a folder without manifest.json at its top (the folder above it picked), or with another JSON there, is no export', async () => {
  expect(await checkFolder(folder(genuine(), 'exports/2024'), exportOf(manifest()))).toEqual({ kind: 'not-an-export', reason: 'no-manifest' });
  expect(await checkFolder(folder({ ...genuine(), 'manifest.json': '{"a":1}' }), exportOf(manifest()))).toEqual({ kind: 'not-an-export', reason: 'not-a-manifest' });
});

describe('the ZIP', () => {
  const zip = 'PK\u0003\u0004 the export';
  it('is verified by its SHA-256 and size while the archive has them', async () => {
    const exp = exportOf(manifest(), { archive: print(zip) });
    expect(await checkZip(new File([zip], 'export.zip'), exp)).toEqual({ kind: 'zip', ok: true, fileName: 'export.zip' });
    expect(await checkZip(new File([`${zip}!`], 'export.zip'), exp)).toEqual({ kind: 'zip', ok: false, fileName: 'export.zip' });
    expect(await checkZip(new File([zip], 'export.zip'), exportOf(manifest(), { archive: { ...print(zip), size: zip.length + 1 } }))).toMatchObject({ ok: false });
  });

  it('once expired is no longer on record, and is not hashed for nothing', async () => {
    const hash = jest.fn(async () => 'x');
    expect(await checkZip(new File([zip], 'export.zip'), exportOf(manifest(), { status: 'expired' }), hash)).toEqual({ kind: 'zip-not-on-record' });
    expect(hash).not.toHaveBeenCalled();
  });
});

/**
 * "Check a copy" on the exports screen: a copy of an export (the unpacked folder, or the ZIP) against the archive,
 * in the browser. The folder is judged by `archive verify --against-archive`'s own code (cli/copy-check.ts): every
 * file manifest.json lists, manifest.csv, files it does not list, and manifest.json against the archive's record of
 * it. Here only what the browser adds: reading the picked files and hashing them (off the page's thread). No DOM
 * and no API call here, so the unit tests run it as it is.
 */
import { compareWithManifest, folderZips, judgeAgainstRecord, parseManifest, verifiedOffline, withFolderZips, type ArchiveProof, type ExportRecord, type Fingerprint, type VerifyResult } from '../../../cli/copy-check';
import { sha256OfBlob } from './sha256';

/** The export the copy is checked against, as GET /exports (or /exports/{id}) answers it. */
export type CheckedExport = ExportRecord & { id: string; archive?: { sha256: string; size: number } };

export type CopyProof = ArchiveProof | { status: 'other-export'; exportId: string };

export type CopyVerdict =
  /** The folder, judged file by file and manifest.json against the archive. */
  | { kind: 'folder'; ok: boolean; result: VerifyResult; proof: CopyProof; zipUnchecked?: string }
  /** The folder holds no manifest.json at its top, or one that is no export manifest. */
  | { kind: 'not-an-export'; reason: 'no-manifest' | 'not-a-manifest' }
  /** The ZIP, whole, against the archive's record of the ZIP. */
  | { kind: 'zip'; ok: boolean; fileName: string }
  /** A ZIP of an export whose ZIP is no longer on record (expired or withdrawn): only its unpacked folder can be checked. */
  | { kind: 'zip-not-on-record' };

export type Hash = (blob: Blob, onProgress?: (done: number, total: number) => void) => Promise<string>;
export type Progress = (done: number, total: number) => void;

/**
 * The path inside the export of a file picked with its folder: `webkitRelativePath` without the picked folder's own
 * name (`2024/documents/a.pdf` is `documents/a.pdf`); a file picked alone is its name.
 */
export function entryPath(file: { name: string; webkitRelativePath?: string }): string {
  const rel = file.webkitRelativePath;
  return rel ? rel.slice(rel.indexOf('/') + 1) : file.name;
}

/** The archive's answer for an export id (GET /exports/{id}); null when the tenant has no such export. */
export type LookUpExport = (exportId: string) => Promise<CheckedExport | null>;

/**
 * The picked folder's files, each hashed (one after another, `hash` off the page's thread), judged against the
 * manifest.json among them and that against the export's record. `against`: the export the check was started from, or
 * a look-up of whichever export manifest.json names (a copy of an export older than the list shows, years later).
 * `onProgress`: bytes hashed of all the files' bytes.
 */
export async function checkFolder(files: readonly File[], against: CheckedExport | LookUpExport, hash: Hash = sha256OfBlob, onProgress?: Progress): Promise<CopyVerdict> {
  const byPath = new Map(files.map((f) => [entryPath(f), f] as const));
  const manifestFile = byPath.get('manifest.json');
  if (!manifestFile) return { kind: 'not-an-export', reason: 'no-manifest' };
  const manifest = parseManifest(await manifestFile.text());
  if (!manifest) return { kind: 'not-an-export', reason: 'not-a-manifest' };
  const named = manifest.export?.id;
  const exp = typeof against !== 'function' ? against : typeof named === 'string' ? await against(named) : null;
  const total = files.reduce((sum, f) => sum + f.size, 0);
  let before = 0;
  const found = new Map<string, Fingerprint>();
  for (const [path, file] of byPath) {
    const sha256 = await hash(file, (done) => onProgress?.(before + done, total));
    found.set(path, { sha256, size: file.size });
    before += file.size;
    onProgress?.(before, total);
  }
  // The ZIP `archive export` keeps beside the files is judged whole against the archive's record of it (the browser
  // does not open ZIPs); once that record is gone it cannot be vouched for here, so it is a difference, with a note.
  const zips = folderZips([...byPath.keys()].filter((p) => !p.includes('/')), manifest);
  const ownZip = zips.own ? found.get(zips.own) : undefined;
  const zipIsTheExports = !!ownZip && !!exp?.archive && ownZip.sha256 === exp.archive.sha256.toLowerCase() && ownZip.size === exp.archive.size;
  const result = withFolderZips(compareWithManifest(manifest, found, 'folder'), zips, zipIsTheExports);
  const proof = proofFor(result, exp);
  return { kind: 'folder', ok: verifiedOffline(result) && proof.status === 'proven', result, proof, ...(zips.own && exp && !exp.archive ? { zipUnchecked: zips.own } : {}) };
}

/**
 * manifest.json against the record of the export the check was started from (or looked up: null when the tenant has
 * none of that id): the export it names must be that one (a copy of another export is not a copy of this one), and
 * its SHA-256 and size those the archive recorded.
 */
export function proofFor(result: VerifyResult, exp: CheckedExport | null): CopyProof {
  if (!result.copyOf) return { status: 'no-export-id' };
  if (exp && result.copyOf.exportId !== exp.id) return { status: 'other-export', exportId: result.copyOf.exportId };
  return judgeAgainstRecord(result.copyOf, exp);
}

/** The ZIP itself, unopened: its SHA-256 and size against the archive's record of the ZIP, while the archive has one. */
export async function checkZip(file: File, exp: CheckedExport, hash: Hash = sha256OfBlob, onProgress?: Progress): Promise<CopyVerdict> {
  if (!exp.archive) return { kind: 'zip-not-on-record' };
  const sha256 = await hash(file, onProgress);
  return { kind: 'zip', ok: sha256 === exp.archive.sha256.toLowerCase() && file.size === exp.archive.size, fileName: file.name };
}

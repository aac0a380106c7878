/**
 * Whether a copy of an export is what the archive handed out: every file against the manifest.json the export holds,
 * and manifest.json against the archive's record of it. The judgement only: no Node, no network, no file system, so
 * `archive verify` (cli/core.ts, which reads folders and ZIPs) and the web app's "Check a copy" (web/src/lib/copy-check.ts,
 * which reads the files a person picks) judge by the same code.
 */
import type { paths } from './api/openapi-types';

export interface Manifest {
  /** The export it is the manifest of (the archive writes its id; an edited one is proven against nothing). */
  export?: { id?: unknown };
  documents: { id: string; files: { path: string; sha256: string; size: number }[] }[];
  /** manifest.csv's SHA-256 and size; absent in exports made before the archive recorded it. */
  manifestCsv?: unknown;
}

export type Fingerprint = { sha256: string; size: number };

export const CSV = 'manifest.csv';

/** What an export holds besides its listed files. */
export const NOT_LISTED = new Set(['manifest.json', CSV]);
/**
 * What the CLI itself leaves in an export folder; never excused inside a ZIP, where only the archive writes. Not a
 * download's part files: the ZIP's is renamed to the ZIP before anything is unpacked, so none stays beside an unpacked
 * export, and excused unread, one holding other scans left the folder VERIFIED AGAINST THE ARCHIVE.
 */
export const isCliLeftover = (rel: string) => rel === '.archive-export.json' || /^export-[^/]+\.zip$/.test(rel);

/** A path as a case-insensitive file system (NTFS, APFS) compares it, as the archive names export entries. */
export const caseless = (p: string): string => p.toUpperCase().toLowerCase();

/**
 * What a ZIP reader did not hand on: names refused (unsafe names) and names met a second time (caseless); and what it
 * handed on damaged: entries whose bytes do not give the CRC-32 the ZIP records for them.
 */
export interface ZipOddities {
  refused: string[];
  duplicates: string[];
  damaged: string[];
}

/** The counts and differences of one comparison with manifest.json. */
export interface CopyCounts {
  documents: number;
  files: number;
  bytes: number;
  verified: number;
  mismatched: string[];
  missing: string[];
  unexpected: string[];
  /**
   * Whether manifest.json records manifest.csv's SHA-256, so that the CSV was checked too (a
   * difference is in `mismatched` or `missing`); exports made before the archive recorded it have none.
   */
  csvCovered: boolean;
}

export type VerifyResult = CopyCounts & {
  /** The export manifest.json names and manifest.json's own SHA-256 and size as found: what the archive is asked about. */
  copyOf?: { exportId: string; manifestJson: Fingerprint };
};

/** manifest.json's text as an export manifest; undefined when it is not JSON or lists no documents. */
export function parseManifest(text: string): Manifest | undefined {
  try {
    const m = JSON.parse(text) as Manifest;
    if (Array.isArray(m.documents)) return m;
  } catch {
    // not JSON: not a manifest
  }
  return undefined;
}

/**
 * Every file the manifest lists against what was found (SHA-256 and size); anything else found, or
 * refused as a name, is `unexpected`. A name the ZIP holds twice is `mismatched`: which copy an unzip
 * tool keeps differs from tool to tool, so no copy is verified. `found` is keyed by the path inside the
 * export (`documents/….pdf`, `manifest.json`), `/`-separated.
 */
export function compareWithManifest(manifest: Manifest, found: Map<string, Fingerprint>, zip: ZipOddities | 'folder'): VerifyResult {
  const excused = (k: string) => zip === 'folder' && isCliLeftover(k);
  const odd: ZipOddities = zip === 'folder' ? { refused: [], duplicates: [], damaged: [] } : zip;
  const damaged = new Set(odd.damaged);
  const listed = new Set<string>(NOT_LISTED);
  const twice = new Set(odd.duplicates.map(caseless));
  const mismatched: string[] = [];
  const missing: string[] = [];
  let verified = 0;
  let bytes = 0;
  let files = 0;
  for (const d of manifest.documents) {
    for (const f of d.files) {
      files++;
      bytes += f.size;
      listed.add(f.path);
      const got = found.get(f.path);
      if (got === undefined) missing.push(f.path);
      else if (got.sha256 !== f.sha256 || got.size !== f.size || twice.has(caseless(f.path)) || damaged.has(f.path)) mismatched.push(f.path);
      else verified++;
    }
  }
  for (const d of new Set(odd.duplicates)) if (NOT_LISTED.has(d)) mismatched.push(d);
  // manifest.json is covered by nothing but the ZIP's CRC-32: a damaged one read as JSON all the same (a changed
  // filter, count, createdAt or metadata value) verified as exported.
  for (const d of damaged) if (d === 'manifest.json' && !mismatched.includes(d)) mismatched.push(d);
  // The CSV is what an auditor reads (amounts, counterparties): when manifest.json records it, it is checked like any listed file.
  const csvCovered = manifest.manifestCsv !== undefined;
  if (csvCovered) {
    const want = manifest.manifestCsv as { sha256?: unknown; size?: unknown } | null;
    const got = found.get(CSV);
    if (twice.has(caseless(CSV))) {
      if (!mismatched.includes(CSV)) mismatched.push(CSV);
    } else if (got === undefined) missing.push(CSV);
    else if (typeof want !== 'object' || want === null || got.sha256 !== want.sha256 || got.size !== want.size || damaged.has(CSV)) mismatched.push(CSV);
  }
  const unexpected = [...new Set([...[...found.keys(), ...odd.duplicates].filter((k) => !listed.has(k) && !excused(k)), ...odd.refused])].sort();
  const manifestJson = found.get('manifest.json');
  const exportId = manifest.export?.id;
  const copyOf = manifestJson && typeof exportId === 'string' ? { copyOf: { exportId, manifestJson } } : {};
  return { documents: manifest.documents.length, files, bytes, verified, mismatched, missing, unexpected, csvCovered, ...copyOf };
}

/** Whether every file manifest.json lists (and the CSV it records) was found as listed, and nothing else. */
export function verifiedOffline(r: CopyCounts): boolean {
  return r.verified === r.files && r.mismatched.length + r.missing.length + r.unexpected.length === 0;
}

/**
 * What the archive says of the manifest.json a copy holds. Offline, manifest.json vouches for every file and the CSV,
 * but nothing vouches for manifest.json: whoever edits a scan can edit its SHA-256 there too. The archive keeps each
 * completed export's manifest.json fingerprint for good (past the ZIP's expiry), and only the archive writes it.
 */
export type ArchiveProof =
  | { status: 'proven'; exportId: string; completedAt: string; createdBy: string }
  | { status: 'differs'; exportId: string; recorded: Fingerprint }
  /** No export of that id in the tenant the login belongs to (another tenant's copy, or an edited id). */
  | { status: 'unknown-export'; exportId: string }
  /** The export never completed, or completed before the archive kept manifest.json's fingerprint. */
  | { status: 'not-recorded'; exportId: string; exportStatus: string }
  /** manifest.json names no export (it was not written by the archive as it is). */
  | { status: 'no-export-id' };

/** GET /exports/{id}'s answer, the part that proves a copy (a GET /exports list item has it too). */
export type ExportRecord = Pick<paths['/exports/{id}']['get']['responses'][200]['content']['application/json'], 'status' | 'manifestJson' | 'completedAt' | 'createdBy'>;

/**
 * Whether GET /exports/{id}'s answer status says the tenant has no such export: 404, or 400 for an id the archive
 * refuses as malformed (an edited manifest.json's), which names no export of this tenant either.
 */
export const namesNoExport = (status: number): boolean => status === 404 || status === 400;

/**
 * The archive's word on a copy: `record` is its answer for the export `copyOf` names (GET /exports/{copyOf.exportId}),
 * null when it has no such export for the tenant. Ask only when `copyOf` is there: without it nothing is asked.
 */
export function judgeAgainstRecord(copyOf: NonNullable<VerifyResult['copyOf']>, record: ExportRecord | null): ArchiveProof {
  const { exportId, manifestJson } = copyOf;
  if (!record) return { status: 'unknown-export', exportId };
  if (!record.manifestJson || !record.completedAt) return { status: 'not-recorded', exportId, exportStatus: record.status };
  if (record.manifestJson.sha256 !== manifestJson.sha256 || record.manifestJson.size !== manifestJson.size) return { status: 'differs', exportId, recorded: record.manifestJson };
  return { status: 'proven', exportId, completedAt: record.completedAt, createdBy: record.createdBy.person ?? record.createdBy.subject };
}

/**
 * The ZIPs at the top of a folder beside the files (the CLI keeps `export-<id>.zip` after unpacking it there): `own`
 * is the one named after the export manifest.json names, `others` are named after another export. compareWithManifest
 * excuses them in a folder unread; each caller must judge them (withFolderZips), or a ZIP put there with other scans
 * left the folder VERIFIED AGAINST THE ARCHIVE while it held bytes the archive never handed out.
 */
export function folderZips(names: Iterable<string>, manifest: Manifest): { own: string | null; others: string[] } {
  const ownName = typeof manifest.export?.id === 'string' ? `export-${manifest.export.id}.zip` : null;
  const zips = [...names].filter((n) => /^export-[^/]+\.zip$/.test(n)).sort();
  return { own: zips.includes(ownName ?? '') ? ownName : null, others: zips.filter((n) => n !== ownName) };
}

/** The folder's result with its ZIPs judged: the own one must be this very export's ZIP (`ownIsThisExport`), any other is not in the manifest. */
export function withFolderZips(r: VerifyResult, zips: { own: string | null; others: string[] }, ownIsThisExport: boolean): VerifyResult {
  const mismatched = zips.own && !ownIsThisExport ? [...r.mismatched, zips.own] : r.mismatched;
  return { ...r, mismatched, unexpected: [...new Set([...r.unexpected, ...zips.others])].sort() };
}

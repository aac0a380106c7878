import { z } from 'zod';
import { endReached } from './instant';
import { searchFilterShape } from './search';
import type { Sealed } from './archive-seal';

/** `POST /exports` body: a search (the same filter as `GET /documents`) and what to include. */
export const ZExportRequest = z.strictObject({
  ...searchFilterShape('json'),
  /** Add every original beside the rendition. */
  includeOriginals: z.boolean().default(false),
  /** How manifest.csv separates fields and writes decimals; a Dutch spreadsheet expects `;` and `,`. */
  csv: z
    .strictObject({ separator: z.enum([',', ';']).default(','), decimalMark: z.enum(['.', ',']).default('.') })
    .refine((c) => c.separator !== c.decimalMark, { message: 'csv.separator and csv.decimalMark must differ' })
    .default({ separator: ',', decimalMark: '.' }),
});
export type TExportRequest = z.infer<typeof ZExportRequest>;
export type ExportFilter = Omit<TExportRequest, 'includeOriginals' | 'csv'>;
export type CsvFormat = TExportRequest['csv'];
/** Jobs stored before the option existed export with the default. */
export const DEFAULT_CSV_FORMAT: CsvFormat = { separator: ',', decimalMark: '.' };

export const EXPORT_STATUSES = ['running', 'completed', 'failed', 'expired'] as const;
export type ExportStatus = (typeof EXPORT_STATUSES)[number];

/** An export job, kept in the Cosmos `tenants` container (partition /tenantId). */
export interface ExportJob {
  id: string;
  tenantId: string;
  type: 'export';
  status: ExportStatus;
  filter: ExportFilter;
  includeOriginals: boolean;
  csv?: CsvFormat;
  createdAt: string;
  createdBy: { subject: string; kind: string; person?: string };
  /** Request id of the POST /exports; its audit entry is found by it. */
  requestId: string;
  /** Last sign of life of the worker (each progress save); a stale running job is claimed again by the maintenance timer. */
  heartbeatAt: string;
  attempts: number;
  /** How many of the attempts went on (saved a checkpoint of their own, exports/export-checkpoint.ts): see attemptsUsedUp. */
  attemptsAdvanced?: number;
  progress: { total: number; documents: number; files: number; bytes: number };
  /** Blob in the tenant's export container: the ZIP the current attempt writes, its own (exportBlobName) or the one of the checkpoint it went on from. */
  blobName: string;
  archive?: { size: number; sha256: string };
  /**
   * The manifest.json the completed export's ZIP holds, which names every file's and manifest.csv's SHA-256: kept
   * after the ZIP expires or is withdrawn, so an export folder can be proven to be what the archive handed out.
   */
  manifestJson?: { size: number; sha256: string };
  completedAt?: string;
  expiresAt: string;
  /** Machine-readable failure reason; never document content. */
  error?: string;
  /**
   * Held documents whose retention ends before the export expires: the only ones a disposal can
   * reach while the export lives (retention is extended, never shortened). On the job when there
   * are at most EXPORT_DISPOSABLE_ON_JOB; past that, every id is in the attempt's list blob
   * (exportDisposableListName) and the job keeps `disposableFilter`, which the sweep tests first.
   */
  disposable?: string[];
  /** How many ids the list holds (on the job or in its blob). */
  disposableCount?: number;
  /**
   * A Bloom filter over every id of the list blob (base64; shared/exports/disposable-filter.ts):
   * a "no" is certain, a "maybe" is settled by reading the list.
   */
  disposableFilter?: string;
  /**
   * The list blob's SHA-256 (hex) as written, under the completion seal: the blob is a plain one a storage role can
   * rewrite. Absent on jobs from before it (their list is read as it stands).
   */
  disposableListDigest?: string;
  /** The earliest retain-until among them: before it, no document of the export can be disposed of. */
  disposableFrom?: string;
  /**
   * Documents the retention sweep disposed of while the job ran (a running export's holdings are not
   * known yet): the worker withdraws instead of completing if it holds one. At most
   * EXPORT_MARKS_MAX ids; `'many'` past that (the worker then asks the catalog about each it holds).
   */
  disposedWhileRunning?: string[] | 'many';
  /** Set when the export was expired early because documents it held were disposed of (some of their ids). */
  withdrawn?: { at: string; documents: string[] };
  /** The archive's seal over what was requested (shared/exports/export-seal.ts): made at the start, kept by every save. */
  seal?: Sealed;
  /** The archive's seal over the request and what was handed out, made at completion; gone with the archive. */
  completedSeal?: Sealed;
}

/** Most ids an export job keeps in `disposable` itself (about 40 bytes each); more go to the list blob. */
export const EXPORT_DISPOSABLE_ON_JOB = 1000;

/** Most disposed ids the sweep writes on one running job. */
export const EXPORT_MARKS_MAX = 1000;

/**
 * Each attempt at a job writes its own blob: a worker that lost the job to a restart never
 * overwrites (or deletes) the ZIP of the attempt that holds it.
 */
export const exportBlobName = (id: string, attempt: number): string => (attempt <= 1 ? `${id}.zip` : `${id}.${attempt}.zip`);

/** The attempt's list of the held documents a disposal can reach, one id a line, beside its ZIP. */
export const exportDisposableListName = (id: string, attempt: number): string => (attempt <= 1 ? `${id}.disposable.txt` : `${id}.${attempt}.disposable.txt`);

/**
 * The job's resume point (export-checkpoint.ts): one per job, rewritten by each attempt, beside the ZIP it describes.
 * Named from the job's id, as every export blob is (maintenance finds a blob's job by the name's first part).
 */
export const exportCheckpointName = (id: string): string => `${id}.checkpoint.json`;

/** The most attempts at a job any deployment allows (the bound of ARCHIVE_EXPORT_MAX_ATTEMPTS, shared/config): a worker claims one only below it. */
export const EXPORT_ATTEMPTS_LIMIT = 20;

/**
 * The job's `attempts` if it is a count the archive writes (a whole number, 0 to EXPORT_ATTEMPTS_LIMIT), else null.
 * Broke: text, missing, NaN (a writer of Cosmos DB) never reached ARCHIVE_EXPORT_MAX_ATTEMPTS (`NaN >= 3` is false), so
 * the job was restarted on every maintenance run until it expired, each attempt named `attempts + 1` (`'two1'`); and a
 * count far past any cap had an expiry list that many blob names.
 */
export function attemptsMade(job: Pick<ExportJob, 'attempts'>): number | null {
  const n: unknown = job.attempts;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= EXPORT_ATTEMPTS_LIMIT ? n : null;
}

/**
 * Whether a running job has no attempt left: `max` (ARCHIVE_EXPORT_MAX_ATTEMPTS) attempts that went nowhere, or
 * EXPORT_ATTEMPTS_LIMIT in all. An attempt that saved a checkpoint of its own is not counted: a large tenant's year, cut
 * each time the platform recycles its instance, goes on while each attempt moves it on. Attempts stored as no count are used up.
 */
export function attemptsUsedUp(job: Pick<ExportJob, 'attempts' | 'attemptsAdvanced'>, max: number): boolean {
  const made = attemptsMade(job);
  if (made === null || made >= EXPORT_ATTEMPTS_LIMIT) return true;
  const a: unknown = job.attemptsAdvanced;
  // Unsealed (a job's running fields are): one edited up in Cosmos DB gets the job at most EXPORT_ATTEMPTS_LIMIT attempts.
  const advanced = typeof a === 'number' && Number.isInteger(a) && a > 0 ? Math.min(a, made) : 0;
  return made - advanced >= max;
}

/** Every blob the job's attempts may have written (an expiry or a withdrawal deletes them all); of every attempt possible when it is no count. */
export function exportBlobNames(job: Pick<ExportJob, 'id' | 'attempts'>): string[] {
  const names: string[] = [];
  const made = attemptsMade(job) ?? EXPORT_ATTEMPTS_LIMIT;
  for (let attempt = 1; attempt <= Math.max(1, made); attempt++) names.push(exportBlobName(job.id, attempt), exportDisposableListName(job.id, attempt));
  names.push(exportCheckpointName(job.id));
  return names;
}

/**
 * Whether the job's ZIP may no longer be downloaded at `now`: stored as expired, or its `expiresAt` reached. A job
 * whose `expiresAt` holds no readable instant (every job was written with one: restored, half written, edited by hand)
 * has expired: read with Date.parse, its ZIP stayed downloadable for ever (NaN <= now is false).
 */
export const exportExpired = (job: Pick<ExportJob, 'status' | 'expiresAt'>, now: Date): boolean => job.status === 'expired' || endReached(job.expiresAt, now);

/**
 * What clients see of a job at `now`: one past its expiry is shown expired, without its archive, as the download
 * judges it (410 from that instant) and as export maintenance stores it at its next run (up to its schedule later;
 * until then GET /exports/{id} had answered `completed` with a download that said `export_expired`).
 */
/** `sealed`: whether the job is as the archive sealed it (export-seal.ts exportUnsealedBecause), for the client to show. */
export function toPublicExport(stored: ExportJob, basePath: string, now: Date, sealed: boolean) {
  const { archive: _gone, ...rest } = stored;
  const job: ExportJob = stored.status !== 'expired' && exportExpired(stored, now) ? { ...rest, status: 'expired' } : stored;
  return {
    id: job.id,
    status: job.status,
    filter: job.filter,
    includeOriginals: job.includeOriginals,
    csv: job.csv ?? DEFAULT_CSV_FORMAT,
    createdAt: job.createdAt,
    createdBy: job.createdBy,
    requestId: job.requestId,
    progress: job.progress,
    ...(job.archive ? { archive: { ...job.archive, download: `${basePath}/exports/${job.id}/download` } } : {}),
    ...(job.manifestJson ? { manifestJson: job.manifestJson } : {}),
    ...(job.completedAt ? { completedAt: job.completedAt } : {}),
    expiresAt: job.expiresAt,
    ...(job.error ? { error: job.error } : {}),
    sealed,
  };
}
export type PublicExport = ReturnType<typeof toPublicExport>;

/** One file in an export, as listed in manifest.json / manifest.csv. */
export interface ManifestFile {
  path: string;
  role: 'rendition' | 'original';
  mediaType: string;
  size: number;
  sha256: string;
  /** Renditions: veraPDF's verdict as recorded when the export ran (a failure is never left out). */
  validation?: ManifestValidation;
}

export type ManifestValidation =
  | { status: 'pending' }
  | { status: 'passed' | 'failed'; validator: string; profile: string; failedRules: string[]; validatedAt: string; reportSha256: string };

export interface ManifestDocument {
  id: string;
  fiscalYear: number;
  createdAt: string;
  metadata: Record<string, unknown>;
  files: ManifestFile[];
}

export interface ExportManifest {
  format: 'archive-export/1';
  export: {
    id: string;
    tenantId: string;
    createdAt: string;
    createdBy: { subject: string; kind: string };
    filter: ExportFilter;
    includeOriginals: boolean;
    /** The format of manifest.csv (separator and decimal mark). */
    csv: CsvFormat;
    /** The audit reference of the export: the POST's request id and its audit entry id. */
    requestId: string;
    auditEntryId: string | null;
  };
  counts: { documents: number; files: number; bytes: number };
  /**
   * manifest.csv's SHA-256 (hex) and size: the list an auditor opens is checked like every file.
   * Exports made before it was recorded have none; `archive verify` then says the CSV was not covered.
   */
  manifestCsv: { sha256: string; size: number };
  documents: ManifestDocument[];
}

/**
 * An `export-work` queue message: which job to run, nothing more. What to export, for whom, and whether it is due are
 * the job's own (sealed) record's, read by the worker (shared/exports/queued-export.ts).
 */
export const ZExportWorkMessage = z.strictObject({ tenantId: z.string().min(1).max(128), exportId: z.string().min(1).max(128) });
export type ExportWorkMessage = z.infer<typeof ZExportWorkMessage>;

export function exportWorkMessageText(tenantId: string, exportId: string): string {
  return JSON.stringify({ tenantId, exportId } satisfies ExportWorkMessage);
}

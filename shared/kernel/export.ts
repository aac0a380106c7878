import { z } from 'zod';
import { DOCUMENT_KINDS } from './document';

const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD');

/** `POST /exports` body: a search (the same filters as `GET /documents`) and what to include. */
export const ZExportRequest = z.strictObject({
  fiscalYear: z.number().int().min(1900).max(2200).optional(),
  from: date.optional(),
  to: date.optional(),
  kind: z.enum(DOCUMENT_KINDS).optional(),
  counterparty: z.string().min(1).max(200).optional(),
  amountMin: z.number().finite().optional(),
  amountMax: z.number().finite().optional(),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR').optional(),
  reference: z.string().min(1).max(200).optional(),
  tags: z.array(z.string().min(1).max(50)).min(1).max(10).optional(),
  /** Add every original beside the rendition. */
  includeOriginals: z.boolean().default(false),
});
export type TExportRequest = z.infer<typeof ZExportRequest>;
export type ExportFilter = Omit<TExportRequest, 'includeOriginals'>;

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
  createdAt: string;
  createdBy: { subject: string; kind: string; person?: string };
  /** Request id of the POST /exports; its audit entry is found by it. */
  requestId: string;
  /** Last sign of life of the worker; a stale running job is restarted by the maintenance timer. */
  heartbeatAt: string;
  attempts: number;
  progress: { total: number; documents: number; files: number; bytes: number };
  /** Blob in the tenant's export container. */
  blobName: string;
  archive?: { size: number; sha256: string };
  completedAt?: string;
  expiresAt: string;
  /** Machine-readable failure reason; never document content. */
  error?: string;
}

/** What clients see of a job. */
export function toPublicExport(job: ExportJob, basePath: string) {
  return {
    id: job.id,
    status: job.status,
    filter: job.filter,
    includeOriginals: job.includeOriginals,
    createdAt: job.createdAt,
    createdBy: job.createdBy,
    requestId: job.requestId,
    progress: job.progress,
    ...(job.archive ? { archive: { ...job.archive, download: `${basePath}/exports/${job.id}/download` } } : {}),
    ...(job.completedAt ? { completedAt: job.completedAt } : {}),
    expiresAt: job.expiresAt,
    ...(job.error ? { error: job.error } : {}),
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
}

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
    /** The audit reference of the export: the POST's request id and its audit entry id. */
    requestId: string;
    auditEntryId: string | null;
  };
  counts: { documents: number; files: number; bytes: number };
  documents: ManifestDocument[];
}

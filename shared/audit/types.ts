import { z } from 'zod';

/** Closed list of what the audit log records. */
export const ZAuditAction = z.enum([
  'document.ingest',
  'document.read',
  'document.list',
  'document.download-original',
  'document.download-rendition',
  'audit.read',
  'catalog.rebuild',
]);
export type AuditAction = z.infer<typeof ZAuditAction>;

export type AuditOutcome = 'success' | 'refused' | 'failed';

export interface AuditEntry {
  id: string;
  /** `<tenantId>:<yyyy-mm>` */
  partition: string;
  tenantId: string;
  at: string;
  actor: { subject: string; kind: string };
  action: AuditAction;
  target: string | null;
  outcome: AuditOutcome;
  status: number;
  requestId: string;
  clientIp: string | null;
  userAgent: string | null;
  /** Error code of a refusal, or a short machine detail; never document content. */
  detail?: string;
}

export function auditPartition(tenantId: string, at: Date): string {
  return `${tenantId}:${at.toISOString().slice(0, 7)}`;
}

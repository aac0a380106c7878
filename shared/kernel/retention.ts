import { z } from 'zod';
import { shownText } from './text';

/** Retention class names: built-in ones and those a tenant defines. */
export const RETENTION_CLASS_NAME = /^[a-z0-9][a-z0-9-]{1,40}$/;

export interface Actor {
  subject: string;
  kind: string;
  /** The accountable person (for an API key, its creator); absent on records from before: the subject. */
  person?: string;
}

/** One legal hold on one document. A document is held while any of its holds is open. */
export interface LegalHold {
  id: string;
  reason: string;
  caseReference: string;
  placedAt: string;
  placedBy: Actor;
  /** Set when the hold was placed for every document matching a query. */
  query?: { fiscalYear?: number; counterparty?: string };
  /**
   * A hold by query reached this document after it was placed (archived or corrected into its query since): when. The
   * placing (`placedAt`, `placedBy`) is the hold's own, which four eyes judge its release by.
   */
  extendedAt?: string;
  releasedAt?: string;
  releasedBy?: Actor;
  releaseReason?: string;
  /**
   * The disposal approval the document carried when this hold was placed, which the hold withdrew (placeHold): kept
   * here, as the approval's own audit entry does not name its documents, so whoever asks why an approved document was
   * not disposed of reads it on the document.
   */
  withdrewDisposalApproval?: DisposalApproval;
}

export interface RetentionExtension {
  from: string;
  to: string;
  at: string;
  by: Actor;
  reason: string;
}

export interface DisposalApproval {
  approvalId: string;
  approvedAt: string;
  approvedBy: Actor;
  reason: string;
  /** The retain-until the approval was given for; an extension afterwards voids it. */
  retainUntil: string;
  /**
   * The archive's seal on the approval for this document (archive-seal.ts, purpose `disposal-approval`; approve-disposal.ts
   * sealApproval): absent on one given before approvals were sealed. Never answered to clients (approvalAnswered).
   */
  keyVersion?: string;
  mac?: string;
}

/** An approval as clients see it: without the archive's seal (which is not theirs to hold or compare). */
export function approvalAnswered({ keyVersion: _v, mac: _m, ...approval }: DisposalApproval): DisposalApproval {
  return approval;
}

/** Kept on the tombstone: who disposed of the document, when and why. */
export interface DisposalRecord {
  at: string;
  by: Actor;
  reason: string;
  runId: string;
  approval?: DisposalApproval;
  /** False on the plan a claim (`disposing`) carries; true on the tombstone, which is written after the audit entry. (Tombstones of earlier versions may be false: the next sweep logs and flags them.) */
  audited: boolean;
  /**
   * The archive's seal on the claim (archive-seal.ts, purpose `disposal-claim`; dispose.ts claimSealed): made by the run
   * that claimed, absent on a claim from before claims were sealed. A later run finishes only a claim the archive made.
   */
  seal?: { keyVersion?: string; mac: string };
}

export interface FixityRecord {
  checkedAt: string;
  ok: boolean;
  /** Blob names whose SHA-256 differed from the catalog. */
  mismatched?: string[];
  /** Blob names that were not found. */
  missing?: string[];
}

/** A tenant's retention policy (Cosmos `tenants`, id `retention-policy`), set by a principal with retention:manage. */
export const ZTenantRetentionPolicy = z.strictObject({
  classes: z
    .array(
      z.strictObject({
        name: z.string().regex(RETENTION_CLASS_NAME, 'must be a lower-case slug'),
        years: z.number().int().min(1).max(100),
        description: shownText('line', 300, 0).optional(),
      }),
    )
    .max(50)
    .default([]),
  defaultClass: z.string().regex(RETENTION_CLASS_NAME).default('fiscal-7y'),
  /** Documents are disposed of only after a principal with retention:approve approved them. */
  requireDisposalApproval: z.boolean().default(false),
  /** Month (1–12) in which the tenant's fiscal year ends; 12 = calendar year. */
  fiscalYearEndMonth: z.number().int().min(1).max(12).default(12),
});
export type TTenantRetentionPolicy = z.infer<typeof ZTenantRetentionPolicy>;

/**
 * The strongest retention safeguards that have applied to a tenant (a high-water mark, kept with
 * its policy): what a policy change is judged against, so removing a class and adding it back
 * shorter, or lowering in several small steps, lowers as much as doing it at once.
 */
export interface SafeguardMark {
  /** Per class name (also of classes since removed): the most years it has kept documents. */
  classYears: Record<string, number>;
  requireDisposalApproval: boolean;
  /** The most years the default class has kept documents. */
  defaultClassYears: number;
  /** The month the fiscal year ends in: moving it either way shortens some documents' retention, so either is a lowering. */
  fiscalYearEndMonth: number;
}

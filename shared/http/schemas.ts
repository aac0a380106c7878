/**
 * zod schemas of what the API answers: the response halves of the operation definitions. Strict
 * objects, so the integration harness fails on a field nobody declared. Nested domain records that
 * the archive stores and hands back as they are (conversion details, retention policy classes) are
 * described loosely on purpose: their own modules own their shape.
 */
import { z } from 'zod';
import { ZAuditAction } from '../kernel/audit';
import { CHAIN_PROBLEMS_MAX } from '../kernel/audit-chain';
import { PERMISSIONS, RIGHTS_SET_NAME, SUPPORT_SCOPES, type SupportScope } from '../kernel/principal';
import { ZDocumentMetadata } from '../kernel/document';
import { EXPORT_STATUSES, ZExportRequest } from '../kernel/export';
import { ERROR_CODES, type ErrorCode } from '../kernel/errors';
import { shownText } from '../kernel/text';

export const ZInstant = z.string().meta({ format: 'date-time' });

export const ZId = z.string().min(1).max(128);
export const ZRightsSetName = z.string().regex(RIGHTS_SET_NAME, 'must match ^[a-z0-9][a-z0-9-]{1,40}$');
export const ZPermission = z.enum(PERMISSIONS);
export const ZSupportScope = z.enum(Object.keys(SUPPORT_SCOPES) as [SupportScope, ...SupportScope[]]);

export const ZActor = z.strictObject({ subject: z.string(), kind: z.string(), person: z.string().optional() });

const ZFileOut = z.strictObject({ mediaType: z.string(), size: z.number().int(), sha256: z.string().regex(/^[0-9a-f]{64}$/) });
export const ZOriginalFile = ZFileOut.extend({ fileName: z.string().nullable() });
export const ZRenditionFile = ZFileOut.extend({ conformance: z.enum(['PDF/A-2b', 'none']) });

const ZDisposalApproval = z.strictObject({ approvalId: z.string(), approvedAt: ZInstant, approvedBy: ZActor, reason: z.string(), retainUntil: ZInstant });

export const ZLegalHold = z.strictObject({
  id: z.string(),
  reason: z.string(),
  caseReference: z.string(),
  placedAt: ZInstant,
  placedBy: ZActor,
  query: z.strictObject({ fiscalYear: z.number().int().optional(), counterparty: z.string().optional() }).optional(),
  extendedAt: ZInstant.optional().describe('A hold by query holds the documents archived or corrected into its query while it is open: when it reached this one (absent: placed on it as the hold was placed).'),
  releasedAt: ZInstant.optional(),
  releasedBy: ZActor.optional(),
  releaseReason: z.string().optional(),
  withdrewDisposalApproval: ZDisposalApproval.optional().describe('The disposal approval the document carried when this hold was placed: a hold withdraws it, and the document is reviewed again after the release.'),
});

export const ZDocument = z
  .strictObject({
    id: z.string(),
    status: z.enum(['active', 'disposing', 'disposed']),
    pages: z.number().int(),
    original: ZOriginalFile,
    originals: z.array(ZOriginalFile),
    rendition: ZRenditionFile,
    conversion: z
      .strictObject({
        normaliser: z.string(),
        pageCount: z.number().int(),
        pages: z.array(z.unknown()),
        conformance: z.enum(['PDF/A-2b', 'none']),
        conformanceReason: z.string().optional(),
        declaredConformance: z.string().optional(),
        outputIntent: z.enum(['sRGB', 'CMYK']).optional(),
      })
      .meta({ description: 'How the rendition was made' }),
    metadata: ZDocumentMetadata,
    fiscalYear: z.number().int(),
    retention: z.strictObject({
      class: z.string(),
      retainUntil: ZInstant,
      extensions: z.array(z.strictObject({ from: ZInstant, to: ZInstant, at: ZInstant, by: ZActor, reason: z.string() })).optional(),
    }),
    legalHold: z.boolean(),
    holds: z.array(ZLegalHold),
    disposalApproval: ZDisposalApproval.optional(),
    disposal: z.strictObject({ at: ZInstant, by: ZActor, reason: z.string() }).optional(),
    createdAt: ZInstant,
    createdBy: ZActor,
    validation: z
      .looseObject({ status: z.enum(['pending', 'passed', 'failed']) })
      .meta({ description: 'veraPDF outcome: pending, or passed/failed with validator, profile, failedRules, validatedAt and the report (sha256, size)' }),
    metadataVersion: z.number().int().min(1).meta({ description: 'Version of the metadata (also the ETag `"metadata-N"`)' }),
    correctedAt: ZInstant.optional().meta({ description: 'When the metadata was last corrected; absent while never corrected' }),
  });

/** A document changed by a principal without documents:read: what it changed, not the document (kernel/document.ts changedDocumentAnswer). */
export const ZDocumentChangeReceipt = z
  .strictObject({
    id: z.string(),
    status: z.enum(['active', 'disposing', 'disposed']),
    metadataVersion: z.number().int().min(1),
    retention: z.strictObject({ class: z.string(), retainUntil: ZInstant }),
  })
  .meta({ description: 'To a principal without documents:read: the document it changed, not its metadata, holds or history' });

/** One version of a document's metadata: the ingest version (reason null) or a correction (PATCH /documents/{id}/metadata). */
export const ZMetadataCorrection = z.strictObject({
  version: z.number().int().min(1),
  at: ZInstant,
  by: ZActor,
  reason: z.string().nullable(),
  changes: z.array(z.strictObject({ field: z.string(), from: z.unknown(), to: z.unknown() })),
  metadata: z.record(z.string(), z.unknown()),
  retention: z.strictObject({ from: ZInstant, to: ZInstant }).optional(),
});
/** A correction as answered to a caller that may not read documents: what it corrected, never what the fields said before. */
export const ZCorrectionReceipt = z
  .strictObject({
    id: z.string(),
    metadataVersion: z.number().int(),
    correction: z.strictObject({ version: z.number().int().min(1), at: ZInstant, by: ZActor, reason: z.string(), changes: z.array(z.strictObject({ field: z.string(), to: z.unknown() })) }).optional(),
  })
  .meta({ description: 'The answer to a correction sent without documents:read' });
export const ZMetadataHistory = z.strictObject({ documentId: z.string(), metadataVersion: z.number().int(), versions: z.array(ZMetadataCorrection) });

export const ZDocumentPage = z.strictObject({ items: z.array(ZDocument), continuationToken: z.string().nullable() });

export const ZExport = z
  .strictObject({
    id: z.string(),
    status: z.enum(EXPORT_STATUSES),
    filter: ZExportRequest.omit({ includeOriginals: true, csv: true }).partial(),
    includeOriginals: z.boolean(),
    csv: z.strictObject({ separator: z.enum([',', ';']), decimalMark: z.enum(['.', ',']) }),
    createdAt: ZInstant,
    createdBy: ZActor,
    requestId: z.string(),
    progress: z.strictObject({ total: z.number().int(), documents: z.number().int(), files: z.number().int(), bytes: z.number().int() }),
    archive: z.strictObject({ size: z.number().int(), sha256: z.string(), download: z.string() }).optional(),
    manifestJson: z
      .strictObject({ size: z.number().int(), sha256: z.string() })
      .optional()
      .meta({ description: "SHA-256 and size of the manifest.json the export's ZIP holds (it names every file's SHA-256); kept once the ZIP has expired or been withdrawn, so a copy can be proven to be what the archive handed out (archive verify --against-archive)" }),
    completedAt: ZInstant.optional(),
    expiresAt: ZInstant,
    error: z.string().optional(),
    sealed: z.boolean().describe('false: the job as the catalog holds it is not as the archive sealed it (edited by hand, sealed with a chain key version since rotated, or the key cannot be read now): what it says is not the archive\'s word, and its ZIP is not handed out (`export_not_sealed`)'),
  });

const ZRevocable = {
  revokedAt: ZInstant.nullable(),
  revokedBy: ZActor.nullable(),
  revoked: z.boolean().describe('Revoked: it acts no more. Read this, not `revokedAt`: a revocation stored with no readable time (restored, edited by hand) is revoked, its `revokedAt` null.'),
};
export const ZApiKey = z
  .strictObject({
    id: z.string(),
    name: z.string(),
    rightsSet: z.string(),
    prefix: z.string(),
    createdAt: ZInstant,
    createdBy: ZActor,
    ceiling: z.array(ZPermission).optional(),
    expiresAt: ZInstant,
    lastUsedAt: ZInstant.nullable(),
    ...ZRevocable,
    /** Listed only: the key it was minted through (or one above that) no longer acts, so this one cannot act though it is in use. */
    endedWithKey: z.string().optional().describe('The API key this key was minted through (or a key above it) has been revoked or has expired: this key cannot act, though it is in use until revoked or expired.'),
    /** Listed only: the record is not as the archive made it (forged or edited in Cosmos DB): it cannot act. */
    notSealedByArchive: z.literal(true).optional().describe('The archive did not seal this key record (written or edited in the database by other means than the archive, or from before the seal once every key is sealed): it cannot act. Revoke it and find out who wrote it.'),
  });
export const ZApiKeyCreated = ZApiKey.extend({
  key: z.string().meta({ description: 'The secret; shown this once only' }),
  personIdleDays: z
    .number()
    .int()
    .nullable()
    .meta({ description: "Where the creator's rights come from the identity provider's claim: the key acts only while its person has signed in within this many days. Null where the tenant assigns the person's rights (the assignment decides)." }),
});

export const ZRightsSet = z.strictObject({
  name: z.string(),
  builtIn: z.boolean(),
  permissions: z.array(ZPermission),
  updatedAt: ZInstant.optional(),
  updatedBy: ZActor.optional(),
  version: z.string().optional().describe('A tenant\'s own set: its version, an ETag to send as If-Match on a change (PUT), so that a change made since it was read is not overwritten'),
});
export const ZRightsAssignment = z.strictObject({
  subject: z.string(),
  rightsSet: z.string(),
  assignedAt: ZInstant,
  assignedBy: ZActor,
  version: z.string().describe('The assignment\'s ETag: send it as If-Match to replace exactly this assignment (PUT /rights-assignments/{subject}).'),
  /** Listed only: made through an API key that has since ended (or one above it); the assignment stays, for the admin to review. */
  endedWithKey: z.string().optional().describe('The assignment was made through this API key, which (or a key above it) has since been revoked or has expired: it still applies; review it.'),
});
export const ZSodPolicyOut = z.strictObject({
  conflicts: z.array(z.tuple([ZPermission, ZPermission])),
  uploaderCannotApproveDisposal: z.boolean(),
  updatedAt: ZInstant.optional(),
  updatedBy: ZActor.optional(),
});

export const ZSupportGrant = z.strictObject({
  id: z.string(),
  ticket: z.string(),
  scope: ZSupportScope,
  createdAt: ZInstant,
  createdBy: ZActor,
  expiresAt: ZInstant,
  ...ZRevocable,
  permissions: z.array(ZPermission),
  /** Listed only: the API key it was given through (or one above that) no longer acts, so the grant gives no access though it is in force. */
  endedWithKey: z.string().optional().describe('The API key the grant was given through (or a key above it) has been revoked or has expired: the grant gives no access, though it is in force until revoked or expired.'),
  /** Listed only: the record is not as the archive made it (forged or edited in Cosmos DB): it gives no access. */
  notSealedByArchive: z.literal(true).optional().describe('The archive did not seal this grant record (written or edited in the database by other means than the archive, or from before the seal once every grant is sealed): it gives no access. Revoke it and find out who wrote it.'),
});

/** An open hold by query: what it holds from placing until its release everywhere, whether or not a document carries it now. */
export const ZHoldByQuery = z.strictObject({
  holdId: z.string(),
  reason: z.string(),
  caseReference: z.string(),
  query: z.strictObject({ fiscalYear: z.number().int().optional(), counterparty: z.string().optional() }),
  placedAt: ZInstant,
  placedBy: ZActor,
  documents: z.number().int().min(0).describe('How many documents carry it open now (documents archived into its selection later are reached within ARCHIVE_RECONCILE_SCHEDULE)'),
});

export const ZHoldsResult = z.strictObject({
  holdId: z.string(),
  /** How many documents this request changed, and which. */
  documents: z.number().int(),
  documentIds: z.array(z.string()),
  /** Matches another request changed meanwhile (disposed of, or the hold released): passed over, not changed. */
  skipped: z.array(z.strictObject({ documentId: z.string(), reason: z.enum(['document_disposed', 'document_not_found', 'hold_already_released', 'document_being_disposed', 'too_many_holds', 'hold_placement_unwitnessed']) })),
});

/** A proposal (a SoD or retention policy weakening, shared/auth/proposals.ts): besides what it proposes, its state, proposer, lifetime and decision. */
export function proposalSchema<S extends z.ZodRawShape>(proposed: S) {
  return z.strictObject({
    id: z.string(),
    state: z.enum(['pending', 'approved', 'withdrawn', 'rejected', 'expired']),
    ...proposed,
    proposedAt: ZInstant,
    proposedBy: ZActor,
    expiresAt: ZInstant,
    decidedAt: ZInstant.optional(),
    decidedBy: ZActor.optional(),
    decisionReason: z.string().optional(),
    notSealedByArchive: z.literal(true).optional().meta({ description: 'Pending, but not as the archive sealed it (planted or changed in the catalog, or from before proposals were sealed): it cannot be approved (409 `proposal_not_sealed`)' }),
  });
}
/** The body of a proposal's approval: why the second person agrees. */
export const ZApproveProposal = z.strictObject({ reason: shownText('prose', 500) });
/** A proposal's id in its path (a UUIDv7). */
export const ZProposalParams = z.strictObject({ id: z.string().regex(/^[0-9a-f-]{36}$/) });

export const ZRetentionPolicyOut = z.looseObject({
  legalFloorYears: z.number().int(),
  effectiveClasses: z.array(z.strictObject({ name: z.string(), years: z.number() })),
});

export const ZDuePage = z.strictObject({
  before: ZInstant,
  requireDisposalApproval: z.boolean(),
  items: z.array(
    z.strictObject({
      id: z.string(),
      retention: ZDocument.shape.retention,
      fiscalYear: z.number().int(),
      kind: z.string().nullable(),
      legalHold: z.boolean(),
      approved: z.boolean(),
      blockedBy: z.string().nullable(),
    }),
  ),
  continuationToken: z.string().nullable(),
});

export const ZApproval = z.strictObject({
  approvalId: z.string(),
  approved: z.array(z.string()),
  skipped: z.array(z.strictObject({ id: z.string(), reason: z.string() })),
  more: z.boolean(),
});

export const ZAuditEntry = z.strictObject({
  id: z.string(),
  seq: z.number().int(),
  prevHash: z.string(),
  hash: z.string(),
  alg: z.literal('hmac-sha256').optional(),
  keyVersion: z.string().optional(),
  partition: z.string(),
  tenantId: z.string(),
  at: ZInstant,
  actor: z.strictObject({ subject: z.string(), kind: z.string(), person: z.string().optional(), keyId: z.string().optional(), grantId: z.string().optional() }),
  action: ZAuditAction,
  target: z.string().nullable(),
  outcome: z.enum(['success', 'refused', 'failed']),
  status: z.number().int(),
  requestId: z.string(),
  clientIp: z.string().nullable(),
  userAgent: z.string().nullable(),
  detail: z.string().optional(),
});
export const ZAuditPage = z.strictObject({ month: z.string(), items: z.array(ZAuditEntry), continuationToken: z.string().nullable() });

export const ZChainReport = z.strictObject({
  month: z.string(),
  partition: z.string(),
  ok: z.boolean(),
  entries: z.number().int(),
  lastSeq: z.number().int(),
  sealedSeq: z.number().int(),
  seals: z.number().int(),
  problems: z.array(z.unknown()).meta({ description: `The first ${CHAIN_PROBLEMS_MAX} problems found (foreign entries first, then in seq order, then a cut tail)` }),
  problemCounts: z.record(z.string(), z.number().int()).meta({ description: 'Every problem found, counted per kind (`changed`, `missing`, `inserted`, `broken-link`, `unkeyed`, `older-key`, `key-unavailable`, `unreadable-seal`, `unjudged-seals`, `truncated`), also those not listed' }),
  problemsTruncated: z.boolean().meta({ description: 'More problems were found than `problems` lists' }),
});

export const ZItems = <T extends z.ZodType>(item: T) => z.strictObject({ items: z.array(item) });

/** RFC 9457 problem details; extension members (e.g. `errors`, `permission`, `rule`) depend on the code. */
export const ZProblem = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    code: z.enum(ERROR_CODES as [ErrorCode, ...ErrorCode[]]),
    requestId: z.string(),
  })
  .meta({ description: 'RFC 9457 problem details; `code` is from the archive\'s closed table' });

import { ArchiveError } from './errors';
import { ZDocumentMetadata, type RetentionClass, type TDocumentMetadata } from './metadata';
import type { Principal } from './principal';
import type { ValidationRecord } from './validation';
import { approvalAnswered, type DisposalApproval, type DisposalRecord, type FixityRecord, type LegalHold, type RetentionExtension } from './retention';

export { DOCUMENT_KINDS, ZDocumentMetadata, type RetentionClass, type TDocumentMetadata } from './metadata';

export interface StoredFile {
  mediaType: string;
  size: number;
  sha256: string;
  blobName: string;
}

export interface OriginalFile extends StoredFile {
  fileName: string | null;
}

/** A catalog item as kept in Cosmos (`documents`, partition /tenantId) and in manifest.json. */
export interface ArchivedDocument {
  id: string;
  tenantId: string;
  type: 'document';
  /** `disposing` while the retention sweep removes its blobs; `disposed`: a tombstone. */
  status: 'active' | 'disposing' | 'disposed';
  pages: number;
  /** The first (usually only) uploaded file. */
  original: OriginalFile;
  /** Every uploaded file, in upload order (several images make one document). */
  originals: OriginalFile[];
  /** Dedupe key: sha256 of the single original, or of the joined hashes of several. */
  contentKey: string;
  rendition: StoredFile & { conformance: ConversionRecord['conformance'] };
  conversion: ConversionRecord;
  metadata: TDocumentMetadata;
  fiscalYear: number;
  retention: { class: RetentionClass; retainUntil: string; extensions?: RetentionExtension[] };
  /** True while any legal hold is open; the blobs' legal-hold flag follows. */
  legalHold: boolean;
  /** Mutable retention state lives here, not in the (immutable, ingest-time) manifest. */
  holds?: LegalHold[];
  /**
   * Set by the release that left no hold open, until the blobs' legal-hold flags are cleared: the one state in which
   * the reconciler clears flags. A flag set by a later placement whose catalog write failed, or by a hold a restored
   * catalog lost, is not explained by an earlier release the item records, and stays.
   */
  holdFlagsToClear?: true;
  /**
   * A resync of the blobs' legal-hold flags under way (the reconciler, shared/retention/reconcile.ts): written with its
   * `legal-hold.resync` entry (the audit outbox) before the flags change, gone with the write that finishes it. A run
   * after a crash finds it and does not audit that resync again, in whatever month it runs.
   */
  holdResync?: { held: boolean; at: string };
  /**
   * When the reconciler first found a legal-hold flag on the blobs that the item does not explain (no open hold, no
   * release's clearing left): a placement sets its flags before its catalog write, so only a flag still unexplained a
   * grace window later is recorded as an open hold (`restored-from-storage`) and alerted (shared/retention/reconcile.ts
   * UNRECORDED_HOLD). Any hold write removes it.
   */
  unrecordedHoldSeenAt?: string;
  /**
   * When storage first refused the sweep's disposal (a blob protected longer than the catalog's retain-until: a catalog
   * restored from a backup that lost an extension), at that retain-until. A refusal lasting past a grace window is
   * alerted (shared/retention/dispose.ts DISPOSAL_REFUSED); a retain-until changed since starts the window again.
   */
  disposalRefused?: { since: string; retainUntil: string };
  /**
   * When the reconciler first found the blobs locked later than this retain-until (`retainUntil`: the item's then): a
   * catalog restored behind an extension, or edited shorter. An extension locks the blobs before its catalog write, so
   * the later date is taken over only when still ahead a grace window later (shared/retention/reconcile.ts).
   */
  retentionBehindSeenAt?: { at: string; retainUntil: string };
  disposalApproval?: DisposalApproval;
  disposal?: DisposalRecord;
  fixity?: FixityRecord;
  /** veraPDF's verdict on the rendition (catalog only: the manifest is immutable); absent means pending. */
  validation?: ValidationRecord;
  createdAt: string;
  /** `person`: the accountable person (for an API key, its creator); absent on documents from before: the subject. */
  createdBy: { subject: string; kind: string; person?: string };
  idempotencyKey?: string;
  /** Normalised search keys of metadata.counterparty / metadata.reference (documents/search-keys.ts); indexed, searched by prefix. */
  counterpartyKey?: string;
  referenceKey?: string;
  /** Version of the catalog metadata: absent or 1 as ingested, +1 per correction (documents/correct-metadata.ts). */
  metadataVersion?: number;
  /** Every correction, oldest first: who, when, why, what changed. The ingest manifest keeps the original. */
  metadataHistory?: MetadataCorrection[];
  /** When the metadata was last corrected (indexed: `correctedSince` searches it); absent while never corrected. */
  correctedAt?: string;
  /**
   * Every fiscal year the document has been in, set with `correctedAt` (indexed): `correctedSince` with `fiscalYear`
   * also finds a document corrected out of that year, which the year's earlier export held.
   */
  fiscalYearsEver?: number[];
  /**
   * When corrections kept in storage were last brought back into the item (documents/correction-blobs.ts
   * restoreCorrections, after a restore put it behind its blobs): its details changed then, whenever the corrections
   * were made, so `correctedAt` is never earlier (an export made in between held the values they replaced).
   */
  correctionsRestoredAt?: string;
}

/** The search fields a correction sets (`correctedAt`, `fiscalYearsEver`): the item before it, the fiscal year it leaves the document in, when. */
export function correctionSearchFields(before: Pick<ArchivedDocument, 'fiscalYear' | 'fiscalYearsEver'>, fiscalYear: number, at: string): Pick<ArchivedDocument, 'correctedAt' | 'fiscalYearsEver'> {
  const years = new Set([...(before.fiscalYearsEver ?? [before.fiscalYear]), fiscalYear]);
  return { correctedAt: at, fiscalYearsEver: [...years].sort((a, b) => a - b) };
}

export interface MetadataCorrection {
  version: number;
  at: string;
  by: { subject: string; kind: string; person?: string };
  reason: string;
  changes: { field: string; from: unknown; to: unknown }[];
  /** The metadata as of this version. */
  metadata: TDocumentMetadata;
  /** Retain-until moved later by this correction. */
  retention?: { from: string; to: string };
}

/** What a tombstone drops from the metadata: the content and the names; dates, kind and class stay. */
const TOMBSTONE_DROPS: readonly string[] = ['counterparty', 'amount', 'currency', 'reference', 'tags'] satisfies (keyof TDocumentMetadata)[];

export function tombstoneMetadata(metadata: TDocumentMetadata): TDocumentMetadata {
  return Object.fromEntries(Object.entries(metadata).filter(([field]) => !TOMBSTONE_DROPS.includes(field)));
}

/** A disposed document's corrections as its tombstone keeps them: each version's metadata and changes without what the tombstone drops. */
export function tombstoneHistory(corrections: readonly MetadataCorrection[]): MetadataCorrection[] {
  return corrections.map((c) => ({ ...c, metadata: tombstoneMetadata(c.metadata), changes: c.changes.filter((ch) => !TOMBSTONE_DROPS.includes(ch.field)) }));
}

/**
 * A disposed document's holds as its tombstone keeps them: who placed and released each, when and why, without the
 * counterparty a hold by query matched it by (the document's own counterparty, which the tombstone drops; the hold's
 * record, `legal-hold-by-query:<id>`, keeps its query). A fiscal year is a date: it stays.
 */
export function tombstoneHolds(holds: readonly LegalHold[]): LegalHold[] {
  return holds.map((hold) => {
    if (!hold.query) return hold;
    const { counterparty: _c, ...query } = hold.query;
    return { ...hold, query };
  });
}

/** Validates client metadata; a 400 listing every problem. */
export function parseMetadata(raw: unknown): TDocumentMetadata {
  const parsed = ZDocumentMetadata.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new ArchiveError('invalid_metadata', {
      detail: parsed.error.issues.map((i) => `${i.path.join('.') || 'metadata'}: ${i.message}`).join('; '),
      extensions: { errors: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
    });
  }
  return parsed.data;
}

/** What clients see: the catalog item without storage internals. */
export function toPublicDocument(d: ArchivedDocument) {
  const file = ({ blobName: _b, ...rest }: OriginalFile) => rest;
  const { blobName: _r, ...rendition } = d.rendition;
  return {
    id: d.id,
    status: d.status,
    pages: d.pages,
    original: file(d.original),
    originals: d.originals.map(file),
    rendition,
    conversion: d.conversion,
    validation: publicValidation(d.validation),
    metadata: d.metadata,
    fiscalYear: d.fiscalYear,
    retention: d.retention,
    legalHold: d.legalHold,
    // A tombstone written before its holds were stripped (tombstoneOf) answers as one written since.
    holds: d.status === 'disposed' ? tombstoneHolds(d.holds ?? []) : (d.holds ?? []),
    ...(d.disposalApproval ? { disposalApproval: approvalAnswered(d.disposalApproval) } : {}),
    ...(d.disposal ? { disposal: { at: d.disposal.at, by: d.disposal.by, reason: d.disposal.reason } } : {}),
    createdAt: d.createdAt,
    createdBy: d.createdBy,
    metadataVersion: d.metadataVersion ?? 1,
    ...(d.correctedAt ? { correctedAt: d.correctedAt } : {}),
  };
}
export type PublicDocument = ReturnType<typeof toPublicDocument>;

/**
 * A document as answered to the principal that changed it (an extension of its retention, a correction of its
 * metadata). One that may not read documents (a tenant's set with retention:extend alone; a correction's answer is correct-metadata.ts correctionAnswer) is told
 * what it changed, not the document: its metadata, its holds with their reasons and case references, the disposal
 * approval, who archived it. The whole document was answered, so such a set read any document it could name, as a hold
 * placed by holds:place alone (place-hold.ts answeredTo) and an upload replayed to a write-only key (ingest.ts) are
 * answered only what that principal did.
 */
export function changedDocumentAnswer(principal: Pick<Principal, 'permissions'>, d: ArchivedDocument): PublicDocument | DocumentChangeReceipt {
  if (principal.permissions.has('documents:read')) return toPublicDocument(d);
  return { id: d.id, status: d.status, metadataVersion: d.metadataVersion ?? 1, retention: { class: d.retention.class, retainUntil: d.retention.retainUntil } };
}
export interface DocumentChangeReceipt {
  id: string;
  status: ArchivedDocument['status'];
  metadataVersion: number;
  retention: { class: string; retainUntil: string };
}

/** The validation outcome as clients see it: `pending`, or passed/failed with the failed rule ids. */
export function publicValidation(v: ValidationRecord | undefined) {
  if (!v || v.status === 'pending') return { status: 'pending' as const };
  const { report: { blobName: _b, ...report }, ...rest } = v;
  return { ...rest, report };
}

/** What the normaliser did to make the rendition, page by page (kept in the manifest). */
export interface PageRecord {
  page: number;
  /** 0-based index of the uploaded file the page came from. */
  sourceFile: number;
  sourceFormat: string;
  handling: 'passed-through' | 'lossless-converted' | 'kept';
  check: 'stream-identity' | 'pixel-equality' | 'none';
  widthPx?: number;
  heightPx?: number;
  /** Page size in PDF points (after orientation). */
  widthPt?: number;
  heightPt?: number;
  /** Resolution used for the page size and where it came from. */
  dpi?: { x: number; y: number; source: 'jfif' | 'exif' | 'png-phys' | 'tiff' | 'default' };
  /** Source compression, e.g. 'jpeg-baseline', 'ccitt-g4', 'png-deflate', 'tiff-lzw'. */
  compression?: string;
  /** Number of image XObjects that make up the page (several for multi-strip TIFF pages). */
  images?: number;
  /** EXIF orientation applied with a placement matrix (1 = none). */
  orientation?: number;
  /** Anything else done to the data, e.g. 'fill-order-2 bits reversed', 'alpha kept as /SMask'. */
  notes?: string[];
}

export interface ConversionRecord {
  normaliser: string;
  pageCount: number;
  pages: PageRecord[];
  conformance: 'PDF/A-2b' | 'none';
  conformanceReason?: string;
  /** What an uploaded PDF declares in its XMP (e.g. 'PDF/A-1B'); not a claim made by the archive. */
  declaredConformance?: string;
  /** The PDF/A OutputIntent profile used, when a rendition was made. */
  outputIntent?: 'sRGB' | 'CMYK';
}

/**
 * The archive's storage ports: what use cases may ask of storage, in the archive's words.
 * Azure implements them in shared/adapters/azure; tests implement them in memory. Nothing
 * here names a storage SDK type.
 */
import type { Readable } from 'node:stream';
import type { AuditAction, AuditEntry, AuditInput, AuditOutboxItem, AuditTakeOverClaim } from '../kernel/audit';
import type { ArchivedDocument } from '../kernel/document';
import type { ExportJob } from '../kernel/export';
import type { HoldQuery, SearchFilter } from '../kernel/search';
import type { Actor, SafeguardMark, TTenantRetentionPolicy } from '../kernel/retention';
import type { ValidationRequest } from '../kernel/validation';
import type { ChainKeyring } from '../kernel/audit-chain';

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface Page<T> {
  items: T[];
  continuationToken: string | null;
}

// ---- Blob archive (documents' originals, renditions, manifests; WORM) ----

export type WormMode = 'enforce' | 'emulator';

export interface WormSettings {
  /**
   * ISO instant until which the blob version cannot be changed or deleted; it must be ahead of now (storage refuses a
   * lock that expires in the past). null: no time lock, for a blob of a document whose retention has already ended
   * (its other blobs' locks have expired too; only its legal hold applies).
   */
  retainUntil: string | null;
  legalHold: boolean;
}

/** What a create-only write found: a new blob, the same bytes already there, or someone else's bytes. */
export type CreateOnlyOutcome = 'created' | 'identical' | 'different';

export interface BlobRead {
  stream: Readable;
  /** Total size of the blob. */
  size: number;
  contentLength: number;
  etag: string;
  contentType: string;
  /** When the storage service created the blob (x-ms-creation-time: set by the service, not by whoever writes it); null if not told. */
  createdOn: string | null;
}

/** A blob as a listing names it: its name and ETag. */
export interface ListedBlob {
  name: string;
  etag: string;
}

/** One stored file ready to hand out (a document's original or rendition, an export ZIP): what a download needs. */
export interface BlobWorm {
  name: string;
  legalHold: boolean | null;
  retainUntil: string | null;
  /** Its ETag, where the listing gave it: a blob deleted and created again under its name has another. */
  etag?: string;
}

export interface StoredFileRef {
  /** Blob container and name, for a read-only link. */
  container: string;
  blobName: string;
  sha256: string;
  size: number;
  mediaType: string;
  /** The file name the client should keep. */
  name: string;
  /** When the archive stops handing the file out (an export's expiry): a read-only link never outlives it. */
  availableUntil?: string;
  read(range?: { offset: number; count?: number }): Promise<BlobRead>;
}

/**
 * A file's bytes held in a temporary file instead of memory (a large upload, its rendition), with
 * their size and SHA-256 (hex), taken while they were written. Whoever made the file removes it.
 */
export interface SpooledFile {
  path: string;
  size: number;
  sha256: string;
}

/** The document blobs of every tenant. Deliberately has no delete: only the disposer removes versions. */
export interface BlobArchivePort {
  prepareTenant(tenantId: string): Promise<void>;
  putCreateOnly(tenantId: string, blobName: string, bytes: Buffer, contentType: string, worm: WormSettings, metadata: Record<string, string>): Promise<CreateOnlyOutcome>;
  /** `putCreateOnly` with the bytes streamed from a spooled file (same create-only and WORM settings, one write). */
  putFileCreateOnly(tenantId: string, blobName: string, file: SpooledFile, contentType: string, worm: WormSettings, metadata: Record<string, string>): Promise<CreateOnlyOutcome>;
  metadataOf(tenantId: string, blobName: string): Promise<Record<string, string> | null>;
  read(tenantId: string, blobName: string, range?: { offset: number; count?: number }): Promise<BlobRead>;
  readAll(tenantId: string, blobName: string): Promise<Buffer>;
  /** null when the blob does not exist. */
  readIfExists(tenantId: string, blobName: string): Promise<BlobRead | null>;
  exists(tenantId: string, blobName: string): Promise<boolean>;
  setLegalHold(tenantId: string, blobName: string, legalHold: boolean): Promise<void>;
  /** Retain-until at least `retainUntil`: never earlier (a later date already in place stays, and is no error); `retainUntil` must be ahead of now (storage refuses a lock that expires in the past). */
  extendRetention(tenantId: string, blobName: string, retainUntil: string): Promise<void>;
  documentBlobs(tenantId: string, documentId: string): Promise<string[]>;
  /** Each blob of a document with its legal-hold flag and immutability expiry, as storage reports them (null: not reported, as by Azurite). */
  documentBlobWorm(tenantId: string, documentId: string): Promise<BlobWorm[]>;
  blobNames(tenantId: string, prefix: string): Promise<string[]>;
  /**
   * The blobs under a prefix with their ETags, from the same listing (no read of any): a blob deleted and created again
   * under its name has another ETag, so a verdict on what a name held (kept-in-storage.ts) is tied to the blob judged.
   * `max`: at most that many, the first in name order (a look on a request's path: blobs planted by the million are not listed).
   */
  listedBlobs(tenantId: string, prefix: string, max?: number): Promise<ListedBlob[]>;
  documentFolders(tenantId: string, continuation: string | null, pageSize: number): Promise<{ documentIds: string[]; continuation: string | null }>;
  documentBlobDetails(tenantId: string, documentId: string): Promise<{ name: string; size: number; lastModified: string }[]>;
  ping(): Promise<void>;
  manifests(tenantId: string): AsyncGenerator<string>;
  unsafeListTenants(): AsyncGenerator<string>;
  /**
   * For the reconciler, whatever Cosmos DB holds: a page (at most `limit` rows and listings) of every tenant's blobs
   * under `prefix`, each with its lock as the listing reports it, in container then name order, from `cursor` (null: the
   * first; one the listing cannot read: the first container, a token storage refuses: that container's first blob);
   * `next` is null once the last was listed. `tenants`: these tenants' containers alone, in the order given (none listed).
   */
  unsafeListWormUnder(prefix: string, cursor: string | null, limit: number, tenants?: readonly string[]): Promise<{ items: (BlobWorm & { tenantId: string })[]; next: string | null }>;
}

/** The one holder of blob deletion, used by retention disposal alone. */
export interface DisposerPort {
  /**
   * Deletes every version of every blob of the document (the manifest last); blobs already gone
   * count as deleted. Storage refusals reject with a `StorageRefusal` naming the store's code.
   * Before deleting anything it reads every blob's legal-hold flag and immutability expiry: if any
   * still protects its blob at `now`, it deletes nothing and rejects with `StorageRefusal('blob-protected')`
   * (one protected blob must not leave the others deleted and the document half gone), `intact` when
   * every blob of `ordered` is still there (an earlier attempt may have deleted some).
   */
  deleteDocument(tenantId: string, documentId: string, ordered: string[], now: Date): Promise<number>;
}

/**
 * A store refused a change (e.g. a WORM policy still in force); `code` is the store's own error code.
 * `intact`: the store knows nothing of the document was deleted (every blob the catalog names is still
 * stored); false when some may be gone, or when it cannot tell.
 */
export class StorageRefusal extends Error {
  readonly intact: boolean;
  constructor(readonly code: string, options?: { cause?: unknown; intact?: boolean }) {
    super(`storage refused: ${code}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StorageRefusal';
    this.intact = options?.intact ?? false;
  }
}

export interface LinkOptions {
  /** At most 3600: a link outlives nothing by more than an hour. */
  ttlSeconds: number;
  /**
   * The link reads no later than this (the file's availability, the credential that asked for it), to the millisecond:
   * whole seconds of `ttlSeconds` had carried a link up to a second past an API key's or an export's end.
   */
  notAfter?: Date;
  /** Served by Blob Storage with the download (rscd / rsct), so the browser keeps the archive's name. */
  contentDisposition?: string;
  contentType?: string;
}

/** Short-lived, read-only links to exactly one blob. */
export interface LinksPort {
  readOnlyUrl(containerName: string, blobName: string, opts: LinkOptions, now: Date): Promise<{ url: string; expiresOn: Date }>;
}

// ---- Catalog ----

/** A catalog search: the one search filter (kernel/search.ts), sorted and paged. */
export interface DocumentQuery extends SearchFilter {
  /** Sort key and direction; `id` breaks ties (composite indexes in infra/cosmos-documents-indexing-policy.json). */
  sort?: DocumentSortKey;
  order?: 'asc' | 'desc';
  limit: number;
  continuationToken?: string;
}

export const DOCUMENT_SORT_KEYS = ['createdAt', 'documentDate', 'amount'] as const;
export type DocumentSortKey = (typeof DOCUMENT_SORT_KEYS)[number];

/** Tenant-scoped document catalog: every read and write is within the tenant's partition. */
export interface CatalogPort {
  /**
   * Creates the item and its content-key marker, with the change's audit outbox item if given, all or none:
   * 'exists' when the id is taken, 'duplicate' (nothing stored) when another document holding the same bytes has the marker.
   */
  create(doc: ArchivedDocument, outbox?: AuditOutboxItem): Promise<'created' | 'exists' | 'duplicate'>;
  get(tenantId: string, id: string): Promise<ArchivedDocument | null>;
  findByContentKey(tenantId: string, contentKey: string): Promise<ArchivedDocument | null>;
  /** Migration (the reconciler): gives a document archived before content-key markers its marker; idempotent. */
  ensureContentMarker(doc: ArchivedDocument): Promise<'created' | 'exists'>;
  list(tenantId: string, q: DocumentQuery): Promise<Page<ArchivedDocument>>;
  /** Archived (active) documents only: what an export of the search holds. */
  countMatching(tenantId: string, q: Omit<DocumentQuery, 'limit' | 'continuationToken'>): Promise<number>;
  /**
   * The ids of the archived (active) documents a search matches whose catalog item the store last wrote before
   * `writtenBefore` (real time, against the store's own write times, with a margin for clock skew): present and
   * unchanged all through any walk of the search begun after it, so such a walk must have met every one. One query, by
   * another path than `list` (no sort, no paging tokens): the export's second witness that its walk lost nothing.
   */
  idsUnchangedSince(tenantId: string, q: Omit<DocumentQuery, 'limit' | 'continuationToken' | 'sort' | 'order'>, writtenBefore: Date): Promise<string[]>;
  count(tenantId: string): Promise<number>;
  ping(): Promise<void>;
}

export interface Versioned<T> {
  item: T;
  etag: string;
}

/** The catalog as retention sees it: optimistic-concurrency updates and the sweep's queries. */
export interface RetentionCatalogPort {
  getVersioned(tenantId: string, id: string): Promise<Versioned<ArchivedDocument> | null>;
  /** Replace if unchanged since read; with the change's audit outbox item if given, all or none. */
  replace(doc: ArchivedDocument, etag: string, outbox?: AuditOutboxItem): Promise<{ etag: string } | 'conflict'>;
  /** After a disposal: drop the content-key marker if it still names this document. */
  dropContentMarker(tenantId: string, contentKey: string, documentId: string): Promise<void>;
  /** The sweep's work in id order after `afterId` (CATALOG_RULES.sweepWork); `approvedOnly` where the tenant requires approval (sweepWorkApproved). */
  sweepCandidates(tenantId: string, now: string, afterId: string, limit: number, opts?: { approvedOnly?: boolean }): Promise<Versioned<ArchivedDocument>[]>;
  due(tenantId: string, before: string, limit: number, continuationToken?: string): Promise<Page<ArchivedDocument>>;
  matching(tenantId: string, q: HoldQuery, limit: number, continuationToken?: string): Promise<Page<ArchivedDocument>>;
  countMatching(tenantId: string, q: HoldQuery): Promise<number>;
  /** Up to `limit` active documents matching a hold query that carry no entry (open or released) of hold `holdId`, in id order after `afterId`: those an open hold by query has yet to reach. */
  matchingNotUnder(tenantId: string, q: HoldQuery, holdId: string, afterId: string, limit: number): Promise<ArchivedDocument[]>;
  held(tenantId: string, limit: number, continuationToken?: string): Promise<Page<ArchivedDocument>>;
  /** How many active documents carry hold `holdId` open: one count query, never the documents. */
  countCarryingOpen(tenantId: string, holdId: string): Promise<number>;
  activeAfter(tenantId: string, afterId: string, limit: number): Promise<ArchivedDocument[]>;
  unsafeCountFixityFailures(): Promise<number>;
  /** Cross-tenant (a timer): active documents created before `cutoff` whose validation is missing, or pending and last asked for before `cutoff`. */
  pendingValidations(q: { cutoff: string; max: number; onlyTenant?: string }): Promise<{ id: string; tenantId: string }[]>;
}

/**
 * `revision`: monotonic, new on each write, the write's blob in storage (auth/rights-sets/settings-blobs.ts), so that a
 * restore of Cosmos DB to before a change is caught up from storage; absent on policies stored before (counts as 0).
 */
export type StoredRetentionPolicy = TTenantRetentionPolicy & { updatedAt?: string; updatedBy?: Actor; safeguards?: SafeguardMark; revision?: number };

export interface RetentionPoliciesPort {
  get(tenantId: string): Promise<StoredRetentionPolicy | null>;
  /**
   * The same with its version (`etag` null: none stored), for a change decided on it; may come from the instance's
   * cache, unless `fresh` (a version a client names in If-Match is compared with the stored one, never a cached copy).
   */
  getVersioned(tenantId: string, opts?: { fresh?: boolean }): Promise<{ policy: StoredRetentionPolicy | null; etag: string | null }>;
  /**
   * Only over the version the change was decided on (`expected`; etag null: none stored), else
   * 'conflict' (a newer policy, or a stale cached read): a decision on an old policy never
   * overwrites a newer one. With `outbox`, the change's audit outbox item is stored in the same
   * transactional batch: both or neither.
   * `also`: tenant records written in the same batch (an approved proposal, the rights gate), each with its condition.
   * `revision`: the record's new revision (settings-blobs.ts nextRevision over the one read, or the one kept in storage
   * that the reconciler writes back).
   */
  put(tenantId: string, policy: TTenantRetentionPolicy, at: string, by: Actor, safeguards: SafeguardMark, revision: number, outbox: AuditOutboxItem | undefined, expected: { etag: string | null }, also?: readonly TenantRecordWrite[]): Promise<'written' | 'conflict'>;
}

/** Small records the timers keep between runs, outside every tenant. */
export interface TimerStatePort {
  get<T>(name: string): Promise<T | null>;
  set<T>(name: string, value: T): Promise<void>;
}

// ---- Tenant records (API keys, rights sets, grants, orphans) ----

/** What every tenant record carries. */
export interface TenantRecord {
  /** `<type>:<key>`, unique within the tenant's partition. */
  id: string;
  tenantId: string;
  type: string;
}

export interface VersionedRecord<T> {
  value: T;
  etag: string;
}

export interface QueryParameter {
  name: string;
  value: string | number | boolean | null;
}

/** One write of `TenantRecordsPort.batch`; each but an upsert has a condition. */
export type TenantRecordWrite =
  | { op: 'create'; record: TenantRecord }
  | { op: 'replace'; record: TenantRecord; ifMatch: string }
  | { op: 'upsert'; record: TenantRecord }
  | { op: 'delete'; id: string; ifMatch?: string };

export interface TenantRecordsPort {
  /**
   * `fresh`: as stored now, past any per-instance cache of tenant settings: for a decision that grants
   * what it reads (a change judged on another instance's older copy would grant beyond the caller's rights).
   */
  get<T extends TenantRecord>(tenantId: string, id: string, type: T['type'], opts?: { fresh?: boolean }): Promise<VersionedRecord<T> | null>;
  /** Each write takes the change's audit outbox item, if given, into the same batch: both or neither. */
  create<T extends TenantRecord>(record: T, outbox?: AuditOutboxItem): Promise<'created' | 'exists'>;
  replace<T extends TenantRecord>(record: T, etag: string, outbox?: AuditOutboxItem): Promise<'replaced' | 'conflict'>;
  upsert<T extends TenantRecord>(record: T, outbox?: AuditOutboxItem): Promise<void>;
  /** False when it is gone, or (with `ifMatch`) is no longer that version. */
  delete(tenantId: string, id: string, outbox?: AuditOutboxItem, ifMatch?: string): Promise<boolean>;
  /**
   * The writes, all in the tenant's partition, in one transactional batch with the change's audit outbox item (if
   * given): all or none. 'conflict', and nothing written, when a condition fails: a create's id is taken, a replaced
   * or deleted record is gone or (with `ifMatch`) no longer that version. For a write that holds on to records it
   * read: an assignment rewrites its rights set as read (that set's conditional delete or change cannot pass it
   * unseen), a change of anyone's rights moves the tenant's rights gate (shared/auth/rights-gate.ts).
   */
  batch(tenantId: string, writes: readonly TenantRecordWrite[], outbox?: AuditOutboxItem): Promise<'written' | 'conflict'>;
  /** `where`: an extra condition on `c` (the record), with its parameters. Never for API keys, support grants nor proposals: a tenant's pile up (apiKeyPage, supportGrantPage, proposalPage). */
  list<T extends TenantRecord>(tenantId: string, type: T['type'], where?: string, parameters?: QueryParameter[]): Promise<T[]>;
  /**
   * How many of the tenant's API keys (records of type `api-key`) are in use at `at` (ISO): one count query, never the
   * records, so the revoked and expired keys a tenant piles up cost a mint nothing to read.
   */
  countApiKeysInUse(tenantId: string, at: string): Promise<number>;
  /** How many rights assignments (records of type `rights-assignment`) the tenant has: one count query, never the records. */
  countRightsAssignments(tenantId: string): Promise<number>;
  /** The tenant's API keys in use at `at`, all of them: as many as the tenant may have (ARCHIVE_MAX_API_KEYS), never the ended ones. */
  apiKeysInUse<T extends TenantRecord>(tenantId: string, at: string): Promise<T[]>;
  /** One page of the tenant's API keys in `state` at `at`, newest first (`createdAt`); `continuationToken`: the store's, from the page before. */
  apiKeyPage<T extends TenantRecord>(tenantId: string, state: ApiKeyState, at: string, limit: number, continuationToken?: string): Promise<Page<T>>;
  /**
   * Of the tenant's support grants (records of type `support-grant`) in force at `at` (ISO: neither revoked nor
   * expired), the `limit` expiring last (latest first) among those `givenBy` picks: `{ notBy: person }` those neither
   * given by that subject nor by that accountable person (`createdBy.person`, absent: its subject), `{ by: person }`
   * only theirs. One query of at most `limit` records: the revoked and expired grants a tenant piles up are never read.
   */
  supportGrantsInForce<T extends TenantRecord>(tenantId: string, at: string, givenBy: { notBy: string } | { by: string }, limit: number): Promise<T[]>;
  /** One page of the tenant's support grants in `state` at `at`, newest first (`createdAt`); `continuationToken`: the store's, from the page before. */
  supportGrantPage<T extends TenantRecord>(tenantId: string, state: SupportGrantState, at: string, limit: number, continuationToken?: string): Promise<Page<T>>;
  /** One page of the tenant's proposals of `type` in `state` at `at`, newest first (`proposalId`, a UUIDv7); `continuationToken`: the store's. */
  proposalPage<T extends TenantRecord>(tenantId: string, type: ProposalType, state: ProposalListState, at: string, limit: number, continuationToken?: string): Promise<Page<T>>;
  /**
   * Whether every API key and support grant in the store carries `endsAt` (shared/auth/ends-at.ts): from then on the
   * key and grant queries above range over it. Never false again once true.
   */
  endsAtMigrated(): Promise<boolean>;
  /** Cross-tenant, for the migration: at most `limit` API keys and support grants stored without `endsAt`. */
  unsafeWithoutEndsAt(limit: number): Promise<{ tenantId: string; id: string; type: 'api-key' | 'support-grant' }[]>;
  /** Cross-tenant, for the migration, once none is left without `endsAt`: marks the store migrated. */
  unsafeMarkEndsAtMigrated(): Promise<void>;
  /**
   * Whether every API key in use and support grant in force carries the archive's seal (shared/auth/api-keys/key-seal.ts):
   * from then on one without it is refused. Never false again once true.
   */
  keysSealed(): Promise<boolean>;
  /** Cross-tenant, for the reconciler: at most `limit` API keys and support grants neither revoked nor expired at `at`, stored without the archive's seal. */
  unsafeUnsealedKeys(at: string, limit: number): Promise<{ tenantId: string; id: string; type: 'api-key' | 'support-grant' }[]>;
  /** Cross-tenant, for the reconciler, once none is left without the seal: marks the store as every key and grant sealed. */
  unsafeMarkKeysSealed(): Promise<void>;
  /**
   * Whether every person's sign-in record carries the archive's seal (shared/auth/person-sightings.ts): until then one
   * with no seal at all (from before it) is taken as stored; from then on as no sign-in. Never false again once true.
   */
  sightingsSealed(): Promise<boolean>;
  /** Cross-tenant, for the reconciler: at most `limit` persons' sign-in records stored without the archive's seal. */
  unsafeUnsealedSightings(limit: number): Promise<{ tenantId: string; id: string }[]>;
  /** Cross-tenant, for the reconciler, once none is left without the seal: marks the store as every sign-in record sealed. */
  unsafeMarkSightingsSealed(): Promise<void>;
  /** Cross-tenant, for the reconciler: a page of at most `limit` persons' sign-in records stored with a seal (whatever it checks); the store's token. */
  unsafeSealedSightingsPage(limit: number, continuationToken?: string): Promise<Page<{ tenantId: string; id: string }>>;
  /**
   * Cross-tenant, for the reconciler: a page of at most `limit` API keys and support grants neither revoked nor expired
   * at `at`, sealed with a chain key version other than `version` (none named: the first); the token goes on with the
   * same `version` and `at` only.
   */
  unsafeKeysSealedNotWith(version: string, at: string, limit: number, continuationToken?: string): Promise<Page<{ tenantId: string; id: string; type: 'api-key' | 'support-grant' }>>;
}

/** The policies whose weakening waits for a second person: the SoD policy, the retention policy. */
export const PROPOSAL_TYPES = ['sod-policy-proposal', 'retention-policy-proposal'] as const;
export type ProposalType = (typeof PROPOSAL_TYPES)[number];

/**
 * A proposal's state at a time: as stored (`pending`, `approved`, `withdrawn`, `rejected`), but a pending
 * one whose `expiresAt` is at or before it is `expired`; `decided`: any but pending (approved, withdrawn, rejected or
 * expired); `all` of them.
 */
export const PROPOSAL_STATES = ['pending', 'approved', 'withdrawn', 'rejected', 'expired', 'decided', 'all'] as const;
export type ProposalListState = (typeof PROPOSAL_STATES)[number];

/**
 * A support grant's state at a time: active (in force: neither revoked nor expired), revoked, expired (not revoked,
 * `expiresAt` at or before it); `all` of them.
 */
export const SUPPORT_GRANT_STATES = ['active', 'revoked', 'expired', 'all'] as const;
export type SupportGrantState = (typeof SUPPORT_GRANT_STATES)[number];

/**
 * An API key's state at a time: in use (neither revoked nor expired: `revokedAt` null or absent, `expiresAt` after it),
 * revoked, expired (not revoked, `expiresAt` at or before it); `all` of them.
 */
export const API_KEY_STATES = ['in-use', 'revoked', 'expired', 'all'] as const;
export type ApiKeyState = (typeof API_KEY_STATES)[number];

/** Why a listed folder is no longer orphaned: a catalog item exists for it now, or no blob is left in it. */
export type OrphanResolution = 'indexed' | 'blobs-gone';

/**
 * A document folder with blobs but neither catalog item nor manifest, listed for an operator. One record per folder
 * (`orphanRecordId`): once resolved it stays, and a folder orphaned again later reopens it as its next `listing`
 * (new `firstSeen`, blobs, no `resolvedAt`), so every listing and every resolution has an audit entry of its own.
 */
export interface OrphanedBlobsRecord extends TenantRecord {
  type: 'orphaned-blobs';
  documentId: string;
  folder: string;
  blobs: { name: string; size: number; lastModified: string }[];
  /** When this listing began. */
  firstSeen: string;
  /** Its audit entry is stored: with the record (created with its outbox item), or, for a record an earlier version left, once appended. */
  audited: boolean;
  /** Which listing of the folder this is: absent on the first, 2 for the first reopening, and so on. */
  listing?: number;
  /** When the reconciler found the folder no longer orphaned, and why; absent while it is (counted on /health/ready). */
  resolvedAt?: string;
  resolvedHow?: OrphanResolution;
}

export const orphanRecordId = (documentId: string): string => `orphaned-blobs:${documentId}`;

export interface OrphanRecordsPort {
  get(tenantId: string, documentId: string): Promise<VersionedRecord<OrphanedBlobsRecord> | null>;
  /** With `outbox`, the record's audit outbox item in the same batch: both or neither. */
  create(record: OrphanedBlobsRecord, outbox?: AuditOutboxItem): Promise<'created' | 'exists'>;
  /** Only over the version read (`etag`), with `outbox` in the same batch: both or neither; 'conflict' and nothing written otherwise. */
  replace(record: OrphanedBlobsRecord, etag: string, outbox?: AuditOutboxItem): Promise<'replaced' | 'conflict'>;
  markAudited(record: OrphanedBlobsRecord, etag: string): Promise<void>;
  list(tenantId: string): Promise<OrphanedBlobsRecord[]>;
  /** For the reconciler's walk: at most `limit` of the tenant's records not resolved, by id, after the id `after` ('' for the first). */
  unresolvedAfter(tenantId: string, after: string, limit: number): Promise<OrphanedBlobsRecord[]>;
  /** Cross-tenant, for /health/ready: how many records are not resolved. */
  unsafeCount(): Promise<number>;
}

// ---- Exports ----

/** Export ZIPs: plain (not WORM) blobs that expire. */
export interface ExportBlobsPort {
  /**
   * Creates the tenant's export container where it is not there yet: by the main app at `POST /exports`, before the job
   * is written. The export worker's role cannot create a container (infra/main.bicep, Archive exporter).
   */
  ensureContainer(tenantId: string): Promise<void>;
  /** Content type application/zip unless given. Into the tenant's export container as it is: one missing is an error, never created. */
  upload(tenantId: string, blobName: string, source: Readable, contentType?: string): Promise<void>;
  /**
   * A block of the blob, staged (not readable, not part of the blob) until a commit names it. Ids are base64, one
   * length per blob. The export's ZIP is written this way, so that a cut attempt's committed blocks can be resumed.
   */
  stageBlock(tenantId: string, blobName: string, blockId: string, bytes: Buffer): Promise<void>;
  /**
   * Makes the blob exactly these blocks, in this order (each staged, or committed before); the rest are discarded. With
   * `ifMatch` (the blob's ETag as last read or committed), only over that version: 'conflict' when another wrote it
   * since (or deleted it); with `ifNoneMatch: '*'` (an attempt's first commit), only where there is no blob: 'conflict'
   * when one is there. The blob's new ETag. Content type application/zip unless given.
   */
  commitBlocks(tenantId: string, blobName: string, blockIds: string[], options?: { contentType?: string; ifMatch?: string; ifNoneMatch?: '*' }): Promise<{ etag: string } | 'conflict'>;
  /**
   * A small blob (an export's checkpoint) written in one request, only over the version `condition` names (`ifMatch`: the
   * ETag last read or written) or only where there is none (`ifNoneMatch: '*'`): 'conflict', nothing written, otherwise.
   */
  putIf(tenantId: string, blobName: string, bytes: Buffer, contentType: string, condition: { ifMatch: string } | { ifNoneMatch: '*' }): Promise<{ etag: string } | 'conflict'>;
  /** The blob's committed blocks, in order ([] when there is no blob). */
  committedBlocks(tenantId: string, blobName: string): Promise<{ id: string; size: number }[]>;
  read(tenantId: string, blobName: string, range?: { offset: number; count?: number }): Promise<BlobRead>;
  /** As `read`; null when the blob is not (or no longer) stored. */
  readIfExists(tenantId: string, blobName: string, range?: { offset: number; count?: number }): Promise<BlobRead | null>;
  /** The blob and every stored version of it: no copy of an export outlives its expiry or withdrawal. */
  delete(tenantId: string, blobName: string): Promise<void>;
  /**
   * As `delete`, only while the blob is the version `ifMatch` names (its ETag as last read or written): 'conflict', nothing
   * deleted, when another wrote it since or it is gone. What an attempt deletes of its own that another may write over.
   */
  deleteIf(tenantId: string, blobName: string, condition: { ifMatch: string }): Promise<'deleted' | 'conflict'>;
  /**
   * For export maintenance, whatever Cosmos DB holds: a page (at most `limit`) of every tenant's export blobs with the
   * time storage set on creating each (null: not reported), in container then name order, from `cursor` (null: the
   * first); `next` is null once the last was listed.
   */
  unsafeListStored(cursor: string | null, limit: number): Promise<{ items: StoredExportBlob[]; next: string | null }>;
}

/** An export blob as storage lists it. */
export interface StoredExportBlob {
  tenantId: string;
  blobName: string;
  createdOn: string | null;
}

export interface ExportJobsPort {
  /** With `outbox`, the request's audit outbox item is stored in the same transactional batch: both or neither. */
  create(job: ExportJob, outbox?: AuditOutboxItem): Promise<void>;
  get(tenantId: string, id: string): Promise<ExportJob | null>;
  /** The job with its version (etag), for a change decided on it. */
  getVersioned(tenantId: string, id: string): Promise<Versioned<ExportJob> | null>;
  /**
   * Only over the version the change was decided on, else 'conflict' (someone else wrote the job
   * since: another worker claimed it, maintenance expired it). On success, the new etag.
   * With `outbox`, the change's audit outbox item is stored in the same transactional batch: both or neither.
   */
  replace(job: ExportJob, etag: string, outbox?: AuditOutboxItem): Promise<{ etag: string } | 'conflict'>;
  /** Expired-but-not-marked jobs (or marked but still carrying a completion seal) and running jobs with a stale heartbeat, each with its etag. */
  unsafeListDue(now: Date, staleBefore: Date, limit: number, tenantId?: string): Promise<Versioned<ExportJob>[]>;
  /**
   * Completed, unexpired exports with their disposable ids on the job (`disposable`) that may hold a document
   * disposable by `now` (`disposableFrom` at or before it), in id order after `afterId`, each with its etag.
   * Cross-tenant for the timer; with `tenantId`, that tenant's only.
   */
  unsafeListHoldingDisposable(now: Date, limit: number, tenantId?: string, afterId?: string): Promise<Versioned<ExportJob>[]>;
  /** Completed, unexpired exports (whose seal maintenance judges), in id order after `afterId`, each with its etag; cross-tenant without `tenantId`. */
  unsafeListLive(now: Date, limit: number, tenantId?: string, afterId?: string): Promise<Versioned<ExportJob>[]>;
  /**
   * The tenant's exports a disposal at `now` can reach, each with its etag: running ones (what they
   * hold is not known yet) and completed, unexpired ones (any carrying a completion seal, whatever its status says: the
   * status is under no seal): every one, whatever its `disposableFrom` (unsealed, that says
   * nothing: the sweep judges it after the seal). Paged: a
   * disposal must reach every one of them, however many the tenant has (`continuationToken` null: none left).
   */
  listExposed(tenantId: string, now: Date, limit: number, continuationToken?: string): Promise<Page<Versioned<ExportJob>>>;
  /** The tenant's exports, newest first, paged. */
  list(tenantId: string, limit: number, continuationToken?: string): Promise<Page<ExportJob>>;
  /**
   * How many of the tenant's exports are running (within the tenant's partition), counted after reading the
   * tenant's export-start gate: a record every start moves. `gate` is its version (null: none yet) for `createGated`.
   */
  runningUnderGate(tenantId: string): Promise<{ running: number; gate: string | null }>;
  /**
   * The job (with the audit outbox item, if given) and the moved gate in one batch, only over the gate's version
   * read before the count: 'conflict' when another start passed the gate since (count again). A cap judged on
   * that count then holds however many starts arrive at once.
   */
  createGated(job: ExportJob, gate: string | null, outbox?: AuditOutboxItem): Promise<'created' | 'conflict'>;
}

// ---- Audit log ----

export type { AuditInput } from '../kernel/audit';

/** The audit outbox's items in the catalog (see AuditOutboxItem): written by `CatalogPort.create`, appended by shared/audit/outbox.ts. */
export interface AuditOutboxPort {
  /** Removes items whose entries are in the chain; one already gone is no error. */
  remove(items: readonly Pick<AuditOutboxItem, 'tenantId' | 'id'>[]): Promise<void>;
  /** Cross-tenant, for the sealing timer: items written before `before`, oldest first, at most `max`, with their etags. */
  unsafeWrittenBefore(before: string, max: number): Promise<(Versioned<AuditOutboxItem> & { storedAt?: string | null })[]>;
  /**
   * Records `claim` on the item if it is still the version listed (If-Match): true when this run now holds
   * it; false when another run claimed or removed it first (then that run appends its entries, not this one).
   */
  claim(item: Versioned<AuditOutboxItem>, claim: AuditTakeOverClaim): Promise<boolean>;
}

export interface AuditFilter {
  from?: string;
  to?: string;
  actor?: string;
  action?: AuditAction;
  target?: string;
  requestId?: string;
}

/** A parked batch of audit entries the sealing timer found without the archive's seal: what its alert names. */
export interface UnsealedParkedBatch {
  id: string;
  tenantId: string;
  entries: number;
  reason: string;
}

/** Append-only, hash-chained audit log: no update or delete path for entries. */
export interface AuditLogPort {
  append(input: AuditInput): Promise<AuditEntry>;
  /**
   * `lingerMs`: the entries may wait that long for others to share their round (one write for many),
   * when nobody waits for them (the audit outbox's release). An append without it, or a reader of
   * the partition, starts the round at once.
   * `sendBy` (ms since the epoch): entries not yet sent by then are never sent, and the promise
   * rejects; for a caller whose fallback appends them later (the audit outbox and its sealing
   * timer), so that no entry is appended by both.
   */
  appendBatch(inputs: AuditInput[], opts?: { lingerMs?: number; sendBy?: number }): Promise<AuditEntry[]>;
  /**
   * Appends those of `inputs` whose request's entry (requestId, action and outcome) is not in the
   * chain already (keyed by the archive, kernel/audit-keyed.ts notYetLogged: a planted one does not count); true
   * when it appended any. For whatever may append what an earlier attempt stored: a
   * retry after a write whose outcome is unknown, the sealing timer's appends after a crash.
   * `sendBy` as appendBatch's (a sealing run's claim bounds when it may still send).
   */
  appendOnce(inputs: AuditInput[], opts?: { sendBy?: number }): Promise<boolean>;
  highWater(tenantId: string, month: string): number;
  end(tenantId: string, month: string): Promise<{ seq: number; hash: string }>;
  /** The stored entry's hash at `seq` of a partition, or null when there is none (for the sealing timer's check against its last seal). */
  hashAt(tenantId: string, month: string, seq: number): Promise<string | null>;
  /** Parks a completed change's entries the log refused, sealed by the archive where parked (audit-outbox-seal.ts). */
  savePending(inputs: AuditInput[]): Promise<void>;
  /**
   * Cross-tenant, for the sealing timer: appends the parked entries, each batch by the one run that claims it (as the
   * outbox's items). A batch without the archive's seal (planted or edited in Cosmos DB, or parked before batches were
   * sealed) is appended marked (kernel/audit.ts markedOutboxUnsealed), never as witnesses, and told to `unsealed`.
   */
  unsafeAppendPending(unsealed: (batch: UnsealedParkedBatch) => void): Promise<number>;
  headSeq(tenantId: string, month: string): Promise<number>;
  /** Entries carry the store's `_ts` (seconds) where it has one: when the database stored each (audit-pages.ts auditHolds). */
  list(tenantId: string, month: string, limit: number, continuationToken?: string, filter?: AuditFilter): Promise<Page<AuditEntry & { _ts?: number }>>;
  /** Every stored entry of a partition at once: for tests and small months only; verification reads `inChainOrder`. */
  all(tenantId: string, month: string): Promise<AuditEntry[]>;
  /**
   * Every stored entry of a partition, a page (at most `pageSize`) at a time, in id order: the chain's
   * entries in seq order (ids are the zero-padded seq), any other document of the partition among them.
   * `begun` is called once, when the store holds everything this instance's writer was given and before the first
   * page is asked for: a high-water mark read then names only entries the pages hold (an append answered while a
   * page was on its way is in no page and under no such mark). Entries carry the store's `_ts` (seconds) where it has one.
   */
  inChainOrder(tenantId: string, month: string, opts?: { pageSize?: number; begun?: () => void }): AsyncIterable<(AuditEntry & { _ts?: number })[]>;
  unsafeListPartitions(): Promise<{ tenantId: string; month: string }[]>;
  /** The HMAC key of the chain's current version (chainKeys.current()), for what names no version. */
  readonly chainKey: () => Promise<Buffer>;
  /** Every version of the chain key: new entries, seals and kept settings name the current one; each is checked with the one it names. */
  readonly chainKeys: ChainKeyring;
}

// ---- Secrets ----

/** Where the archive reads its own secrets (API-key pepper, audit-chain key). */
export interface SecretSource {
  get(name: string): Promise<string>;
  /**
   * For a secret whose past uses must keep verifying after it is rotated (the API-key pepper): without `version`, the
   * current value and its version, to be recorded beside what it was used for; with one, that version's value (an
   * error if there is none). Version null: the source keeps no versions (locally), its one value is meant.
   */
  versioned(name: string, version?: string | null): Promise<{ value: string; version: string | null }>;
  /**
   * Every version of a secret (Key Vault: enabled or not, with the vault's own `createdOn`), listed once per
   * CURRENT_VERSION_TTL_MS, or at once with `fresh`. Absent: the source keeps no versions (locally).
   */
  versionsOf?(name: string, opts?: { fresh?: boolean }): Promise<SecretVersionInfo[]>;
}

/** A secret version as the vault lists it. */
export interface SecretVersionInfo {
  version: string;
  /** Set by the vault (ms since the epoch). */
  createdOn: number;
  enabled: boolean;
}

/** A message taken from the rendition-validation queue. */
export interface QueuedMessage {
  messageId: string;
  popReceipt: string;
  dequeueCount: number;
  text: string;
}

/** After this many deliveries a message goes to `<queue>-poison` (as the Functions queue trigger does). */
export const MAX_DEQUEUE_COUNT = 5;

/** The `rendition-validation` queue and its poison queue (shared/adapters/azure/validation-queue.ts). */
export interface ValidationQueuePort {
  readonly name: string;
  /** One message carrying these requests (at most VALIDATION_REQUESTS_PER_MESSAGE). */
  send(requests: readonly ValidationRequest[]): Promise<void>;
  receive(max: number, visibilitySeconds: number): Promise<QueuedMessage[]>;
  complete(message: QueuedMessage): Promise<void>;
  /** Moves a message that cannot be processed to the poison queue, unchanged. */
  poison(message: QueuedMessage): Promise<void>;
  /** Messages waiting in the poison queue (peek; for tests and the health view). */
  peekPoison(max?: number): Promise<string[]>;
}

/**
 * "Run this export" work (shared/adapters/azure/export-work-queue.ts: the `export-work` Storage queue, each message its
 * own Functions invocation with the host's retries and `export-work-poison`). A message names the job only; the
 * worker reads and judges the job itself (shared/exports/queued-export.ts).
 */
export interface ExportWorkPort {
  /** `withinMs`: refused (thrown) once this is up, if shorter than the queue's own bound on a call. */
  enqueue(tenantId: string, exportId: string, options?: { withinMs?: number }): Promise<void>;
}

/** This instance's short-lived cache of tenant settings (shared/adapters/azure/settings-cache.ts). */
export interface SettingsCachePort {
  /** Forget everything (an operator wrote records directly, bypassing this instance). */
  clear(): void;
}

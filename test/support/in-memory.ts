/**
 * In-memory implementations of the storage ports, so unit tests build a whole `Deps` with no
 * casts. They keep what the unit tests rely on (create-only blobs, catalog items by id and
 * content key, timer records, queued validation requests, audit entries in order); a query
 * they do not model throws `NotModelled`, so a test that reaches one fails loudly instead of
 * passing on a silent stub.
 */
import { withStoredVersion } from '../../shared/kernel/stored-version';
import { createHash, randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { loadConfig } from '../../shared/config';
import type { Deps, RetentionDeps } from '../../shared/deps';
import { SodPolicyProposals } from '../../shared/auth/sod-policy-proposals';
import { TenantRights } from '../../shared/auth/rights';
import { RefusalLimiter } from '../../shared/auth/refusal-limiter';
import { ValidationRequests } from '../../shared/validation/request';
import type { Authenticates } from '../../shared/auth/authenticate';
import { ArchiveError } from '../../shared/kernel/errors';
import { statusOf } from '../../shared/http/problem';
import type { ArchivedDocument } from '../../shared/kernel/document';
import { blobLayout } from '../../shared/kernel/blob-layout';
import type { HoldQuery } from '../../shared/kernel/search';
import type { SafeguardMark } from '../../shared/kernel/retention';
import { CATALOG_RULES, type CatalogRule, matchesHoldQuery, satisfies } from '../../shared/kernel/retention-rules';
import { type AuditEntry, type AuditOutboxItem, type AuditTakeOverClaim, markedOutboxUnsealed } from '../../shared/kernel/audit';
import { AuditOutbox } from '../../shared/audit/outbox';
import { type ExportJob, type ExportWorkMessage, exportWorkMessageText } from '../../shared/kernel/export';
import { runQueuedExport } from '../../shared/exports/queued-export';
import type { Principal } from '../../shared/kernel/principal';
import { parkedBatchUnsealedBecause, sealedOutboxItem, sealedParkedBatch } from '../../shared/kernel/audit-outbox-seal';
import { CHAIN_ALG, type ChainKeyring, entryId, GENESIS_HASH, hashEntry, singleKeyring } from '../../shared/kernel/audit-chain';
import { notYetLogged } from '../../shared/kernel/audit-keyed';
import type { Normaliser } from '../../shared/normalise/pool';
import type { NormaliseInput, NormaliseResult } from '../../shared/normalise/types';
import type { ValidationRequest } from '../../shared/kernel/validation';
import type {
  ApiKeyState,
  ProposalListState,
  ProposalType,
  SupportGrantState,
  AuditFilter,
  AuditInput,
  UnsealedParkedBatch,
  AuditLogPort,
  AuditOutboxPort,
  BlobArchivePort,
  BlobWorm,
  BlobRead,
  CatalogPort,
  DocumentQuery,
  CreateOnlyOutcome,
  DisposerPort,
  ExportBlobsPort,
  StoredExportBlob,
  ExportJobsPort,
  LinksPort,
  Logger,
  OrphanedBlobsRecord,
  OrphanRecordsPort,
  Page,
  QueryParameter,
  QueuedMessage,
  RetentionCatalogPort,
  RetentionPoliciesPort,
  SecretSource,
  SpooledFile,
  StoredRetentionPolicy,
  TenantRecord,
  TenantRecordsPort,
  TenantRecordWrite,
  TimerStatePort,
  ValidationQueuePort,
  ExportWorkPort,
  Versioned,
  VersionedRecord,
  WormSettings,
  ListedBlob,
} from '../../shared/ports';
import { minimalLocalEnv } from './config-env';
import { MAX_DEQUEUE_COUNT, StorageRefusal } from '../../shared/ports';
import { type PersonSightingRecord, personSightingRecordId, sealSighting } from '../../shared/auth/person-sightings';
import { FakeClock } from './fake-clock';
import { TenantSettingsCache } from '../../shared/adapters/azure/settings-cache';

/** A port method these fakes do not model was called: the test needs a richer fake. */
export class NotModelled extends Error {
  constructor(what: string) {
    super(`${what} is not modelled by the in-memory fakes`);
  }
}

function readOf(bytes: Buffer, contentType: string, range?: { offset: number; count?: number }, createdOn: string | null = null, etag = `"${bytes.length}"`): BlobRead {
  const start = range?.offset ?? 0;
  const end = range?.count === undefined ? bytes.length : Math.min(bytes.length, start + range.count);
  return { stream: Readable.from([bytes.subarray(start, end)]), size: bytes.length, contentLength: end - start, etag, contentType, createdOn };
}

export interface StoredBlob {
  bytes: Buffer;
  contentType: string;
  /**
   * A blob written without a time lock (WormSettings.retainUntil null) is kept with a lock that ended as it was written,
   * `unlocked` (storage reports no expiry for it, as Azure reports none for a blob without an immutability policy).
   */
  worm: { retainUntil: string; legalHold: boolean; unlocked?: boolean };
  metadata: Record<string, string>;
  /** When it was written, by the clock the fake was given (the reconciler's orphan grace reads it). */
  lastModified?: string;
}

const blobEtags = new WeakMap<StoredBlob, { bytes: Buffer; etag: string }>();
let blobEtagSeq = 0;
/** One per blob stored, and a new one when a test gives it other bytes (`stored.bytes = …`), as storage gives every write one. */
function blobEtagOf(blob: StoredBlob): string {
  let known = blobEtags.get(blob);
  if (known?.bytes !== blob.bytes) blobEtags.set(blob, (known = { bytes: blob.bytes, etag: `"blob-${++blobEtagSeq}"` }));
  return known.etag;
}

/** As storage locks a blob: until a whole second (the immutability header is an RFC 1123 date), the milliseconds dropped. */
const wholeSecond = (instant: string): string => new Date(Math.floor(Date.parse(instant) / 1000) * 1000).toISOString();

/** Document blobs with the real create-only semantics (same bytes: `identical`; other bytes: `different`). */
export class InMemoryBlobArchive implements BlobArchivePort {
  readonly blobs = new Map<string, StoredBlob>();
  /** Tenants with a container (prepared, or written to), as Blob Storage lists them: a container stays when its last blob is gone. */
  readonly tenants = new Set<string>();
  /**
   * Keys of manifests the test seeding wrote as ingest would (seed.ts): a test writing its own manifest for a seeded
   * document (set by hand) replaces the seeded one, as if ingest had written that one.
   */
  readonly seededManifests = new Set<string>();
  constructor(private readonly now: () => Date = () => new Date()) {}
  private key = (tenantId: string, name: string) => `${tenantId}/${name}`;
  private of(tenantId: string, name: string): StoredBlob {
    const blob = this.blobs.get(this.key(tenantId, name));
    if (!blob) throw new Error(`no blob ${name}`);
    return blob;
  }
  private namesOf(tenantId: string, prefix: string): string[] {
    return [...this.blobs.keys()].filter((k) => k.startsWith(`${tenantId}/${prefix}`)).map((k) => k.slice(tenantId.length + 1));
  }

  async prepareTenant(tenantId: string): Promise<void> {
    this.tenants.add(tenantId);
  }
  async putCreateOnly(tenantId: string, blobName: string, bytes: Buffer, contentType: string, worm: WormSettings, metadata: Record<string, string>): Promise<CreateOnlyOutcome> {
    this.tenants.add(tenantId);
    if (this.seededManifests.delete(this.key(tenantId, blobName))) this.blobs.delete(this.key(tenantId, blobName));
    const stored = this.blobs.get(this.key(tenantId, blobName));
    if (stored) return stored.bytes.equals(bytes) ? 'identical' : 'different';
    this.blobs.set(this.key(tenantId, blobName), { bytes, contentType, worm: worm.retainUntil === null ? { legalHold: worm.legalHold, retainUntil: wholeSecond(this.now().toISOString()), unlocked: true } : { ...worm, retainUntil: wholeSecond(worm.retainUntil) }, metadata, lastModified: this.now().toISOString() });
    return 'created';
  }
  async putFileCreateOnly(tenantId: string, blobName: string, file: SpooledFile, contentType: string, worm: WormSettings, metadata: Record<string, string>): Promise<CreateOnlyOutcome> {
    return this.putCreateOnly(tenantId, blobName, await readFile(file.path), contentType, worm, metadata);
  }
  async metadataOf(tenantId: string, blobName: string): Promise<Record<string, string> | null> {
    return this.blobs.get(this.key(tenantId, blobName))?.metadata ?? null;
  }
  async read(tenantId: string, blobName: string, range?: { offset: number; count?: number }): Promise<BlobRead> {
    const blob = this.of(tenantId, blobName);
    return readOf(blob.bytes, blob.contentType, range, blob.lastModified ?? null, blobEtagOf(blob));
  }
  async readAll(tenantId: string, blobName: string): Promise<Buffer> {
    return this.of(tenantId, blobName).bytes;
  }
  /** One read, as the adapter's single GET: a look then a read (two calls) let a disposal come between them. */
  async readIfExists(tenantId: string, blobName: string): Promise<BlobRead | null> {
    const blob = this.blobs.get(this.key(tenantId, blobName));
    // The ETag a listing gives (one per blob stored), as storage's GET answers it: a verdict remembered by ETag holds for that blob only.
    return blob ? readOf(blob.bytes, blob.contentType, undefined, blob.lastModified ?? null, blobEtagOf(blob)) : null;
  }
  async exists(tenantId: string, blobName: string): Promise<boolean> {
    return this.blobs.has(this.key(tenantId, blobName));
  }
  async setLegalHold(tenantId: string, blobName: string, legalHold: boolean): Promise<void> {
    this.of(tenantId, blobName).worm.legalHold = legalHold;
  }
  /** Never earlier, as the port says (locked policies in storage refuse it); never until a past instant (Azure refuses it: 400 InvalidExpiryTime). */
  async extendRetention(tenantId: string, blobName: string, retainUntil: string): Promise<void> {
    const worm = this.of(tenantId, blobName).worm;
    if (Date.parse(retainUntil) <= this.now().getTime()) throw new Error(`400 InvalidExpiryTime: the immutability policy expiry time must be in the future (${retainUntil})`);
    if (Date.parse(wholeSecond(retainUntil)) > Date.parse(worm.retainUntil)) worm.retainUntil = wholeSecond(retainUntil);
    delete worm.unlocked;
  }
  async documentBlobs(tenantId: string, documentId: string): Promise<string[]> {
    return this.namesOf(tenantId, `${documentId}/`);
  }
  async documentBlobWorm(tenantId: string, documentId: string): Promise<BlobWorm[]> {
    return this.namesOf(tenantId, `${documentId}/`).map((name) => ({ name, legalHold: this.of(tenantId, name).worm.legalHold, retainUntil: this.of(tenantId, name).worm.unlocked ? null : this.of(tenantId, name).worm.retainUntil, etag: blobEtagOf(this.of(tenantId, name)) }));
  }
  /** Each blob under `prefix` with its lock as the listing reports it: the tests' look (no archive code lists a folder so). */
  async blobWormUnder(tenantId: string, prefix: string): Promise<BlobWorm[]> {
    return this.namesOf(tenantId, prefix).map((name) => ({ name, legalHold: this.of(tenantId, name).worm.legalHold, retainUntil: this.of(tenantId, name).worm.unlocked ? null : this.of(tenantId, name).worm.retainUntil, etag: blobEtagOf(this.of(tenantId, name)) }));
  }
  async blobNames(tenantId: string, prefix: string): Promise<string[]> {
    return this.namesOf(tenantId, prefix);
  }
  /** Each blob object stored has its own ETag: one deleted and set again under its name (a test's `blobs.set`) has another. */
  async listedBlobs(tenantId: string, prefix: string, max?: number): Promise<ListedBlob[]> {
    const names = this.namesOf(tenantId, prefix);
    return (max === undefined ? names : names.sort().slice(0, max)).map((name) => ({ name, etag: blobEtagOf(this.of(tenantId, name)) }));
  }
  /** The tenant's top-level folders (as listBlobsByHierarchy('/') names them), seals included, in one page. */
  async documentFolders(tenantId: string): Promise<{ documentIds: string[]; continuation: string | null }> {
    return { documentIds: [...new Set(this.namesOf(tenantId, '').filter((n) => n.includes('/')).map((n) => n.split('/')[0]!))].sort(), continuation: null };
  }
  async documentBlobDetails(tenantId: string, documentId: string): Promise<{ name: string; size: number; lastModified: string }[]> {
    return this.namesOf(tenantId, `${documentId}/`).map((name) => {
      const blob = this.of(tenantId, name);
      return { name, size: blob.bytes.length, lastModified: blob.lastModified ?? new Date(0).toISOString() };
    });
  }
  async ping(): Promise<void> {}
  /** Every manifest of a tenant, in name order (listBlobsFlat), as the adapter lists them for a catalog rebuild. */
  async *manifests(tenantId: string): AsyncGenerator<string> {
    yield* this.namesOf(tenantId, '').sort().filter((n) => blobLayout.isManifest(n));
  }
  /** Every tenant with a container, in name order (listContainers), blobs or none. */
  async *unsafeListTenants(): AsyncGenerator<string> {
    yield* [...new Set([...this.tenants, ...[...this.blobs.keys()].map((k) => k.split('/')[0]!)])].sort();
  }
  /** As the adapter: tenant then name order from the cursor (the last row listed); one that does not parse starts from the first. */
  async unsafeListWormUnder(prefix: string, cursor: string | null, limit: number, tenants?: readonly string[]): Promise<{ items: (BlobWorm & { tenantId: string })[]; next: string | null }> {
    let after: [string, string] | null = null;
    try {
      const v = cursor ? (JSON.parse(cursor) as { tenant?: unknown; name?: unknown }) : null;
      if (v && typeof v.tenant === 'string' && typeof v.name === 'string') after = [v.tenant, v.name];
    } catch {
      after = null;
    }
    const rows: [string, string][] = [];
    for await (const t of this.unsafeListTenants()) if (!tenants || tenants.includes(t)) for (const n of this.namesOf(t, prefix).sort()) rows.push([t, n]);
    const from = after ? rows.filter(([t, n]) => t > after[0] || (t === after[0] && n > after[1])) : rows;
    const page = from.slice(0, limit);
    const items = page.map(([tenantId, name]) => ({ tenantId, ...(this.blobWormOf(tenantId, name)) }));
    const last = page.at(-1);
    return { items, next: from.length > limit && last ? JSON.stringify({ tenant: last[0], name: last[1] }) : null };
  }
  private blobWormOf(tenantId: string, name: string): BlobWorm {
    const blob = this.of(tenantId, name);
    return { name, legalHold: blob.worm.legalHold, retainUntil: blob.worm.unlocked ? null : blob.worm.retainUntil, etag: blobEtagOf(blob) };
  }
}

/** Audit outbox items by tenant and id, one map for every in-memory port that writes them (InMemoryAuditOutboxItems reads it). */
const outboxKey = (item: Pick<AuditOutboxItem, 'tenantId' | 'id'>) => `${item.tenantId}/${item.id}`;
function keepOutboxItem(items: Map<string, AuditOutboxItem>, item: AuditOutboxItem | undefined): void {
  if (item) items.set(outboxKey(item), item);
}
/** The keyring each outbox map's items are sealed with, as the Cosmos adapters seal them (inMemoryDeps: the audit log's). */
const outboxKeyrings = new WeakMap<Map<string, AuditOutboxItem>, () => ChainKeyring>();
const DEFAULT_OUTBOX_KEYS = singleKeyring(async () => Buffer.alloc(32));
/** Sealed before the fake's write, so its compare and set keeps no await in between. */
function sealedInMemory(items: Map<string, AuditOutboxItem>, item: AuditOutboxItem): Promise<AuditOutboxItem> {
  return sealedOutboxItem(item, outboxKeyrings.get(items)?.() ?? DEFAULT_OUTBOX_KEYS);
}

/** Catalog items by tenant and id; the content-key lookup sees every document not yet a tombstone, like the markers (catalog.ts). */
export class InMemoryCatalog implements CatalogPort {
  readonly documents = new Map<string, ArchivedDocument>();
  /** Audit outbox items, by tenant and id (InMemoryAuditOutboxItems reads them). */
  readonly outbox = new Map<string, AuditOutboxItem>();
  /** As the Cosmos batch with its created content-key marker: bytes another document (not disposed of) holds are a 'duplicate'. */
  async create(doc: ArchivedDocument, outbox?: AuditOutboxItem): Promise<'created' | 'exists' | 'duplicate'> {
    const sealed = outbox && (await sealedInMemory(this.outbox, outbox));
    const key = `${doc.tenantId}/${doc.id}`;
    if (this.documents.has(key)) return 'exists';
    if (doc.contentKey !== undefined && [...this.documents.values()].some((d) => d.tenantId === doc.tenantId && d.status !== 'disposed' && d.contentKey === doc.contentKey)) return 'duplicate';
    this.documents.set(key, doc);
    keepOutboxItem(this.outbox, sealed);
    return 'created';
  }
  async get(tenantId: string, id: string): Promise<ArchivedDocument | null> {
    return this.documents.get(`${tenantId}/${id}`) ?? null;
  }
  async findByContentKey(tenantId: string, contentKey: string): Promise<ArchivedDocument | null> {
    return [...this.documents.values()].find((d) => d.tenantId === tenantId && d.status !== 'disposed' && d.contentKey === contentKey) ?? null;
  }
  async ensureContentMarker(): Promise<'created' | 'exists'> {
    return 'exists';
  }
  async list(_tenantId: string, _q: DocumentQuery): Promise<Page<ArchivedDocument>> {
    throw new NotModelled('CatalogPort.list');
  }
  async countMatching(_tenantId: string, _q: Omit<DocumentQuery, 'limit' | 'continuationToken'>): Promise<number> {
    throw new NotModelled('CatalogPort.countMatching');
  }
  async idsUnchangedSince(_tenantId: string, _q: Omit<DocumentQuery, 'limit' | 'continuationToken'>, _writtenBefore: Date): Promise<string[]> {
    throw new NotModelled('CatalogPort.idsUnchangedSince');
  }
  async count(tenantId: string): Promise<number> {
    return [...this.documents.values()].filter((d) => d.tenantId === tenantId).length;
  }
  async ping(): Promise<void> {}
}

/**
 * The catalog search as one page of all a tenant's documents (for tests whose exports match them all). No write times
 * are kept: every active document counts as unchanged through an export's walk (a test that adds one during the walk
 * must say so).
 */
export function searchAsWholeTenant(catalog: InMemoryCatalog): void {
  const of = (tenantId: string) => [...catalog.documents.values()].filter((d) => d.tenantId === tenantId);
  const port: CatalogPort = catalog;
  port.list = async (tenantId: string) => ({ items: of(tenantId), continuationToken: null });
  port.countMatching = async (tenantId: string) => catalog.count(tenantId);
  port.idsUnchangedSince = async (tenantId: string) => of(tenantId).filter((d) => d.status === 'active').map((d) => d.id);
}

/** An in-memory catalog whose search is searchAsWholeTenant's. */
export class ListingCatalog extends InMemoryCatalog {
  constructor() {
    super();
    searchAsWholeTenant(this);
  }
}

export class InMemoryAuditOutboxItems implements AuditOutboxPort {
  constructor(private readonly catalog: InMemoryCatalog) {}
  async remove(items: readonly Pick<AuditOutboxItem, 'tenantId' | 'id'>[]): Promise<void> {
    for (const item of items) this.catalog.outbox.delete(outboxKey(item));
  }
  async unsafeWrittenBefore(before: string, max: number): Promise<Versioned<AuditOutboxItem>[]> {
    return [...this.catalog.outbox.values()]
      .filter((i) => i.at < before)
      .sort((a, b) => a.at.localeCompare(b.at))
      .slice(0, max)
      .map((i) => ({ item: structuredClone(i), etag: catalogEtagOf(i) }));
  }
  /** Compare and set in one step, with no await in between, as Cosmos's If-Match. */
  async claim({ item, etag }: Versioned<AuditOutboxItem>, claim: AuditTakeOverClaim): Promise<boolean> {
    const stored = this.catalog.outbox.get(outboxKey(item));
    if (!stored || catalogEtagOf(stored) !== etag) return false;
    this.catalog.outbox.set(outboxKey(item), { ...structuredClone(stored), claim });
    return true;
  }
}

/**
 * The etag of a stored catalog item: one per item object stored, so every write (a replace stores a
 * copy, a test sets a new object) gets a new one, as Cosmos gives every write a new _etag. An etag
 * derived from the item's content (its length, once) let a stale write through whenever two versions matched.
 */
const catalogEtags = new WeakMap<object, string>();
let catalogEtagSeq = 0;
function catalogEtagOf(item: object): string {
  let etag = catalogEtags.get(item);
  if (!etag) catalogEtags.set(item, (etag = `"${++catalogEtagSeq}"`));
  return etag;
}

export class InMemoryRetentionCatalog implements RetentionCatalogPort {
  constructor(private readonly catalog: InMemoryCatalog) {}
  async getVersioned(tenantId: string, id: string): Promise<Versioned<ArchivedDocument> | null> {
    const stored = this.catalog.documents.get(`${tenantId}/${id}`);
    return stored ? { item: structuredClone(stored), etag: catalogEtagOf(stored) } : null;
  }
  /** Compare and set in one step, with no await in between, as Cosmos's If-Match: two replaces over one etag never both succeed. */
  async replace(doc: ArchivedDocument, etag: string, outbox?: AuditOutboxItem): Promise<{ etag: string } | 'conflict'> {
    const sealed = outbox && (await sealedInMemory(this.catalog.outbox, outbox));
    const stored = this.catalog.documents.get(`${doc.tenantId}/${doc.id}`);
    if (!stored || catalogEtagOf(stored) !== etag) return 'conflict';
    const written = structuredClone(doc);
    this.catalog.documents.set(`${doc.tenantId}/${doc.id}`, written);
    keepOutboxItem(this.catalog.outbox, sealed);
    return { etag: catalogEtagOf(written) };
  }
  async dropContentMarker(): Promise<void> {}
  async sweepCandidates(tenantId: string, now: string, afterId: string, limit: number, opts: { approvedOnly?: boolean } = {}): Promise<Versioned<ArchivedDocument>[]> {
    return this.inTenant(tenantId, opts.approvedOnly ? CATALOG_RULES.sweepWorkApproved : CATALOG_RULES.sweepWork, { now }).filter((d) => d.id > afterId).slice(0, limit).map((item) => ({ item: structuredClone(item), etag: catalogEtagOf(item) }));
  }
  /** One page with every document due by `before` (no continuation). */
  async due(tenantId: string, before: string): Promise<Page<ArchivedDocument>> {
    return { items: this.inTenant(tenantId, CATALOG_RULES.due, { before }), continuationToken: null };
  }
  /** One page with every match (no continuation). */
  async matching(tenantId: string, q: HoldQuery): Promise<Page<ArchivedDocument>> {
    return { items: this.inTenant(tenantId, CATALOG_RULES.active).filter((d) => matchesHoldQuery(d, q)), continuationToken: null };
  }
  async countMatching(tenantId: string, q: HoldQuery): Promise<number> {
    return (await this.matching(tenantId, q)).items.length;
  }
  async matchingNotUnder(tenantId: string, q: HoldQuery, holdId: string, afterId: string, limit: number): Promise<ArchivedDocument[]> {
    return (await this.matching(tenantId, q)).items.filter((d) => d.id > afterId && !(d.holds ?? []).some((h) => h.id === holdId)).sort((a, b) => (a.id < b.id ? -1 : 1)).slice(0, limit);
  }
  async countCarryingOpen(tenantId: string, holdId: string): Promise<number> {
    return this.inTenant(tenantId, CATALOG_RULES.active).filter((d) => (d.holds ?? []).some((h) => h.id === holdId && !h.releasedAt)).length;
  }
  async held(tenantId: string): Promise<Page<ArchivedDocument>> {
    return { items: this.inTenant(tenantId, CATALOG_RULES.held), continuationToken: null };
  }
  private inTenant(tenantId: string, rule: CatalogRule, instants: Record<string, string> = {}): ArchivedDocument[] {
    return [...this.catalog.documents.values()].filter((d) => d.tenantId === tenantId && satisfies(d, rule, instants)).sort((a, b) => a.id.localeCompare(b.id));
  }
  async activeAfter(tenantId: string, afterId: string, limit: number): Promise<ArchivedDocument[]> {
    return this.inTenant(tenantId, CATALOG_RULES.active).filter((d) => d.id > afterId).slice(0, limit);
  }
  async unsafeCountFixityFailures(): Promise<number> {
    return 0;
  }
  /** The Cosmos query's condition: active, created before the cutoff, never validated nor given up on, not asked for since the cutoff. */
  async pendingValidations(q: { cutoff: string; max: number; onlyTenant?: string }): Promise<{ id: string; tenantId: string }[]> {
    return [...this.catalog.documents.values()]
      .filter((d) => d.status === 'active' && d.createdAt < q.cutoff && (!q.onlyTenant || d.tenantId === q.onlyTenant))
      .filter((d) => !d.validation || (d.validation.status === 'pending' && d.validation.gaveUpAt === undefined && (d.validation.requestedAt === undefined || d.validation.requestedAt < q.cutoff)))
      .slice(0, q.max)
      .map((d) => ({ id: d.id, tenantId: d.tenantId }));
  }
}

export class InMemoryRetentionPolicies implements RetentionPoliciesPort {
  readonly policies = new Map<string, StoredRetentionPolicy>();
  private readonly versions = new Map<string, number>();
  /**
   * Audit outbox items written with a policy (shared with the catalog's, which InMemoryAuditOutboxItems reads);
   * `records`: the tenant records a put writes with the policy (`also`), in the same container as in the store.
   */
  constructor(
    private readonly outbox = new Map<string, AuditOutboxItem>(),
    private readonly records?: InMemoryTenantRecords,
  ) {}
  async get(tenantId: string): Promise<StoredRetentionPolicy | null> {
    return this.policies.get(tenantId) ?? null;
  }
  /** Never cached: `fresh` reads the same. */
  async getVersioned(tenantId: string, _opts?: { fresh?: boolean }): Promise<{ policy: StoredRetentionPolicy | null; etag: string | null }> {
    return { policy: this.policies.get(tenantId) ?? null, etag: this.etagOf(tenantId) };
  }
  private etagOf(tenantId: string): string | null {
    return this.policies.has(tenantId) ? String(this.versions.get(tenantId)) : null;
  }
  async put(tenantId: string, policy: StoredRetentionPolicy, at: string, by: StoredRetentionPolicy['updatedBy'], safeguards: SafeguardMark, revision: number, outbox: AuditOutboxItem | undefined, expected: { etag: string | null }, also: readonly TenantRecordWrite[] = []): Promise<'written' | 'conflict'> {
    const sealed = outbox && (await sealedInMemory(this.outbox, outbox));
    if (this.etagOf(tenantId) !== expected.etag) return 'conflict';
    if (also.length > 0) {
      if (!this.records) throw new Error('InMemoryRetentionPolicies: records written with the policy need the tenant records');
      if (this.records.writeAll(tenantId, also) === 'conflict') return 'conflict';
    }
    this.policies.set(tenantId, { ...policy, updatedAt: at, ...(by ? { updatedBy: by } : {}), safeguards, revision });
    this.versions.set(tenantId, (this.versions.get(tenantId) ?? 0) + 1);
    keepOutboxItem(this.outbox, sealed);
    return 'written';
  }
}

export class InMemoryTimerState implements TimerStatePort {
  readonly records = new Map<string, unknown>();
  async get<T>(name: string): Promise<T | null> {
    return (this.records.get(name) as T | undefined) ?? null;
  }
  async set<T>(name: string, value: T): Promise<void> {
    this.records.set(name, value);
  }
}

export class InMemoryDisposer implements DisposerPort {
  constructor(private readonly blobs: InMemoryBlobArchive) {}
  async deleteDocument(tenantId: string, documentId: string, ordered: string[], now: Date): Promise<number> {
    const names = await this.blobs.documentBlobs(tenantId, documentId);
    const worm = await this.blobs.documentBlobWorm(tenantId, documentId);
    if (worm.some((b) => b.legalHold === true || (b.retainUntil !== null && Date.parse(b.retainUntil) > now.getTime()))) throw new StorageRefusal('blob-protected', { intact: ordered.every((n) => names.includes(n)) });
    // As the adapter (adapters/azure/disposer.ts): the originals, rendition and the rest at once, then the manifest last,
    // in separate storage calls: a reader between them (a sweep's scheduler, through the blob port) sees the manifest alone.
    for (const name of names.filter((n) => !blobLayout.isManifest(n))) this.blobs.blobs.delete(`${tenantId}/${name}`);
    await this.blobs.documentBlobs(tenantId, documentId);
    for (const name of names.filter((n) => blobLayout.isManifest(n))) this.blobs.blobs.delete(`${tenantId}/${name}`);
    return names.length;
  }
}

/** Orphan records with an etag per write; `markAudited` over a stale etag changes nothing, as the Cosmos replace. */
export class InMemoryOrphanRecords implements OrphanRecordsPort {
  readonly records = new Map<string, OrphanedBlobsRecord>();
  private readonly etags = new Map<string, number>();
  private version = 0;
  /** Audit outbox items written with a record (shared with the catalog's, which InMemoryAuditOutboxItems reads). */
  constructor(private readonly outbox = new Map<string, AuditOutboxItem>()) {}
  async get(tenantId: string, documentId: string): Promise<VersionedRecord<OrphanedBlobsRecord> | null> {
    const value = this.records.get(`${tenantId}/${documentId}`);
    return value ? { value: structuredClone(value), etag: String(this.etags.get(`${tenantId}/${documentId}`)) } : null;
  }
  async create(record: OrphanedBlobsRecord, outbox?: AuditOutboxItem): Promise<'created' | 'exists'> {
    const sealed = outbox && (await sealedInMemory(this.outbox, outbox));
    const key = `${record.tenantId}/${record.documentId}`;
    if (this.records.has(key)) return 'exists';
    this.records.set(key, structuredClone(record));
    this.etags.set(key, ++this.version);
    keepOutboxItem(this.outbox, sealed);
    return 'created';
  }
  async replace(record: OrphanedBlobsRecord, etag: string, outbox?: AuditOutboxItem): Promise<'replaced' | 'conflict'> {
    const sealed = outbox && (await sealedInMemory(this.outbox, outbox));
    const key = `${record.tenantId}/${record.documentId}`;
    if (!this.records.has(key) || String(this.etags.get(key)) !== etag) return 'conflict';
    this.records.set(key, structuredClone(record));
    this.etags.set(key, ++this.version);
    keepOutboxItem(this.outbox, sealed);
    return 'replaced';
  }
  async markAudited(record: OrphanedBlobsRecord, etag: string): Promise<void> {
    const key = `${record.tenantId}/${record.documentId}`;
    if (String(this.etags.get(key)) !== etag) return;
    this.records.set(key, { ...structuredClone(record), audited: true });
    this.etags.set(key, ++this.version);
  }
  async list(tenantId: string): Promise<OrphanedBlobsRecord[]> {
    return [...this.records.values()].filter((r) => r.tenantId === tenantId);
  }
  async unresolvedAfter(tenantId: string, after: string, limit: number): Promise<OrphanedBlobsRecord[]> {
    return [...this.records.values()]
      .filter((r) => r.tenantId === tenantId && r.id > after && !r.resolvedAt)
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .slice(0, limit)
      .map((r) => structuredClone(r));
  }
  /** Those not resolved, as the Cosmos count. */
  async unsafeCount(): Promise<number> {
    return [...this.records.values()].filter((r) => !r.resolvedAt).length;
  }
}

/** Tenant records by id; `list` keeps the type filter but cannot run a `where` clause. */
export class InMemoryTenantRecords implements TenantRecordsPort {
  readonly records = new Map<string, { value: TenantRecord; etag: number }>();
  private version = 0;
  /** Audit outbox items written with a record (shared with the catalog's, which InMemoryAuditOutboxItems reads). */
  constructor(private readonly outbox = new Map<string, AuditOutboxItem>()) {}
  private keep(outbox: AuditOutboxItem | undefined): void {
    keepOutboxItem(this.outbox, outbox);
  }
  async get<T extends TenantRecord>(tenantId: string, id: string, type: T['type']): Promise<VersionedRecord<T> | null> {
    const found = this.records.get(`${tenantId}/${id}`);
    if (!found || found.value.type !== type) return null;
    // A copy, as Cosmos answers: a caller changing what it read changes nothing stored; its version remembered as the adapter does.
    return { value: withStoredVersion(structuredClone(found.value) as T, String(found.etag)), etag: String(found.etag) };
  }
  async create<T extends TenantRecord>(record: T, outbox?: AuditOutboxItem): Promise<'created' | 'exists'> {
    const sealed = outbox && (await sealedInMemory(this.outbox, outbox));
    if (this.records.has(`${record.tenantId}/${record.id}`)) return 'exists';
    this.records.set(`${record.tenantId}/${record.id}`, { value: record, etag: ++this.version });
    this.keep(sealed);
    return 'created';
  }
  async replace<T extends TenantRecord>(record: T, etag: string, outbox?: AuditOutboxItem): Promise<'replaced' | 'conflict'> {
    const sealed = outbox && (await sealedInMemory(this.outbox, outbox));
    const found = this.records.get(`${record.tenantId}/${record.id}`);
    if (!found || String(found.etag) !== etag) return 'conflict';
    this.records.set(`${record.tenantId}/${record.id}`, { value: structuredClone(record), etag: ++this.version });
    this.keep(sealed);
    return 'replaced';
  }
  async upsert<T extends TenantRecord>(record: T, outbox?: AuditOutboxItem): Promise<void> {
    const sealed = outbox && (await sealedInMemory(this.outbox, outbox));
    this.records.set(`${record.tenantId}/${record.id}`, { value: record, etag: ++this.version });
    this.keep(sealed);
  }
  async delete(tenantId: string, id: string, outbox?: AuditOutboxItem, ifMatch?: string): Promise<boolean> {
    const sealed = outbox && (await sealedInMemory(this.outbox, outbox));
    const found = this.records.get(`${tenantId}/${id}`);
    if (!found || (ifMatch !== undefined && String(found.etag) !== ifMatch)) return false;
    this.records.delete(`${tenantId}/${id}`);
    this.keep(sealed);
    return true;
  }
  /** Every condition is checked before anything is written, as a transactional batch does. */
  async batch(tenantId: string, writes: readonly TenantRecordWrite[], outbox?: AuditOutboxItem): Promise<'written' | 'conflict'> {
    const sealed = outbox && (await sealedInMemory(this.outbox, outbox));
    const written = this.writeAll(tenantId, writes);
    if (written === 'written') this.keep(sealed);
    return written;
  }
  /**
   * The writes of a batch, all or none, at once (not a port method, so a fault test's port wrapper leaves it alone): for
   * another port of the same container writing records in its own batch (a retention policy with its approved proposal).
   */
  writeAll(tenantId: string, writes: readonly TenantRecordWrite[]): 'written' | 'conflict' {
    const key = (w: TenantRecordWrite) => `${tenantId}/${w.op === 'delete' ? w.id : w.record.id}`;
    if (writes.some((w) => w.op !== 'delete' && w.record.tenantId !== tenantId)) throw new Error('a record of the batch belongs to another tenant');
    const holds = (w: TenantRecordWrite) => {
      const found = this.records.get(key(w));
      if (w.op === 'create') return !found;
      if (w.op === 'upsert') return true;
      return found !== undefined && (w.ifMatch === undefined || String(found.etag) === w.ifMatch);
    };
    if (!writes.every(holds)) return 'conflict';
    for (const w of writes) {
      if (w.op === 'delete') this.records.delete(key(w));
      else this.records.set(key(w), { value: structuredClone(w.record), etag: ++this.version });
    }
    return 'written';
  }
  /** A `where` clause of one equality (`c.field = @param`), as the Cosmos query reads it; any other is not modelled. */
  async list<T extends TenantRecord>(tenantId: string, type: T['type'], where?: string, parameters: QueryParameter[] = []): Promise<T[]> {
    const equality = where === undefined ? null : /^c\.(\w+) = (@\w+)$/.exec(where.trim());
    const undefinedField = where === undefined ? null : /^NOT IS_DEFINED\(c\.(\w+)\)$/.exec(where.trim());
    // Cosmos SQL as place-holds-by-query.ts MAYBE_UNRELEASED_SQL writes it: no field, not text, not matching the pattern @w (PCRE; these JS reads alike), or after @p.
    const maybeUnset = where === undefined ? null : /^\(NOT IS_DEFINED\(c\.(\w+)\) OR NOT IS_STRING\(c\.\1\) OR NOT RegexMatch\(c\.\1, (@\w+)\) OR c\.\1 > (@\w+)\)$/.exec(where.trim());
    if (where !== undefined && !equality && !undefinedField && !maybeUnset) throw new NotModelled(`TenantRecordsPort.list with the where clause ${where}`);
    const after = maybeUnset ? parameters.find((p) => p.name === maybeUnset[3])?.value : undefined;
    const pattern = maybeUnset ? parameters.find((p) => p.name === maybeUnset[2])?.value : undefined;
    if (maybeUnset && (typeof after !== 'string' || typeof pattern !== 'string')) throw new Error(`TenantRecordsPort.list: no value for ${maybeUnset[2]} or ${maybeUnset[3]}`);
    const wanted = equality ? parameters.find((p) => p.name === equality[2]) : undefined;
    if (equality && !wanted) throw new Error(`TenantRecordsPort.list: no value for ${equality[2]}`);
    const field = (r: TenantRecord, name: string) => (r as unknown as Record<string, unknown>)[name];
    const unset = (v: unknown) => v === undefined || typeof v !== 'string' || !new RegExp(pattern as string).test(v) || v > (after as string);
    const matches = (r: TenantRecord) => (!equality || field(r, equality[1]!) === wanted!.value) && (!undefinedField || field(r, undefinedField[1]!) === undefined) && (!maybeUnset || unset(field(r, maybeUnset[1]!)));
    // A tenant's keys pile up (revoked, expired): read through the bounded key queries, never all of them.
    if (type === 'api-key') throw new Error("TenantRecordsPort.list of 'api-key' reads every key the tenant ever made: use apiKeysInUse, countApiKeysInUse or apiKeyPage");
    if (type === 'sod-policy-proposal' || type === 'retention-policy-proposal') throw new Error(`TenantRecordsPort.list of '${type}' reads every proposal the tenant ever made: use proposalPage`);
    if (type === 'support-grant') throw new Error("TenantRecordsPort.list of 'support-grant' reads every grant the tenant ever gave: use lastExpiringSupportGrant or supportGrantPage");
    return [...this.records.values()].map((r) => r.value).filter((r): r is T => r.tenantId === tenantId && r.type === type && matches(r));
  }
  /** Every record of `type` the tenant has stored, for a test's checks (not a port method). */
  stored<T extends TenantRecord>(tenantId: string, type: T['type']): T[] {
    return [...this.records.values()].map((r) => r.value).filter((r): r is T => r.tenantId === tenantId && r.type === type);
  }
  /** Every call of the API key queries (tenant, what), for tests of what a request reads. */
  readonly keyQueries: { tenantId: string; query: 'count' | 'in-use' | ApiKeyState }[] = [];
  /**
   * Whether the store is marked migrated (`endsAt` on every key and grant): the queries then go by `endsAt`, as the
   * Cosmos adapter's do. Marked from the start, so every test checks that the writers store `endsAt`; a test of records
   * from before it clears the mark.
   */
  migrated = true;
  async endsAtMigrated(): Promise<boolean> {
    return this.migrated;
  }
  async unsafeWithoutEndsAt(limit: number): Promise<{ tenantId: string; id: string; type: 'api-key' | 'support-grant' }[]> {
    return [...this.records.values()]
      .map((r) => r.value as TenantRecord & { endsAt?: string })
      .filter((r): r is TenantRecord & { type: 'api-key' | 'support-grant' } => (r.type === 'api-key' || r.type === 'support-grant') && r.endsAt === undefined)
      .slice(0, limit)
      .map((r) => ({ tenantId: r.tenantId, id: r.id, type: r.type }));
  }
  async unsafeMarkEndsAtMigrated(): Promise<void> {
    this.migrated = true;
  }
  /** Whether the store is marked as every key sealed (key-seal.ts). Marked from the start, as `migrated`; a test of keys from before clears it. */
  keysSealedMark = true;
  async keysSealed(): Promise<boolean> {
    return this.keysSealedMark;
  }
  async unsafeUnsealedKeys(at: string, limit: number): Promise<{ tenantId: string; id: string; type: 'api-key' | 'support-grant' }[]> {
    return [...this.records.values()]
      .map((r) => r.value as TenantRecord & { type: 'api-key' | 'support-grant'; mac?: string; revokedAt?: string | null; expiresAt?: string })
      .filter((r) => (r.type === 'api-key' || r.type === 'support-grant') && r.mac === undefined && (r.revokedAt === null || r.revokedAt === undefined) && typeof r.expiresAt === 'string' && r.expiresAt > at)
      .slice(0, limit)
      .map((r) => ({ tenantId: r.tenantId, id: r.id, type: r.type }));
  }
  async unsafeMarkKeysSealed(): Promise<void> {
    this.keysSealedMark = true;
  }
  /** Whether the store is marked as every sign-in record sealed (person-sightings.ts). Marked from the start, as `keysSealedMark`; a test of records from before clears it. */
  sightingsSealedMark = true;
  async sightingsSealed(): Promise<boolean> {
    return this.sightingsSealedMark;
  }
  async unsafeUnsealedSightings(limit: number): Promise<{ tenantId: string; id: string }[]> {
    return [...this.records.values()]
      .map((r) => r.value as TenantRecord & { mac?: string })
      .filter((r) => r.type === 'person-sighting' && r.mac === undefined)
      .slice(0, limit)
      .map((r) => ({ tenantId: r.tenantId, id: r.id }));
  }
  async unsafeMarkSightingsSealed(): Promise<void> {
    this.sightingsSealedMark = true;
  }
  /** The fake's token: where the next page starts. */
  async unsafeSealedSightingsPage(limit: number, continuationToken?: string): Promise<Page<{ tenantId: string; id: string }>> {
    const start = continuationToken === undefined ? 0 : Number(continuationToken);
    if (!Number.isInteger(start) || start < 0) throw new ArchiveError('invalid_query', { detail: 'The continuation token is not valid for this query.' });
    const all = [...this.records.values()]
      .map((r) => r.value as TenantRecord & { mac?: string })
      .filter((r) => r.type === 'person-sighting' && r.mac !== undefined)
      .map((r) => ({ tenantId: r.tenantId, id: r.id }));
    return { items: all.slice(start, start + limit), continuationToken: start + limit < all.length ? String(start + limit) : null };
  }
  /** The fake's token: where the next page starts. */
  async unsafeKeysSealedNotWith(version: string, at: string, limit: number, continuationToken?: string): Promise<Page<{ tenantId: string; id: string; type: 'api-key' | 'support-grant' }>> {
    const start = continuationToken === undefined ? 0 : Number(continuationToken);
    if (!Number.isInteger(start) || start < 0) throw new ArchiveError('invalid_query', { detail: 'The continuation token is not valid for this query.' });
    const all = [...this.records.values()]
      .map((r) => r.value as TenantRecord & { type: 'api-key' | 'support-grant'; mac?: string; keyVersion?: string; revokedAt?: string | null; expiresAt?: string })
      .filter((r) => (r.type === 'api-key' || r.type === 'support-grant') && r.mac !== undefined && r.keyVersion !== version && (r.revokedAt === null || r.revokedAt === undefined) && typeof r.expiresAt === 'string' && r.expiresAt > at)
      .map((r) => ({ tenantId: r.tenantId, id: r.id, type: r.type }));
    return { items: all.slice(start, start + limit), continuationToken: start + limit < all.length ? String(start + limit) : null };
  }
  /**
   * A key's or grant's state at `at`, as the Cosmos adapter's conditions select it: migrated, by `endsAt` (a record
   * without it is neither in use nor expired, as `c.endsAt > @at` is not true of it), else by `expiresAt`.
   */
  private stateAt(k: { revokedAt?: string | null; expiresAt: string; endsAt?: string }, at: string): ApiKeyState | null {
    if (k.revokedAt !== undefined && k.revokedAt !== null) return 'revoked';
    const ends = this.migrated ? k.endsAt : k.expiresAt;
    if (ends === undefined) return null;
    return ends > at ? 'in-use' : 'expired';
  }
  /** The tenant's keys in `state` at `at`, newest first, as the Cosmos adapter's conditions select them. */
  private keysIn<T extends TenantRecord>(tenantId: string, state: ApiKeyState, at: string, type: 'api-key' | 'support-grant' = 'api-key'): T[] {
    const inState = (k: { revokedAt?: string | null; expiresAt: string; endsAt?: string }) => state === 'all' || this.stateAt(k, at) === state;
    return [...this.records.values()]
      .map((r) => ({ k: r.value as TenantRecord & { revokedAt?: string | null; expiresAt: string; endsAt?: string; createdAt: string }, etag: r.etag }))
      .filter(({ k }) => k.tenantId === tenantId && k.type === type && inState(k))
      .sort((a, b) => b.k.createdAt.localeCompare(a.k.createdAt))
      .map(({ k, etag }) => withStoredVersion(structuredClone(k) as unknown as T, String(etag)));
  }
  async countApiKeysInUse(tenantId: string, at: string): Promise<number> {
    this.keyQueries.push({ tenantId, query: 'count' });
    return this.keysIn(tenantId, 'in-use', at).length;
  }
  async countRightsAssignments(tenantId: string): Promise<number> {
    return [...this.records.values()].filter((r) => r.value.tenantId === tenantId && r.value.type === 'rights-assignment').length;
  }
  async apiKeysInUse<T extends TenantRecord>(tenantId: string, at: string): Promise<T[]> {
    this.keyQueries.push({ tenantId, query: 'in-use' });
    return this.keysIn<T>(tenantId, 'in-use', at);
  }
  /** The fake's token: where the next page starts. */
  async apiKeyPage<T extends TenantRecord>(tenantId: string, state: ApiKeyState, at: string, limit: number, continuationToken?: string): Promise<Page<T>> {
    this.keyQueries.push({ tenantId, query: state });
    const start = continuationToken === undefined ? 0 : Number(continuationToken);
    if (!Number.isInteger(start) || start < 0) throw new ArchiveError('invalid_query', { detail: 'The continuation token is not valid for this query.' });
    const all = this.keysIn<T>(tenantId, state, at);
    return { items: all.slice(start, start + limit), continuationToken: start + limit < all.length ? String(start + limit) : null };
  }
  /** The fake's token: where the next page starts. */
  async proposalPage<T extends TenantRecord>(tenantId: string, type: ProposalType, state: ProposalListState, at: string, limit: number, continuationToken?: string): Promise<Page<T>> {
    const start = continuationToken === undefined ? 0 : Number(continuationToken);
    if (!Number.isInteger(start) || start < 0) throw new ArchiveError('invalid_query', { detail: 'The continuation token is not valid for this query.' });
    type Proposal = TenantRecord & { proposalId: string; state: string; expiresAt: string };
    const stateAt = (p: Proposal) => (p.state === 'pending' && p.expiresAt <= at ? 'expired' : p.state);
    const all = [...this.records.values()]
      .map((r) => r.value as Proposal)
      .filter((p) => p.tenantId === tenantId && p.type === type && (state === 'all' || stateAt(p) === state || (state === 'decided' && stateAt(p) !== 'pending')))
      .sort((a, b) => b.proposalId.localeCompare(a.proposalId))
      .map((p) => structuredClone(p) as unknown as T);
    return { items: all.slice(start, start + limit), continuationToken: start + limit < all.length ? String(start + limit) : null };
  }
  /** Every call of the support grant queries (tenant, what), for tests of what a request reads. */
  readonly grantQueries: { tenantId: string; query: 'in-force' | SupportGrantState }[] = [];
  /** The fake's token: where the next page starts. */
  async supportGrantPage<T extends TenantRecord>(tenantId: string, state: SupportGrantState, at: string, limit: number, continuationToken?: string): Promise<Page<T>> {
    this.grantQueries.push({ tenantId, query: state });
    const start = continuationToken === undefined ? 0 : Number(continuationToken);
    if (!Number.isInteger(start) || start < 0) throw new ArchiveError('invalid_query', { detail: 'The continuation token is not valid for this query.' });
    // A grant ends as a key does: the key states' selection, `active` for `in-use`.
    const all = this.keysIn<T>(tenantId, state === 'active' ? 'in-use' : state, at, 'support-grant');
    return { items: all.slice(start, start + limit), continuationToken: start + limit < all.length ? String(start + limit) : null };
  }
  async supportGrantsInForce<T extends TenantRecord>(tenantId: string, at: string, givenBy: { notBy: string } | { by: string }, limit: number): Promise<T[]> {
    this.grantQueries.push({ tenantId, query: 'in-force' });
    type Grant = TenantRecord & { revokedAt: string | null; expiresAt: string; endsAt?: string; createdBy: { subject: string; person?: string | null } };
    const by = (g: Grant, p: string) => g.createdBy.subject === p || (g.createdBy.person ?? g.createdBy.subject) === p;
    const found = [...this.records.values()]
      .map((r) => ({ g: r.value as Grant, etag: r.etag }))
      .filter(({ g }) => g.tenantId === tenantId && g.type === 'support-grant' && this.stateAt(g, at) === 'in-use')
      .filter(({ g }) => ('notBy' in givenBy ? !by(g, givenBy.notBy) : by(g, givenBy.by)))
      .sort((a, b) => b.g.expiresAt.localeCompare(a.g.expiresAt))
      .slice(0, limit);
    return found.map(({ g, etag }) => withStoredVersion(structuredClone(g) as unknown as T, String(etag)));
  }
}

export class InMemoryExportBlobs implements ExportBlobsPort {
  readonly blobs = new Map<string, Buffer>();
  /** When storage created each (by the clock the fake was given); one a test sets in `blobs` has none. */
  readonly createdOn = new Map<string, string>();
  /** Tenants whose export container exists (ensureContainer): an upload into another fails, as storage's does. */
  readonly containers = new Set<string>();
  constructor(private readonly now: () => Date = () => new Date()) {}
  async ensureContainer(tenantId: string): Promise<void> {
    this.containers.add(tenantId);
  }
  private containerThere(tenantId: string): void {
    if (!this.containers.has(tenantId)) throw new Error(`export container ${blobLayout.exportsContainer(tenantId)} does not exist: POST /exports creates it, the export worker cannot`);
  }
  async upload(tenantId: string, blobName: string, source: Readable, _contentType?: string): Promise<void> {
    this.containerThere(tenantId);
    const chunks: Buffer[] = [];
    for await (const chunk of source) chunks.push(Buffer.from(chunk as Uint8Array));
    this.blobs.set(`${tenantId}/${blobName}`, Buffer.concat(chunks));
    this.createdOn.set(`${tenantId}/${blobName}`, this.now().toISOString());
    this.committed.delete(`${tenantId}/${blobName}`);
    this.written(`${tenantId}/${blobName}`);
  }
  async putIf(tenantId: string, blobName: string, bytes: Buffer, _contentType: string, condition: { ifMatch: string } | { ifNoneMatch: '*' }): Promise<{ etag: string } | 'conflict'> {
    this.containerThere(tenantId);
    const key = `${tenantId}/${blobName}`;
    if ('ifMatch' in condition ? this.etagOf(key) !== condition.ifMatch : this.blobs.has(key)) return 'conflict';
    this.blobs.set(key, Buffer.from(bytes));
    this.createdOn.set(key, this.now().toISOString());
    this.committed.delete(key);
    return { etag: this.written(key) };
  }
  /** Staged blocks by blob, then id; and each blob's committed blocks (a blob set in `blobs` by a test has none). */
  readonly staged = new Map<string, Map<string, Buffer>>();
  readonly committed = new Map<string, { id: string; bytes: Buffer }[]>();
  async stageBlock(tenantId: string, blobName: string, blockId: string, bytes: Buffer): Promise<void> {
    this.containerThere(tenantId);
    const key = `${tenantId}/${blobName}`;
    if (!this.staged.has(key)) this.staged.set(key, new Map());
    this.staged.get(key)!.set(blockId, Buffer.from(bytes));
  }
  /** As storage's Put Block List (`Latest`): a staged block first, else the committed one; an id of neither is refused. */
  async commitBlocks(tenantId: string, blobName: string, blockIds: string[], options: { contentType?: string; ifMatch?: string; ifNoneMatch?: '*' } = {}): Promise<{ etag: string } | 'conflict'> {
    this.containerThere(tenantId);
    const key = `${tenantId}/${blobName}`;
    if (options.ifMatch !== undefined && this.etagOf(key) !== options.ifMatch) return 'conflict';
    if (options.ifNoneMatch === '*' && this.blobs.has(key)) return 'conflict';
    const staged = this.staged.get(key) ?? new Map<string, Buffer>();
    const before = new Map((this.committed.get(key) ?? []).map((b) => [b.id, b.bytes]));
    const blocks = blockIds.map((id) => {
      const bytes = staged.get(id) ?? before.get(id);
      if (!bytes) throw new Error(`InvalidBlockList: no block ${id} of ${blobName}`);
      return { id, bytes };
    });
    this.staged.delete(key);
    this.committed.set(key, blocks);
    this.blobs.set(key, Buffer.concat(blocks.map((b) => b.bytes)));
    if (!this.createdOn.has(key)) this.createdOn.set(key, this.now().toISOString());
    return { etag: this.written(key) };
  }
  /** Each blob's ETag, new at each write (one a test sets in `blobs` has none until then: its length stands in). */
  private readonly etags = new Map<string, string>();
  private etagCount = 0;
  private written(key: string): string {
    const etag = `"w${++this.etagCount}"`;
    this.etags.set(key, etag);
    return etag;
  }
  private etagOf(key: string): string | undefined {
    const bytes = this.blobs.get(key);
    return bytes ? (this.etags.get(key) ?? `"${bytes.length}"`) : undefined;
  }
  async committedBlocks(tenantId: string, blobName: string): Promise<{ id: string; size: number }[]> {
    const key = `${tenantId}/${blobName}`;
    if (!this.blobs.has(key)) return [];
    return (this.committed.get(key) ?? []).map((b) => ({ id: b.id, size: b.bytes.length }));
  }
  async read(tenantId: string, blobName: string, range?: { offset: number; count?: number }): Promise<BlobRead> {
    const bytes = this.blobs.get(`${tenantId}/${blobName}`);
    if (!bytes) throw new Error(`no export blob ${blobName}`);
    return readOf(bytes, 'application/zip', range, null, this.etagOf(`${tenantId}/${blobName}`));
  }
  /** One read, as the adapter's single GET (not a look then a read another writer could come between). */
  async readIfExists(tenantId: string, blobName: string, range?: { offset: number; count?: number }): Promise<BlobRead | null> {
    const bytes = this.blobs.get(`${tenantId}/${blobName}`);
    return bytes ? readOf(bytes, 'application/zip', range, null, this.etagOf(`${tenantId}/${blobName}`)) : null;
  }
  async delete(tenantId: string, blobName: string): Promise<void> {
    this.blobs.delete(`${tenantId}/${blobName}`);
    this.createdOn.delete(`${tenantId}/${blobName}`);
    this.staged.delete(`${tenantId}/${blobName}`);
    this.committed.delete(`${tenantId}/${blobName}`);
    this.etags.delete(`${tenantId}/${blobName}`);
  }
  async deleteIf(tenantId: string, blobName: string, condition: { ifMatch: string }): Promise<'deleted' | 'conflict'> {
    if (this.etagOf(`${tenantId}/${blobName}`) !== condition.ifMatch) return 'conflict';
    await this.delete(tenantId, blobName);
    return 'deleted';
  }
  /** In key order; the cursor is the key listed last. */
  async unsafeListStored(cursor: string | null, limit: number): Promise<{ items: StoredExportBlob[]; next: string | null }> {
    const keys = [...this.blobs.keys()].sort().filter((k) => cursor === null || k > cursor);
    const page = keys.slice(0, limit);
    const items = page.map((k) => ({ tenantId: k.slice(0, k.indexOf('/')), blobName: k.slice(k.indexOf('/') + 1), createdOn: this.createdOn.get(k) ?? null }));
    return { items, next: keys.length > limit ? page.at(-1)! : null };
  }
}

/** Export jobs with an etag per write, refused like Cosmos's If-Match when the etag is not the current one. */
export class InMemoryExportJobs implements ExportJobsPort {
  readonly jobs = new Map<string, ExportJob>();
  private readonly etags = new Map<string, string>();
  private version = 0;
  /** Audit outbox items written with a job (shared with the catalog's, which InMemoryAuditOutboxItems reads). */
  constructor(private readonly outbox = new Map<string, AuditOutboxItem>()) {}
  private store(job: ExportJob): string {
    const etag = `"${++this.version}"`;
    this.jobs.set(`${job.tenantId}/${job.id}`, structuredClone(job));
    this.etags.set(`${job.tenantId}/${job.id}`, etag);
    return etag;
  }
  async create(job: ExportJob, outbox?: AuditOutboxItem): Promise<void> {
    const sealed = outbox && (await sealedInMemory(this.outbox, outbox));
    if (this.jobs.has(`${job.tenantId}/${job.id}`)) throw Object.assign(new Error('conflict'), { code: 409 });
    this.store(job);
    keepOutboxItem(this.outbox, sealed);
  }
  async get(tenantId: string, id: string): Promise<ExportJob | null> {
    return (await this.getVersioned(tenantId, id))?.item ?? null;
  }
  async getVersioned(tenantId: string, id: string): Promise<Versioned<ExportJob> | null> {
    const job = this.jobs.get(`${tenantId}/${id}`);
    return job ? { item: structuredClone(job), etag: this.etags.get(`${tenantId}/${id}`)! } : null;
  }
  async replace(job: ExportJob, etag: string, outbox?: AuditOutboxItem): Promise<{ etag: string } | 'conflict'> {
    const sealed = outbox && (await sealedInMemory(this.outbox, outbox));
    if (this.etags.get(`${job.tenantId}/${job.id}`) !== etag) return 'conflict';
    const written = this.store(job);
    keepOutboxItem(this.outbox, sealed);
    return { etag: written };
  }
  /** The same condition as the Cosmos query. */
  async unsafeListDue(now: Date, staleBefore: Date, limit: number, tenantId?: string): Promise<Versioned<ExportJob>[]> {
    const due = [...this.jobs.values()].filter(
      (j) => (!tenantId || j.tenantId === tenantId) && (((j.status !== 'expired' || j.completedSeal !== undefined) && j.expiresAt <= now.toISOString()) || (j.status === 'running' && j.heartbeatAt < staleBefore.toISOString())),
    );
    return Promise.all(due.slice(0, limit).map(async (j) => (await this.getVersioned(j.tenantId, j.id))!));
  }
  async unsafeListHoldingDisposable(now: Date, limit: number, tenantId?: string, afterId = ''): Promise<Versioned<ExportJob>[]> {
    const at = now.toISOString();
    const due = [...this.jobs.values()]
      .filter((j) => (!tenantId || j.tenantId === tenantId) && (j.status === 'completed' || j.completedSeal !== undefined) && j.expiresAt > at && j.disposableFrom !== undefined && j.disposableFrom <= at && j.disposable !== undefined && j.id > afterId)
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    return Promise.all(due.slice(0, limit).map(async (j) => (await this.getVersioned(j.tenantId, j.id))!));
  }
  async unsafeListLive(now: Date, limit: number, tenantId?: string, afterId = ''): Promise<Versioned<ExportJob>[]> {
    const at = now.toISOString();
    const live = [...this.jobs.values()].filter((j) => (!tenantId || j.tenantId === tenantId) && (j.status === 'completed' || j.completedSeal !== undefined) && j.expiresAt > at && j.id > afterId).sort((a, b) => (a.id < b.id ? -1 : 1));
    return Promise.all(live.slice(0, limit).map(async (j) => (await this.getVersioned(j.tenantId, j.id))!));
  }
  /** Paged in id order; the token is the last id of the page (a job withdrawn meanwhile moves no other past it). */
  async listExposed(tenantId: string, now: Date, limit: number, continuationToken?: string): Promise<Page<Versioned<ExportJob>>> {
    const at = now.toISOString();
    const due = [...this.jobs.values()]
      .filter((j) => j.tenantId === tenantId && (j.status === 'running' || ((j.status === 'completed' || j.completedSeal !== undefined) && j.expiresAt > at)))
      .filter((j) => continuationToken === undefined || j.id > continuationToken)
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    const items = await Promise.all(due.slice(0, limit).map(async (j) => (await this.getVersioned(j.tenantId, j.id))!));
    return { items, continuationToken: due.length > limit ? items[items.length - 1]!.item.id : null };
  }
  async list(tenantId: string, limit: number): Promise<Page<ExportJob>> {
    return { items: [...this.jobs.values()].filter((j) => j.tenantId === tenantId).slice(0, limit).map((j) => structuredClone(j)), continuationToken: null };
  }
  /** The export-start gate's version per tenant (absent: none written yet). */
  private readonly gates = new Map<string, number>();
  async runningUnderGate(tenantId: string): Promise<{ running: number; gate: string | null }> {
    const gate = this.gates.get(tenantId);
    const running = [...this.jobs.values()].filter((j) => j.tenantId === tenantId && j.status === 'running').length;
    return { running, gate: gate === undefined ? null : String(gate) };
  }
  async createGated(job: ExportJob, gate: string | null, outbox?: AuditOutboxItem): Promise<'created' | 'conflict'> {
    const sealed = outbox && (await sealedInMemory(this.outbox, outbox));
    const now = this.gates.get(job.tenantId);
    if ((now === undefined ? null : String(now)) !== gate || this.jobs.has(`${job.tenantId}/${job.id}`)) return 'conflict';
    this.gates.set(job.tenantId, (now ?? 0) + 1);
    this.store(job);
    keepOutboxItem(this.outbox, sealed);
    return 'created';
  }

}

/** A parked batch as the Cosmos adapter stores it (adapters/azure/audit-pending.ts): a test plants or edits one here. */
export interface InMemoryParkedBatch {
  id: string;
  tenantId: string;
  type: 'audit-pending';
  entries: AuditInput[];
  seal?: { keyVersion?: string; mac: string };
}

/**
 * Entries in order, per tenant and month, each partition numbered and keyed-hash chained as the Cosmos log writes it
 * (`chained`, the default: witnesses count only keyed entries, audit-pages.ts auditHolds), so the archive's verifier can
 * check it; a test of entries from before keying turns it off.
 */
export class InMemoryAuditLog implements AuditLogPort {
  readonly entries: AuditEntry[] = [];
  /** Parked batches, sealed where parked and judged when drained, as the Cosmos adapter's. */
  readonly pending: InMemoryParkedBatch[] = [];
  private readonly parkedAt = new WeakMap<InMemoryParkedBatch, string>();
  chained = true;
  /** One unnamed key of zeros; a test of rotation puts a keyring of versions in its place. */
  chainKeys: ChainKeyring = singleKeyring(async () => Buffer.alloc(32));
  /** When the store took each entry (Cosmos DB's `_ts`, seconds, which no writer sets), by `now`: what `list` tells. */
  private readonly storedAt = new WeakMap<AuditEntry, number>();
  constructor(private readonly now: () => number = Date.now) {}
  readonly chainKey = async (): Promise<Buffer> => (await this.chainKeys.current()).key;
  async append(input: AuditInput): Promise<AuditEntry> {
    return (await this.appendBatch([input]))[0]!;
  }
  async appendBatch(inputs: AuditInput[], opts: { sendBy?: number } = {}): Promise<AuditEntry[]> {
    if (opts.sendBy !== undefined && opts.sendBy < Date.now()) throw new Error('audit entry not sent by its send-by time');
    const key = this.chained ? await this.chainKeys.current() : null;
    const storedAt = Math.floor(this.now() / 1000);
    const written = inputs.map((input) => {
      const partition = `${input.tenantId}:${input.at.slice(0, 7)}`;
      if (key) {
        const last = this.entries.filter((e) => e.partition === partition).at(-1);
        const body: Omit<AuditEntry, 'hash'> = { id: entryId((last?.seq ?? 0) + 1), partition, seq: (last?.seq ?? 0) + 1, prevHash: last?.hash ?? GENESIS_HASH, alg: CHAIN_ALG, ...(key.version !== null ? { keyVersion: key.version } : {}), ...input };
        const entry: AuditEntry = { ...body, hash: hashEntry(body, key.key) };
        this.entries.push(entry);
        this.storedAt.set(entry, storedAt);
        return entry;
      }
      const seq = this.entries.length + 1;
      const entry: AuditEntry = { ...input, id: entryId(seq), seq, prevHash: GENESIS_HASH, hash: GENESIS_HASH, partition };
      this.entries.push(entry);
      this.storedAt.set(entry, storedAt);
      return entry;
    });
    return written;
  }
  /** As the Cosmos log: looked up in the first entry's partition (tenant and month). */
  async appendOnce(inputs: AuditInput[], opts: { sendBy?: number } = {}): Promise<boolean> {
    const first = inputs[0];
    if (!first) return false;
    const partition = `${first.tenantId}:${first.at.slice(0, 7)}`;
    const listed = this.entries.filter((e) => e.partition === partition && inputs.some((i) => i.requestId === e.requestId)).map((e) => (this.storedAt.has(e) ? { ...e, _ts: this.storedAt.get(e)! } : e));
    // Unchained (a test of entries from before keying): any entry so named counts, as it did then.
    const missing = this.chained ? await notYetLogged(inputs, listed, this.chainKeys) : inputs.filter((i) => !listed.some((e) => e.requestId === i.requestId && e.action === i.action && e.outcome === i.outcome));
    if (missing.length === 0) return false;
    await this.appendBatch(missing, opts);
    return true;
  }
  highWater(tenantId?: string, month?: string): number {
    return this.chained ? (this.entries.filter((e) => e.partition === `${tenantId}:${month}`).at(-1)?.seq ?? 0) : this.entries.length;
  }
  async end(tenantId?: string, month?: string): Promise<{ seq: number; hash: string }> {
    if (!this.chained) return { seq: this.entries.length, hash: GENESIS_HASH };
    const last = this.entries.filter((e) => e.partition === `${tenantId}:${month}`).at(-1);
    return { seq: last?.seq ?? 0, hash: last?.hash ?? GENESIS_HASH };
  }
  async hashAt(tenantId: string, month: string, seq: number): Promise<string | null> {
    if (!this.chained) return GENESIS_HASH; // as end(): unchained entries are numbered across partitions, hashed by none
    return this.entries.find((e) => e.partition === `${tenantId}:${month}` && e.seq === seq)?.hash ?? null;
  }
  async savePending(inputs: AuditInput[]): Promise<void> {
    if (inputs.length === 0) return;
    const batch = await sealedParkedBatch({ id: `audit-pending:${randomUUID()}`, tenantId: inputs[0]!.tenantId, type: 'audit-pending' as const, entries: inputs }, this.chainKeys);
    this.pending.push(batch);
    this.parkedAt.set(batch, new Date(this.now()).toISOString());
  }
  async unsafeAppendPending(unsealed: (batch: UnsealedParkedBatch) => void): Promise<number> {
    let appended = 0;
    for (const batch of this.pending.splice(0)) {
      const why = await parkedBatchUnsealedBecause(batch, this.parkedAt.get(batch) ?? null, this.chainKeys);
      if (why !== null) unsealed({ id: batch.id, tenantId: batch.tenantId, entries: batch.entries.length, reason: why });
      appended += (await this.appendBatch(why === null ? batch.entries : batch.entries.map(markedOutboxUnsealed))).length;
    }
    return appended;
  }
  async headSeq(tenantId?: string, month?: string): Promise<number> {
    return this.highWater(tenantId, month);
  }
  /** Every filter the Cosmos query applies, newest first (ORDER BY c.id DESC); one page. */
  async list(tenantId: string, month: string, limit: number, _continuationToken?: string, filter: AuditFilter = {}): Promise<Page<AuditEntry & { _ts?: number }>> {
    const items = (await this.all(tenantId, month))
      .filter(
        (e) =>
          (!filter.from || e.at >= filter.from) &&
          (!filter.to || e.at <= filter.to) &&
          (!filter.actor || e.actor.subject === filter.actor) &&
          (!filter.action || e.action === filter.action) &&
          (!filter.target || e.target === filter.target) &&
          (!filter.requestId || e.requestId === filter.requestId),
      )
      // As the Cosmos query: newest first by time (equal instants: the later in the chain first).
      .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : b.seq - a.seq));
    return { items: items.slice(0, limit).map((e) => (this.storedAt.has(e) ? { ...e, _ts: this.storedAt.get(e)! } : e)), continuationToken: null };
  }
  async all(tenantId: string, month: string): Promise<AuditEntry[]> {
    return this.entries.filter((e) => e.partition === `${tenantId}:${month}`);
  }
  /** As the Cosmos query: id order, a page at a time. */
  async *inChainOrder(tenantId: string, month: string, opts: { pageSize?: number; begun?: () => void } = {}): AsyncIterable<AuditEntry[]> {
    opts.begun?.();
    const sorted = (await this.all(tenantId, month)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const size = opts.pageSize ?? 500;
    for (let i = 0; i < sorted.length; i += size) yield sorted.slice(i, i + size);
  }
  async unsafeListPartitions(): Promise<{ tenantId: string; month: string }[]> {
    return [...new Set(this.entries.map((e) => e.partition))].map((p) => ({ tenantId: p.split(':')[0]!, month: p.split(':')[1]! }));
  }
}

export class InMemoryValidationQueue implements ValidationQueuePort {
  readonly name = 'rendition-validation';
  /** Every request sent, in order; `messages` says how they were grouped. */
  readonly sent: ValidationRequest[] = [];
  readonly messages: ValidationRequest[][] = [];
  readonly poisoned: string[] = [];
  async send(requests: readonly ValidationRequest[]): Promise<void> {
    this.messages.push([...requests]);
    this.sent.push(...requests);
  }
  async receive(): Promise<QueuedMessage[]> {
    return [];
  }
  async complete(): Promise<void> {}
  async poison(message: QueuedMessage): Promise<void> {
    this.poisoned.push(message.text);
  }
  async peekPoison(): Promise<string[]> {
    return [...this.poisoned];
  }
}

/**
 * The `export-work` queue, delivering at once: each message's work runs right after the sender's turn, as the in-process
 * worker did before the queue (inMemoryDeps binds `runner` to its deps; a world that changes its deps in place keeps
 * it; a test spreading other ports into its deps binds its own, withExportWork). A crash is logged, as the queue
 * trigger's failed invocation is, and delivered again (MAX_DEQUEUE_COUNT times, then `poisoned`). `idle()` waits for the work queued so far; `failing` makes sends fail (a queue outage);
 * `hanging` makes them never answer: refused at once when the sender gave a bound (as if it had passed; `bounds` records
 * it), never settled when it gave none.
 */
export class InMemoryExportWork implements ExportWorkPort {
  readonly sent: ExportWorkMessage[] = [];
  runner: ((text: string) => Promise<unknown>) | null = null;
  failing: Error | null = null;
  hanging = false;
  readonly bounds: (number | undefined)[] = [];
  readonly poisoned: string[] = [];
  private readonly pending = new Set<Promise<unknown>>();
  async enqueue(tenantId: string, exportId: string, options: { withinMs?: number } = {}): Promise<void> {
    if (this.failing) throw this.failing;
    if (this.hanging) {
      this.bounds.push(options.withinMs);
      if (options.withinMs === undefined) return new Promise<void>(() => undefined);
      throw new Error('The operation was aborted due to timeout');
    }
    this.sent.push({ tenantId, exportId });
    const run = this.runner;
    if (!run) return;
    const work = new Promise((r) => setImmediate(r)).then(() => run(exportWorkMessageText(tenantId, exportId)));
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}

/** `deps` with an export queue of its own that runs the work with these deps (a test's spread of inMemoryDeps() with other ports). */
export function withExportWork<D extends Omit<InMemoryDeps, 'exportWork'>>(deps: D): D & { exportWork: InMemoryExportWork } {
  const exportWork = new InMemoryExportWork();
  const bound = Object.assign(deps, { exportWork });
  exportWork.runner = async (text) => {
    // As the queue trigger: a failed run is delivered again, MAX_DEQUEUE_COUNT times, then the message is poison; each
    // with its delivery count, so a redelivery watches the job (REDELIVERY_QUIET_SECONDS) as in Azure: the world's
    // clock is moved on that long instead of waiting. Broke: every delivery was the first, and a redelivery ran nothing.
    for (let delivery = 1; ; delivery++) {
      try {
        return await runQueuedExport(text, bound, { dequeueCount: delivery, pause: async (ms) => (bound.clock as Partial<FakeClock>).advance?.(ms) });
      } catch (err) {
        if (delivery < MAX_DEQUEUE_COUNT) continue;
        exportWork.poisoned.push(text);
        bound.log.error('export worker crashed', { error: String(err) });
        return null;
      }
    }
  };
  return bound;
}

export const inMemoryLinks: LinksPort = {
  readOnlyUrl: async (containerName, blobName, opts, now) => ({ url: `http://links.invalid/${containerName}/${blobName}`, expiresOn: new Date(Math.floor(Math.min(now.getTime() + opts.ttlSeconds * 1000, opts.notAfter?.getTime() ?? Infinity) / 1000) * 1000) }),
};

export const staticSecrets = (values: Record<string, string> = {}): SecretSource => ({
  get: async (name) => values[name] ?? `secret-${name}`,
  versioned: async (name, version) => {
    if (version) throw new Error(`secret ${name} has no version ${version}`);
    return { value: values[name] ?? `secret-${name}`, version: null };
  },
});

/** A logger that keeps its lines, for tests that check what was logged. */
export class RecordingLogger implements Logger {
  readonly lines: { level: 'info' | 'warn' | 'error'; message: string; fields?: Record<string, unknown> }[] = [];
  info(message: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: 'info', message, ...(fields ? { fields } : {}) });
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: 'warn', message, ...(fields ? { fields } : {}) });
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: 'error', message, ...(fields ? { fields } : {}) });
  }
}

/** A normaliser that makes a tiny fake rendition (one page per file, every file a PNG) without decoding. */
export class FakeNormaliser implements Normaliser {
  readonly calls: NormaliseInput[] = [];
  async normalise(input: NormaliseInput): Promise<NormaliseResult> {
    this.calls.push(input);
    return {
      rendition: Buffer.from(`%PDF-fake ${input.documentId}`),
      pageCount: input.files.length,
      originals: input.files.map(() => ({ mediaType: 'image/png', extension: 'png' })),
      conversion: { normaliser: 'fake', pageCount: input.files.length, pages: [], conformance: 'none' },
    };
  }
  /** The same fake rendition, written to `renditionPath`. */
  async normaliseToFile(input: NormaliseInput, renditionPath: string): Promise<NormaliseResult<SpooledFile>> {
    const result = await this.normalise(input);
    await writeFile(renditionPath, result.rendition);
    return { ...result, rendition: { path: renditionPath, size: result.rendition.length, sha256: createHash('sha256').update(result.rendition).digest('hex') } };
  }
  async close(): Promise<void> {}
}

/** Refuses every credential: unit tests that need a principal hand in their own authenticator. */
export const refuseEveryCredential: Authenticates = {
  authenticate: async (): Promise<Principal> => {
    throw new ArchiveError('unauthenticated');
  },
};

export interface InMemoryDeps extends Deps {
  blobs: InMemoryBlobArchive;
  catalog: InMemoryCatalog;
  audit: InMemoryAuditLog;
  auditOutboxItems: InMemoryAuditOutboxItems;
  validationQueue: InMemoryValidationQueue;
  exportWork: InMemoryExportWork;
  tenantRecords: InMemoryTenantRecords;
  retention: RetentionDeps & { timers: InMemoryTimerState; policies: InMemoryRetentionPolicies };
}

/** A whole `Deps` over the in-memory ports; a test replaces any part by spreading (`{ ...inMemoryDeps(), log }`). */
export function inMemoryDeps(config = loadConfig(minimalLocalEnv)): InMemoryDeps {
  const clock = new FakeClock('2025-03-01T12:00:00Z');
  const blobs = new InMemoryBlobArchive(() => clock.now());
  const catalog = new InMemoryCatalog();
  const tenantRecords = new InMemoryTenantRecords(catalog.outbox);
  const secrets = staticSecrets();
  const timers = new InMemoryTimerState();
  const policies = new InMemoryRetentionPolicies(catalog.outbox, tenantRecords);
  const rights = new TenantRights(tenantRecords);
  const log = new RecordingLogger();
  const validationQueue = new InMemoryValidationQueue();
  const audit = new InMemoryAuditLog(() => clock.now().getTime());
  const auditOutboxItems = new InMemoryAuditOutboxItems(catalog);
  outboxKeyrings.set(catalog.outbox, () => audit.chainKeys);
  const deps: Omit<InMemoryDeps, 'exportWork'> = {
    config,
    blobs,
    catalog,
    links: inMemoryLinks,
    exportBlobs: new InMemoryExportBlobs(() => clock.now()),
    exportJobs: new InMemoryExportJobs(catalog.outbox),
    audit,
    auditOutboxItems,
    auditOutbox: new AuditOutbox({ audit, auditOutboxItems, log }, 0),
    authenticator: refuseEveryCredential,
    tenantRecords,
    secrets,
    rights,
    sodPolicy: new SodPolicyProposals(tenantRecords, rights, config.AUTH_RIGHTS_SOURCE, { blobs, log, audit }),
    clock,
    log,
    refusals: new RefusalLimiter({ burst: 1000, perMinute: 1000 }),
    retention: { catalog: new InMemoryRetentionCatalog(catalog), policies, timers, disposer: new InMemoryDisposer(blobs), orphans: new InMemoryOrphanRecords(catalog.outbox) },
    normaliser: new FakeNormaliser(),
    validationQueue,
    validationRequests: new ValidationRequests({ validationQueue, log }, 0),
    errorStatus: statusOf,
  };
  return withExportWork(deps);
}

/**
 * The tenant record types the Cosmos adapter puts through the instance's settings cache (adapters/azure/tenant-records.ts
 * CACHED_TYPES; the stale-instance sweep checks the two agree).
 */
export const CACHED_RECORD_TYPES: ReadonlySet<string> = new Set(['rights-set', 'rights-assignment', 'sod-policy', 'person-sighting']);

/**
 * The shared tenant records as one instance sees them through its own settings cache, as the Cosmos adapter reads and
 * writes them (tenant-records.ts): cached types read through the cache unless `fresh`; a write through this instance
 * forgets the ids it writes, before and after; another instance's writes are not seen until the entry's lifetime ends.
 */
function cachedTenantRecords(records: InMemoryTenantRecords, cache: TenantSettingsCache): InMemoryTenantRecords {
  const forgetting = <R>(tenantId: string, ids: readonly string[], write: () => Promise<R>): Promise<R> => {
    const forget = () => ids.forEach((id) => cache.invalidate(tenantId, id));
    forget();
    return write().finally(forget);
  };
  const idOf = (w: TenantRecordWrite) => (w.op === 'delete' ? w.id : w.record.id);
  const own: Partial<Record<keyof TenantRecordsPort, unknown>> = {
    get: <T extends TenantRecord>(tenantId: string, id: string, type: T['type'], opts: { fresh?: boolean } = {}) =>
      CACHED_RECORD_TYPES.has(type) && !opts.fresh ? cache.get(tenantId, id, () => records.get<T>(tenantId, id, type)) : records.get<T>(tenantId, id, type),
    create: <T extends TenantRecord>(record: T, outbox?: AuditOutboxItem) => forgetting(record.tenantId, [record.id], () => records.create(record, outbox)),
    replace: <T extends TenantRecord>(record: T, etag: string, outbox?: AuditOutboxItem) => forgetting(record.tenantId, [record.id], () => records.replace(record, etag, outbox)),
    upsert: <T extends TenantRecord>(record: T, outbox?: AuditOutboxItem) => forgetting(record.tenantId, [record.id], () => records.upsert(record, outbox)),
    delete: (tenantId: string, id: string, outbox?: AuditOutboxItem, ifMatch?: string) => forgetting(tenantId, [id], () => records.delete(tenantId, id, outbox, ifMatch)),
    batch: (tenantId: string, writes: readonly TenantRecordWrite[], outbox?: AuditOutboxItem) => forgetting(tenantId, writes.map(idOf), () => records.batch(tenantId, writes, outbox)),
  };
  return new Proxy(records, {
    get: (target, prop, receiver) => (prop in own ? own[prop as keyof typeof own] : typeof Reflect.get(target, prop) === 'function' ? (Reflect.get(target, prop, receiver) as (...a: unknown[]) => unknown).bind(target) : Reflect.get(target, prop)),
    set: (target, prop, value) => (prop in own ? ((own[prop as keyof typeof own] = value), true) : Reflect.set(target, prop, value)),
  });
}

/** The shared retention policies through one instance's settings cache, as the Cosmos adapter (retention-store.ts RetentionPolicies). */
function cachedRetentionPolicies(policies: InMemoryRetentionPolicies, cache: TenantSettingsCache): InMemoryRetentionPolicies {
  const own: Partial<Record<keyof RetentionPoliciesPort, unknown>> = {
    get: async (tenantId: string) => (await cache.get(tenantId, 'retention-policy', () => policies.getVersioned(tenantId))).policy,
    getVersioned: (tenantId: string, opts: { fresh?: boolean } = {}) => (opts.fresh ? policies.getVersioned(tenantId) : cache.get(tenantId, 'retention-policy', () => policies.getVersioned(tenantId))),
    put: (...args: Parameters<RetentionPoliciesPort['put']>) => {
      const [tenantId, , , , , , , , also = []] = args;
      const forget = () => ['retention-policy', ...also.map((w) => (w.op === 'delete' ? w.id : w.record.id))].forEach((id) => cache.invalidate(tenantId, id));
      forget();
      return policies.put(...args).finally(forget);
    },
  };
  return new Proxy(policies, {
    get: (target, prop, receiver) => (prop in own ? own[prop as keyof typeof own] : typeof Reflect.get(target, prop) === 'function' ? (Reflect.get(target, prop, receiver) as (...a: unknown[]) => unknown).bind(target) : Reflect.get(target, prop)),
    set: (target, prop, value) => (prop in own ? ((own[prop as keyof typeof own] = value), true) : Reflect.set(target, prop, value)),
  });
}

/** One instance over shared stores: its own settings cache (`settings`) in front of the tenant records and retention policies. */
export type InstanceDeps = InMemoryDeps & { settings: TenantSettingsCache };

/**
 * Instances of one archive (shared/app.ts wires each): the same stores (`inMemoryDeps()`'s, all of them), and per
 * instance what an instance keeps in memory: its tenant settings cache (ARCHIVE_TENANT_SETTINGS_CACHE_SECONDS, read on
 * the shared clock), the rights and SoD services over it, its audit outbox releaser, gathered validation requests and
 * refusal limiter. The authenticator is each instance's own as well: the test gives each one (they refuse all by default).
 * The in-memory audit log has no chain and no per-instance chain end: both instances append to the one list.
 */
export function inMemoryInstances(count: number, config = loadConfig(minimalLocalEnv)): InstanceDeps[] {
  const shared = inMemoryDeps(config);
  return Array.from({ length: count }, () => {
    const settings = new TenantSettingsCache(config.ARCHIVE_TENANT_SETTINGS_CACHE_SECONDS * 1000, shared.clock);
    const tenantRecords = cachedTenantRecords(shared.tenantRecords, settings);
    const rights = new TenantRights(tenantRecords);
    const log = shared.log;
    return {
      ...shared,
      settings,
      tenantRecords,
      rights,
      sodPolicy: new SodPolicyProposals(tenantRecords, rights, config.AUTH_RIGHTS_SOURCE, { blobs: shared.blobs, log, audit: shared.audit }),
      auditOutbox: new AuditOutbox({ audit: shared.audit, auditOutboxItems: shared.auditOutboxItems, log }, 0),
      refusals: new RefusalLimiter({ burst: 1000, perMinute: 1000 }),
      validationRequests: new ValidationRequests({ validationQueue: shared.validationQueue, log }, 0),
      retention: { ...shared.retention, policies: cachedRetentionPolicies(shared.retention.policies, settings) },
    };
  });
}

/**
 * The persons' sign-ins with a claimed rights set, as the authenticator records them (person-sightings.ts): for tests
 * whose principals are made up, where what the tenant knows of a person's rights now is asked (a proposal's proposer
 * must still hold the right when it is approved, proposals.ts).
 */
export async function signedIn(records: TenantRecordsPort, tenantId: string, persons: readonly string[], at: Date, rightsSet = 'tenant-admin'): Promise<void> {
  for (const person of persons) {
    const record: PersonSightingRecord = { id: personSightingRecordId(person), tenantId, type: 'person-sighting', person, rightsSet, seenAt: at.toISOString() };
    // Sealed as the authenticator seals it, with the in-memory audit log's chain key.
    await records.upsert(await sealSighting(record, { audit: new InMemoryAuditLog() }));
  }
}

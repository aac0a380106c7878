import { BlobServiceClient, ContainerClient, RestError } from '@azure/storage-blob';
import { walkContainers } from './container-walk';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { blobLayout, DOCUMENTS_CONTAINER_PREFIX } from '../../kernel/blob-layout';
import { ArchiveError } from '../../kernel/errors';
import type { BlobArchivePort, BlobRead, BlobWorm, CreateOnlyOutcome, ListedBlob, SpooledFile, WormMode, WormSettings } from '../../ports';

/**
 * The document blobs of every tenant. Create-only writes with the WORM policy set in the
 * same Put Blob call. Deliberately has no delete: only retention disposal removes versions.
 */
export class BlobArchive implements BlobArchivePort {
  private readonly checked = new Set<string>();
  /** One client per tenant container: building one (URL parsing, a storage context) cost every call ~0.1 ms of CPU. */
  private readonly containers = new Map<string, ContainerClient>();

  constructor(
    private readonly service: BlobServiceClient,
    private readonly worm: WormMode,
    private readonly policyMode: 'Locked' | 'Unlocked' = 'Locked',
  ) {}

  static containerName(tenantId: string): string {
    return blobLayout.documentsContainer(tenantId);
  }

  private container(tenantId: string): ContainerClient {
    let client = this.containers.get(tenantId);
    if (!client) this.containers.set(tenantId, (client = this.service.getContainerClient(BlobArchive.containerName(tenantId))));
    return client;
  }

  /** Before the first write to a tenant: the container exists and (in enforce mode) has version-level WORM. */
  async prepareTenant(tenantId: string): Promise<void> {
    if (this.checked.has(tenantId)) return;
    const container = this.container(tenantId);
    await container.createIfNotExists();
    if (this.worm === 'enforce') {
      const props = await container.getProperties();
      if (!props.isImmutableStorageWithVersioningEnabled) {
        throw new ArchiveError('worm_unavailable', {
          detail: 'The tenant container does not have version-level immutability enabled; the archive refuses to store documents it cannot protect.',
        });
      }
    }
    this.checked.add(tenantId);
  }

  /**
   * Create-only upload; a second write to the same name never overwrites. A name that is
   * taken is only as good as its bytes: 'identical' when the stored blob has exactly ours
   * (a retry, or a race with the same bytes), 'different' when it holds someone else's.
   */
  async putCreateOnly(tenantId: string, blobName: string, bytes: Buffer, contentType: string, worm: WormSettings, metadata: Record<string, string>): Promise<CreateOnlyOutcome> {
    if (await this.createOnly(tenantId, blobName, bytes, bytes.length, contentType, worm, metadata)) return 'created';
    // Read back rather than trust metadata: a recorded checksum is only a claim about the bytes.
    return (await this.holdsBytes(tenantId, blobName, bytes.length, createHash('sha256').update(bytes).digest('hex'))) ? 'identical' : 'different';
  }

  /**
   * The same single Put Blob, its body streamed from the file (a factory, so the SDK's retry
   * reopens it): memory stays at the stream's buffers whatever the size. Put Blob takes up to
   * 5,000 MiB, far above ARCHIVE_MAX_UPLOAD_BYTES, so no staged blocks are needed.
   */
  async putFileCreateOnly(tenantId: string, blobName: string, file: SpooledFile, contentType: string, worm: WormSettings, metadata: Record<string, string>): Promise<CreateOnlyOutcome> {
    if (await this.createOnly(tenantId, blobName, () => createReadStream(file.path), file.size, contentType, worm, metadata)) return 'created';
    return (await this.holdsBytes(tenantId, blobName, file.size, file.sha256)) ? 'identical' : 'different';
  }

  /**
   * Whether the blob holds exactly `size` bytes hashing to `sha256`: one of another size is not read. Broke: a taken
   * name's blob was hashed whole, whatever its size; a storage role's blob of many GiB under a name the sealing timer
   * writes each run (a passed marker's, which stops the month's sealing until removed) was streamed through SHA-256
   * every run, by the timer that serves every tenant (red team 27).
   */
  private async holdsBytes(tenantId: string, blobName: string, size: number, sha256: string): Promise<boolean> {
    const read = await this.read(tenantId, blobName);
    if (read.size !== size) {
      read.stream.destroy();
      return false;
    }
    const hash = createHash('sha256');
    for await (const chunk of read.stream) hash.update(chunk as Buffer);
    return hash.digest('hex') === sha256;
  }

  /** True when created; false when the name is taken (409/412). */
  private async createOnly(tenantId: string, blobName: string, body: Buffer | (() => NodeJS.ReadableStream), size: number, contentType: string, worm: WormSettings, metadata: Record<string, string>): Promise<boolean> {
    try {
      await this.container(tenantId).getBlockBlobClient(blobName).upload(body, size, {
        conditions: { ifNoneMatch: '*' },
        blobHTTPHeaders: { blobContentType: contentType },
        metadata,
        ...(worm.retainUntil !== null ? { immutabilityPolicy: { expiriesOn: new Date(worm.retainUntil), policyMode: this.policyMode } } : {}),
        legalHold: worm.legalHold,
      });
      return true;
    } catch (err) {
      if (!(err instanceof RestError && (err.statusCode === 409 || err.statusCode === 412))) throw err;
      return false;
    }
  }

  /** The metadata a blob was written with (names in lower case), null when there is no such blob. */
  async metadataOf(tenantId: string, blobName: string): Promise<Record<string, string> | null> {
    try {
      return (await this.container(tenantId).getBlobClient(blobName).getProperties()).metadata ?? {};
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return null;
      throw err;
    }
  }

  async read(tenantId: string, blobName: string, range?: { offset: number; count?: number }): Promise<BlobRead> {
    const res = await this.container(tenantId).getBlobClient(blobName).download(range?.offset ?? 0, range?.count);
    const total = res.contentRange ? Number(res.contentRange.split('/')[1]) : Number(res.contentLength ?? 0);
    return {
      stream: res.readableStreamBody as Readable,
      size: total,
      contentLength: Number(res.contentLength ?? 0),
      etag: res.etag ?? '',
      contentType: res.contentType ?? 'application/octet-stream',
      createdOn: res.createdOn ? res.createdOn.toISOString() : null,
    };
  }

  async readIfExists(tenantId: string, blobName: string): Promise<BlobRead | null> {
    try {
      return await this.read(tenantId, blobName);
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return null;
      throw err;
    }
  }

  async readAll(tenantId: string, blobName: string): Promise<Buffer> {
    return this.container(tenantId).getBlobClient(blobName).downloadToBuffer();
  }

  async exists(tenantId: string, blobName: string): Promise<boolean> {
    return this.container(tenantId).getBlobClient(blobName).exists();
  }

  /** Sets or clears the legal-hold flag of a blob (Set Legal Hold). */
  async setLegalHold(tenantId: string, blobName: string, legalHold: boolean): Promise<void> {
    await this.tolerateEmulator(() => this.container(tenantId).getBlobClient(blobName).setLegalHold(legalHold));
  }

  /**
   * Moves a blob's retain-until later (Set Immutability Policy); storage refuses shortening a locked policy.
   * A request decided on an older read of its document can get here after a later extension did: when the
   * date in place is at least the one asked for, that refusal is the outcome wanted (the request's catalog
   * write then fails over the newer item and is decided again: 422), not a 500. Any other refusal is thrown.
   */
  async extendRetention(tenantId: string, blobName: string, retainUntil: string): Promise<void> {
    const blob = this.container(tenantId).getBlobClient(blobName);
    const until = new Date(retainUntil);
    try {
      await this.tolerateEmulator(() => blob.setImmutabilityPolicy({ expiriesOn: until, policyMode: this.policyMode }));
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 409 && ((await blob.getProperties()).immutabilityPolicyExpiresOn?.getTime() ?? 0) >= until.getTime()) return;
      throw err;
    }
  }

  /** Azurite does not implement the WORM calls; in emulator mode (local only) they are best effort. */
  private async tolerateEmulator(call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (err) {
      if (this.worm === 'emulator' && err instanceof RestError && err.statusCode !== 404) return;
      throw err;
    }
  }

  /** Names of every blob stored under a document. */
  async documentBlobs(tenantId: string, documentId: string): Promise<string[]> {
    const names: string[] = [];
    for await (const b of this.container(tenantId).listBlobsFlat({ prefix: blobLayout.folder(documentId) })) names.push(b.name);
    return names;
  }

  /**
   * Every blob stored under a document with its legal-hold flag: from the listing (Azure reports
   * it with `include=legalhold`), else from the blob's properties; null where the store reports
   * no flag at all (Azurite, emulator mode).
   */
  async documentBlobWorm(tenantId: string, documentId: string): Promise<BlobWorm[]> {
    const expiry = (d: Date | undefined) => (d ? d.toISOString() : null);
    const listed: BlobWorm[] = [];
    for await (const b of this.container(tenantId).listBlobsFlat({ prefix: blobLayout.folder(documentId), includeLegalHold: true, includeImmutabilityPolicy: true })) {
      listed.push({ name: b.name, legalHold: b.properties.legalHold ?? null, retainUntil: expiry(b.properties.immutabilityPolicyExpiresOn), etag: b.properties.etag });
    }
    return Promise.all(
      listed.map(async (b) => {
        if (b.legalHold !== null) return b;
        try {
          const props = await this.container(tenantId).getBlobClient(b.name).getProperties();
          return { name: b.name, legalHold: props.legalHold ?? null, retainUntil: b.retainUntil ?? expiry(props.immutabilityPolicyExpiresOn), etag: b.etag };
        } catch (err) {
          if (err instanceof RestError && err.statusCode === 404) return b;
          throw err;
        }
      }),
    );
  }


  /** Names of a tenant's blobs under a prefix (none when the tenant has no container yet). */
  async blobNames(tenantId: string, prefix: string): Promise<string[]> {
    return (await this.listedBlobs(tenantId, prefix)).map((b) => b.name);
  }

  /** `blobNames` with each blob's ETag, from the same listing (none when the tenant has no container yet). */
  async listedBlobs(tenantId: string, prefix: string, max = Infinity): Promise<ListedBlob[]> {
    const blobs: ListedBlob[] = [];
    try {
      // Pages no larger than asked for: a bounded look (a sealing run's block of 101 names) fetched 5,000 names a page.
      pages: for await (const page of this.container(tenantId).listBlobsFlat({ prefix }).byPage({ maxPageSize: Math.min(max, 5000) })) {
        for (const b of page.segment.blobItems) {
          if (blobs.length >= max) break pages;
          blobs.push({ name: b.name, etag: b.properties.etag });
        }
        if (blobs.length >= max) break;
      }
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return [];
      throw err;
    }
    return blobs;
  }

  /**
   * One page of a tenant's document folders (the `<documentId>/` prefixes), in name order,
   * with where the next page starts; null when the listing is complete.
   */
  async documentFolders(tenantId: string, continuation: string | null, pageSize: number): Promise<{ documentIds: string[]; continuation: string | null }> {
    try {
      const pages = this.container(tenantId).listBlobsByHierarchy('/').byPage({ maxPageSize: pageSize, ...(continuation ? { continuationToken: continuation } : {}) });
      const page = (await pages.next()).value as { segment: { blobPrefixes?: { name: string }[] }; continuationToken?: string } | undefined;
      if (!page) return { documentIds: [], continuation: null };
      return { documentIds: (page.segment.blobPrefixes ?? []).map((p) => p.name.replace(/\/$/, '')), continuation: page.continuationToken || null };
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return { documentIds: [], continuation: null };
      throw err;
    }
  }

  /** Every blob stored under a document with its size and when it was written. */
  async documentBlobDetails(tenantId: string, documentId: string): Promise<{ name: string; size: number; lastModified: string }[]> {
    const blobs: { name: string; size: number; lastModified: string }[] = [];
    for await (const b of this.container(tenantId).listBlobsFlat({ prefix: blobLayout.folder(documentId) })) {
      blobs.push({ name: b.name, size: b.properties.contentLength ?? 0, lastModified: b.properties.lastModified.toISOString() });
    }
    return blobs;
  }

  async ping(): Promise<void> {
    await this.service.getProperties();
  }

  /** Every manifest of a tenant; used to rebuild the catalog. */
  async *manifests(tenantId: string): AsyncGenerator<string> {
    for await (const blob of this.container(tenantId).listBlobsFlat()) {
      if (blobLayout.isManifest(blob.name)) yield blob.name;
    }
  }

  /** Cross-tenant: the only listing of all tenants, for timers and catalog rebuilds. */
  async *unsafeListTenants(): AsyncGenerator<string> {
    for await (const c of this.service.listContainers({ prefix: DOCUMENTS_CONTAINER_PREFIX })) yield c.name.slice(DOCUMENTS_CONTAINER_PREFIX.length);
  }

  /** The tenant containers' blobs under `prefix` with their locks, a page a run (container-walk.ts walkContainers). */
  unsafeListWormUnder(prefix: string, cursor: string | null, limit: number, tenants?: readonly string[]): Promise<{ items: (BlobWorm & { tenantId: string })[]; next: string | null }> {
    return walkContainers(this.service, DOCUMENTS_CONTAINER_PREFIX, { prefix, includeLegalHold: true, includeImmutabilityPolicy: true }, cursor, limit, (tenantId, b) => ({ tenantId, name: b.name, legalHold: b.properties.legalHold ?? null, retainUntil: b.properties.immutabilityPolicyExpiresOn?.toISOString() ?? null, etag: b.properties.etag }), tenants);
  }
}

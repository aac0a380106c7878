import { type BlobItem, type BlobServiceClient, type ContainerListBlobFlatSegmentResponse, RestError } from '@azure/storage-blob';

/** What a walk lists in each container: the blob name prefix, and the blob properties it needs beyond the defaults. */
export interface ContainerWalkListing {
  prefix?: string;
  includeLegalHold?: boolean;
  includeImmutabilityPolicy?: boolean;
}

/** Container names storage lists a page, at most (its own most). */
const CONTAINERS_PER_PAGE = 5000;

/**
 * The containers named `<containerPrefix><tenant>` in name order (as storage lists them), then each one's blobs a page at
 * a time, for a timer's walk a page a run (export-store.ts unsafeListStored, blobs.ts unsafeListWormUnder). The cursor is
 * the container to go on in, storage's token within it (none: from its first blob) and the token of the page of
 * containers that lists it (none: the first). `tenants`: these tenants' containers alone, in the order given, none
 * listed (a walk over those it knows, which containers planted by a storage role do not slow). Broke, and so bounded
 * here for every walk: a cursor forged in timer state (Cosmos DB) that storage refused threw on every run, which never
 * got to save another, so the walk stopped for good (now: one the walk cannot read starts from the first container, a
 * token storage refuses from that container's first blob, a page token it refuses from the first page); containers with
 * nothing listed (a storage role may create them) cost a listing each with nothing counted, so enough of them made a run
 * that never finished (now: at most `limit` listings of blobs a call); and each run listed again
 * every container before the cursor's (millions planted made that alone a run's work; now the page's token is kept).
 */
export async function walkContainers<T>(service: BlobServiceClient, containerPrefix: string, listing: ContainerWalkListing, cursor: string | null, limit: number, item: (tenantId: string, blob: BlobItem) => T, tenants?: readonly string[]): Promise<{ items: T[]; next: string | null }> {
  let at: { container: string; marker?: string; page?: string } | null = null;
  try {
    const v = cursor ? (JSON.parse(cursor) as { container?: unknown; marker?: unknown; page?: unknown }) : null;
    if (v && typeof v.container === 'string') at = { container: v.container, ...(typeof v.marker === 'string' ? { marker: v.marker } : {}), ...(typeof v.page === 'string' && !tenants ? { page: v.page } : {}) };
  } catch {
    at = null;
  }
  const items: T[] = [];
  let listings = 0;
  let page: string | undefined = at?.page;
  const cursorAt = (container: string, marker?: string) => JSON.stringify({ container, ...(marker ? { marker } : {}), ...(page ? { page } : {}) });
  // The containers to walk, a page of names at a time: the tenants given, or storage's listing from the cursor's page.
  async function* containers(): AsyncGenerator<string> {
    if (tenants) {
      yield* tenants.map((t) => `${containerPrefix}${t}`);
      return;
    }
    let from = page;
    // Not counted as listings: each page's names cost a listing each (counted) before the next page is asked for.
    for (;;) {
      const pages = (token: string | undefined) => service.listContainers({ prefix: containerPrefix }).byPage({ ...(token ? { continuationToken: token } : {}), maxPageSize: CONTAINERS_PER_PAGE }).next();
      let next;
      try {
        next = await pages(from);
      } catch (err) {
        if (!(from !== undefined && err instanceof RestError && err.statusCode === 400)) throw err;
        // A page token storage refuses: from the first container.
        at = null;
        next = await pages((from = undefined));
      }
      page = from;
      const listed = next.done === true ? undefined : next.value;
      for (const c of listed?.containerItems ?? []) yield c.name;
      from = listed?.continuationToken || undefined;
      if (!from) return;
    }
  }
  for await (const name of containers()) {
    if (at && name < at.container) continue;
    if (items.length >= limit || listings >= limit) return { items, next: cursorAt(name) };
    let marker = at && name === at.container ? at.marker : undefined;
    let stored = marker !== undefined;
    const tenantId = name.slice(containerPrefix.length);
    const container = service.getContainerClient(name);
    for (;;) {
      if (listings >= limit) return { items, next: cursorAt(name, marker) };
      listings++;
      const pages = (from: string | undefined) => container.listBlobsFlat(listing).byPage({ ...(from ? { continuationToken: from } : {}), maxPageSize: limit - items.length }).next();
      let next;
      try {
        next = await pages(marker);
      } catch (err) {
        // A tenant given whose container is gone: nothing in it.
        if (tenants && err instanceof RestError && err.statusCode === 404) break;
        if (!(stored && err instanceof RestError && err.statusCode === 400)) throw err;
        next = await pages((marker = undefined));
      }
      stored = false;
      const blobs: ContainerListBlobFlatSegmentResponse | undefined = next.done === true ? undefined : next.value;
      for (const b of blobs?.segment.blobItems ?? []) items.push(item(tenantId, b));
      marker = blobs?.continuationToken || undefined;
      if (!marker) break;
      if (items.length >= limit) return { items, next: cursorAt(name, marker) };
    }
  }
  return { items, next: null };
}

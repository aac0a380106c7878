import { type BlobItem, type BlobServiceClient, type ContainerListBlobFlatSegmentResponse, RestError } from '@azure/storage-blob';

/** What a walk lists in each container: the blob name prefix, and the blob properties it needs beyond the defaults. */
export interface ContainerWalkListing {
  prefix?: string;
  includeLegalHold?: boolean;
  includeImmutabilityPolicy?: boolean;
}

/**
 * The containers named `<containerPrefix><tenant>` in name order (as storage lists them), then each one's blobs a page at
 * a time, for a timer's walk a page a run (export-store.ts unsafeListStored, blobs.ts unsafeListWormUnder). The cursor is
 * the container to go on in and storage's token within it (none: from its first blob). Broke, and so bounded here for
 * every walk: a cursor forged in timer state (Cosmos DB) that storage refused threw on every run, which never got to save
 * another, so the walk stopped for good (now: one the walk cannot read starts from the first container, a token storage
 * refuses from that container's first blob); and containers with nothing listed (a storage role may create them) cost
 * a listing each with nothing counted, so enough of them made a run that never finished (now: at most `limit` listings
 * of blobs a call).
 */
export async function walkContainers<T>(service: BlobServiceClient, containerPrefix: string, listing: ContainerWalkListing, cursor: string | null, limit: number, item: (tenantId: string, blob: BlobItem) => T): Promise<{ items: T[]; next: string | null }> {
  let at: { container: string; marker?: string } | null = null;
  try {
    const v = cursor ? (JSON.parse(cursor) as { container?: unknown; marker?: unknown }) : null;
    if (v && typeof v.container === 'string') at = { container: v.container, ...(typeof v.marker === 'string' ? { marker: v.marker } : {}) };
  } catch {
    at = null;
  }
  const items: T[] = [];
  let listings = 0;
  for await (const c of service.listContainers({ prefix: containerPrefix })) {
    if (at && c.name < at.container) continue;
    if (items.length >= limit || listings >= limit) return { items, next: JSON.stringify({ container: c.name }) };
    let marker = at && c.name === at.container ? at.marker : undefined;
    let stored = marker !== undefined;
    const tenantId = c.name.slice(containerPrefix.length);
    const container = service.getContainerClient(c.name);
    for (;;) {
      if (listings >= limit) return { items, next: JSON.stringify({ container: c.name, ...(marker ? { marker } : {}) }) };
      listings++;
      const pages = (from: string | undefined) => container.listBlobsFlat(listing).byPage({ ...(from ? { continuationToken: from } : {}), maxPageSize: limit - items.length }).next();
      let next;
      try {
        next = await pages(marker);
      } catch (err) {
        if (!(stored && err instanceof RestError && err.statusCode === 400)) throw err;
        next = await pages((marker = undefined));
      }
      stored = false;
      const page: ContainerListBlobFlatSegmentResponse | undefined = next.done === true ? undefined : next.value;
      for (const b of page?.segment.blobItems ?? []) items.push(item(tenantId, b));
      marker = page?.continuationToken || undefined;
      if (!marker) break;
      if (items.length >= limit) return { items, next: JSON.stringify({ container: c.name, marker }) };
    }
  }
  return { items, next: null };
}

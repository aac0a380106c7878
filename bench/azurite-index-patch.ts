/**
 * Preloaded (`--require`, bench-host's `azuriteIndexPatch`) into the benchmarks' in-memory Azurite
 * only, never into the archive or the tests. Azurite's in-memory store (LokiJS) costs O(blobs held)
 * per call, where Blob Storage's cost per call does not grow with the container: seeding and
 * deleting N documents cost O(N²) and 10,000 documents did not finish, and at 5,000 documents a
 * blob create cost Azurite 10 ms of CPU instead of 2 (`npm run bench` measured the emulator's scans,
 * not the archive):
 *  - a query `{accountName, containerName, name, …}` uses the index of its first key only,
 *    `accountName`, the same for every blob: a scan. Here the most selective indexed key with a
 *    plain value goes first. Same AND of the same filters, so the same rows.
 *  - every delete (`findAndRemove`) rebuilt every index from scratch (a sort of all blobs).
 *    Here a delete of a few rows removes them one by one, with the indexes updated in place.
 * Both sides of each benchmark (sweep and raw delete; ingest and its floor) run against Azurite patched alike.
 */
interface LokiCollection {
  binaryIndices: Record<string, unknown>;
  data: object[];
  remove(doc: object): unknown;
}
interface LokiModule {
  Resultset: { prototype: { find: (this: { collection: LokiCollection }, query: unknown, firstOnly?: boolean) => unknown } };
  Collection: { prototype: { removeBatchByPositions: (this: LokiCollection, positions: number[]) => void } };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const loki = require('lokijs') as LokiModule;
const SELECTIVE = ['name', 'blobName', 'containerName'];

const find = loki.Resultset.prototype.find;
loki.Resultset.prototype.find = function (query, firstOnly) {
  if (query && typeof query === 'object' && !Array.isArray(query)) {
    const q = query as Record<string, unknown>;
    const keys = Object.keys(q);
    const first = SELECTIVE.find((k) => keys.includes(k) && this.collection.binaryIndices[k] && (typeof q[k] === 'string' || typeof q[k] === 'number'));
    if (first && keys[0] !== first && keys.length > 1 && !keys.some((k) => k.startsWith('$'))) {
      const reordered: Record<string, unknown> = { [first]: q[first] };
      for (const k of keys) if (k !== first) reordered[k] = q[k];
      return find.call(this, reordered, firstOnly);
    }
  }
  return find.call(this, query, firstOnly);
};

const removeBatch = loki.Collection.prototype.removeBatchByPositions;
loki.Collection.prototype.removeBatchByPositions = function (positions) {
  if (positions.length > 8) return removeBatch.call(this, positions);
  const docs = positions.map((p) => this.data[p]!);
  for (const doc of docs) this.remove(doc);
};

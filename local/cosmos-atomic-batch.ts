/**
 * Transactional batches all or nothing, as Cosmos DB runs them. The Cosmos protocol server
 * (@vercel/cosmosdb-server 1.0.x) applies a batch's operations up to the one that fails and keeps
 * them, answering the rest 424: a test of a batch whose conditional write is not first would pass on
 * writes production rolls back. Imported before the server (local/emulators.ts), this wraps its batch
 * handler: every item-map change an atomic batch makes is logged, and when one of its operations fails
 * the log is undone (items, their etags and indexes as they were) and every other operation answers 424,
 * as Cosmos does. The local host's journal then records none of it, as it records only 2xx operations.
 */
/* eslint-disable @typescript-eslint/no-require-imports */

/** The server's item store (lib/account/items.js), as far as the undo needs it. */
interface ItemStore {
  _data: Map<string, unknown>;
  _index: Map<string, string>;
  _ridCount: number;
  _uniqueKeyPaths: string[];
  _set: (this: ItemStore, data: Record<string, unknown>) => unknown;
  delete: (this: ItemStore, idOrRid: string, partition: unknown) => void;
  _item: (this: ItemStore, keyPath: string, value: unknown, partition: unknown) => { read(): Record<string, unknown> | undefined };
  _getId: (this: ItemStore, keyPath: string, value: unknown, partition: unknown) => string;
  _getPartition: (this: ItemStore, data: Record<string, unknown>) => unknown;
  /** The undo log of the atomic batch under way on this store. */
  _undo?: (() => void)[];
}
type BatchHandler = (account: { database(id: string): { collection(id: string): { documents: ItemStore } } }, req: { headers: Record<string, string | string[] | undefined> }, res: unknown, params: { dbId: string; collId: string }) => Promise<unknown>;

const handlerModule = require('@vercel/cosmosdb-server/lib/handler/batch-documents') as { default: BatchHandler };
const items = (require('@vercel/cosmosdb-server/lib/account/items') as { default: { prototype: ItemStore } }).default.prototype;
const getValue = (require('@vercel/cosmosdb-server/lib/utils/get-value') as { default: (path: string[], data: unknown) => unknown }).default;
const methods: (keyof ItemStore)[] = ['_set', 'delete', '_item', '_getId', '_getPartition'];
if (typeof handlerModule.default !== 'function' || typeof getValue !== 'function' || methods.some((m) => typeof items[m] !== 'function')) {
  throw new Error('@vercel/cosmosdb-server changed: local/cosmos-atomic-batch.ts cannot make its batches atomic');
}

/** Remembers a map entry as it is, to be put back if the batch fails. */
function remember<K, V>(undo: (() => void)[], map: Map<K, V>, key: K): void {
  const had = map.has(key);
  const before = map.get(key);
  undo.push(() => (had ? map.set(key, before as V) : map.delete(key)));
}

/** Remembers the entries a write or delete of `data` touches: the item, and each unique key's index entry. */
function rememberItem(store: ItemStore, undo: (() => void)[], data: Record<string, unknown>): void {
  const partition = store._getPartition(data);
  for (const keyPath of store._uniqueKeyPaths) remember(undo, store._index, store._getId(keyPath, getValue(keyPath.slice(1).split('/'), data), partition));
  remember(undo, store._data, data._rid as string);
}

const set = items._set;
items._set = function (data) {
  if (this._undo) {
    const ridCount = this._ridCount;
    this._undo.push(() => (this._ridCount = ridCount));
    rememberItem(this, this._undo, data);
  }
  return set.call(this, data);
};

const remove = items.delete;
items.delete = function (idOrRid, partition) {
  const data = this._undo ? this._item('/id', idOrRid, partition).read() : undefined;
  if (this._undo && data) rememberItem(this, this._undo, data);
  return remove.call(this, idOrRid, partition);
};

const handle = handlerModule.default;
handlerModule.default = async (account, req, res, params) => {
  const atomic = [req.headers['x-ms-cosmos-batch-atomic']].flat().some((v) => v?.toLowerCase() === 'true');
  const store = atomic ? account.database(params.dbId)?.collection(params.collId)?.documents : undefined;
  if (!store) return handle(account, req, res, params);
  store._undo = [];
  try {
    const answer: unknown = await handle(account, req, res, params);
    const results = (Array.isArray(answer) ? answer : []) as { statusCode: number }[];
    const failed = results.findIndex((r) => r.statusCode >= 400 && r.statusCode !== 424);
    if (failed < 0) return answer;
    for (const undo of store._undo.reverse()) undo();
    return results.map((r, i) => (i === failed ? r : { statusCode: 424, requestCharge: 0 }));
  } finally {
    delete store._undo;
  }
};

import { RestError } from '@azure/storage-blob';

/**
 * `listContainers` as storage answers it: the names under the prefix in name order, `byPage` pages of at most
 * `pageSize` (of `maxPageSize`), the token the next name's index (one not a number refused with a 400, as storage refuses
 * a token it did not hand out); `counted.containerPages` counts pages listed.
 */
export function listContainersOf(names: () => string[], pageSize = Infinity, counted: { containerPages: number } = { containerPages: 0 }) {
  return (opts: { prefix?: string }) => ({
    // Iterated whole (as `for await` does), it lists every page in turn.
    async *[Symbol.asyncIterator]() {
      const all = names().sort().filter((n) => n.startsWith(opts.prefix ?? ''));
      for (let i = 0; i < all.length; i++) {
        if (i % Math.min(pageSize, 5000) === 0) counted.containerPages++;
        yield { name: all[i]! };
      }
    },
    byPage: ({ continuationToken, maxPageSize }: { continuationToken?: string; maxPageSize?: number }) => {
      counted.containerPages++;
      const start = Number(continuationToken ?? 0);
      if (!Number.isInteger(start)) return { next: () => Promise.reject(new RestError('InvalidQueryParameterValue', { statusCode: 400 })) };
      const all = names().sort().filter((n) => n.startsWith(opts.prefix ?? ''));
      const end = Math.min(all.length, start + Math.min(pageSize, maxPageSize ?? Infinity));
      return { next: async () => ({ done: false, value: { containerItems: all.slice(start, end).map((name) => ({ name })), continuationToken: end < all.length ? String(end) : '' } }) };
    },
  });
}

/**
 * The store's version of a record (Cosmos DB's `_etag`) as the read that gave it answered, kept beside the object read,
 * not in it (answers, seals and digests stay free of system properties). A copy of the object has none. For what an
 * instance remembers about a record: it holds only while the record is that version (revocation-blobs.ts), since a
 * writer of Cosmos DB can put every field back as it was, never the version the store gives each write.
 */
const versions = new WeakMap<object, string>();

/** `record`, remembered as the store's version `etag` (none given: nothing remembered). */
export function withStoredVersion<T extends object>(record: T, etag: string | undefined): T {
  if (typeof etag === 'string' && etag !== '') versions.set(record, etag);
  return record;
}

/** The store's version of `record` as read, if a read gave it. */
export const storedVersionOf = (record: object): string | undefined => versions.get(record);

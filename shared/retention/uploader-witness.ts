import type { Deps } from '../deps';
import type { ArchivedDocument } from '../kernel/document';
import { blobLayout } from '../kernel/blob-layout';
import { manifestByArchive, readKeptManifest } from '../documents/manifest';

/** Who uploaded a document and when, as four eyes on its disposal judge them. */
export type Upload = Pick<ArchivedDocument, 'createdBy' | 'createdAt'>;

/** How many manifests one approval request or sweep run reads at once: a bulk approval may name 500 documents. */
export const UPLOAD_READS_AT_ONCE = 6;

/**
 * Who uploaded each document and when, as the manifest the archive kept says (manifest.ts manifestByArchive: sealed, or
 * from before the seal with its ingest's audit entry), read once per document for a request or a sweep run. Null: the
 * manifest is missing, unreadable or not the archive's (its fixity check alerts that, manifestByArchive the last): the
 * uploader cannot be told, and the document is not approved or disposed of under the uploader rule. Broke: read from the
 * catalog item, which nothing seals, whoever could write Cosmos DB named another uploader on their own upload (or moved
 * its upload time past the rights they gave the approver), approved its disposal and the sweep disposed of it.
 */
export function uploadWitness(tenantId: string, deps: Pick<Deps, 'blobs' | 'audit' | 'log'>): { of: (doc: Pick<ArchivedDocument, 'id'>) => Promise<Upload | null>; readAhead: (docs: readonly Pick<ArchivedDocument, 'id'>[]) => Promise<void> } {
  const found = new Map<string, Promise<Upload | null>>();
  const read = async (id: string): Promise<Upload | null> => {
    const name = blobLayout.manifest(id);
    try {
      const kept = await readKeptManifest(deps, tenantId, name);
      if (!kept || !(await manifestByArchive(tenantId, name, kept, deps))) return null;
      const { createdBy, createdAt } = kept.document;
      if (typeof createdAt !== 'string' || typeof createdBy !== 'object' || createdBy === null || typeof createdBy.subject !== 'string' || typeof createdBy.kind !== 'string') return null;
      return { createdBy, createdAt };
    } catch (err) {
      if (err instanceof SyntaxError) return null; // not JSON: no manifest
      throw err;
    }
  };
  const of = (doc: Pick<ArchivedDocument, 'id'>) => {
    let upload = found.get(doc.id);
    if (!upload) found.set(doc.id, (upload = read(doc.id)));
    return upload;
  };
  // Read UPLOAD_READS_AT_ONCE at a time: one by one, a bulk approval of 500 waited 500 round trips.
  const readAhead = async (docs: readonly Pick<ArchivedDocument, 'id'>[]) => {
    const todo = docs.filter((d) => !found.has(d.id));
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(UPLOAD_READS_AT_ONCE, todo.length) }, async () => {
      while (next < todo.length) await of(todo[next++]!);
    }));
  };
  return { of, readAhead };
}

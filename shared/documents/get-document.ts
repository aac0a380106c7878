import type { Deps } from '../deps';
import { ArchiveError } from '../kernel/errors';
import { DOCUMENT_ID } from '../ids';
import type { ArchivedDocument } from '../kernel/document';

/** Another tenant's document answers exactly like a missing one. */
export async function getDocument(tenantId: string, id: string, deps: Pick<Deps, 'catalog'>): Promise<ArchivedDocument> {
  const doc = DOCUMENT_ID.test(id) ? await deps.catalog.get(tenantId, id) : null;
  if (!doc) throw new ArchiveError('document_not_found', { detail: `No document ${id.slice(0, 64)} in this archive.` });
  return doc;
}
